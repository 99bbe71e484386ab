// Browser test of the territory portraits in Debian's Chromium, driven by
// playwright-core, with an axe-core accessibility check of each page.
// Usage: node portrait.mjs BASE_URL ARTIFACT_DIR COMMUNE_NAME
// Prints a JSON report on stdout (pages, every axe violation, what the
// print view hides); exits 1 when a step fails, a page breaks the
// Content-Security-Policy or logs an error. ARTIFACT_DIR is emptied
// first, then gets one screenshot per page (and a PDF of the print view).
import path from 'node:path';
import { open } from './harness.mjs';

const [base, outDir, communeName] = process.argv.slice(2);
const report = { pages: [], violations: [], print: null, errors: [] };

const { browser, page, check } = await open(outDir, report);
try {
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
