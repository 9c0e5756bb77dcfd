// smarthost.test.mjs - a group's downstream MTA, which in local mode is the smart host for its
// users' outbound mail (issue 20, last bullet), set in the group settings form: host, port,
// TLS and SMTP AUTH credentials. The password is write-only: never in the page again, an
// empty field keeps it, a box removes it; a value the API refuses shows the API's reason and
// changes nothing. That delivery uses these settings (AUTH included) is tested in
// tests/integration/test_delivery.py and tests/interop/test_smarthost.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loggedIn, shot, sql, unique, useStack, okNotice } from './lib.mjs';

const s = useStack();
const COLS = 'relay_host, relay_port, relay_tls, relay_auth_user, relay_auth_pass';

async function saved(page) {
  await okNotice(page, 'Group settings saved');
  // The screen is drawn again from the server after a save: wait for the new form.
  await page.getByLabel('Group settings').getByLabel('Downstream MTA host').waitFor();
}

test('group admin: sets the local group\'s smart host with credentials; the password is never shown back', async (t) => {
  if (s.why) return t.skip(s.why);
  const { st } = s;
  // Group 1 (Local demo) is the demo stack's smart host for other files' tests: put it back.
  const before = await sql(st, `SELECT row_to_json(x) FROM (SELECT ${COLS} FROM groups WHERE id = 1) x`);
  t.after(() => sql(st, `UPDATE groups g SET (${COLS}) = (SELECT ${COLS} FROM json_populate_record(NULL::groups, '${before}')) WHERE g.id = 1`));
  await sql(st, 'UPDATE groups SET relay_auth_user = NULL, relay_auth_pass = NULL WHERE id = 1');

  const secret = unique('Pw!');
  const page = await loggedIn(s, 'gadmin');
  await page.goto(`${st.web}/#/groups/1`);
  let form = page.getByLabel('Group settings');
  await form.getByLabel('Downstream MTA host').waitFor();
  // The form says what the downstream is for in local mode.
  const help = await form.locator('.help').allTextContents();
  assert.ok(help.some((x) => x.includes('smart host that relays what the group\'s users send')), help.join('\n'));
  assert.equal(await form.getByLabel('Remove the stored password').count(), 0, 'nothing stored, nothing to remove');

  await form.getByLabel('Downstream MTA host').fill('smarthost.example.net');
  await form.getByLabel('Downstream MTA port').fill('587');
  await form.getByLabel('Downstream TLS').selectOption('required');
  await form.getByLabel('Downstream login (SMTP AUTH user)').fill('relay-user@example.test');
  await form.getByLabel('Downstream password').fill(secret);
  await form.getByRole('button', { name: 'Save' }).click();
  await saved(page);
  assert.equal(await sql(st, `SELECT concat_ws('|', ${COLS}) FROM groups WHERE id = 1`),
    `smarthost.example.net|587|required|relay-user@example.test|${secret}`);
  // Right after the save the typed password is gone from the page, as after a reload.
  assert.equal(await page.getByLabel('Group settings').getByLabel('Downstream password').inputValue(), '');

  await page.reload();
  form = page.getByLabel('Group settings');
  await form.getByLabel('Downstream MTA host').waitFor();
  assert.equal(await form.getByLabel('Downstream MTA host').inputValue(), 'smarthost.example.net');
  assert.equal(await form.getByLabel('Downstream MTA port').inputValue(), '587');
  assert.equal(await form.getByLabel('Downstream TLS').inputValue(), 'required');
  assert.equal(await form.getByLabel('Downstream login (SMTP AUTH user)').inputValue(), 'relay-user@example.test');
  const pass = form.getByLabel('Downstream password');
  assert.equal(await pass.getAttribute('type'), 'password');
  assert.equal(await pass.inputValue(), '', 'the stored password is echoed into the form');
  assert.equal(await pass.getAttribute('placeholder'), '(stored, not shown)');
  assert.ok(!(await page.content()).includes(secret), 'the password is somewhere in the page');
  await shot(page, 'group-smarthost');

  // Saving with the password field empty keeps the stored password.
  await form.getByLabel('Downstream MTA port').fill('2525');
  await form.getByRole('button', { name: 'Save' }).click();
  await saved(page);
  assert.equal(await sql(st, 'SELECT concat_ws(\'|\', relay_port, relay_auth_pass) FROM groups WHERE id = 1'), `2525|${secret}`);

  // A value the API refuses: its reason is shown, and nothing is changed.
  form = page.getByLabel('Group settings');
  await form.getByLabel('Downstream login (SMTP AUTH user)').fill(`${'u'.repeat(321)}@example.test`);
  await form.getByLabel('Downstream MTA port').fill('25');
  await form.getByRole('button', { name: 'Save' }).click();
  await page.locator('#notice .msg.error', { hasText: 'relay_auth_user must be 1 to 320 characters long' }).waitFor();
  assert.equal(await sql(st, `SELECT concat_ws('|', relay_port, relay_auth_user) FROM groups WHERE id = 1`), '2525|relay-user@example.test');

  // Removing: the box, then the login emptied (no AUTH at all).
  await page.reload();
  form = page.getByLabel('Group settings');
  await form.getByLabel('Remove the stored password').check();
  // A new password and the box at once contradict each other: refused before the API.
  await form.getByLabel('Downstream password').fill('another');
  await form.getByRole('button', { name: 'Save' }).click();
  await page.locator('#notice .msg.error', { hasText: 'not both' }).waitFor();
  assert.equal(await sql(st, 'SELECT relay_auth_pass FROM groups WHERE id = 1'), secret);
  await form.getByLabel('Downstream password').fill('');
  await form.getByLabel('Downstream login (SMTP AUTH user)').fill('');
  await form.getByRole('button', { name: 'Save' }).click();
  await saved(page);
  assert.equal(await sql(st, "SELECT concat_ws('|', coalesce(relay_auth_user, 'null'), coalesce(relay_auth_pass, 'null'), relay_host) FROM groups WHERE id = 1"),
    'null|null|smarthost.example.net');
  form = page.getByLabel('Group settings');
  assert.equal(await form.getByLabel('Remove the stored password').count(), 0);
  assert.equal(await form.getByLabel('Downstream password').getAttribute('placeholder'), '(none)');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
