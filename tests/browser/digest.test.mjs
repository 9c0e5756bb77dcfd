// digest.test.mjs - the link of a quarantine digest, opened in the browser: the page only asks
// (a mail scanner or prefetcher that opens the link changes nothing), its button releases the
// message under the strict CSP and no-referrer policy, and the message lands in the Maildir.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { stack, blocked, launch, newPage, shot, smtp, findInMaildir, sql, unique } from './lib.mjs';

let st; let browser; let why;

before(async () => {
  st = stack();
  why = await blocked(st, ['policy', 'scanner', 'delivery', 'smtp-edge']);
  browser = await launch();
});
after(async () => { if (browser) await browser.close(); });

/** The token delivery puts in a digest (lib/mail/digest_token.h), signed with the stack's key. */
function token(action, qid, expires) {
  const mac = createHmac('sha256', st.digest_secret)
    .update(`clement-digest-v1|${action}|${qid}|${expires}`).digest('base64url');
  return `${action}.${qid}.${expires}.${mac}`;
}

test('digest link: opening it asks first; the button releases the message into the Maildir', async (t) => {
  if (why) return t.skip(why);
  const subject = unique('digest release');
  const r = await smtp(st, { from: 'news@mail.newsletter.test', to: 'alice@example.test', subject }); // domain rule: quarantine
  assert.equal(r.code, 250, r.out);
  const qid = await sql(st, `SELECT id FROM quarantine WHERE subject = '${subject}'`);
  assert.match(qid, /^\d+$/, 'the message is held in the quarantine');
  const url = `${st.web}/api/digest/${token('release', qid, Math.floor(Date.now() / 1000) + 3600)}`;

  const page = await newPage(browser, {});
  await page.goto(url);
  await page.getByText('Release the quarantined message from news@mail.newsletter.test').waitFor();
  await shot(page, 'digest-confirm');
  await page.reload(); // a second visit (a prefetcher, then the person) still changes nothing
  assert.equal(await sql(st, `SELECT status FROM quarantine WHERE id = ${qid}`), 'held');
  // The message's own header at the start of a line: a quarantine digest that lists the
  // message ("   Subject: ...", indented) may reach the same Maildir meanwhile, since a new
  // schedule (the group admin's flow adds one) first runs as soon as it is created.
  const header = `\nSubject: ${subject}`;
  assert.deepEqual(findInMaildir(st.maildir, header), []);

  await page.getByRole('button', { name: 'Release' }).click();
  await page.getByText('The message was released to your mailbox.').waitFor();
  await shot(page, 'digest-done');
  assert.equal(await sql(st, `SELECT status FROM quarantine WHERE id = ${qid}`), 'released');
  let files = [];
  for (let i = 0; i < 50 && files.length === 0; i += 1) {
    files = findInMaildir(st.maildir, header);
    if (!files.length) await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(files.length, 1, 'the released message is in the Maildir once');

  await page.goto(url); // the link has done its work
  await page.getByText('This message is no longer in the quarantine.').waitFor();
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('digest link: the page is in the app\'s look, says what the message is and why it is held, and offers the other actions', async (t) => {
  if (why) return t.skip(why);
  const subject = unique('digest look');
  assert.equal((await smtp(st, { from: 'promo@mail.newsletter.test', to: 'alice@example.test', subject })).code, 250);
  const qid = await sql(st, `SELECT id FROM quarantine WHERE subject = '${subject}'`);
  const page = await newPage(browser, {});
  await page.goto(`${st.web}/api/digest/${token('release', qid, Math.floor(Date.now() / 1000) + 3600)}`);
  const card = page.locator('main.page section.card');
  await card.locator('dd', { hasText: subject }).waitFor();
  const dd = async (label) => card.locator('dt', { hasText: label }).locator('xpath=following-sibling::dd[1]').textContent();
  assert.equal(await dd('From'), 'promo@mail.newsletter.test');
  assert.match(await dd('Received'), /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
  assert.equal(await dd('Why held'), 'a sender rule of your domain');
  // The app's stylesheet (same origin, strict CSP): the top bar has the app's colour.
  assert.notEqual(await page.locator('header.topbar').evaluate((e) => getComputedStyle(e).backgroundColor), 'rgba(0, 0, 0, 0)');
  await shot(page, 'digest-confirm-details');
  // "Or instead": the other two actions, each its own confirmation page.
  assert.deepEqual(await card.locator('a.button').allTextContents(), ['Release and always accept', 'Delete']);
  await card.getByRole('link', { name: 'Delete' }).click();
  await page.getByText('Delete the quarantined message from promo@mail.newsletter.test?').waitFor();
  assert.equal(await sql(st, `SELECT status FROM quarantine WHERE id = ${qid}`), 'held', 'opening a link changes nothing');
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByText('The message was deleted.').waitFor();
  await page.locator('header.topbar').waitFor();
  assert.equal(await sql(st, `SELECT status FROM quarantine WHERE id = ${qid}`), 'deleted');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
