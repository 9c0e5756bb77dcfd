// admin.test.mjs - the admins' flows against the real stack. Root: dashboard, add a
// domain, a user and a rule in the browser, then an SMTP message obeys the rule; groups,
// admins, bans, never-ban networks, mesh peers, settings. Group and domain admins: their
// scope only, and the API's refusal for anything above or outside it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stack, blocked, launch, newPage, login, shot, listLoaded, smtp, findInMaildir, sql, unique, typedAddress, rowAfterRefresh, tabTo, keyboardLogin, okNotice } from './lib.mjs';

let st; let browser; let why;

before(async () => {
  st = stack();
  why = await blocked(st);
  browser = await launch();
});
after(async () => { if (browser) await browser.close(); });

async function adminPage(who) {
  const page = await newPage(browser, { baseURL: st.web });
  await login(page, st, who);
  return page;
}

/** A section tab of a domain or group page (the main navigation has links of the same names). */
const tab = (page, name) => page.locator('nav.tabs').getByRole('link', { name, exact: true });

async function ok(page, text) {
  await okNotice(page, text);
}

test('root: adds a domain, a user and a rule; an SMTP message obeys the rule', async (t) => {
  if (why) return t.skip(why);
  const page = await adminPage('root');
  const domain = `${unique('brw')}.test`;
  await page.goto(`${st.web}/#/domains`);
  await listLoaded(page);
  await page.getByLabel('Domain name').fill(domain);
  await page.getByLabel('Group').selectOption({ label: 'Local demo' });
  await page.getByRole('button', { name: 'Add domain' }).click();
  await ok(page, 'Domain added');
  await shot(page, 'root-domains');
  await page.getByRole('link', { name: domain }).click();
  await page.locator('h1', { hasText: domain }).waitFor();
  await shot(page, 'domain-settings');

  await tab(page, 'Users').click();
  await listLoaded(page);
  await page.getByLabel(/Address \(before @/).fill('carol');
  await page.getByLabel('Name', { exact: true }).fill('Carol');
  await page.getByLabel('Password', { exact: true }).fill('carol-password-123');
  await page.getByRole('button', { name: 'Add user' }).click();
  await ok(page, 'User added');
  await page.locator('tbody tr', { hasText: `carol@${domain}` }).waitFor();
  await shot(page, 'domain-users');

  await tab(page, 'Rules').click();
  await listLoaded(page);
  await page.getByLabel('Sender', { exact: true }).fill('@blocked.test');
  await page.getByLabel('Action', { exact: true }).selectOption('reject');
  await page.getByRole('button', { name: 'Add rule' }).click();
  await ok(page, 'Rule added');
  await shot(page, 'domain-rules');

  const w = await blocked(st, ['policy', 'scanner', 'delivery', 'smtp-edge']);
  if (w) { await page.context().close(); return t.skip(`UI part passed; the SMTP part is ${w}`); }
  const blockedSender = `${unique('someone')}@blocked.test`;
  const refused = await smtp(st, { from: blockedSender, to: `carol@${domain}`, subject: 'should be refused' });
  assert.equal(refused.code, 550, refused.out);
  const subject = unique('welcome carol');
  const accepted = await smtp(st, { from: 'friend@elsewhere.test', to: `carol@${domain}`, subject });
  assert.equal(accepted.code, 250, accepted.out);
  assert.equal(findInMaildir(st.maildir, subject).length, 1, 'accepted mail is in the Maildir');

  await tab(page, 'Logs').click();
  const row = await rowAfterRefresh(page, blockedSender);
  assert.match(await row.textContent(), /rejected/);
  assert.match(await (await rowAfterRefresh(page, subject)).textContent(), /received/);
  await shot(page, 'domain-logs');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('root: bans a network, promotes a candidate, unbans; never-ban; mesh peers; admins and scopes; settings', async (t) => {
  if (why) return t.skip(why);
  // A candidate as banstats would leave it (banstats computes them from traffic over hours).
  // Set-up is idempotent, so the flow can run again against the same stack.
  await sql(st, `DELETE FROM bans WHERE network IN ('198.51.100.77', '203.0.113.0/24');
                 DELETE FROM never_ban_networks WHERE network = '192.0.2.0/24';
                 DELETE FROM mesh_peers WHERE name = 'mx2.peer.test'`);
  await sql(st, `INSERT INTO bans (network, status, origin, reason, score, evidence)
                 VALUES ('198.51.100.77', 'candidate', 'auto', 'unknown recipients', 8.5, '{"unknown_rcpt": 40}')
                 ON CONFLICT DO NOTHING`);
  const page = await adminPage('root');
  await page.goto(`${st.web}/#/bans`);
  const cand = page.locator('tbody tr', { hasText: '198.51.100.77' });
  await cand.waitFor();
  await cand.getByRole('button', { name: 'Evidence' }).click();
  await page.getByRole('dialog').locator('dd', { hasText: '40' }).waitFor(); // "unknown recipients 40", not JSON
  await page.getByRole('dialog').getByText('Raw JSON').click();
  await page.getByRole('dialog').locator('pre', { hasText: 'unknown_rcpt' }).waitFor();
  await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
  await shot(page, 'root-bans-candidates');
  await cand.getByRole('button', { name: 'Promote' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Promote' }).click();
  await ok(page, 'fully banned');

  await page.getByLabel('IP or network').fill('203.0.113.0/24');
  await page.getByLabel('Reason').fill('browser test');
  await page.getByRole('button', { name: 'Ban', exact: true }).click();
  await ok(page, 'Banned');
  await page.getByRole('link', { name: 'Fully banned' }).click();
  const banned = page.locator('tbody tr', { hasText: '203.0.113.0/24' });
  await banned.waitFor();
  await page.locator('tbody tr', { hasText: '198.51.100.77' }).waitFor();
  await shot(page, 'root-bans-banned');
  await banned.getByRole('button', { name: 'Unban' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Unban' }).click();
  await ok(page, 'no longer banned');

  await page.goto(`${st.web}/#/never-ban`);
  await listLoaded(page);
  await page.getByLabel('IP or network').fill('192.0.2.0/24');
  await page.getByLabel('Note').fill('partner relays');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await ok(page, 'Network added');
  await page.locator('tbody tr', { hasText: '192.0.2.0/24' }).waitFor();
  await shot(page, 'root-never-ban');

  await page.goto(`${st.web}/#/peers`);
  await listLoaded(page);
  await page.getByLabel('Server name').fill('mx2.peer.test');
  await page.getByLabel('Host', { exact: true }).fill('127.0.0.1');
  await page.getByLabel('Certificate SHA-256').fill('ab'.repeat(32));
  await page.getByRole('button', { name: 'Add peer' }).click();
  await ok(page, 'Peer added');
  const peer = page.locator('tbody tr', { hasText: 'mx2.peer.test' });
  await peer.getByRole('button', { name: 'Enforce' }).click();
  await page.getByRole('dialog', { name: /Enforce the bans mx2\.peer\.test sends/ }).getByRole('button', { name: 'Enforce' }).click();
  await ok(page, 'trusted to enforce');
  await shot(page, 'root-peers');

  await page.goto(`${st.web}/#/admins`);
  await listLoaded(page);
  await page.locator('tbody tr', { hasText: 'groupadmin@example.test' }).waitFor();
  await shot(page, 'root-admins');
  // Scopes: grant the domain admin a second domain, see it, revoke it.
  await page.locator('tbody tr', { hasText: 'domainadmin@example.test' }).getByRole('button', { name: 'Scopes' }).click();
  const dlg = page.getByRole('dialog');
  await dlg.locator('li', { hasText: 'domain example.test' }).waitFor();
  await dlg.getByLabel('Group or domain').selectOption({ label: 'domain relay.test' });
  await dlg.getByRole('button', { name: 'Grant' }).click();
  const granted = dlg.locator('li', { hasText: 'domain relay.test' });
  await granted.waitFor();
  assert.equal(await sql(st, `SELECT count(*) FROM admin_scopes s JOIN users u ON u.id = s.user_id
                              WHERE u.local_part = 'domainadmin'`), '2');
  await shot(page, 'root-admin-scopes');
  await granted.getByRole('button', { name: 'revoke' }).click();
  await page.getByRole('dialog', { name: /Revoke domainadmin@example\.test's scope over domain relay\.test/ }).getByRole('button', { name: 'Revoke' }).click();
  await granted.waitFor({ state: 'detached' });
  await dlg.getByRole('button', { name: 'Close' }).click();

  await page.goto(`${st.web}/#/settings`);
  await page.locator('h1', { hasText: 'Global settings' }).waitFor();
  await shot(page, 'root-settings');

  await page.goto(`${st.web}/#/admin/sessions`);
  await listLoaded(page);
  await shot(page, 'root-sessions');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('group admin: manages its group only; root screens and other groups are refused', async (t) => {
  if (why) return t.skip(why);
  const page = await adminPage('gadmin');
  const links = await page.locator('#nav a').allTextContents();
  assert.ok(links.includes('Groups') && links.includes('Admins') && !links.includes('Bans'), String(links));
  await page.goto(`${st.web}/#/groups`);
  await listLoaded(page);
  await page.locator('tbody tr', { hasText: 'Local demo' }).waitFor();
  assert.equal(await page.locator('tbody tr', { hasText: 'Relay demo' }).count(), 0, 'another group leaks into the list');
  await page.getByRole('link', { name: 'Local demo' }).click();
  // Where a group's users log in by IMAP is a root-admin's decision (issue 15): not offered here.
  await page.getByLabel('Verification cache (seconds)').waitFor();
  assert.equal(await page.getByLabel('IMAP server for logins').count(), 0, 'a group admin is offered the IMAP server');
  await page.getByLabel('Verification cache (seconds)').fill('1800');
  await page.getByLabel('Group settings').getByRole('button', { name: 'Save' }).click(); // not the spam settings' Save
  await ok(page, 'Group settings saved');
  await shot(page, 'group-mode');
  await tab(page, 'Digests').click();
  await listLoaded(page);
  await page.getByLabel('Kind').selectOption('daily');
  await page.getByLabel('At (daily / weekdays)').fill('08:30');
  await page.getByRole('button', { name: 'Add schedule' }).click();
  await ok(page, 'Schedule added');
  await shot(page, 'group-digests');
  // Accounts: those of the group's domains only.
  await page.goto(`${st.web}/#/admins`);
  await page.locator('tbody tr', { hasText: 'alice@example.test' }).waitFor();
  assert.equal(await page.locator('tbody tr', { hasText: 'bob@relay.test' }).count(), 0, 'a user of another group leaks');
  for (const [hash, want] of [['#/groups/2', '404'], ['#/domains/2', '404'], ['#/bans', '403'], ['#/peers', '403'], ['#/settings', '403']]) {
    assert.equal(await typedAddress(page, st, hash), want, hash);
  }
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('domain admin: its domain\'s settings and users; other domains and groups are refused', async (t) => {
  if (why) return t.skip(why);
  const page = await adminPage('dadmin');
  const links = await page.locator('#nav a').allTextContents();
  assert.ok(links.includes('Domains') && !links.includes('Groups'), String(links));
  await page.goto(`${st.web}/#/domains`);
  await listLoaded(page);
  await page.locator('tbody tr', { hasText: 'example.test' }).waitFor();
  assert.equal(await page.locator('tbody tr', { hasText: 'relay.test' }).count(), 0, 'another domain leaks into the list');
  await page.getByRole('link', { name: 'example.test' }).click();
  await page.getByLabel('Unknown-user text').fill('nobody of that name here');
  await page.getByLabel('Domain settings').getByRole('button', { name: 'Save' }).click(); // not the spam settings' Save
  await ok(page, 'Domain settings saved');
  assert.equal(await sql(st, "SELECT unknown_user_text FROM domains WHERE name = 'example.test'"), 'nobody of that name here');
  await tab(page, 'Users').click();
  await page.locator('tbody tr', { hasText: 'alice@example.test' }).waitFor();
  await shot(page, 'domainadmin-users');
  await tab(page, 'Quarantine').click();
  await listLoaded(page);
  await shot(page, 'domainadmin-quarantine');
  for (const [hash, want] of [['#/domains/2', '404'], ['#/groups', '403'], ['#/bans', '403']]) {
    assert.equal(await typedAddress(page, st, hash), want, hash);
  }
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('domain admin: grants a user a sender alias; the user may then send from it, and sees it on its account', async (t) => {
  if (why) return t.skip(why);
  const w = await blocked(st, ['policy', 'scanner', 'delivery', 'smtp-edge']);
  if (w) return t.skip(w);
  const alias = `${unique('sales')}@example.test`;
  const alice = { user: st.accounts.alice.address, password: st.accounts.alice.password };
  const send = () => smtp(st, { from: alias, to: 'alice@example.test', subject: unique('as-alias'), auth: alice });
  const before = await send();
  assert.equal(before.code, 553, before.out);
  assert.match(before.text, /5\.7\.1 .*logged in as <alice@example\.test>/);

  const page = await adminPage('dadmin');
  await page.goto(`${st.web}/#/domains/1?tab=users`);
  const row = page.locator('tbody tr', { hasText: 'alice@example.test' });
  await row.getByRole('button', { name: 'Aliases' }).click();
  const dlg = page.getByRole('dialog', { name: 'Sender aliases of alice@example.test' });
  await dlg.getByText('No alias yet.').waitFor();
  await dlg.getByLabel('Alias address').fill(alias);
  await dlg.getByRole('button', { name: 'Grant alias' }).click();
  await ok(page, 'Alias granted');
  await dlg.getByRole('listitem').filter({ hasText: alias }).waitFor();
  await shot(page, 'user-aliases');
  // An address outside the admin's domains: the API's refusal, shown as such.
  await dlg.getByLabel('Alias address').fill('someone@relay.test');
  await dlg.getByRole('button', { name: 'Grant alias' }).click();
  await page.locator('#notice .msg.error', { hasText: 'domain you manage' }).waitFor();

  let after = await send();
  for (let i = 0; i < 20 && after.code !== 250; i++) { await new Promise((r) => setTimeout(r, 250)); after = await send(); }
  assert.equal(after.code, 250, after.out);

  const user = await adminPage('alice');
  await user.goto(`${st.web}/#/account`);
  await user.locator('dd', { hasText: alias }).waitFor();
  await user.context().close();

  await dlg.getByRole('button', { name: `remove ${alias}` }).click();
  await ok(page, 'Alias removed');
  await dlg.getByText('No alias yet.').waitFor();
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('root: a domain\'s and a group\'s log tabs list only their own mail; "My mail" only root\'s', async (t) => {
  if (why) return t.skip(why);
  const w = await blocked(st, ['policy', 'scanner', 'delivery', 'smtp-edge']);
  if (w) return t.skip(w);
  // One message into each demo domain: example.test (Local demo, local) and relay.test (Relay demo, relay).
  const here = unique('for example.test');
  const there = unique('for relay.test');
  assert.equal((await smtp(st, { from: 'tabs@sender.test', to: 'bob@relay.test', subject: there })).code, 250);
  assert.equal((await smtp(st, { from: 'tabs@sender.test', to: 'alice@example.test', subject: here })).code, 250);
  const page = await adminPage('root');
  // relay.test's tab shows its message (so both rows are written by now) and not the other one.
  await page.goto(`${st.web}/#/domains/2`);
  await tab(page, 'Logs').click();
  await rowAfterRefresh(page, there);
  assert.equal(await page.locator('tbody tr', { hasText: here }).count(), 0, 'example.test mail in relay.test\'s log');
  await page.goto(`${st.web}/#/domains/1`);
  await tab(page, 'Logs').click();
  await page.locator('h1', { hasText: 'Mail log of example.test' }).waitFor();
  await rowAfterRefresh(page, here);
  assert.equal(await page.locator('tbody tr', { hasText: there }).count(), 0, 'relay.test mail in example.test\'s log');
  for (const r of await page.locator('tbody tr').allTextContents()) assert.ok(!r.includes('@relay.test'), r);
  await shot(page, 'domain-logs-own-only');
  // Sessions tab: the session that carried example.test's message, not relay.test's.
  const sid = async (subject) => sql(st, `SELECT sid FROM message_log WHERE subject = '${subject}'`);
  const [sidHere, sidThere] = [await sid(here), await sid(there)];
  assert.ok(sidHere && sidThere && sidHere !== sidThere);
  await tab(page, 'Sessions').click();
  const session = await rowAfterRefresh(page, sidHere);
  assert.equal(await page.locator('tbody tr', { hasText: sidThere }).count(), 0, 'relay.test\'s session listed');
  await shot(page, 'domain-sessions');
  await session.getByRole('button', { name: 'Transcript' }).click();
  const dlg = page.getByRole('dialog');
  await dlg.locator('pre', { hasText: 'EHLO browser-test.example' }).waitFor();
  assert.match(await dlg.locator('pre').textContent(), /RCPT TO:<alice@example\.test>/i);
  await shot(page, 'domain-session-transcript');
  await dlg.getByRole('button', { name: 'Close' }).click();
  await dlg.waitFor({ state: 'detached' });
  // The group's tab: Local demo holds example.test only.
  await page.goto(`${st.web}/#/groups/1`);
  await tab(page, 'Logs').click();
  await page.locator('h1', { hasText: 'Mail log of Local demo' }).waitFor();
  await rowAfterRefresh(page, here);
  assert.equal(await page.locator('tbody tr', { hasText: there }).count(), 0, 'Relay demo mail in Local demo\'s log');
  await shot(page, 'group-logs');
  // Root's own "My mail" is root's mail, not everyone's.
  await page.locator('#nav a', { hasText: 'My mail' }).click();
  await page.locator('h1', { hasText: 'My mail' }).waitFor();   // not the group's log still on screen
  await listLoaded(page);
  assert.equal(await page.locator('tbody tr', { hasText: here }).count(), 0, 'alice\'s mail in root\'s "My mail"');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('domain admin: opens its domain and adds a user with the keyboard only', async (t) => {
  if (why) return t.skip(why);
  const page = await newPage(browser, { baseURL: st.web });
  await keyboardLogin(page, st, 'dadmin');
  const focused = (sel, text) => tabTo(page, ([s, x]) => {
    const el = document.activeElement;
    return el.closest(s) !== null && el.textContent.trim() === x;
  }, [sel, text]);
  assert.ok(await focused('#nav', 'Domains'), 'Tab never reached "Domains" in the menu');
  await page.keyboard.press('Enter');
  await listLoaded(page);
  assert.ok(await focused('tbody', 'example.test'), 'Tab never reached the domain\'s link');
  await page.keyboard.press('Enter');
  await page.locator('h1', { hasText: 'example.test' }).waitFor();
  assert.ok(await focused('nav.tabs', 'Users'), 'Tab never reached the Users tab');
  await page.keyboard.press('Enter');
  await listLoaded(page);
  assert.ok(await tabTo(page, () => document.activeElement.name === 'local_part'), 'Tab never reached the address field');
  const local = unique('kbd');
  await page.keyboard.type(local);
  await page.keyboard.press('Tab');
  await page.keyboard.type('Keyboard User');
  await page.keyboard.press('Tab');
  await page.keyboard.type('keyboard-password-123');
  await page.keyboard.press('Enter');                    // submits with the default role
  await ok(page, 'User added');
  await page.locator('tbody tr', { hasText: `${local}@example.test` }).waitFor();
  assert.equal(await sql(st, `SELECT role FROM users WHERE local_part = '${local}'`), 'user');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

// Last, so the earlier flows' rejections and bans are in the charts.
test('root: the dashboard draws its four charts from the traffic so far', async (t) => {
  if (why) return t.skip(why);
  const mail = await blocked(st, ['policy', 'smtp-edge']);
  const page = await adminPage('root');
  assert.equal(await page.evaluate(() => location.hash), '#/dashboard');
  await page.locator('figure.chart').nth(3).waitFor();
  assert.equal(await page.locator('figure.chart').count(), 4);   // over time, refused by reason, top replies, banned IPs
  if (!mail) {   // the SMTP flow above left a rejection, the bans flow a full ban
    assert.ok(await page.locator('figure.chart rect.s-rejected').count() >= 1, 'no rejected column');
    assert.ok(await page.locator('figure.chart[data-chart="bars"] rect').count() >= 2, 'no refusal reason or banned IP bar');
  }
  const links = await page.locator('#nav a').allTextContents();
  for (const l of ['Dashboard', 'Domains', 'Groups', 'Admins', 'Bans', 'Never-ban', 'Mesh peers', 'Settings']) assert.ok(links.includes(l), l);
  await shot(page, 'root-dashboard');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
