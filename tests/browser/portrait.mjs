// Browser test of the territory portraits in Debian's Chromium, driven by
// playwright-core, with an axe-core accessibility check of each page.
// Usage: node portrait.mjs BASE_URL ARTIFACT_DIR COMMUNE_NAME INDICATOR
// INDICATOR is an indicator with a breakdown by sex: its sheet is visited
// too. Prints a JSON report on stdout (pages, every axe violation, what
// the print view hides, what the breakdown shows); exits 1 when a step fails, a page breaks the
// Content-Security-Policy or logs an error. ARTIFACT_DIR is emptied
// first, then gets one screenshot per page (and a PDF of the print view).
import path from 'node:path';
import { open } from './harness.mjs';

const [base, outDir, communeName, indicator] = process.argv.slice(2);
const report = { pages: [], violations: [], print: null, breakdown: null, errors: [] };

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
  await page.emulateMedia({ media: 'screen' });

  // An indicator's sheet with its breakdown by sex: reached from the
  // indicators' list, its bar chart and its table as a visitor sees them.
  await page.goto(base + '/indicateur/' + indicator);
  const section = page.locator('section.breakdown[data-by="sexe"]');
  await section.getByRole('heading', { level: 2, name: /^Répartition par sexe/ }).waitFor();
  await check('indicateur-repartition');
  report.breakdown = await section.evaluate((s) => ({
    chart: s.querySelector('svg[role="img"]')?.getAttribute('aria-label') || null,
    bars: [...s.querySelectorAll('svg rect[data-category]')].map((r) => ({
      category: r.dataset.category, width: Number(r.getAttribute('width')),
      shown: r.getBoundingClientRect().width > 0,
    })),
    rows: [...s.querySelectorAll('tbody tr')].map((tr) => ({
      head: tr.querySelector('th').textContent.trim(),
      cells: [...tr.querySelectorAll('td')].map((td) => ({
        category: td.dataset.category, code: td.dataset.code, text: td.textContent.trim(),
      })),
    })),
    columns: [...s.querySelectorAll('thead th')].map((th) => th.textContent.trim()),
    csv: [...s.querySelectorAll('a')].map((a) => a.getAttribute('href')).filter((h) => h.includes('.csv')),
    // The table stays readable on a phone: it fits or scrolls inside its box.
    overflow: s.querySelector('table').getBoundingClientRect().right > document.documentElement.clientWidth
      && getComputedStyle(s.querySelector('table').parentElement).overflowX === 'visible',
  }));
  for (const href of report.breakdown.csv) {
    const r = await page.request.get(base + href);
    if (r.status() !== 200) report.errors.push(`${r.status()} for ${href}`);
  }
} catch (e) {
  report.errors.push(`step failed: ${e.stack || e}`);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(report, null, 1));
process.exit(report.errors.length ? 1 : 0);
