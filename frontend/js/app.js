// app.js - the shell: login/logout, session expiry, role-aware navigation, the router.
import { h, clear } from './dom.js';
import { api, get, post, setCsrf, onSessionEnd } from './api.js';
import { route, match, current, go } from './router.js';
import { state, atLeast, meFrom } from './session.js';
import { notify, clearNotice, field, fail, deniedPanel } from './ui.js';
import { registerUserScreens } from './screens/user.js';
import { registerAdminScreens } from './screens/admin.js';
import { registerRootScreens } from './screens/root.js';
import { registerDashboard } from './screens/dashboard.js';
import { registerAuditScreens } from './screens/audit.js';

const main = document.getElementById('main');
let returnTo = '';

/* ---------- navigation ---------- */

const NAV = [
  // A user's dashboard is its own mail's; admins have theirs under Admin (the same screen).
  { label: 'Me', min: 'user', items: [['#/mail', 'My mail'], ['#/quarantine', 'My quarantine'], ['#/senders', 'My senders'], ['#/dashboard', 'My dashboard', 'user'], ['#/account', 'Account']] },
  { label: 'Admin', min: 'domain-admin', items: [['#/dashboard', 'Dashboard'], ['#/domains', 'Domains'], ['#/admin/messages', 'Logs'], ['#/admin/quarantine', 'Quarantine'], ['#/admin/sessions', 'Sessions'], ['#/audit', 'Audit']] },
  { label: 'Groups', min: 'group-admin', items: [['#/groups', 'Groups'], ['#/admins', 'Admins']] },
  { label: 'Root', min: 'root-admin', items: [['#/bans', 'Bans'], ['#/never-ban', 'Never-ban'], ['#/peers', 'Mesh peers'], ['#/settings', 'Settings']] },
];

function renderNav() {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  const toggle = document.getElementById('menu-toggle');
  clear(nav);
  clear(who);
  toggle.hidden = !state.me;
  if (!state.me) return;
  for (const g of NAV) {
    if (!atLeast(g.min)) continue;
    nav.append(h('div.navgroup', h('span.navgroup-label', { 'aria-hidden': 'true' }, g.label),
      g.items.filter(([, , only]) => !only || state.me.role === only).map(([href, text]) => h('a', { href }, text))));
  }
  who.append(h('span', { 'data-role': state.me.role }, `${state.me.address} · ${state.me.role}`),
    h('button.secondary', { type: 'button', id: 'logout', onclick: logout }, 'Log out'));
  markCurrent();
  refreshCounts();
}

/** Held messages in the menu ("My quarantine", admins' "Quarantine"), as a number after the
 * link (CSS, from data-count; the link's name stays the same) and its title. */
async function refreshCounts() {
  if (!state.me) return;
  const links = [['#/quarantine', { user_id: state.me.id }], ['#/admin/quarantine', {}]];
  for (const [href, params] of links) {
    const a = document.querySelector(`#nav a[href="${href}"]`);
    if (!a) continue;
    try {
      const list = await get('/quarantine', { ...params, status: 'held', per_page: 1 });
      const n = Number(list.total) || 0;
      if (n) { a.dataset.count = String(n); a.title = `${n} held message${n === 1 ? '' : 's'}`; } else { delete a.dataset.count; a.removeAttribute('title'); }
    } catch (e) { /* the count is a hint; the screen itself says what went wrong */ }
  }
}
window.addEventListener('clement:list', (ev) => { if (['/quarantine', '/logs'].includes(ev.detail)) refreshCounts(); });

