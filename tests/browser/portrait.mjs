// Browser test of the territory portraits in Debian's Chromium, driven by
// playwright-core, with an axe-core accessibility check of each page.
// Usage: node portrait.mjs BASE_URL ARTIFACT_DIR COMMUNE_NAME
// Prints a JSON report on stdout (pages, every axe violation, what the
// print view hides); exits 1 when a step fails, a page breaks the
// Content-Security-Policy or logs an error. ARTIFACT_DIR is emptied
// first, then gets one screenshot per page (and a PDF of the print view).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const [base, outDir, communeName] = process.argv.slice(2);
fs.rmSync(outDir, { recursive: true, force: true });
fs.mkdirSync(outDir, { recursive: true });
const axeSource = fs.readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
const report = { pages: [], violations: [], print: null, errors: [] };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ viewport: { width: 412, height: 915 } });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      const list = JSON.parse(sessionStorage.getItem('csp') || '[]');
      list.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.documentURI}`);
      sessionStorage.setItem('csp', JSON.stringify(list));
    });
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('console', (m) => {
    if (m.type() === 'error') report.errors.push(`console on ${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => report.errors.push(`script error on ${page.url()}: ${e}`));
  page.on('response', (r) => {
    if (r.status() >= 400) report.errors.push(`${r.status()} for ${r.url()}`);
  });

  async function check(name) {
    const csp = await page.evaluate(() => sessionStorage.getItem('csp'));
    for (const v of JSON.parse(csp || '[]')) report.errors.push(`CSP on ${name}: ${v}`);
    await page.evaluate(() => sessionStorage.removeItem('csp'));
    await page.screenshot({ path: path.join(outDir, `${name}.png`), fullPage: true });
    await page.evaluate(axeSource);
    const r = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
    for (const v of r.violations) {
      report.violations.push({
        page: name, id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
      });
    }
    report.pages.push({ name, url: page.url(), title: await page.title() });
  }

  // From the home page, as a visitor would.
  await page.goto(base + '/');
  await page.getByRole('link', { name: /Portraits de territoire/ }).click();
  await page.waitForURL('**/territoires');
  await check('territoires');
  await page.getByRole('link', { name: communeName, exact: true }).click();
  await page.waitForURL('**/territoire/*');
  await page.getByRole('heading', { level: 1, name: `Portrait de territoire : ${communeName}` }).waitFor();
  await check('portrait-commune');
  await page.getByRole('link', { name: /^C[AC] / }).first().click();
  await page.getByRole('heading', { level: 1, name: /^Portrait de territoire : C[AC] / }).waitFor();
  await check('portrait-epci');
  await page.goto(base + '/territoire/976');
  await check('portrait-departement');

  // Printable without a script: the print stylesheet hides the site's
  // navigation and keeps the tables.
  await page.emulateMedia({ media: 'print' });
  report.print = await page.evaluate(() => ({
    navigation: getComputedStyle(document.querySelector('header.site nav')).display,
    tables: [...document.querySelectorAll('.portrait table')].filter((t) => getComputedStyle(t).display !== 'none').length,
  }));
  await page.pdf({ path: path.join(outDir, 'portrait-departement.pdf') });
} catch (e) {
  report.errors.push(`step failed: ${e.stack || e}`);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(report, null, 1));
process.exit(report.errors.length ? 1 : 0);
