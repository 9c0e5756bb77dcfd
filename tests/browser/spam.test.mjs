// spam.test.mjs - content verdicts with Rspamd in the UI (issue 18): a group admin sets the
// group's spam scores, the DMARC switch and the learning switch, a domain admin overrides them for a domain, and a
// user reads why a message was refused as spam in its own log. The verdicts themselves are
// tested against a real Rspamd in tests/integration/test_rspamd.py; here the log row is the one
// smtp-edge writes for such a refusal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stack, blocked, launch, newPage, login, shot, listLoaded, sql, unique, rowAfterRefresh, okNotice } from './lib.mjs';

let st; let browser; let why;

before(async () => {
  st = stack();
  why = await blocked(st);
  browser = await launch();
});
after(async () => { if (browser) await browser.close(); });

async function page(who) {
  const p = await newPage(browser, { baseURL: st.web });
  await login(p, st, who);
  return p;
}

const spamForm = (p) => p.getByLabel('Spam settings');

test('group admin: sets the group\'s spam scores and DMARC switch; a domain admin overrides one', async (t) => {
  if (why) return t.skip(why);
  const p = await page('gadmin');
  await p.goto(`${st.web}/#/groups/1`);
  const f = spamForm(p);
  await f.getByLabel('Reject at score').fill('12.5');
  await f.getByLabel('Quarantine at score').fill('8');
  await f.getByLabel('Tag at score').fill('4.25');
  await f.getByLabel('Enforce DMARC p=reject').check();
  assert.equal(await f.getByLabel('Learn from quarantine decisions').isChecked(), false);
  await f.getByLabel('Learn from quarantine decisions').check();
  await f.getByRole('button', { name: 'Save' }).click();
  await okNotice(p, 'Spam settings saved');
  const row = await sql(st, "SELECT spam_reject_score || ' ' || spam_quarantine_score || ' ' || spam_tag_score || ' ' || dmarc_enforce || ' ' || learn_quarantine FROM groups WHERE id = 1");
  assert.equal(row, '12.50 8.00 4.25 true true');
  await p.reload();
  assert.equal(await spamForm(p).getByLabel('Reject at score').inputValue(), '12.5');
  assert.equal(await spamForm(p).getByLabel('Enforce DMARC p=reject').isChecked(), true);
  assert.equal(await spamForm(p).getByLabel('Learn from quarantine decisions').isChecked(), true);
  await shot(p, 'group-spam-settings');
  // Emptied, a score goes back to Rspamd's own action (null), never 0.
  await spamForm(p).getByLabel('Tag at score').fill('');
  await spamForm(p).getByRole('button', { name: 'Save' }).click();
  await okNotice(p, 'Spam settings saved');
  assert.equal(await sql(st, "SELECT coalesce(spam_tag_score::text, 'null') FROM groups WHERE id = 1"), 'null');
  assert.deepEqual(p.problems, []);
  await p.context().close();

  const d = await page('dadmin');
  await d.goto(`${st.web}/#/domains/1`);
  const g = spamForm(d);
  await g.getByLabel('Quarantine at score').fill('6');
  await g.getByLabel('Enforce DMARC p=reject').selectOption('off');
  await g.getByRole('button', { name: 'Save' }).click();
  await okNotice(d, 'Spam settings saved');
  assert.equal(await sql(st, "SELECT spam_quarantine_score || ' ' || dmarc_enforce || ' ' || coalesce(spam_reject_score::text, 'null') FROM domains WHERE id = 1"),
    '6.00 false null');
  await shot(d, 'domain-spam-settings');
  assert.deepEqual(d.problems, []);
  await d.context().close();
  await sql(st, 'UPDATE groups SET spam_reject_score = NULL, spam_quarantine_score = NULL, spam_tag_score = NULL, dmarc_enforce = false, learn_quarantine = false WHERE id = 1');
  await sql(st, 'UPDATE domains SET spam_quarantine_score = NULL, dmarc_enforce = NULL WHERE id = 1');
});

test('user: sees why a message was refused as spam, and filters its log by that reason', async (t) => {
  if (why) return t.skip(why);
  const from = `${unique('bulk')}@sender.test`;
  const reason = 'Message refused as spam (score 16.20): Gtube pattern';
  await sql(st, `INSERT INTO message_log (msgid, sender, rcpt, user_id, domain_id, group_id, status, reason_class, code, enh, reason, subject)
    SELECT 'M1', '${from}', 'alice@example.test', u.id, 1, 1, 'rejected', 'spam', 550, '5.7.1', '${reason}', 'cheap watches'
    FROM users u WHERE u.local_part = 'alice' AND u.domain_id = 1`);
  const p = await page('alice');
  await p.goto(`${st.web}/#/mail`);
  await listLoaded(p);
  await p.getByLabel('Refused for').selectOption('spam');
  await p.getByRole('button', { name: 'Filter', exact: true }).click();
  const row = await rowAfterRefresh(p, from);
  const text = await row.innerText();
  assert.ok(text.includes('550 5.7.1 Message refused as spam (score 16.20): Gtube pattern'), text);
  assert.ok(text.includes('spam score'), text);
  await shot(p, 'user-mail-spam');
  assert.deepEqual(p.problems, []);
  await p.context().close();
});
