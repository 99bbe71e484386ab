// What every browser test shares: Debian's Chromium (driven by
// playwright-core) on a cheap phone's screen, every Content-Security-Policy
// violation seen from inside the page, console errors, script errors and
// HTTP errors recorded in the report, and `check(name, page)`: a page's
// CSP record, its screenshot in ARTIFACT_DIR and axe-core's violations.
// axe-core is run through the DevTools protocol, which the page's policy
// does not govern, so every page is checked under its own CSP.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const axeSource = fs.readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

/** The viewport of every test: a cheap phone's screen. */
export const PHONE = { width: 412, height: 915 };

/**
 * Empties `outDir`, starts Chromium and opens a page whose errors go to
 * `report.errors`. With `lang`, `check` also reports a page whose
 * <html lang> is another. Close `browser` when done.
 */
export async function open(outDir, report, { lang } = {}) {
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ acceptDownloads: true, viewport: PHONE });
  // Every CSP violation of every page, seen from inside the page.
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

  async function check(name, p = page) {
    const csp = await p.evaluate(() => sessionStorage.getItem('csp'));
    for (const v of JSON.parse(csp || '[]')) report.errors.push(`CSP on ${name}: ${v}`);
    await p.evaluate(() => sessionStorage.removeItem('csp'));
    if (lang && (await p.evaluate(() => document.documentElement.lang)) !== lang) {
      report.errors.push(`${name}: not in the language ${lang}`);
    }
    await p.screenshot({ path: path.join(outDir, `${name}.png`), fullPage: true });
    await p.evaluate(axeSource);
    const r = await p.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
    for (const v of r.violations) {
      report.violations.push({
        page: name, id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
      });
    }
    report.pages.push({ name, url: p.url(), title: await p.title() });
  }

  return { browser, context, page, check };
}

/** Clicks the link named `link` on `page`, saves the download as `file`, and returns its text. */
export async function download(page, link, file) {
  const [d] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: link }).click(),
  ]);
  await d.saveAs(file);
  return fs.readFileSync(file, 'utf8');
}
