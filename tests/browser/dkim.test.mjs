// dkim.test.mjs - the DKIM section of a domain's settings (issue 18): a domain admin generates
// keys, reads the TXT record to publish, activates one, rotates to another and retires the old
// one, each after a confirmation dialog (Cancel changes nothing). The signatures themselves are
// verified in tests/integration/test_dkim.py.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stack, blocked, launch, newPage, login, shot, sql, okNotice } from './lib.mjs';

let st; let browser; let why;

before(async () => {
  st = stack();
  why = await blocked(st);
  browser = await launch();
});
after(async () => { if (browser) await browser.close(); });

const states = () => sql(st, "SELECT string_agg(selector || '=' || state, ' ' ORDER BY selector) FROM dkim_keys WHERE domain_id = 1");

test('domain admin: generates DKIM keys, activates, rotates and retires with confirmation', async (t) => {
  if (why) return t.skip(why);
  await sql(st, 'DELETE FROM dkim_keys WHERE domain_id = 1');
  const p = await newPage(browser, { baseURL: st.web });
  await login(p, st, 'dadmin');
  await p.goto(`${st.web}/#/domains/1`);
  const card = p.locator('fieldset', { has: p.locator('legend', { hasText: 'DKIM signing' }) });
  await card.getByText('No key yet').waitFor();
  const gen = card.getByLabel('Generate a DKIM key');
  const generate = async (alg, sel) => {
    await gen.getByLabel('Algorithm').selectOption(alg);
    await gen.getByLabel('Selector').fill(sel);
    await gen.getByRole('button', { name: 'Generate key' }).click();
    await okNotice(p, `Key ${sel} generated`);
    await card.getByRole('row', { name: new RegExp(`^${sel} `) }).waitFor();
  };
  await generate('ed25519-sha256', 'brow1');
  const row1 = card.getByRole('row', { name: /^brow1 / });
  await row1.getByText(`brow1._domainkey.`).waitFor();
  assert.match(await row1.locator('code.dkim-txt').innerText(), /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);

  // Activate: asked first; Cancel changes nothing.
  await row1.getByRole('button', { name: 'Activate brow1' }).click();
  await p.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await states(), 'brow1=published');
  await row1.getByRole('button', { name: 'Activate brow1' }).click();
  await p.getByRole('dialog').getByRole('button', { name: 'Activate' }).click();
  await okNotice(p, 'brow1 signs now');
  assert.equal(await states(), 'brow1=active');

  // Rotate to a new RSA key: it signs, the old one stays published.
  await generate('rsa-sha256', 'brow2');
  const row2 = card.getByRole('row', { name: /^brow2 / });
  assert.match(await row2.locator('code.dkim-txt').innerText(), /^v=DKIM1; k=rsa; p=MII/);
  await row2.getByRole('button', { name: 'Rotate to brow2' }).click();
  const dlg = p.getByRole('dialog');
  await dlg.getByText('stays published until you retire it').waitFor();
  await dlg.getByRole('button', { name: 'Rotate' }).click();
  await okNotice(p, 'brow2 signs now');
  assert.equal(await states(), 'brow1=published brow2=active');
  await card.getByRole('row', { name: /^brow1 .*published/ }).waitFor();
  await shot(p, 'domain-dkim-keys');

  // Retire the old key, after confirming: its private key is erased.
  await card.getByRole('row', { name: /^brow1 / }).getByRole('button', { name: 'Retire brow1' }).click();
  await p.getByRole('dialog').getByRole('button', { name: 'Retire' }).click();
  await okNotice(p, 'brow1 retired');
  assert.equal(await states(), 'brow1=retired brow2=active');
  assert.equal(await sql(st, "SELECT count(*) FROM dkim_keys WHERE selector = 'brow1' AND private_key IS NULL"), '1');
  assert.deepEqual(p.problems, []);
  await p.context().close();
  await sql(st, 'DELETE FROM dkim_keys WHERE domain_id = 1');
});
