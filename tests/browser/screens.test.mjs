// screens.test.mjs - every screen of every role, opened as that role against the real stack:
// each renders (no refusal, no script error, no CSP violation) and is saved as a screenshot
// under build/screenshots/ (screen-<role>-<screen>.png); the admin screens also on a phone
// (phone-<role>-<screen>.png: the menu folds and nothing is wider than the screen). Lists
// paginate; a global setting is saved from its screen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { useStack, newPage, login, shot, listLoaded, sql, unique, SHOTS, okNotice } from './lib.mjs';

const env = useStack();

const DOMAIN_TABS = ['settings', 'users', 'rules', 'logs', 'quarantine', 'sessions', 'digests', 'dashboard'];
const GROUP_TABS = ['settings', 'domains', 'rules', 'logs', 'quarantine', 'sessions', 'digests', 'dashboard'];

// Each screen once, under the lowest role that has it (demo.sql: domain 1 and group 1 are
// example.test and Local demo, in the domain and group admins' scopes).
const SCREENS = {
  alice: ['#/mail', '#/quarantine', '#/senders', '#/dashboard', '#/account'],
  dadmin: ['#/dashboard', '#/domains', ...DOMAIN_TABS.map((t) => `#/domains/1?tab=${t}`),
    '#/admin/messages', '#/admin/quarantine', '#/admin/sessions', '#/audit'],
  gadmin: ['#/groups', ...GROUP_TABS.map((t) => `#/groups/1?tab=${t}`), '#/admins'],
  root: ['#/bans', '#/bans?status=banned', '#/never-ban', '#/peers', '#/settings'],
};

const shotName = (hash) => hash.slice(2).replace(/\?tab=|\?status=/, '-').replace(/[^a-z0-9-]+/gi, '-');

/** Open hash (after emptying <main>) and wait until the screen has drawn and loaded its data. */
async function open(page, hash) {
  // The address the page is already at (the role's home after login) fires no hashchange.
  if (await page.evaluate((x) => location.hash !== x, hash)) {
    await page.evaluate(() => document.getElementById('main').replaceChildren());
    await page.goto(`${env.st.web}/${hash}`);
  }
  await page.locator('main h1, main [data-denied]').first().waitFor();
  await page.waitForFunction(() => !document.querySelector('main [aria-busy="true"]'));
  if (hash === '#/dashboard') await page.locator('figure.chart').nth(2).waitFor();
  const denied = await page.locator('main [data-denied]').count();
  assert.equal(denied, 0, `${hash}: refused: ${denied && await page.locator('main [data-denied]').textContent()}`);
}

for (const [who, hashes] of Object.entries(SCREENS)) {
  test(`${who}: every screen opens and is saved as a screenshot`, async (t) => {
    if (env.why) return t.skip(env.why);
    const page = await newPage(env.browser, { baseURL: env.st.web });
    await login(page, env.st, who);
    for (const hash of hashes) {
      await open(page, hash);
      const name = `screen-${who}-${shotName(hash)}`;
      await shot(page, name);
      assert.ok(existsSync(path.join(SHOTS, `${name}.png`)), name);
    }
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });
}

test('admins on a phone: every admin screen fits, the menu folds and opens', async (t) => {
  if (env.why) return t.skip(env.why);
  for (const who of ['dadmin', 'gadmin', 'root']) {
    const page = await newPage(env.browser, { phone: true, baseURL: env.st.web });
    await login(page, env.st, who);
    assert.equal(await page.locator('#nav').isVisible(), false, `${who}: the menu is folded`);
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.locator('#nav a', { hasText: 'Domains' }).click();
    await listLoaded(page);
    for (const hash of SCREENS[who]) {
      await open(page, hash);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${who} ${hash}: ${overflow}px wider than the screen`);
      await shot(page, `phone-${who}-${shotName(hash)}`);
    }
    assert.deepEqual(page.problems, []);
    await page.context().close();
  }
});

test('user: a long list paginates (Next and Previous)', async (t) => {
  if (env.why) return t.skip(env.why);
  const tag = unique('page');
  const ids = await sql(env.st, `INSERT INTO directives (user_id, sender_pattern, action)
    SELECT u.id, '@' || '${tag}-' || lpad(i::text, 2, '0') || '.test', 'reject'
    FROM users u, generate_series(1, 30) i WHERE u.local_part = 'alice' RETURNING id`);
  assert.equal(ids.split('\n').length, 30);
  try {
    const page = await newPage(env.browser, { baseURL: env.st.web });
    await login(page, env.st, 'alice');
    await open(page, '#/senders');
    const pager = page.locator('main nav.pager');
    const total = Number(await sql(env.st, "SELECT count(*) FROM directives WHERE user_id = (SELECT id FROM users WHERE local_part = 'alice')"));
    const pages = Math.ceil(total / 25);
    assert.ok(pages >= 2);
    await pager.locator('span', { hasText: `Page 1 of ${pages} · ${total} in all` }).waitFor();
    assert.equal(await pager.getByRole('button', { name: '‹ Previous' }).isDisabled(), true);
    const first = await page.locator('main tbody tr').allTextContents();
    assert.equal(first.length, 25);
    await pager.getByRole('button', { name: 'Next ›' }).click();
    await pager.locator('span', { hasText: `Page 2 of ${pages}` }).waitFor();
    await listLoaded(page);
    const second = await page.locator('main tbody tr').allTextContents();
    assert.equal(second.length, pages === 2 ? total - 25 : 25);
    assert.deepEqual(second.filter((r) => first.includes(r)), [], 'page 2 repeats rows of page 1');
    await shot(page, 'user-senders-page-2');
    await pager.getByRole('button', { name: '‹ Previous' }).click();
    await pager.locator('span', { hasText: `Page 1 of ${pages}` }).waitFor();
    await listLoaded(page);
    assert.deepEqual(await page.locator('main tbody tr').allTextContents(), first);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  } finally {
    await sql(env.st, `DELETE FROM directives WHERE sender_pattern LIKE '@${tag}-%'`);
  }
});

test('root: the global settings are the keys services read; a saved value is what they get', async (t) => {
  if (env.why) return t.skip(env.why);
  const page = await newPage(env.browser, { baseURL: env.st.web });
  await login(page, env.st, 'root');
  await open(page, '#/settings');
  // Only the catalogue (lib/db/settings.h): each key with its reader and the setting it overrides.
  assert.equal(await page.getByRole('form', { name: /^Setting / }).count(), 2);
  const card = page.locator('div.card', { has: page.getByRole('form', { name: 'Setting quarantine.retention_days' }) });
  await card.getByText('Read by delivery').waitFor();
  await card.getByText('Unset: CLEMENT_QUARANTINE_RETENTION_DAYS (delivery) applies (default 30).').waitFor();
  await card.getByRole('spinbutton', { name: 'quarantine.retention_days' }).fill('9');
  await card.getByRole('button', { name: 'Save' }).click();
  await okNotice(page, 'quarantine.retention_days saved');
  await card.getByText('Set to 9.').waitFor();
  // What delivery reads for the next quarantined message (db/migrations/0011_jobs.sql).
  assert.equal(await sql(env.st, "SELECT clement_setting_int('quarantine.retention_days', 30)"), '9');
  await card.getByRole('button', { name: 'Unset' }).click();
  await okNotice(page, 'back to CLEMENT_QUARANTINE_RETENTION_DAYS');
  assert.equal(await sql(env.st, "SELECT clement_setting_int('quarantine.retention_days', 30)"), '30');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
