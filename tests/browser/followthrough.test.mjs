// followthrough.test.mjs - one message followed through (issue 23, "explain and link"): why a
// message is held (quarantine column, preview, the log), the refusal category the log shows and
// filters by, the log row's links to the held copy and back, to the SMTP session (admins), and
// "released by" naming the account, not its id. Against the real stack, as a user and an admin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useStack, blocked, loggedIn, shot, listLoaded, smtp, sql, unique, rowAfterRefresh, okNotice } from './lib.mjs';

const s = useStack();
const MAIL = ['policy', 'scanner', 'delivery', 'smtp-edge'];

const pageAs = (who) => loggedIn(s, who);

/** The queue id the sender was given in the 250 reply ("... (id X)" / "queued as X"). */
function queueId(r) {
  const m = /\(id ([A-Za-z0-9]+)\)|queued as ([A-Za-z0-9]+)/i.exec(r.text || r.out);
  assert.ok(m, `no queue id in the reply: ${r.text}`);
  return m[1] || m[2];
}

/** The value of the input `loc` once it equals `want`, or its last value after about 5 s. */
async function valueOf(loc, want) {
  let got = '';
  for (let i = 0; i < 50; i += 1) {
    got = await loc.inputValue({ timeout: 1000 }).catch(() => '');
    if (got === want) break;
    await loc.page().waitForTimeout(100);
  }
  return got;
}

