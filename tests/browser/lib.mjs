// lib.mjs - shared helpers of the browser tests: the stack's addresses (written by
// stack.py), Debian's Chromium through playwright-core, login, screenshots, SMTP via swaks.
import { chromium } from 'playwright-core';
import { before, after } from 'node:test';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, statSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHOTS = path.join(ROOT, 'build/screenshots');
mkdirSync(SHOTS, { recursive: true });

/** The running stack ({web, smtp_port, maildir, db_url, accounts, services}), or null. */
export function stack() {
  const p = process.env.CLEMENT_BROWSER_STATE;
  if (!p) return null;
  try { return JSON.parse(readFileSync(p, 'utf8')); } catch (e) { return null; }
}

/**
 * Why a flow cannot run yet, or '' when it can: the services it needs must be up, and
 * admin-api must serve both the UI and /api/me (401 before login). Tests call t.skip()
 * with this text so the summary names exactly what blocks them.
 */
export async function blocked(st, needs = []) {
  if (!st) return 'no stack (CLEMENT_BROWSER_STATE unset: run tests/browser/run)';
  for (const n of ['admin-api', ...needs]) {
    const s = st.services[n];
    if (!s || !s.up) return `blocked on ${n}: ${s ? s.error.split('\n')[0] : 'not started'}`;
  }
  try {
    const idx = await fetch(`${st.web}/`);
    const html = await idx.text();
    if (!idx.ok || !html.includes('js/app.js')) return `blocked on admin-api: GET / does not serve frontend/index.html (HTTP ${idx.status})`;
    const me = await fetch(`${st.web}/api/me`);
    if (me.status !== 401) return `blocked on admin-api: GET /api/me without a session answers ${me.status}, not 401`;
  } catch (e) {
    return `blocked on admin-api: nothing answers on ${st.web} (${e.cause ? e.cause.code : e.message})`;
  }
  return '';
}

/**
 * Debian's Chromium, never a downloaded one. Playwright refuses --user-data-dir in args for
 * launch(); it passes its own fresh temporary --user-data-dir on every launch and deletes it
 * at close, which is the fresh profile we want (each test file gets a new browser).
 */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return browser;
}

/**
 * A fresh context and page. page.problems collects uncaught errors and CSP violations
 * (Chromium reports both on the console), which a test asserts stay empty.
 */
export async function newPage(browser, { phone = false, baseURL } = {}) {
  const ctx = await browser.newContext(phone
    ? { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, baseURL }
    : { viewport: { width: 1280, height: 860 }, baseURL });
  const page = await ctx.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    const t = m.text();
    if (/Content Security Policy|Refused to (load|execute|apply|connect|evaluate)/i.test(t)) page.problems.push(`csp: ${t}`);
  });
  return page;
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** Log in through the form; resolves when the navigation shows the account. */
export async function login(page, st, who) {
  const a = st.accounts[who];
  await page.goto(`${st.web}/#/login`);
  await page.getByLabel('E-mail address').fill(a.address);
  await page.getByLabel('Password').fill(a.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#who [data-role]').waitFor();
  return a;
}

/** A new page of the stack's UI (`s` from useStack()), logged in as `who`. */
export async function loggedIn(s, who, opts = {}) {
  const page = await newPage(s.browser, { ...opts, baseURL: s.st.web });
  await login(page, s.st, who);
  return page;
}

/** Wait for a list screen to finish loading. */
export async function listLoaded(page) {
  await page.locator('main [aria-busy="false"], main [data-denied]').first().waitFor();
}

/** Wait for the success notice holding `text`; when it does not come, the failure says what
 * the screen showed instead (an error notice's text), not only that the wait timed out. */
export async function okNotice(page, text) {
  try {
    await page.locator('#notice .msg.ok', { hasText: text }).waitFor();
  } catch (e) {
    const shown = await page.locator('#notice .msg').allTextContents().catch(() => []);
    e.message += `\n  expected the notice "${text}"; the screen showed: ${shown.length ? shown.map((t) => JSON.stringify(t)).join(', ') : 'no notice'}`;
    throw e;
  }
}

/**
 * One SMTP transaction with swaks; resolves to {code, text, out} of the last server reply.
 * With `auth` ({user, password}) it goes to the submission port, STARTTLS then AUTH PLAIN.
 */
export function smtp(st, { from, to, subject, body = 'Hello from the browser tests.\n', auth = null }) {
  const server = auth ? ['--server', `${st.smtp_host}:${st.submission_port}`, '--tls', '--auth', 'PLAIN',
    '--auth-user', auth.user, '--auth-password', auth.password] : ['--server', `${st.smtp_host}:${st.smtp_port}`];
  return new Promise((resolve) => {
    execFile('swaks', [...server, '--from', from, '--to', to,
      '--helo', 'browser-test.example', '--header', `Subject: ${subject}`, '--body', body, '--timeout', '20'],
    { timeout: 40000 }, (_err, stdout, stderr) => {
      const out = `${stdout}${stderr}`;
      const replies = out.split('\n').filter((l) => /^\s*<[~*-]* +\d{3}[ -]/.test(l));
      const last = replies.filter((l) => !/^\s*<[~*-]* +221/.test(l)).pop() || '';
      const m = /(\d{3})[ -](.*)$/.exec(last.trim());
      resolve({ code: m ? Number(m[1]) : 0, text: m ? `${m[1]} ${m[2]}` : '', out });
    });
  });
}

/** Files under dir (recursively) whose contents include `needle`. */
export function findInMaildir(dir, needle) {
  const hits = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else if (s.size < 5e6 && readFileSync(p, 'latin1').includes(needle)) hits.push(p);
    }
  };
  try { walk(dir); } catch (e) { /* no Maildir yet */ }
  return hits;
}

