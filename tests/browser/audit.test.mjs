// audit.test.mjs - the Audit screen against the real stack: a domain admin changes its domain's
// settings in the browser, opens Audit from the navigation, filters it and sees its own change
// (who, the route, the field's old and new value); a filter for another actor hides it, and a
// plain user has no Audit screen. Screenshots: build/screenshots/audit-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useStack, newPage, login, shot, listLoaded, unique, typedAddress, okNotice } from './lib.mjs';

const env = useStack();

test('domain admin: sees the change it just made on the Audit screen, filtered', async (t) => {
  if (env.why) return t.skip(env.why);
  const { st, browser } = env;
  const page = await newPage(browser, { baseURL: st.web });
  const me = await login(page, st, 'dadmin');
  const text = unique('audited');

  await page.goto(`${st.web}/#/domains/1?tab=settings`);
  await page.getByLabel('Rejection text').fill(text);
  await page.getByLabel('Domain settings').getByRole('button', { name: 'Save' }).click(); // not the spam settings' Save
  await okNotice(page, 'Domain settings saved');

  await page.locator('#nav').getByRole('link', { name: 'Audit', exact: true }).click();
  await page.locator('main h1', { hasText: 'Audit' }).waitFor();
  await listLoaded(page);
  const filters = page.getByRole('search', { name: 'Filter Audit' });
  await filters.getByLabel('Who').fill(me.address);
  await filters.getByLabel('Target').selectOption('domain');
  await filters.getByLabel('Outcome').selectOption('success');
  await filters.getByRole('button', { name: 'Filter', exact: true }).click();
  await listLoaded(page);

  const row = page.locator('tbody tr', { hasText: text });
  await row.waitFor();
  const cells = await row.locator('td').allTextContents();
  assert.ok(cells.some((c) => c.includes(me.address)), `actor in ${cells}`);
  assert.ok(cells.some((c) => c.includes('PATCH /api/domains/{id}')), `route in ${cells}`);
  assert.ok(cells.some((c) => c.includes('reject_text') && c.includes(`→ ${text}`)), `change in ${cells}`);
  assert.ok(cells.includes('200'));
  await shot(page, 'audit-domain-admin');

  // Another actor's filter hides the row; the API filtered, not the page.
  await filters.getByLabel('Who').fill('root@');
  await filters.getByRole('button', { name: 'Filter', exact: true }).click();
  await listLoaded(page);
  assert.equal(await page.locator('tbody tr', { hasText: text }).count(), 0);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a user has no Audit screen', async (t) => {
  if (env.why) return t.skip(env.why);
  const page = await newPage(env.browser, { baseURL: env.st.web });
  await login(page, env.st, 'alice');
  assert.equal(await page.locator('#nav').getByRole('link', { name: 'Audit' }).count(), 0);
  assert.equal(await typedAddress(page, env.st, '#/audit'), '403');
  await page.context().close();
});
