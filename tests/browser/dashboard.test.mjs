// dashboard.test.mjs - the dashboard of one domain and one user (issue 23, "read easily"):
// received, quarantined and refused (by reason) over time, scoped by the server to what the
// caller may see; readable on a phone; and root's global settings as a typed form with the
// defaults. Against the real stack; the log rows a test counts are written into message_log
// as the services write them, in a period of their own (a few hours ago), and read as deltas so
// the traffic of the other test files does not matter.
// A stack that did not start fails these tests: nothing here is skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useStack, loggedIn, shot, sql, unique } from './lib.mjs';

const s = useStack();

/** The four totals the dashboard shows, as numbers. */
async function tiles(page) {
  await page.locator('.tiles').waitFor();
  const n = async (cls) => Number(await page.locator(`.tile.${cls} .tile-n`).textContent());
  return { received: await n('s-received'), quarantined: await n('s-quarantined'), refused: await n('s-rejected'), sent: await n('s-sent') };
}

/** message_log rows as delivery and policy write them: [status, reason_class|null, user, domain, group]. */
async function logRows(tag, rows) {
  const values = rows.map(([status, klass, user, domain, group], i) => `('${tag}-${i}', 'x@${tag}.test', 'r${i}@example.test', ${user}, ${domain}, ${group},
    '${status}', ${klass ? `'${klass}'` : 'NULL'}, ${status === 'rejected' ? 550 : 250}, '${status === 'rejected' ? '5.7.1' : '2.0.0'}',
    ${status === 'rejected' ? `'refused ${tag}'` : 'NULL'}, 'in', now() - interval '3 hours')`);
  await sql(s.st, `INSERT INTO message_log (msgid, sender, rcpt, user_id, domain_id, group_id, status, reason_class, code, enh, reason,
    direction, logged_at) VALUES ${values.join(',')}`);
}

const ALICE = 4; // demo.sql: alice@example.test, domain example.test (1) of group "Local demo" (1)

