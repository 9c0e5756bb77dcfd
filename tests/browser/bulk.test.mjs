// bulk.test.mjs - acting the way admins work and reading easily (issue 23): bulk release /
// delete / always-accept in the quarantine and from the log, sortable columns, a page size
// choice, the held count in the menu, a CSV export of a filtered log; times with their zone,
// date filters with a time of day, notices that clear on navigation. Against the real stack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { useStack, blocked, loggedIn, shot, listLoaded, smtp, unique, rowAfterRefresh, findInMaildir, okNotice } from './lib.mjs';

const s = useStack();
const MAIL = ['policy', 'scanner', 'delivery', 'smtp-edge'];

const pageAs = (who) => loggedIn(s, who);

/** Hold n messages for alice (the domain's rule for *.newsletter.test) with subjects tag-0..n-1. */
async function hold(tag, n, from = (i) => `n${i}@bulk.newsletter.test`) {
  for (let i = 0; i < n; i += 1) {
    const r = await smtp(s.st, { from: from(i), to: 'alice@example.test', subject: `${tag}-${i}` });
    assert.equal(r.code, 250, r.out);
  }
}

async function filterSubject(page, text) {
  await page.getByLabel('Subject', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
}

async function waitRows(page, n, tries = 20) {
  for (let i = 0; i < tries; i += 1) {
    await listLoaded(page);
    if (await page.locator('tbody tr').count() === n) return;
    await page.waitForTimeout(500);
    await page.getByRole('button', { name: 'Refresh' }).click();
  }
  assert.equal(await page.locator('tbody tr').count(), n);
}

test('user: selects held messages and releases, deletes or always-accepts them in one go; the menu counts what is held', async (t) => {
  if (s.why) return t.skip(s.why);
  const w = await blocked(s.st, MAIL);
  if (w) return t.skip(w);
  const tag = unique('bulk');
  await hold(tag, 5);
  const page = await pageAs('alice');
  await page.goto(`${s.st.web}/#/quarantine`);
  await filterSubject(page, tag);
  await waitRows(page, 5);
  const menu = page.locator('#nav a[href="#/quarantine"]');
  const before = Number(await menu.getAttribute('data-count'));
  assert.ok(before >= 5, `the menu counts the held messages (${before})`);

  // Two released at once.
  const rowOf = (i) => page.locator('tbody tr', { hasText: `${tag}-${i}` });
  await rowOf(0).getByRole('checkbox').check();
  await rowOf(1).getByRole('checkbox').check();
  await page.locator('.bulk', { hasText: '2 selected' }).waitFor();
  await shot(page, 'quarantine-bulk-selected');
  await page.locator('.bulk').getByRole('button', { name: 'Release' }).click();
  await okNotice(page, 'Released 2 messages.');
  await waitRows(page, 3);
  for (const i of [0, 1]) assert.equal(findInMaildir(s.st.maildir, `${tag}-${i}`).length, 1, `${tag}-${i} in the Maildir`);
  await page.waitForFunction(([sel, n]) => Number(document.querySelector(sel).dataset.count || 0) === n,
    ['#nav a[href="#/quarantine"]', before - 2]);

  // Two deleted, after a confirmation that says how many.
  await rowOf(2).getByRole('checkbox').check();
  await rowOf(3).getByRole('checkbox').check();
  await page.locator('.bulk').getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog', { name: /Delete 2 messages/ }).getByRole('button', { name: 'Delete' }).click();
  await okNotice(page, 'Deleted 2 messages.');
  await waitRows(page, 1);

  // "Select all" and always accept the sender of what is left.
  await page.getByRole('checkbox', { name: 'Select all on this page' }).check();
  await page.locator('.bulk').getByRole('button', { name: 'Always accept senders' }).click();
  await page.getByRole('dialog').getByText('n4@bulk.newsletter.test').waitFor();
  await page.getByRole('dialog').getByRole('button', { name: 'Always accept senders' }).click();
  await okNotice(page, 'Released 1 message; their senders will always be accepted.');
  await waitRows(page, 0);
  await page.goto(`${s.st.web}/#/senders`);
  await page.locator('tbody tr', { hasText: 'n4@bulk.newsletter.test' }).waitFor();
  // The notice of the quarantine screen did not follow to this one.
  assert.equal(await page.locator('#notice .msg').count(), 0, 'notices clear on navigation');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('admin: releases held messages from the log in bulk and exports the filtered log as CSV', async (t) => {
  if (s.why) return t.skip(s.why);
  const w = await blocked(s.st, MAIL);
  if (w) return t.skip(w);
  const tag = unique('logbulk');
  await hold(tag, 2);
  const page = await pageAs('root');
  await page.goto(`${s.st.web}/#/admin/messages`);
  await page.getByLabel('Status', { exact: true }).selectOption('quarantined');
  await filterSubject(page, tag);
  await waitRows(page, 2);
  await page.getByRole('checkbox', { name: 'Select all on this page' }).check();
  await page.locator('.bulk').getByRole('button', { name: 'Release' }).click();
  await okNotice(page, 'Released 2 messages.');
  for (const i of [0, 1]) assert.equal(findInMaildir(s.st.maildir, `${tag}-${i}`).length, 1);

  // The export holds exactly what the filters match: all statuses of these two messages.
  await page.getByLabel('Status', { exact: true }).selectOption('');
  await filterSubject(page, tag);
  await waitRows(page, 4);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  assert.match(download.suggestedFilename(), /^mail-log-\d{4}-\d\d-\d\d\.csv$/);
  const lines = readFileSync(await download.path(), 'utf8').trim().split('\r\n');
  assert.equal(lines[0], 'logged_at,direction,sender,rcpt,subject,status,reason_class,code,enh,reason,held_by,held_reason,client_ip,msgid,sid');
  assert.equal(lines.length, 5, lines.join('\n'));
  assert.deepEqual(lines.slice(1).map((l) => l.split(',')[5]).sort(), ['quarantined', 'quarantined', 'released', 'released']);
  assert.ok(lines.slice(1).every((l) => l.includes(tag) && l.includes('domain_rule')), lines.join('\n'));
  assert.ok(lines.some((l) => l.includes('released by root@example.test')), lines.join('\n'));
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('user: sorts by a column, chooses the page size, reads times with their zone, filters by a time of day', async (t) => {
  if (s.why) return t.skip(s.why);
  const w = await blocked(s.st, MAIL);
  if (w) return t.skip(w);
  const tag = unique('sort');
  await hold(tag, 3, (i) => `${'cab'[i]}@sort.newsletter.test`);
  const page = await pageAs('alice');
  await page.goto(`${s.st.web}/#/quarantine`);
  await filterSubject(page, tag);
  await waitRows(page, 3);
  const senders = async () => page.locator('tbody td[data-label="From"]').allTextContents();
  // Newest first by default; "From" sorts by sender, ascending, then descending.
  assert.deepEqual(await senders(), ['b@sort.newsletter.test', 'a@sort.newsletter.test', 'c@sort.newsletter.test']);
  await page.getByRole('button', { name: 'From', exact: true }).click();
  await page.locator('th[aria-sort="ascending"]', { hasText: 'From' }).waitFor();
  assert.deepEqual(await senders(), ['a@sort.newsletter.test', 'b@sort.newsletter.test', 'c@sort.newsletter.test']);
  await page.getByRole('button', { name: 'From ▲' }).click();
  await page.locator('th[aria-sort="descending"]', { hasText: 'From' }).waitFor();
  assert.deepEqual(await senders(), ['c@sort.newsletter.test', 'b@sort.newsletter.test', 'a@sort.newsletter.test']);
  await shot(page, 'quarantine-sorted');

  // Two a page: two rows, and the choice stays for the next list.
  await page.getByLabel('Rows per page').selectOption('10');
  await listLoaded(page);
  assert.equal(await page.getByLabel('Rows per page').inputValue(), '10');
  await page.goto(`${s.st.web}/#/mail`);
  await listLoaded(page);
  assert.equal(await page.getByLabel('Rows per page').inputValue(), '10');
  assert.ok(await page.locator('tbody tr').count() <= 10);

  // Times say their zone (the browser's: UTC here), recent ones how long ago.
  const time = await page.locator('tbody td[data-label="Time"]').first().textContent();
  assert.match(time, /UTC · (just now|\d+ (s|min|h) ago)$/);

  // A time of day in the filter: "Until" a minute ago hides the messages of the last seconds.
  await filterSubject(page, tag);
  await waitRows(page, 3);
  const past = new Date(Date.now() - 10 * 60000);
  const local = new Date(past.getTime() - past.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  await page.getByLabel('Until', { exact: true }).fill(local);
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  await waitRows(page, 0);
  await page.getByLabel('Until', { exact: true }).fill('');
  await page.getByLabel('From', { exact: true }).fill(local);
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  await waitRows(page, 3);
  await shot(page, 'log-time-filter');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
