// user.test.mjs - a user's flows against the real stack: see a rejected message with the
// reason its sender was told, release a quarantined message and find it in the Maildir,
// always-accept and delete, manage sender rules, be refused every admin screen typed by
// address, lose the session (back to login with a message), log out; on a phone too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stack, blocked, launch, newPage, login, shot, listLoaded, smtp, findInMaildir, sql, unique, typedAddress, rowAfterRefresh, tabTo, keyboardLogin, okNotice } from './lib.mjs';

let st; let browser; let why;
const MAIL = ['policy', 'scanner', 'delivery', 'smtp-edge'];

before(async () => {
  st = stack();
  why = await blocked(st);
  browser = await launch();
});
after(async () => { if (browser) await browser.close(); });

async function userPage(who = 'alice', opts) {
  const page = await newPage(browser, { ...opts, baseURL: st.web });
  await login(page, st, who);
  return page;
}

test('user: logs in and sees only their own screens in the navigation', async (t) => {
  if (why) return t.skip(why);
  const page = await userPage();
  assert.equal(await page.evaluate(() => location.hash), '#/mail');
  const links = await page.locator('#nav a').allTextContents();
  assert.deepEqual(links, ['My mail', 'My quarantine', 'My senders', 'My dashboard', 'Account']);
  await page.locator('#who', { hasText: 'alice@example.test' }).waitFor();
  await listLoaded(page);
  await shot(page, 'user-mail');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('user: sees a rejected message with the reply its sender was given', async (t) => {
  if (why) return t.skip(why);
  const w = await blocked(st, ['policy', 'smtp-edge']);
  if (w) return t.skip(w);
  const from = `${unique('spammer')}@spam.test`;   // demo.sql: alice rejects @spam.test
  const r = await smtp(st, { from, to: 'alice@example.test', subject: 'buy now' });
  assert.equal(r.code, 550, r.out);
  const page = await userPage();
  await page.goto(`${st.web}/#/mail`);
  await listLoaded(page);
  await page.getByLabel('Status', { exact: true }).selectOption('rejected');
  await page.getByLabel('Sender', { exact: true }).fill(from);
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  const row = await rowAfterRefresh(page, from);
  const reason = await row.locator('td.reason').textContent();
  // The SMTP reply the sender saw, e.g. "550 5.7.1 <alice@example.test> does not accept mail from <...>".
  assert.ok(reason.includes(r.text.replace(/^550[ -]/, '').trim().slice(0, 40)), `${reason} vs ${r.text}`);
  assert.match(reason, /^550 5\.\d+\.\d+ /);
  await shot(page, 'user-mail-rejected');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('user: sees a message it sent, with the delivery status', async (t) => {
  if (why) return t.skip(why);
  const w = await blocked(st, MAIL);
  if (w) return t.skip(w);
  // bob's group relays: his outbound mail goes through submission (STARTTLS, AUTH) to the
  // group's downstream MTA (smtp-sink), which accepts it.
  const subject = unique('outbound report');
  const r = await smtp(st, { from: 'bob@relay.test', to: 'partner@elsewhere.test', subject,
    auth: { user: 'bob@relay.test', password: st.accounts.bob.password } });
  assert.equal(r.code, 250, r.out);
  const page = await userPage('bob');
  await page.goto(`${st.web}/#/mail`);
  await listLoaded(page);
  await page.getByLabel('Direction').selectOption('out');
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  const row = await rowAfterRefresh(page, subject);
  assert.equal(await row.count(), 1, 'the sent message is listed once');
  const cells = await row.locator('td').allTextContents();
  const cell = (label) => row.locator(`td[data-label="${label}"]`).textContent();
  assert.equal(await cell('Direction'), 'sent', String(cells));
  assert.equal(await cell('To'), 'partner@elsewhere.test', String(cells));
  assert.match(await cell('Status'), /^(sent|relayed)$/, String(cells));        // the delivery status
  assert.match(await cell('Reply / reason'), /^250 /, String(cells));         // the downstream's reply
  await shot(page, 'user-mail-sent');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('user: previews and releases a quarantined message, which lands in the Maildir', async (t) => {
  if (why) return t.skip(why);
  const w = await blocked(st, MAIL);
  if (w) return t.skip(w);
  const subject = unique('held newsletter');
  const r = await smtp(st, { from: 'news@mail.newsletter.test', to: 'alice@example.test', subject }); // domain rule: quarantine
  assert.equal(r.code, 250, r.out);
  assert.deepEqual(findInMaildir(st.maildir, subject), [], 'quarantined mail is not in the Maildir yet');
  const page = await userPage();
  await page.goto(`${st.web}/#/quarantine`);
  const row = await rowAfterRefresh(page, subject);
  await shot(page, 'user-quarantine');
  await row.getByRole('button', { name: 'Preview' }).click();
  const dlg = page.getByRole('dialog');
  await dlg.locator('pre.headers', { hasText: `Subject: ${subject}` }).waitFor();
  await shot(page, 'user-quarantine-preview');
  await dlg.getByRole('button', { name: 'Close' }).click();
  await row.getByRole('button', { name: 'Release' }).click();
  await okNotice(page, 'Released');
  await row.waitFor({ state: 'detached' });
  let files = [];
  for (let i = 0; i < 50 && files.length === 0; i += 1) {
    files = findInMaildir(st.maildir, subject);
    if (!files.length) await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(files.length, 1, 'the released message is in the Maildir once');
  assert.match(files[0], /\/new\/|\/cur\//);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('user: "always accept" writes a sender rule and releases the message; delete removes a held message', async (t) => {
  if (why) return t.skip(why);
  const w = await blocked(st, MAIL);
  if (w) return t.skip(w);
  const keep = unique('keep');
  const drop = unique('drop');
  const sender = `${unique('friend')}@lists.newsletter.test`;
  assert.equal((await smtp(st, { from: sender, to: 'alice@example.test', subject: keep })).code, 250);
  assert.equal((await smtp(st, { from: 'junk@x.newsletter.test', to: 'alice@example.test', subject: drop })).code, 250);
  const page = await userPage();
  await page.goto(`${st.web}/#/quarantine`);
  const keepRow = await rowAfterRefresh(page, keep);
  await rowAfterRefresh(page, drop);
  await keepRow.getByRole('button', { name: 'Always accept sender' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Always accept' }).click();
  await okNotice(page, 'always be accepted');
  // The dialog said "This also releases this message": it leaves the quarantine for the Maildir.
  await keepRow.waitFor({ state: 'detached' });
  let kept = [];
  for (let i = 0; i < 50 && kept.length === 0; i += 1) {
    kept = findInMaildir(st.maildir, keep);
    if (!kept.length) await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(kept.length, 1, 'the always-accepted message was released into the Maildir once');
  const dropRow = page.locator('tbody tr', { hasText: drop });
  await dropRow.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await okNotice(page, 'deleted');
  await dropRow.waitFor({ state: 'detached' });
  await page.goto(`${st.web}/#/senders`);
  const rule = page.locator('tbody tr', { hasText: sender });
  await rule.waitFor();
  assert.match(await rule.textContent(), /accept/);
  assert.deepEqual(findInMaildir(st.maildir, drop), []);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('user: adds and removes a sender rule, and sees the API refuse a bad one', async (t) => {
  if (why) return t.skip(why);
  const page = await userPage();
  await page.goto(`${st.web}/#/senders`);
  await listLoaded(page);
  const pattern = `@${unique('annoying')}.test`;
  await page.getByLabel('Sender', { exact: true }).fill(pattern);
  await page.getByLabel('Action', { exact: true }).selectOption('reject');
  await page.getByRole('button', { name: 'Add rule' }).click();
  await okNotice(page, 'Rule added');
  const row = page.locator('tbody tr', { hasText: pattern });
  await row.waitFor();
  await shot(page, 'user-senders');
  // A pattern the schema refuses: the API's error text is shown, nothing is added.
  await page.getByLabel('Sender', { exact: true }).fill('not a pattern');
  await page.getByRole('button', { name: 'Add rule' }).click();
  await page.locator('#notice .msg.error').waitFor();
  assert.ok((await page.locator('#notice .msg.error').textContent()).length > 12);
  await row.getByRole('button', { name: 'Remove' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
  await okNotice(page, 'Rule removed');
  await row.waitFor({ state: 'detached' });
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('user: typing an admin screen\'s address gets the API\'s refusal, shown as such', async (t) => {
  if (why) return t.skip(why);
  const page = await userPage();
  for (const hash of ['#/domains', '#/domains/1', '#/groups', '#/groups/1', '#/admin/messages',
    '#/admin/sessions', '#/admins', '#/bans', '#/never-ban', '#/peers', '#/settings']) {
    const status = await typedAddress(page, st, hash);
    assert.ok(['403', '404'].includes(status), `${hash}: ${status || 'the page opened'}`);
    const text = await page.locator('main [data-denied]').textContent();
    assert.match(text, /Access denied|Not found/);
    // The mail log's data is open to users (their own mail): there the UI itself refuses.
    if (hash !== '#/admin/messages') assert.match(text, /The server said: /);
    if (hash === '#/bans') await shot(page, 'user-denied');
  }
  // The refusal is the server's, not the UI's: the API itself answers 403/404.
  const codes = await page.evaluate(async () => Promise.all(['/api/bans', '/api/groups/1', '/api/settings', '/api/smtp-sessions']
    .map(async (u) => (await fetch(u)).status)));
  for (const c of codes) assert.ok(c === 403 || c === 404, `API answered ${codes}`);
  // The dashboard is a user's too, of its own mail only, whoever the address names.
  await page.goto(`${st.web}/#/dashboard?user_id=1`);
  await page.getByRole('heading', { name: 'My dashboard' }).waitFor();
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('user: the password hint states the minimum the API applies', async (t) => {
  if (why) return t.skip(why);
  const page = await userPage();
  await page.goto(`${st.web}/#/account`);
  const form = page.getByRole('form', { name: 'Change password' });
  await form.getByText('At least 10 characters.').waitFor();   // CLEMENT_PASSWORD_MIN's default
  await form.getByLabel('Current password').fill(st.accounts.alice.password);
  await form.getByLabel('New password').fill('x'.repeat(9));
  await form.getByRole('button', { name: 'Change password' }).click();
  await page.locator('#notice .msg.error', { hasText: '10 to' }).waitFor();   // the API's own refusal
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('user: an ended session sends the user back to login with a message, then back', async (t) => {
  if (why) return t.skip(why);
  const page = await userPage();
  await page.goto(`${st.web}/#/quarantine`);
  await listLoaded(page);
  await sql(st, "DELETE FROM web_sessions WHERE user_id = (SELECT id FROM users WHERE local_part = 'alice')");
  await page.locator('#nav a', { hasText: 'My senders' }).click();
  await page.locator('#login-form').waitFor();
  await page.locator('#notice .msg.error', { hasText: 'session has ended' }).waitFor();
  await shot(page, 'session-expired');
  await page.getByLabel('E-mail address').fill(st.accounts.alice.address);
  await page.getByLabel('Password').fill(st.accounts.alice.password);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => location.hash === '#/senders');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('user: logs in with the mailbox password its group\'s IMAP server checks', async (t) => {
  if (why) return t.skip(why);
  const w = await blocked(st, ['dovecot']);
  if (w) return t.skip(w);
  const { address, password } = st.imap_account;   // known to Dovecot only, not to Clement yet
  const page = await newPage(browser, { baseURL: st.web });
  await page.goto(`${st.web}/#/login`);
  await page.getByLabel('E-mail address').fill(address);
  await page.getByLabel('Password').fill('not the mailbox password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#notice .msg.error').waitFor();
  assert.equal(await page.locator('#nav a').count(), 0);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#who', { hasText: `${address} · user` }).waitFor();
  assert.deepEqual(await page.locator('#nav a').allTextContents(), ['My mail', 'My quarantine', 'My senders', 'My dashboard', 'Account']);
  await listLoaded(page);
  await shot(page, 'user-imap-login');
  // The password lives on the mail server: changing it here is refused, with the API's reason.
  await page.locator('#nav a', { hasText: 'Account' }).click();
  await page.getByLabel('Current password').fill(password);
  await page.getByLabel('New password').fill('a-new-password-123');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.locator('#notice .msg.error', { hasText: 'mail server' }).waitFor();
  assert.equal(await sql(st, `SELECT password_hash IS NULL FROM users u JOIN domains d ON d.id = u.domain_id
                              WHERE u.local_part || '@' || d.name = '${address}'`), 't');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('user: a wrong password is refused with the API\'s text; logout ends the session', async (t) => {
  if (why) return t.skip(why);
  const page = await newPage(browser, { baseURL: st.web });
  await page.goto(`${st.web}/#/login`);
  await page.getByLabel('E-mail address').fill('alice@example.test');
  await page.getByLabel('Password').fill('certainly-wrong');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#notice .msg.error').waitFor();
  assert.equal(await page.locator('#nav a').count(), 0);
  await login(page, st, 'alice');
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.locator('#login-form').waitFor();
  await page.locator('#notice .msg.info', { hasText: 'logged out' }).waitFor();
  assert.equal(await page.evaluate(async () => (await fetch('/api/me')).status), 401);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('user: works on a phone-sized screen', async (t) => {
  if (why) return t.skip(why);
  const page = await userPage('alice', { phone: true });
  await page.goto(`${st.web}/#/quarantine`);
  await listLoaded(page);
  assert.equal(await page.locator('#nav').isVisible(), false, 'the menu is folded');
  await page.getByRole('button', { name: 'Menu' }).click();
  await page.locator('#nav a', { hasText: 'My mail' }).click();
  await listLoaded(page);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `${overflow}px wider than the screen`);
  await shot(page, 'user-mail-phone');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('user: adds and removes a sender rule with the keyboard only', async (t) => {
  if (why) return t.skip(why);
  const page = await newPage(browser, { baseURL: st.web });
  await keyboardLogin(page, st, 'alice');
  // The navigation is reachable by Tab; Enter follows the link.
  assert.ok(await tabTo(page, () => document.activeElement.textContent === 'My senders'), 'Tab never reached "My senders"');
  await page.keyboard.press('Enter');
  await listLoaded(page);
  const pattern = `@${unique('keyboard')}.test`;
  assert.ok(await tabTo(page, () => document.activeElement.name === 'sender_pattern'), 'Tab never reached the Sender field');
  await page.keyboard.type(pattern);
  await page.keyboard.press('Enter');                    // submits with the default action
  await okNotice(page, 'Rule added');
  // After a success the focus is back in the first field, ready for the next rule.
  assert.equal(await page.evaluate(() => document.activeElement.name), 'sender_pattern');
  await page.locator('tbody tr', { hasText: pattern }).waitFor();
  assert.ok(await tabTo(page, (p) => {
    const el = document.activeElement;
    return el.textContent === 'Remove' && el.closest('tr') !== null && el.closest('tr').textContent.includes(p);
  }, pattern), 'Tab never reached the Remove button of the new rule');
  await page.keyboard.press('Enter');                    // opens the confirmation; its button has the focus
  await page.getByRole('dialog').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Remove');
  await page.keyboard.press('Enter');
  await okNotice(page, 'Rule removed');
  await page.locator('tbody tr', { hasText: pattern }).waitFor({ state: 'detached' });
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
