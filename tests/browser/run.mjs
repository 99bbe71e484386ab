// Browser test of the Passerelle portal in Debian's Chromium, driven by
// playwright-core (no browser download), with an axe-core accessibility
// check of every visited page. Usage:
//   node run.mjs BASE_URL ARTIFACT_DIR PARTNER_EMAIL PARTNER_PASSWORD LINKED_LOGIN LINKED_PASSWORD
// (LINKED_*: a vault account already linked to an institution, for the
// keyboard-only walk that grants a consent).
// Prints a JSON report on stdout with every accessibility violation, of any
// impact (the Rust test judges them); exits 1 when a step fails, a page
// breaks the Content-Security-Policy (the portal's real one: it is not
// bypassed) or logs an error. ARTIFACT_DIR is emptied first, then gets one
// screenshot per page.
import path from 'node:path';
import { download, open, PHONE } from './harness.mjs';

const [base, outDir, email, password, linkedLogin, linkedPassword] = process.argv.slice(2);
const report = { pages: [], violations: [], csvHeader: null, errors: [] };

const { browser, page, check } = await open(outDir, report);
try {
  // The page's language, as its <html lang> says.
  const lang = (p) => p.evaluate(() => document.documentElement.lang);

  await page.goto(base + '/');
  await check('accueil');
  await page.getByRole('link', { name: "Activité des dispositifs d'accompagnement" }).first().click();
  await page.waitForURL('**/theme/activite');
  await check('tableau-de-bord');
  await page.getByRole('link', { name: 'Personnes reçues', exact: true }).click();
  await page.locator('svg[aria-labelledby="carte-titre carte-desc"]').waitFor();
  await check('fiche-par-commune');
  await page.getByRole('link', { name: 'Par intercommunalité (EPCI)' }).click();
  await page.locator('a[aria-current="page"]', { hasText: 'Par intercommunalité (EPCI)' }).waitFor();
  await check('fiche-par-epci');
  const csv = await download(page, 'CSV (epci)', path.join(outDir, 'personnes-recues-epci.csv'));
  report.csvHeader = csv.split('\n')[0];

  await page.goto(base + '/partenaires');
  await page.waitForURL('**/partenaires/connexion');
  await check('connexion');
  await page.getByLabel('Adresse e-mail').fill(email);
  await page.getByLabel('Mot de passe').fill(password);
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.getByRole('heading', { name: 'Le réseau' }).waitFor();
  await check('espace-partenaires');
  // The printable report: its print button is wired by a script file,
  // which the CSP allows (an inline one it would block).
  await page.getByRole('link', { name: 'Mayotte', exact: true }).click();
  await page.getByRole('heading', { name: /^Bilan d'activité — Mayotte/ }).waitFor();
  await check('bilan-activite');
  await page.evaluate(() => { window.print = () => { document.body.dataset.imprime = 'oui'; }; });
  await page.getByRole('button', { name: 'Imprimer ou enregistrer en PDF' }).click();
  await page.locator('body[data-imprime="oui"]').waitFor();
  for (const [name, url] of [['partenaires-coffre', '/partenaires/coffre'],
                             ['partenaires-ressources', '/partenaires/ressources'],
                             ['partenaires-mot-de-passe', '/partenaires/mot-de-passe'],
                             ['partenaires-double-facteur', '/partenaires/double-facteur']]) {
    await page.goto(base + url);
    await check(name);
  }

  // The vault, as a beneficiary on a phone: create an account, note the
  // rescue code, deposit a document, see the sharing form and the journal.
  await page.goto(base + '/coffre');
  await check('coffre-accueil');
  await page.getByRole('link', { name: 'Créer mon compte' }).click();
  await page.locator('#identifiant').fill('0639 11 22 33');
  await page.getByRole('button', { name: 'Recevoir un code' }).click();
  // The test hub shows the message it would send (danger_show_codes).
  await page.locator('#message-demo').waitFor();
  await check('coffre-code');
  const sent = await page.locator('#message-demo').textContent();
  const code = (sent.match(/\b\d{6}\b/) || [''])[0];
  await page.locator('#code').fill(code);
  await page.locator('#mdp').fill('un mot de passe');
  await page.locator('#mdp2').fill('un mot de passe');
  await page.getByRole('button', { name: 'Créer mon compte' }).click();
  await page.getByRole('heading', { name: 'Votre code de secours' }).waitFor();
  await check('coffre-code-secours');
  await page.getByRole('link', { name: "J'ai noté mon code" }).click();
  await page.getByRole('heading', { name: 'Mes documents', exact: true }).waitFor();
  await page.locator('#fichier').setInputFiles({ name: 'quittance.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n') });
  await page.locator('#type').selectOption('housing');
  await page.getByRole('button', { name: 'Déposer' }).click();
  await page.getByText('quittance.pdf').waitFor();
  await check('coffre-documents');
  await page.getByRole('link', { name: 'Partager' }).click();
  await page.getByRole('heading', { name: 'Partager mes documents' }).waitFor();
  await check('coffre-partager');
  await page.getByRole('link', { name: 'Qui a vu mes documents' }).click();
  await page.getByText('document déposé').waitFor();
  await check('coffre-journal');
  await page.getByRole('link', { name: 'Mon compte' }).click();
  await page.getByRole('heading', { name: 'Supprimer mon compte' }).waitFor();
  await check('coffre-compte');
  await page.goto(base + '/coffre/journal');
  await page.getByRole('heading', { name: 'Qui a vu mes documents' }).waitFor();
  // The language switch: a plain link on every vault page; the page then
  // says its language, and the same page comes back.
  await page.getByRole('navigation', { name: 'Langue' }).getByRole('link', { name: 'Shimaore' }).click();
  await page.waitForFunction(() => document.documentElement.lang === 'swb');
  if (!page.url().endsWith('/coffre/journal')) report.errors.push(`language switch: back on ${page.url()}, not the journal`);
  await check('coffre-langue-swb');
  await page.getByRole('link', { name: 'Français' }).click();
  await page.waitForFunction(() => document.documentElement.lang === 'fr');
  await page.getByRole('heading', { name: 'Qui a vu mes documents' }).waitFor();
  await check('coffre-langue-fr');
  await page.goto(base + '/');
  if ((await lang(page)) !== 'fr') report.errors.push('the public portal is not in French');
  await page.goto(base + '/verifier');
  await check('verifier');
  for (const [name, url] of [['themes', '/themes'], ['donnees-ouvertes', '/donnees'],
                             ['annuaire', '/annuaire'], ['ressources', '/ressources'],
                             ['sante-du-reseau', '/sante'], ['coffre-connexion', '/coffre/connexion'],
                             ['coffre-recuperer', '/coffre/recuperer'], ['coffre-compte', '/coffre/compte'],
                             ['confiance', '/confiance'],
                             ['mentions-legales', '/mentions-legales'],
                             ['donnees-personnelles', '/donnees-personnelles'],
                             ['accessibilite', '/accessibilite']]) {
    await page.goto(base + url);
    await check(name);
  }

  // Keyboard only, in a fresh session: the first Tab reaches the skip
  // link, which takes the focus to the content; then sign in to the vault
  // with Tab, typing and Enter alone.
  const kb = await (await browser.newContext({ viewport: PHONE })).newPage();
  kb.setDefaultTimeout(15000);
  await kb.goto(base + '/');
  await kb.keyboard.press('Tab');
  const first = await kb.evaluate(() => document.activeElement && document.activeElement.textContent.trim());
  if (first !== 'Aller au contenu') report.errors.push(`keyboard: the first Tab reaches ${JSON.stringify(first)}, not the skip link`);
  await kb.keyboard.press('Enter');
  const target = await kb.evaluate(() => document.activeElement && document.activeElement.id);
  if (target !== 'contenu') report.errors.push(`keyboard: the skip link leaves the focus on ${JSON.stringify(target)}`);
  async function tabTo(id) {
    for (let i = 0; i < 40; i++) {
      await kb.keyboard.press('Tab');
      if (await kb.evaluate((want) => document.activeElement && document.activeElement.id === want, id)) return;
    }
    throw new Error(`keyboard: #${id} never reached with Tab`);
  }
  await kb.goto(base + '/coffre/connexion');
  await tabTo('identifiant');
  await kb.keyboard.type('0639 11 22 33');
  await tabTo('mdp');
  await kb.keyboard.type('un mot de passe');
  await kb.keyboard.press('Enter');
  await kb.getByRole('heading', { name: 'Mes documents', exact: true }).waitFor();
  await kb.screenshot({ path: path.join(outDir, 'clavier-coffre.png'), fullPage: true });
  report.pages.push({ name: 'clavier-coffre', url: kb.url(), title: await kb.title() });

  // Keyboard only, again in a fresh session, with an account linked to an
  // institution: from the vault's welcome page, sign in and grant a
  // consent with Tab, typing, Space and Enter alone. Every control the
  // focus lands on must show it (a visible outline or ring).
  const walk = await (await browser.newContext({ viewport: PHONE })).newPage();
  walk.setDefaultTimeout(15000);
  walk.on('response', (r) => { if (r.status() >= 400) report.errors.push(`${r.status()} for ${r.url()}`); });
  const focused = () => walk.evaluate(() => {
    const e = document.activeElement;
    if (!e || e === document.body) return null;
    const s = getComputedStyle(e);
    const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
    return {
      tag: e.tagName.toLowerCase(), id: e.id, type: e.type || '', value: e.value || '',
      text: (e.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 60),
      style: `focus-visible=${e.matches(':focus-visible')} within=${e.matches(":focus-within")} outline=${s.outlineStyle} ${s.outlineWidth} shadow=${s.boxShadow}`,
      // A date field's focus sits on one of its parts (day, month,
      // year), so the field itself is only :focus-within.
      visible: (e.matches(':focus-visible') || (e.type === 'date' && e.matches(':focus-within'))) && ring,
    };
  });
  const reached = [];
  // Tab until `want` holds for the focused control; each control passed
  // on the way must show its focus too.
  async function tabUntil(what, want) {
    for (let i = 0; i < 60; i++) {
      await walk.keyboard.press('Tab');
      const f = await focused();
      if (f && !f.visible) report.errors.push(`keyboard: focus not visible on ${f.tag}#${f.id} "${f.text}" (${walk.url()}; ${f.style})`);
      if (f && want(f)) { reached.push(what); return f; }
    }
    throw new Error(`keyboard: ${what} never reached with Tab on ${walk.url()}`);
  }
  await walk.goto(base + '/coffre');
  await tabUntil('lien Me connecter', (f) => f.tag === 'a' && f.text === 'Me connecter');
  await walk.keyboard.press('Enter');
  await walk.getByRole('heading', { name: 'Me connecter' }).waitFor();
  await tabUntil('identifiant', (f) => f.id === 'identifiant');
  await walk.keyboard.type(linkedLogin);
  await tabUntil('mot de passe', (f) => f.id === 'mdp');
  await walk.keyboard.type(linkedPassword);
  await tabUntil('bouton Me connecter', (f) => f.tag === 'button' && f.text === 'Me connecter');
  await walk.keyboard.press('Space');
  await walk.getByRole('heading', { name: 'Mes documents', exact: true }).waitFor();
  await tabUntil('menu Partager', (f) => f.tag === 'a' && f.text === 'Partager');
  await walk.keyboard.press('Enter');
  await walk.getByRole('heading', { name: 'Partager mes documents' }).waitFor();
  await tabUntil('case Logement', (f) => f.type === 'checkbox' && f.value === 'housing');
  await walk.keyboard.press('Space');
  if (!(await walk.locator('input[name="categorie"][value="housing"]').isChecked())) report.errors.push('keyboard: Space did not tick the box');
  await tabUntil('avec qui', (f) => f.id === 'qui');
  await tabUntil('démarche', (f) => f.id === 'demarche');
  await tabUntil('autre démarche', (f) => f.id === 'autre');
  await tabUntil('date de fin', (f) => f.id === 'fin');
  await tabUntil('bouton Donner', (f) => f.tag === 'button' && f.text === "Donner l'autorisation");
  await walk.keyboard.press('Enter');
  await walk.getByText("L'autorisation est donnée.").waitFor();
  await walk.getByRole('button', { name: 'Retirer' }).waitFor();
  // The language switch is reached with the keyboard as well.
  await tabUntil('langue Shimaore', (f) => f.tag === 'a' && f.text === 'Shimaore');
  await walk.keyboard.press('Enter');
  await walk.waitForFunction(() => document.documentElement.lang === 'swb');
  await tabUntil('langue Français', (f) => f.tag === 'a' && f.text === 'Français');
  await walk.keyboard.press('Enter');
  await walk.waitForFunction(() => document.documentElement.lang === 'fr');
  await walk.getByRole('heading', { name: 'Partager mes documents' }).waitFor();
  await check('clavier-partage', walk);
  report.keyboard = reached;
} catch (e) {
  report.errors.push(String(e && e.stack || e));
} finally {
  await browser.close();
}
console.log(JSON.stringify(report, null, 2));
process.exit(report.errors.length ? 1 : 0);
