import { launch, newPage, login, stack } from './lib.mjs';
const st = stack();
const b = await launch();
const page = await newPage(b, { baseURL: st.web });
page.on('response', r => { if (r.url().includes('/api/')) console.log('resp', r.status(), r.url()); });
await login(page, st, 'gadmin');
for (const h of ['#/groups/2', '#/domains/2', '#/bans', '#/admins']) {
  await page.goto(`${st.web}/${h}`);
  await page.waitForTimeout(1500);
  console.log(h, (await page.locator('main').innerText()).slice(0, 200));
}
await b.close();
