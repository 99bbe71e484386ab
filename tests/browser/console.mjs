// Browser test of a node's console in Debian's Chromium, driven by
// playwright-core, with an axe-core accessibility check of every visited
// page, on a phone's screen and under the console's own
// Content-Security-Policy. Usage:
//   node console.mjs BASE_URL ARTIFACT_DIR ANA_PASSWORD BOB_PASSWORD CLEO_PASSWORD LINK_CODE GOOD_CSV
// Ana imports (data, validator, admin), Bob validates, Cléo is at the
// counter; each has a first password to change. Prints a JSON report on
// stdout (pages, every accessibility violation, the downloaded error
// report); exits 1 when a step fails, a page breaks the CSP or logs an
// error.
import path from 'node:path';
import { download, open } from './harness.mjs';

const [base, outDir, anaPassword, bobPassword, cleoPassword, linkCode, goodCsv] = process.argv.slice(2);
const report = { pages: [], violations: [], errorsCsv: null, errors: [] };

const { browser, page, check } = await open(outDir, report, { lang: 'fr' });
try {
  // Signs an agent in with their first password and changes it.
  async function firstSignIn(login, password, name, pageName) {
    await page.goto(base + '/');
    await page.waitForURL('**/connexion');
    await page.getByLabel('Identifiant').fill(login);
    await page.getByLabel('Mot de passe').fill(password);
    await page.getByRole('button', { name: 'Me connecter', exact: true }).click();
    await page.waitForURL('**/mot-de-passe');
    if (pageName) await check(pageName);
    await page.getByLabel('Mot de passe actuel').fill(password);
    await page.getByLabel(/^Nouveau mot de passe \(au moins/).fill(`le mot de passe de ${login}`);
    await page.getByLabel('Nouveau mot de passe, une seconde fois').fill(`le mot de passe de ${login}`);
    await page.getByRole('button', { name: 'Enregistrer' }).click();
    await page.getByRole('heading', { name: `Bonjour ${name}` }).waitFor();
  }

  async function signOut() {
    await page.getByRole('button', { name: /^Me déconnecter/ }).click();
    await page.waitForURL('**/connexion');
  }

  // The data officer: the sign-in page, her first password, her home.
  await page.goto(base + '/');
  await page.waitForURL('**/connexion');
  await check('connexion');
  await firstSignIn('ana', anaPassword, 'Ana Import', 'premier-mot-de-passe');
  await check('accueil');

  // A file with two bad rows: refused whole, every bad row reported.
  await page.getByRole('link', { name: 'Données', exact: true }).click();
  await page.getByRole('heading', { name: 'Importer un fichier' }).waitFor();
  await check('donnees');
  await page.locator('#jeu').selectOption('personnes_recues');
  await page.locator('#fichier').setInputFiles({
    name: 'recues-erreurs.csv', mimeType: 'text/csv',
    buffer: Buffer.from('code_commune,periode,sexe\n97611,2025-T1,F\n97699,2025-T1,F\n97611,2025-T9,M\n'),
  });
  await page.getByRole('button', { name: 'Importer' }).click();
  await page.waitForURL('**/donnees/rapport/**');
  await page.getByText('2 ligne(s) en erreur : rien n\'a été importé.').waitFor();
  await page.getByRole('cell', { name: /n'est pas un code de commune de Mayotte/ }).waitFor();
  await page.getByRole('cell', { name: /n'est pas une période/ }).waitFor();
  await check('rapport-erreurs');
  const errors = await download(page, 'Télécharger la liste des erreurs (CSV)', path.join(outDir, 'erreurs-import.csv'));
  report.errorsCsv = errors.split('\r\n').filter((l) => l.length);

  // The good file: a batch waiting for someone else's validation.
  await page.getByRole('link', { name: 'Importer un autre fichier' }).click();
  await page.locator('#fichier').setInputFiles(goodCsv);
  await page.getByRole('button', { name: 'Importer' }).click();
  await page.waitForURL('**/donnees/rapport/**');
  const imported = await page.getByText(/^Le fichier est importé : lot n° \d+/).textContent();
  const batch = imported.match(/lot n° (\d+)/)[1];
  await page.getByText('Le lot attend la validation d\'un autre agent').waitFor();
  await check('rapport-import');

  // Her own batch: no button to validate it, and a forged form is refused.
  await page.getByRole('link', { name: 'Voir les lots' }).click();
  await page.getByText('Vous l\'avez importé : un autre agent doit le valider.').waitFor();
  if (await page.getByRole('button', { name: `Valider le lot ${batch}` }).count()) {
    report.errors.push('the importer is offered to validate her own batch');
  }
  await check('lot-en-attente');
  const csrf = await page.locator('input[name="csrf"]').first().inputValue();
  const forged = await page.request.post(`${base}/donnees/lots/${batch}/valider`, { form: { csrf }, maxRedirects: 0 });
  const forgedText = await forged.text();
  if (forged.status() !== 409 || !forgedText.includes('un autre agent doit le valider')) {
    report.errors.push(`validating her own batch answered ${forged.status()}`);
  }

  // As administrator: the journal names her; the agents.
  await page.getByRole('link', { name: 'Journal', exact: true }).click();
  await page.getByRole('cell', { name: 'fichier importé' }).first().waitFor();
  await page.getByRole('cell', { name: /Ana Import \(ana\)/ }).first().waitFor();
  await check('journal');
  await page.getByRole('link', { name: 'Agents', exact: true }).click();
  await page.getByRole('cell', { name: 'Cléo Guichet' }).waitFor();
  await check('agents');
  await signOut();

  // The validator: the batch waits for him; he validates it.
  await firstSignIn('bob', bobPassword, 'Bob Valide');
  await page.getByText('1 lot(s) attendent votre validation.').waitFor();
  await page.getByRole('link', { name: 'Voir les lots' }).click();
  await page.getByRole('button', { name: `Valider le lot ${batch}` }).click();
  await page.getByText(`Le lot n° ${batch} est validé : il est en vigueur.`).waitFor();
  await check('validation');
  await page.getByRole('link', { name: new RegExp(`^Retirer le lot ${batch} `) }).click();
  await page.getByRole('heading', { name: 'Revenir au lot précédent' }).waitFor();
  await page.getByText('plus aucune donnée (aucun lot précédent)').waitFor();
  await check('revenir');
  await page.getByRole('link', { name: 'Annuler' }).click();
  await page.getByRole('heading', { name: 'Les lots' }).waitFor();
  await signOut();

  // The counter: link a person with the code of her vault, deposit a
  // document for a procedure, see her consents.
  await firstSignIn('cleo', cleoPassword, 'Cléo Guichet');
  await page.getByRole('link', { name: 'Guichet', exact: true }).click();
  await page.getByRole('heading', { name: 'Relier une personne à son coffre-fort' }).waitFor();
  await check('guichet');
  await page.locator('#dossier').fill('DOS-7');
  await page.locator('#code').fill(linkCode);
  await page.getByRole('button', { name: 'Relier', exact: true }).click();
  await page.getByText('Le dossier est relié au coffre-fort de la personne.').waitFor();
  await page.getByText('Aucune autorisation en cours').waitFor();
  await check('dossier-relie');
  await page.locator('#categorie').selectOption('social-rights');
  await page.locator('#demarche').selectOption('rsa');
  await page.locator('#document').setInputFiles({
    name: 'attestation-guichet.pdf', mimeType: 'application/pdf',
    buffer: Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n'),
  });
  await page.getByRole('button', { name: 'Déposer le document' }).click();
  await page.getByText('Le document est déposé').waitFor();
  await page.getByRole('cell', { name: /^attestation-guichet\.pdf/ }).waitFor();
  await page.getByRole('cell', { name: /Démarche : Revenu de solidarité active \(RSA\)/ }).waitFor();
  await check('depot');

  // Her account, and the second factor she may enrol.
  await page.getByRole('link', { name: 'Mon compte' }).click();
  await page.getByRole('heading', { name: 'Mon compte' }).waitFor();
  await check('compte');
  await page.getByRole('link', { name: 'Activer la double authentification' }).click();
  await page.getByRole('heading', { name: 'Double authentification' }).waitFor();
  await check('double-facteur');
} catch (e) {
  report.errors.push(String(e && e.stack || e));
} finally {
  await browser.close();
}
console.log(JSON.stringify(report, null, 2));
process.exit(report.errors.length ? 1 : 0);