function markCurrent() {
  const { path } = current();
  for (const a of document.querySelectorAll('#nav a')) {
    const target = a.getAttribute('href').slice(1);
    if (target === path || (target !== '/' && path.startsWith(target + '/'))) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function setupMenuToggle() {
  const toggle = document.getElementById('menu-toggle');
  const nav = document.getElementById('nav');
  const narrow = window.matchMedia('(max-width: 700px)');
  const apply = () => {
    nav.classList.toggle('collapsed', narrow.matches && toggle.getAttribute('aria-expanded') !== 'true');
  };
  toggle.addEventListener('click', () => {
    toggle.setAttribute('aria-expanded', toggle.getAttribute('aria-expanded') === 'true' ? 'false' : 'true');
    apply();
  });
  nav.addEventListener('click', (ev) => {
    if (ev.target.closest('a') && narrow.matches) { toggle.setAttribute('aria-expanded', 'false'); apply(); }
  });
  narrow.addEventListener('change', apply);
  apply();
}

/* ---------- login / logout / expiry ---------- */

function loginScreen() {
  const form = h('form.stack.card', { 'aria-labelledby': 'login-title', id: 'login-form' },
    h('h1', { id: 'login-title' }, 'Log in to Clement'),
    h('p.muted', 'Use your e-mail address and its password (your mailbox password if your mail is hosted elsewhere).'),
    field({ name: 'address', label: 'E-mail address', type: 'email', required: true, autocomplete: 'username' }),
    field({ name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'current-password', maxlength: 1024 }),
    h('button', { type: 'submit' }, 'Log in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      const address = form.elements.address.value.trim();
      const password = form.elements.password.value;
      await api('POST', '/login', { address, password }, { allow401: true });
      form.elements.password.value = '';
      await loadMe();
      clearNotice();
      const target = returnTo && returnTo !== '/login' ? returnTo : home();
      returnTo = '';
      go(target);
    } catch (e) {
      notify('error', e.message);
      form.elements.password.focus();
    } finally {
      btn.disabled = false;
    }
  });
  return h('div.login', form);
}

async function loadMe() {
  const r = await api('GET', '/me', undefined, { allow401: true });
  state.me = meFrom(r);
  renderNav();
}

async function logout() {
  try { await post('/logout'); } catch (e) { if (e.status !== 401) { fail(e); return; } }
  endSession();
  notify('info', 'You are logged out.');
  keepNotice = true;
}

function endSession() {
  state.me = null;
  setCsrf('');
  renderNav();
  go('/login');
}

function home() { return atLeast('domain-admin') ? '/dashboard' : '/mail'; }

/* ---------- routing ---------- */

let renderSeq = 0;
let keepNotice = false;

async function render() {
  // Screens load asynchronously; when the address changes again meanwhile, only the
  // latest render may fill <main>.
  const seq = ++renderSeq;
  const { path, query } = current();
  // A notice belongs to the screen it was said on; one said on the way here (log out, the
  // session ended) is kept for this screen only.
  if (!keepNotice) clearNotice();
  keepNotice = false;
  if (!state.me && path !== '/login') {
    returnTo = path;
    go('/login');
    return;
  }
  if (path === '/login') {
    if (state.me) { go(home()); return; }
    clear(main).append(loginScreen());
    document.title = 'Log in · Clement';
    const first = main.querySelector('input');
    if (first) first.focus();
    return;
  }
  if (path === '/' || path === '') { go(home()); return; }
  markCurrent();
  const m = match(path);
  clear(main);
  if (m && m.route.meta.min && !atLeast(m.route.meta.min)) {
    // The data behind this page is open to lower roles, scoped to themselves (e.g. the mail
    // log): the server would answer, so the UI itself says that the page is not for them.
    main.append(deniedPanel({ status: 403, local: true, message: `This page is for ${m.route.meta.min}s and above; you are a ${state.me.role}.` }));
    return;
  }
  if (!m) {
    main.append(h('section.card.msg.error', { role: 'alert' }, h('h1', 'Not found'), h('p', `There is no page ${path}.`)));
    return;
  }
  try {
    const node = await m.route.handler(m.params, query);
    if (seq !== renderSeq) return;
    if (node) { clear(main).append(node); }
  } catch (e) {
    if (e.status !== 401) fail(e);
  }
  const title = main.querySelector('h1');
  document.title = `${title ? title.textContent : 'Clement'} · Clement`;
  main.focus({ preventScroll: true });
}

onSessionEnd((text) => {
  if (!state.me) return;
  returnTo = current().path;
  endSession();
  notify('error', `Your session has ended${text ? ` (${text})` : ''}. Please log in again.`);
  keepNotice = true;
});

registerUserScreens(route);
registerDashboard(route);
registerAdminScreens(route);
registerRootScreens(route);
registerAuditScreens(route);

window.addEventListener('hashchange', render);
setupMenuToggle();
(async () => {
  try { await loadMe(); } catch (e) { state.me = null; if (e.status !== 401) notify('error', e.message); }
  render();
})();
