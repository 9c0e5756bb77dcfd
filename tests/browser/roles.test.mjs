// roles.test.mjs - the role decides what is offered, and changes are confirmed (issue 23):
// a domain admin is offered only the roles it may give and no Edit/Delete on accounts above
// it; admins edit an account (name, role with a confirmation, quota, password, enabled) and its
// sender rules; root confirms role changes and mesh trust changes; a user picks its own
// digest schedule, whose time of day says whose clock it is. Against the real stack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useStack, loggedIn, shot, listLoaded, sql, unique, okNotice } from './lib.mjs';

const s = useStack();
const ok = okNotice;

test('domain admin: offered only the roles it may give, no actions on accounts above it; edits a user and its sender rules', async (t) => {
  if (s.why) return t.skip(s.why);
  const did = await sql(s.st, "SELECT id FROM domains WHERE name = 'example.test'");
  const page = await loggedIn(s, 'dadmin');
  await page.goto(`${s.st.web}/#/domains/${did}?tab=users`);
  await listLoaded(page);
  // A domain admin gives the role "user" only (admin-api: roles below its own).
  assert.deepEqual(await page.getByLabel('Role').locator('option').allTextContents(), ['user']);
  for (const [who, note] of [['groupadmin@example.test', 'managed above you'], ['domainadmin@example.test', 'you']]) {
    const row = page.locator('tbody tr', { hasText: who });
    assert.equal(await row.getByRole('button', { name: 'Delete' }).count(), 0, `no Delete for ${who}`);
    assert.equal(await row.getByRole('button', { name: 'Edit' }).count(), 0, `no Edit for ${who}`);
    assert.equal((await row.locator('td[data-label="Actions"]').textContent()).trim(), note);
  }
  const local = unique('carl');
  await page.getByLabel(/Address \(before @/).fill(local);
  await page.getByRole('button', { name: 'Add user' }).click();
  await ok(page, 'User added');
  const row = page.locator('tbody tr', { hasText: `${local}@example.test` });
  await row.waitFor();
  await shot(page, 'domain-users-by-role');

  await row.getByRole('button', { name: 'Edit' }).click();
  const dlg = page.getByRole('dialog', { name: `Edit ${local}@example.test` });
  assert.deepEqual(await dlg.getByLabel('Role').locator('option').allTextContents(), ['user']);
  await dlg.getByLabel('Name').fill('Carl Example');
  await dlg.getByLabel(/Quota/).fill('50');
  await shot(page, 'domain-user-edit');
  await dlg.getByRole('button', { name: 'Save' }).click();
  await ok(page, `Saved ${local}@example.test`);
  await row.locator('td[data-label="Name"]', { hasText: 'Carl Example' }).waitFor();
  assert.equal(await sql(s.st, `SELECT display_name || ' ' || quota_bytes FROM users WHERE local_part = '${local}'`), `Carl Example ${50 * 1048576}`);

  await row.getByRole('link', { name: 'Sender rules' }).click();
  await page.locator('h1', { hasText: `Sender rules of ${local}@example.test` }).waitFor();
  await page.getByLabel('Sender', { exact: true }).fill('@pushy.test');
  await page.getByLabel('Action', { exact: true }).selectOption('reject');
  await page.getByRole('button', { name: 'Add rule' }).click();
  await page.locator('tbody tr', { hasText: '@pushy.test' }).waitFor();
  assert.equal(await sql(s.st, `SELECT d.action FROM directives d JOIN users u ON u.id = d.user_id
                                WHERE u.local_part = '${local}' AND d.sender_pattern = '@pushy.test'`), 'reject');
  await shot(page, 'domain-user-senders');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('root: a role change asks first (cancel changes nothing); a group admin is offered roles below its own', async (t) => {
  if (s.why) return t.skip(s.why);
  const did = await sql(s.st, "SELECT id FROM domains WHERE name = 'example.test'");
  const local = unique('dora');
  await sql(s.st, `INSERT INTO users (domain_id, local_part) VALUES (${did}, '${local}')`);
  const page = await loggedIn(s, 'root');
  await page.goto(`${s.st.web}/#/domains/${did}?tab=users`);
  const row = page.locator('tbody tr', { hasText: `${local}@example.test` });
  await row.waitFor();
  await row.getByRole('button', { name: 'Edit' }).click();
  let dlg = page.getByRole('dialog', { name: `Edit ${local}@example.test` });
  assert.deepEqual(await dlg.getByLabel('Role').locator('option').allTextContents(), ['user', 'domain admin', 'group admin', 'root admin']);
  await dlg.getByLabel('Role').selectOption('domain-admin');
  await dlg.getByRole('button', { name: 'Save' }).click();
  const ask = page.getByRole('dialog', { name: /Make .* a domain admin \(now user\)\?/ });
  await ask.waitFor();
  await shot(page, 'role-change-confirmation');
  await ask.getByRole('button', { name: 'Cancel' }).click();
  await page.locator('#notice .msg.error', { hasText: 'the role change was cancelled' }).waitFor();
  assert.equal(await sql(s.st, `SELECT role FROM users WHERE local_part = '${local}'`), 'user');
  await dlg.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('dialog', { name: /Make .* a domain admin/ }).getByRole('button', { name: 'Change role' }).click();
  await ok(page, `Saved ${local}@example.test`);
  assert.equal(await sql(s.st, `SELECT role FROM users WHERE local_part = '${local}'`), 'domain-admin');

  // On the admins screen too: Set role asks, and Cancel leaves the role.
  await page.goto(`${s.st.web}/#/admins`);
  const arow = page.locator('tbody tr', { hasText: `${local}@example.test` });
  await arow.waitFor();
  await arow.getByRole('combobox').selectOption('group-admin');
  await arow.getByRole('button', { name: 'Set role' }).click();
  await page.getByRole('dialog', { name: /a group admin \(now domain admin\)/ }).getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await sql(s.st, `SELECT role FROM users WHERE local_part = '${local}'`), 'domain-admin');
  await page.context().close();

  const gpage = await loggedIn(s, 'gadmin');
  await gpage.goto(`${s.st.web}/#/domains/${did}?tab=users`);
  await listLoaded(gpage);
  assert.deepEqual(await gpage.getByLabel('Role').locator('option').allTextContents(), ['user', 'domain admin']);
  assert.equal(await gpage.locator('tbody tr', { hasText: 'root@example.test' }).getByRole('button', { name: 'Delete' }).count(), 0);
  assert.deepEqual(gpage.problems, []);
  await gpage.context().close();
});

test('root: changing a mesh peer\'s trust asks first', async (t) => {
  if (s.why) return t.skip(s.why);
  const name = `${unique('mx')}.peer.test`;
  await sql(s.st, `INSERT INTO mesh_peers (name, host, port, cert_fingerprint, trust) VALUES ('${name}', '127.0.0.1', 7443, '${'cd'.repeat(32)}', 'enforce')`);
  const page = await loggedIn(s, 'root');
  await page.goto(`${s.st.web}/#/peers`);
  const row = page.locator('tbody tr', { hasText: name });
  await row.getByRole('button', { name: 'Only observe' }).click();
  const ask = page.getByRole('dialog', { name: new RegExp(`Only observe ${name.replace(/\./g, '\\.')}\\?`) });
  await ask.waitFor();
  await shot(page, 'peer-trust-confirmation');
  await ask.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await sql(s.st, `SELECT trust FROM mesh_peers WHERE name = '${name}'`), 'enforce');
  await row.getByRole('button', { name: 'Only observe' }).click();
  await ask.getByRole('button', { name: 'Only observe' }).click();
  await ok(page, 'trusted to observe');
  assert.equal(await sql(s.st, `SELECT trust FROM mesh_peers WHERE name = '${name}'`), 'observe');
  await page.context().close();
});

test('user: chooses its own digest schedule, which says whose clock its time of day is', async (t) => {
  if (s.why) return t.skip(s.why);
  await sql(s.st, "DELETE FROM digest_schedules WHERE user_id = (SELECT id FROM users WHERE local_part = 'alice')");
  const page = await loggedIn(s, 'alice');
  await page.goto(`${s.st.web}/#/account`);
  await page.getByRole('link', { name: 'Choose when they are mailed to you' }).click();
  await page.locator('h1', { hasText: 'My digest schedule' }).waitFor();
  await listLoaded(page);
  await page.getByLabel('Kind').selectOption('daily');
  await page.getByLabel(/At \(daily/).fill('08:30');
  await page.getByRole('button', { name: 'Add schedule' }).click();
  await ok(page, 'Schedule added');
  const row = page.locator('tbody tr', { hasText: 'daily at 08:30 UTC' });
  await row.waitFor();
  assert.match(await row.locator('td[data-label="Next run"]').textContent(), /08:30 AM UTC/);
  assert.equal(await sql(s.st, `SELECT kind || ' ' || at_time FROM digest_schedules
                                WHERE user_id = (SELECT id FROM users WHERE local_part = 'alice')`), 'daily 08:30:00');
  await shot(page, 'user-digest-schedule');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('user: on a phone the rules come before the form that adds one', async (t) => {
  if (s.why) return t.skip(s.why);
  const page = await loggedIn(s, 'alice', { phone: true });
  await page.goto(`${s.st.web}/#/senders`);
  await page.locator('tbody tr').first().waitFor();
  const table = await page.locator('main table').boundingBox();
  const form = await page.locator('main fieldset.create').boundingBox();
  assert.ok(table.y < form.y, `the rules (y=${table.y}) above "Add a rule" (y=${form.y})`);
  await shot(page, 'user-senders-phone');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
