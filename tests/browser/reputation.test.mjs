// reputation.test.mjs - the admins' session screen explains a session's reputation score
// (issue 17): the score in the list, and in the session dialog each fact (list, answer,
// weight; PTR; HELO finding), and a group admin's stricter threshold for the group. The facts
// are set on a real session's row: the edge that gathers them against a real DNS server, and
// the threshold's effect, are tested in tests/integration/test_reputation.py.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stack, blocked, launch, newPage, login, shot, smtp, sql, unique, rowAfterRefresh, okNotice } from './lib.mjs';

let st; let browser; let why;

before(async () => {
  st = stack();
  why = await blocked(st);
  browser = await launch();
});
after(async () => { if (browser) await browser.close(); });

test('root: the session screen shows the reputation score and the facts behind it', async (t) => {
  if (why) return t.skip(why);
  const subject = unique('rep');
  assert.equal((await smtp(st, { from: 'rep@sender.test', to: 'alice@example.test', subject })).code, 250);
  let sid = '';
  for (let i = 0; i < 50 && !sid; i++) {
    sid = await sql(st, `SELECT s.sid FROM smtp_sessions s JOIN message_log m USING (sid) WHERE m.subject = '${subject}'`);
    if (!sid) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(sid, 'session row written');
  const facts = JSON.stringify({ ptr: 'mail.sender.test', facts: [
    { kind: 'dnsbl', name: 'zen.dq.spamhaus.net', answer: '127.0.0.2', weight: 3 },
    { kind: 'dnswl', name: 'list.dnswl.org', answer: '127.0.9.2', weight: -2 },
    { kind: 'ptr', name: 'mismatch', answer: 'mail.sender.test', weight: 1 },
    { kind: 'helo', name: 'bare_ip', answer: '', weight: 0 }] });
  await sql(st, `UPDATE smtp_sessions SET rep_score = 2, rep_facts = '${facts}' WHERE sid = '${sid}'`);
  const page = await newPage(browser, { baseURL: st.web });
  await login(page, st, 'root');
  await page.goto(`${st.web}/#/admin/sessions`);
  const row = await rowAfterRefresh(page, sid);
  const cells = await row.locator('td').allTextContents();
  assert.ok(cells.includes('2'), `score in the list: ${cells}`);
  await row.getByRole('button', { name: 'Transcript' }).click();
  const dlg = page.getByRole('dialog');
  await dlg.locator('h3', { hasText: 'Reputation score 2' }).waitFor();
  const table = await dlg.locator('table.rep-facts').innerText();
  for (const want of ['Listed by', 'zen.dq.spamhaus.net', '127.0.0.2', 'Allowlisted by', 'list.dnswl.org', '-2',
    'PTR name does not resolve back', 'mail.sender.test', 'a bare IP address']) {
    assert.ok(table.includes(want), `${want} missing from:\n${table}`);
  }
  await shot(page, 'session-reputation');
  await dlg.getByRole('button', { name: 'Close' }).click();
});

test('group admin: sets a stricter reputation threshold for the group\'s recipients, and empties it again', async (t) => {
  if (why) return t.skip(why);
  const page = await newPage(browser, { baseURL: st.web });
  await login(page, st, 'gadmin');
  await page.goto(`${st.web}/#/groups/1`);
  const form = page.getByLabel('Group settings');
  await form.getByLabel('Reputation threshold').fill('2');
  await form.getByRole('button', { name: 'Save' }).click();
  await okNotice(page, 'Group settings saved');
  assert.equal(await sql(st, 'SELECT dnsbl_threshold FROM groups WHERE id = 1'), '2');
  await page.reload();
  assert.equal(await page.getByLabel('Group settings').getByLabel('Reputation threshold').inputValue(), '2');
  await shot(page, 'group-reputation-threshold');
  // Emptied, the group follows the server's threshold again (NULL), never 0.
  await page.getByLabel('Group settings').getByLabel('Reputation threshold').fill('');
  await page.getByLabel('Group settings').getByRole('button', { name: 'Save' }).click();
  await okNotice(page, 'Group settings saved');
  assert.equal(await sql(st, "SELECT coalesce(dnsbl_threshold::text, 'null') FROM groups WHERE id = 1"), 'null');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