/** Run SQL against the stack's database with psql (test set-up and session expiry only). */
export function sql(st, query) {
  return new Promise((resolve, reject) => {
    execFile('psql', ['-X', '-qtA', '-v', 'ON_ERROR_STOP=1', st.db_url, '-c', query], (err, stdout, stderr) => {
      if (err) reject(new Error(stderr || err.message)); else resolve(stdout.trim());
    });
  });
}

export const unique = (p) => `${p}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

/**
 * Open a page by typing its address and return the refusal shown (data-denied: "403"/"404"),
 * or '' when the page opened. <main> is emptied first so a previous page's panel cannot answer.
 */
export async function typedAddress(page, st, hash) {
  await page.evaluate(() => document.getElementById('main').replaceChildren());
  await page.goto(`${st.web}/${hash}`);
  const panel = page.locator('main [data-denied], main h1').first();
  await panel.waitFor();
  return (await page.locator('main [data-denied]').getAttribute('data-denied', { timeout: 1000 }).catch(() => '')) || '';
}

/**
 * Wait for a row with `text` in the current list, pressing the list's Refresh button while
 * it is not there: the services write their logs in batches, a moment after the SMTP reply.
 */
export async function rowAfterRefresh(page, text, tries = 20) {
  const row = page.locator('tbody tr', { hasText: text });
  for (let i = 0; i < tries; i += 1) {
    await listLoaded(page);
    if (await row.count() > 0) return row;
    await page.waitForTimeout(500);
    await page.getByRole('button', { name: 'Refresh' }).click();
  }
  await row.waitFor({ timeout: 1000 });
  return row;
}

/**
 * The hooks of a test file: before its tests, the stack and why it cannot run (blocked());
 * one browser for the file, closed after. Returns an object whose st, why and browser are
 * filled in by the time the tests run.
 */
export function useStack() {
  const t = { st: null, why: '', browser: null };
  before(async () => {
    t.st = stack();
    t.why = await blocked(t.st);
    t.browser = await launch();
  });
  after(async () => { if (t.browser) await t.browser.close(); });
  return t;
}

/** Press Tab until `pred(arg)` holds in the page (at most `max` times); true when it did. */
export async function tabTo(page, pred, arg = null, max = 120) {
  for (let i = 0; i < max; i += 1) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(pred, arg)) return true;
  }
  return false;
}

/** Log in through the form with the keyboard only (the address field has the focus). */
export async function keyboardLogin(page, st, who) {
  await page.goto(`${st.web}/#/login`);
  await page.locator('#login-form').waitFor();
  await page.keyboard.type(st.accounts[who].address);
  await page.keyboard.press('Tab');
  await page.keyboard.type(st.accounts[who].password);
  await page.keyboard.press('Enter');
  await page.locator('#who [data-role]').waitFor();
}