test('user: a held message says why, links to its log rows and back, and the release names who did it', async (t) => {
  if (s.why) return t.skip(s.why);
  const w = await blocked(s.st, MAIL);
  if (w) return t.skip(w);
  const subject = unique('why held');
  const r = await smtp(s.st, { from: 'news@mail.newsletter.test', to: 'alice@example.test', subject }); // domain rule: quarantine
  assert.equal(r.code, 250, r.out);
  const id = queueId(r);
  const page = await pageAs('alice');

  // The log says it was held, and why.
  await page.goto(`${s.st.web}/#/mail`);
  await listLoaded(page);
  await page.getByLabel('Subject', { exact: true }).fill(subject);
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  const logRow = await rowAfterRefresh(page, subject);
  assert.equal((await logRow.locator('td.why').textContent()).trim(), "held: a sender rule of the recipient's domain");
  // The row itself says why too, as logged (it stays when the held copy is gone), not only "Quarantined".
  assert.equal((await logRow.locator('td.reason').textContent()).trim(), "250 2.0.0 Quarantined: held by a sender rule of the recipient's domain");
  await shot(page, 'log-why-held');

  // Its "Held copy" link opens the quarantine on that message alone.
  await logRow.getByRole('link', { name: 'Held copy' }).click();
  await page.waitForURL(/#\/quarantine\?/);
  // The URL changes before the quarantine screen replaces the log's (which has its own, empty,
  // "Message id" filter): wait for the new screen's field to be filled, up to 5 s.
  assert.equal(await valueOf(page.getByLabel('Message id'), id), id);
  const qRow = await rowAfterRefresh(page, subject);
  assert.equal(await page.locator('tbody tr').count(), 1, 'only that message');
  assert.equal((await qRow.locator('td.why').textContent()).trim(), "a sender rule of the recipient's domain");
  await shot(page, 'quarantine-why-held');
  await qRow.getByRole('button', { name: 'Preview' }).click();
  const dlg = page.getByRole('dialog');
  await dlg.locator('dd', { hasText: "a sender rule of the recipient's domain" }).waitFor();
  await shot(page, 'quarantine-preview-why-held');
  await dlg.getByRole('button', { name: 'Close' }).click();

  // Released, then "In the log" leads back: the release row names the account, not its id.
  await qRow.getByRole('button', { name: 'Release' }).click();
  await okNotice(page, 'Released');
  await page.getByLabel('Status', { exact: true }).selectOption('');
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  const released = await rowAfterRefresh(page, subject);
  await released.getByRole('link', { name: 'In the log' }).click();
  await page.waitForURL(/#\/mail\?/);
  const rel = await rowAfterRefresh(page, 'released by');
  assert.match(await rel.locator('td.reason').textContent(), /released by alice@example\.test/);
  assert.doesNotMatch(await page.locator('tbody').textContent(), /by user \d/);
  assert.equal(await page.locator('tbody tr').count(), 2, 'the message\'s two rows: quarantined and released');
  await shot(page, 'log-one-message');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('user: the log shows a refusal\'s category and filters by it', async (t) => {
  if (s.why) return t.skip(s.why);
  const w = await blocked(s.st, ['policy', 'smtp-edge']);
  if (w) return t.skip(w);
  const from = `${unique('spammer')}@spam.test`; // demo.sql: alice rejects @spam.test
  const subject = unique('refused');
  assert.equal((await smtp(s.st, { from, to: 'alice@example.test', subject })).code, 550);
  const page = await pageAs('alice');
  await page.goto(`${s.st.web}/#/mail`);
  await listLoaded(page);
  await page.getByLabel('Refused for').selectOption('directive');
  await page.getByLabel('Sender', { exact: true }).fill(from);
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  const row = await rowAfterRefresh(page, from);
  assert.equal((await row.locator('td.why').textContent()).trim(), 'sender rule');
  await shot(page, 'log-refusal-category');
  // Another category has no such row.
  await page.getByLabel('Refused for').selectOption('unknown_rcpt');
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  await row.waitFor({ state: 'detached' });
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('admin: the quarantine with items says why; a log row opens its SMTP session', async (t) => {
  if (s.why) return t.skip(s.why);
  const w = await blocked(s.st, MAIL);
  if (w) return t.skip(w);
  const subject = unique('admin held');
  const r = await smtp(s.st, { from: 'promo@x.newsletter.test', to: 'alice@example.test', subject });
  assert.equal(r.code, 250, r.out);
  const page = await pageAs('root');
  await page.goto(`${s.st.web}/#/admin/quarantine`);
  const qRow = await rowAfterRefresh(page, subject);
  assert.equal((await qRow.locator('td.why').textContent()).trim(), "a sender rule of the recipient's domain");
  await shot(page, 'admin-quarantine-items');
  await qRow.getByRole('link', { name: 'In the log' }).click();
  await page.waitForURL(/#\/admin\/messages\?/);
  const logRow = await rowAfterRefresh(page, subject);
  await logRow.getByRole('button', { name: 'Session' }).click();
  const dlg = page.getByRole('dialog');
  await dlg.locator('pre', { hasText: 'MAIL FROM:<promo@x.newsletter.test>' }).waitFor();
  await shot(page, 'admin-log-session');
  await dlg.getByRole('button', { name: 'Close' }).click();
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('root: ban evidence reads as a small table, with the raw JSON behind a toggle; lifted bans are listed', async (t) => {
  if (s.why) return t.skip(s.why);
  // Evidence as banstats writes it (services/banstats/stats.c): window, score, thresholds and
  // the counters per window.
  const evidence = {
    window: '1h', score: 12, bad_pct: 90, offences: 2,
    thresholds: { min_sessions: 5, candidate_score: 5, candidate_bad_pct: 50, ban_score: 10, ban_bad_pct: 80 },
    stats: { '1h': { sessions: 20, accepted: 2, unknown_rcpt: 14, directive_rejects: 1, viruses: 0, protocol_errors: 3, pregreets: 0 },
      '24h': { sessions: 31, accepted: 3, unknown_rcpt: 22, directive_rejects: 2, viruses: 0, protocol_errors: 4, pregreets: 1 } },
  };
  await sql(s.st, `DELETE FROM bans WHERE network IN ('198.51.100.91', '198.51.100.92')`);
  await sql(s.st, `INSERT INTO bans (network, status, origin, reason, score, evidence)
                   VALUES ('198.51.100.91', 'candidate', 'auto', 'score 12 over 1h', 12, '${JSON.stringify(evidence)}')`);
  await sql(s.st, `INSERT INTO bans (network, status, origin, reason, score, lifted_at)
                   VALUES ('198.51.100.92', 'lifted', 'admin', 'a partner, banned by mistake', 0, now())`);
  const page = await pageAs('root');
  await page.goto(`${s.st.web}/#/bans`);
  const cand = page.locator('tbody tr', { hasText: '198.51.100.91' });
  await cand.waitFor();
  await cand.getByRole('button', { name: 'Evidence' }).click();
  const dlg = page.getByRole('dialog');
  // The counters per window are a table: a row per window, a column per counter, in words.
  const row24 = dlg.locator('table tbody tr', { hasText: '24h' });
  await row24.waitFor();
  assert.equal(await row24.locator('td[data-label="unknown recipients"]').textContent(), '22');
  assert.equal(await dlg.locator('dt').getByText('bad %', { exact: true }).count(), 1);
  assert.equal(await dlg.locator('dt').getByText('ban score', { exact: true }).count(), 1);
  const raw = dlg.locator('details.raw pre');
  assert.equal(await raw.isVisible(), false, 'the raw JSON stays folded');
  await shot(page, 'root-ban-evidence');
  await dlg.getByText('Raw JSON').click();
  await raw.waitFor();
  assert.deepEqual(JSON.parse(await raw.textContent()), evidence);
  await shot(page, 'root-ban-evidence-raw');
  await dlg.getByRole('button', { name: 'Close' }).click();
  await page.getByRole('link', { name: 'Lifted' }).click();
  await page.locator('tbody tr', { hasText: '198.51.100.92' }).waitFor();
  await shot(page, 'root-bans-lifted');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
