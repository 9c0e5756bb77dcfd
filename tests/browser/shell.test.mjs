// shell.test.mjs - the UI's own guarantees, independent of the API: it loads under a strict
// Content-Security-Policy with no violation, has no inline script/style/eval in its sources,
// its login form works from the keyboard, and it fits a phone-sized screen. The files are
// served by a plain static file server (what nginx does in containers) sending the CSP that
// deploy/ and admin-api are meant to send; /api answers 404 since no API runs behind it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ROOT, launch, newPage, shot } from './lib.mjs';

const FRONT = path.join(ROOT, 'frontend');
export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
  + "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

let server; let base; let browser;

before(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname.startsWith('/api/')) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end('{"error":"no API behind this static server"}');
      return;
    }
    const rel = url.pathname === '/' ? 'index.html' : path.normalize(url.pathname).replace(/^[/\\]+/, '');
    const file = path.join(FRONT, rel);
    if (!file.startsWith(FRONT + path.sep)) { res.writeHead(403); res.end(); return; }
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream',
        'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff' });
      res.end(body);
    } catch (e) {
      res.writeHead(404); res.end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.close();
});

function sources(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : [p];
  });
}

test('no inline script, inline style, eval or innerHTML in frontend/', () => {
  const bad = [];
  for (const f of sources(FRONT)) {
    const text = readFileSync(f, 'utf8');
    if (f.endsWith('.html')) {
      if (/<script(?![^>]*\bsrc=)[^>]*>/i.test(text)) bad.push(`${f}: inline <script>`);
      if (/<style|\sstyle=|\son[a-z]+=/i.test(text)) bad.push(`${f}: inline style or handler`);
    }
    if (f.endsWith('.js')) {
      if (/\beval\(|new Function\(|innerHTML|outerHTML|insertAdjacentHTML|document\.write/.test(text)) bad.push(`${f}: eval/HTML injection`);
      if (/setAttribute\(\s*['"]style['"]/.test(text)) bad.push(`${f}: style attribute`);
      if (/https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(text)) bad.push(`${f}: absolute URL (CDN?)`);
    }
  }
  assert.deepEqual(bad, []);
});

test('the login screen loads every module under a strict CSP and works from the keyboard', async () => {
  const page = await newPage(browser);
  await page.goto(`${base}/`);
  // Every screen module is imported by app.js: a syntax error anywhere would be a pageerror.
  await page.locator('#login-form').waitFor();
  assert.equal(await page.evaluate(() => location.hash), '#/login');
  // The address field has the focus; Tab goes to the password, Enter submits.
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('autocomplete')), 'username');
  await page.keyboard.type('alice@example.test');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.type), 'password');
  await page.keyboard.type('not the password');
  await page.keyboard.press('Enter');
  // The API's own error text is what the user sees.
  await page.locator('#notice .msg.error', { hasText: 'no API behind this static server' }).waitFor();
  assert.equal(await page.locator('#nav a').count(), 0, 'no navigation before login');
  // Every control is labelled.
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input,select,textarea')]
    .filter((el) => !el.labels || el.labels.length === 0).map((el) => el.name));
  assert.deepEqual(unlabelled, []);
  await shot(page, 'login');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a page address typed before login goes to the login screen', async () => {
  const page = await newPage(browser);
  await page.goto(`${base}/#/bans`);
  await page.locator('#login-form').waitFor();
  assert.equal(await page.evaluate(() => location.hash), '#/login');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the login screen fits a phone-sized screen', async () => {
  const page = await newPage(browser, { phone: true });
  await page.goto(`${base}/`);
  await page.locator('#login-form').waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
  const box = await page.locator('#login-form button[type=submit]').boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= 375, 'the Log in button is on screen');
  await shot(page, 'login-phone');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the SVG charts draw from both shapes of statistics', async () => {
  const page = await newPage(browser);
  await page.goto(`${base}/`);
  await page.locator('#login-form').waitFor();
  const r = await page.evaluate(async () => {
    const c = await import('/js/chart.js');
    const d = await import('/js/screens/dashboard.js');
    const wide = d.perHourPoints([{ hour: '2026-01-01T10:00:00Z', received: 3, rejected: 2 }, { hour: '2026-01-01T11:00:00Z', quarantined: 1, relayed: 4 }]);
    const long = d.perHourPoints([{ hour: '2026-01-01T10:00:00Z', outcome: 'rejected', count: 5 }, { hour: '2026-01-01T10:00:00Z', outcome: 'virus', count: 1 }]);
    const fig = c.stackedColumns({ title: 't', points: wide, series: ['received', 'quarantined', 'rejected', 'other'] });
    const bars = c.horizontalBars({ title: 'b', items: [{ label: '192.0.2.1', value: 9 }, { label: '192.0.2.2', value: 3 }] });
    const reasons = d.topReasons([{ reason_class: 'directive', reason: 'a', count: 2 }, { reason_class: 'directive', reason: 'b', count: 3 },
      { reason_class: 'unknown_rcpt', reason: 'c', count: 4 }]);
    // the classes policy logs at RCPT for HELO and sender verdicts (issue 22), and one the UI does not know yet
    const rcptReasons = d.topReasons([{ reason_class: 'helo', count: 3 }, { reason_class: 'sender_syntax', count: 2 },
      { reason_class: 'brand_new', count: 1 }]);
    const common = await import('/js/screens/common.js');
    const why = ['helo', 'sender_syntax', 'brand_new'].map((k) => common.logWhy({ status: 'rejected', reason_class: k }));
    const filled = d.perHourPoints([{ hour: '2026-01-01T10:00:00Z', status: 'received', count: 2 }], 24, Date.parse('2026-01-01T12:30:00Z'));
    return { rcptReasons, why, filled: [filled.length, filled.filter((p) => p.values.received === 2).length, filled[21].values], reasons, niceMax: [c.niceMax(0), c.niceMax(7), c.niceMax(13), c.niceMax(4000)], wide, long,
      rects: fig.querySelectorAll('rect').length, barRects: bars.querySelectorAll('rect').length };
  });
  assert.deepEqual(r.niceMax, [1, 10, 20, 5000]);
  assert.deepEqual(r.wide[1].values, { quarantined: 1, received: 4 });
  assert.deepEqual(r.long[0].values, { rejected: 5, other: 1 });
  assert.equal(r.rects, 4);
  assert.deepEqual(r.filled, [24, 1, { received: 2 }]);   // 12:xx is the last column; 10:00 is two before
  assert.deepEqual(r.reasons, [{ label: 'refused by a rule', value: 5 }, { label: 'unknown recipient', value: 4 }]);
  assert.deepEqual(r.rcptReasons, [{ label: 'bad HELO name', value: 3 }, { label: 'bad sender address', value: 2 },
    { label: 'brand_new', value: 1 }]);
  assert.deepEqual(r.why, ['bad HELO name', 'bad sender address', 'brand_new']);
  assert.equal(r.barRects, 2);
  await page.context().close();
});