test('user: "My dashboard" counts its own mail - received, quarantined, refused by reason - and no one else\'s', async () => {
  assert.equal(s.why, '', s.why);
  const page = await loggedIn(s, 'alice');
  await page.getByRole('link', { name: 'My dashboard' }).click();
  await page.getByRole('heading', { name: 'My dashboard' }).waitFor();
  const before = await tiles(page);
  const tag = unique('dash-user');
  await logRows(tag, [['received', null, ALICE, 1, 1], ['received', null, ALICE, 1, 1], ['quarantined', null, ALICE, 1, 1],
    ['rejected', 'directive', ALICE, 1, 1], ['rejected', 'spam', ALICE, 1, 1], ['rejected', 'spam', ALICE, 1, 1],
    // someone else's mail, in the same domain and in another: not on alice's dashboard
    ['received', null, 'NULL', 1, 1], ['rejected', 'spam', 'NULL', 2, 2]]);
  await page.reload();
  await page.getByRole('heading', { name: 'My dashboard' }).waitFor();
  const after = await tiles(page);
  assert.deepEqual({ received: after.received - before.received, quarantined: after.quarantined - before.quarantined, refused: after.refused - before.refused },
    { received: 2, quarantined: 1, refused: 3 });
  // Refused by reason: one bar per reason class, in words.
  const reasons = page.locator('figure', { has: page.locator('figcaption', { hasText: 'Refused recipients by reason' }) });
  await reasons.locator('svg text', { hasText: 'spam score' }).waitFor();
  await reasons.locator('svg text', { hasText: 'sender rule' }).waitFor();
  // Over time: the hour three hours ago has a quarantined and a rejected column part.
  const chart = page.locator('figure[data-chart="stacked"]');
  assert.ok(await chart.locator('rect.s-quarantined').count() >= 1 && await chart.locator('rect.s-rejected').count() >= 1);
  // A user sees neither the banned networks nor anyone's stats but its own, whatever it asks.
  assert.equal(await page.getByRole('heading', { name: 'Top banned IPs' }).count(), 0);
  const other = await page.evaluate(async () => (await fetch('/api/stats?user_id=1&hours=24')).json());
  assert.ok(other.totals.every((r) => r.count === 0) || other.totals.length === 0, JSON.stringify(other.totals));
  await shot(page, 'user-dashboard');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('domain admin: its domain\'s Dashboard tab counts that domain only; the dashboard offers its domains; a user\'s dashboard', async () => {
  assert.equal(s.why, '', s.why);
  const page = await loggedIn(s, 'dadmin');
  await page.goto(`${s.st.web}/#/domains/1?tab=dashboard`);
  await page.getByRole('heading', { name: 'Dashboard of example.test' }).waitFor();
  const before = await tiles(page);
  const tag = unique('dash-dom');
  await logRows(tag, [['received', null, 'NULL', 1, 1], ['rejected', 'unknown_rcpt', 'NULL', 1, 1],
    ['received', null, 'NULL', 2, 2], ['received', null, 'NULL', 2, 2], ['quarantined', null, 'NULL', 2, 2]]);
  await page.reload();
  await page.getByRole('heading', { name: 'Dashboard of example.test' }).waitFor();
  const after = await tiles(page);
  assert.deepEqual([after.received - before.received, after.quarantined - before.quarantined, after.refused - before.refused], [1, 0, 1]);
  await page.locator('figure svg text', { hasText: 'unknown recipient' }).first().waitFor();
  // The period choice stays on the tab.
  await page.getByLabel('Period').selectOption('168');
  await page.waitForURL(/#\/domains\/1\?tab=dashboard&hours=168$/);
  await page.getByRole('heading', { name: 'Dashboard of example.test' }).waitFor();
  await shot(page, 'domain-dashboard');

  // The Dashboard screen offers only the domains in scope; picking one narrows it.
  await page.goto(`${s.st.web}/#/dashboard`);
  await page.getByRole('heading', { name: 'Dashboard', exact: true }).waitFor();
  const options = await page.getByLabel('Domain').locator('option').allTextContents();
  assert.deepEqual(options, ['all domains you manage', 'example.test']);
  await page.getByLabel('Domain').selectOption({ label: 'example.test' });
  await page.getByRole('heading', { name: 'Dashboard of example.test' }).waitFor();
  assert.match(await page.evaluate(() => location.hash), /domain_id=1/);
  // relay.test's rows stay out even when asked for by id (the server narrows, never widens).
  await page.goto(`${s.st.web}/#/dashboard?domain_id=2`);
  await page.getByRole('heading', { name: 'Dashboard', exact: true }).waitFor();
  const denied = await page.evaluate(async () => (await fetch('/api/stats?domain_id=2')).json());
  assert.deepEqual(denied.totals, []);

  // From the domain's users, one user's dashboard.
  await page.goto(`${s.st.web}/#/domains/1?tab=users`);
  await page.getByRole('link', { name: 'Dashboard of alice@example.test' }).click();
  await page.getByRole('heading', { name: 'Dashboard of alice@example.test' }).waitFor();
  const alice = await tiles(page);
  const api = await page.evaluate(async () => (await fetch('/api/stats?user_id=4&hours=24')).json());
  const sum = (st) => api.totals.filter((r) => r.status === st).reduce((a, r) => a + r.count, 0);
  assert.deepEqual([alice.received, alice.quarantined, alice.refused], [sum('received') + sum('relayed'), sum('quarantined'), sum('rejected')]);
  await shot(page, 'user-dashboard-by-admin');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('phone: the dashboard\'s charts are drawn for the screen - text of a readable size, labels apart, no sideways scrolling', async () => {
  assert.equal(s.why, '', s.why);
  const page = await loggedIn(s, 'root', { phone: true });
  await page.goto(`${s.st.web}/#/dashboard?hours=168`);
  const chart = page.locator('figure[data-chart="stacked"]');
  await chart.locator('svg').waitFor();
  const m = await page.evaluate(() => {
    const svg = document.querySelector('figure[data-chart="stacked"] svg');
    const box = (e) => e.getBoundingClientRect();
    // the size text is drawn at: its font size times the drawing's scale on the screen
    const px = (t) => parseFloat(getComputedStyle(t).fontSize) * (box(t.ownerSVGElement).width / t.ownerSVGElement.viewBox.baseVal.width);
    const heights = [...svg.querySelectorAll('text')].map(px);
    const xs = [...svg.querySelectorAll('text.xlabel')].map(box).sort((a, b) => a.left - b.left);
    const overlaps = xs.slice(1).filter((b, i) => b.left < xs[i].right).length;
    const barText = [...document.querySelectorAll('figure[data-chart="bars"] svg text')].map(px);
    return { heights, overlaps, labels: xs.length, desc: svg.querySelector('desc').textContent, barText,
      scroll: document.documentElement.scrollWidth, width: window.innerWidth };
  });
  // 11px text drawn at (about) its own size, not a 640-wide drawing shrunk to a phone's width.
  assert.ok(Math.min(...m.heights) >= 10.5, `smallest chart text ${Math.min(...m.heights)}px`);
  assert.ok(m.barText.length === 0 || Math.min(...m.barText) >= 10.5, `smallest bar label ${Math.min(...m.barText)}px`);
  assert.equal(m.overlaps, 0, 'time labels overlap');
  assert.ok(m.labels >= 3 && m.labels <= 6, `${m.labels} time labels`);
  // A week of hours merged into at most 24 columns.
  assert.ok(Number(/^(\d+) columns/.exec(m.desc)[1]) <= 24, m.desc);
  assert.ok(m.scroll <= m.width, `page ${m.scroll}px wide on a ${m.width}px screen`);
  // The numbers are there as a table too.
  await chart.getByText('Show as a table').click();
  assert.ok(await chart.locator('table tbody tr').count() >= 1);
  await shot(page, 'dashboard-phone');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('root: the global settings are a typed form of the catalogue, with each key\'s type, bounds and default', async () => {
  assert.equal(s.why, '', s.why);
  const page = await loggedIn(s, 'root');
  await page.goto(`${s.st.web}/#/settings`);
  const card = page.locator('div.card', { has: page.getByRole('form', { name: 'Setting log.retention_months' }) });
  const input = card.getByRole('spinbutton', { name: 'log.retention_months' });
  assert.deepEqual(await input.evaluate((e) => [e.type, e.min, e.max, e.step, e.placeholder]), ['number', '1', '1200', '1', '13']);
  await card.getByText('a whole number from 1 to 1200, default 13').waitFor();
  await card.getByText('Unset: CLEMENT_LOG_RETENTION_MONTHS (banstats) applies (default 13).').waitFor();
  // The server checks the type and bounds too, answering with a JSON error the form shows.
  await input.evaluate((e) => { e.removeAttribute('max'); });
  await input.fill('5000');
  await card.getByRole('button', { name: 'Save' }).click();
  await page.locator('#notice .msg.error', { hasText: 'log.retention_months must be an integer from 1 to 1200' }).waitFor();
  assert.equal(await sql(s.st, "SELECT count(*) FROM settings WHERE key = 'log.retention_months'"), '0');
  await shot(page, 'root-settings-typed');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
