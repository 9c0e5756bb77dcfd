// admin.js - domain-admin and group-admin screens: domains (settings, users, rules, logs,
// quarantine, sessions, digests, dashboard) and groups (mode, downstream MTA, IMAP, verification,
// domains, rules, digests). The API decides what is in scope; these only ask.
import { h, fmtTime } from '../dom.js';
import { get, post, patch, del } from '../api.js';
import { listView } from '../listview.js';
import { go } from '../router.js';
import { atLeast, grantableRoles, mayManage, state, ROLE_LABELS } from '../session.js';
import { act, apiForm, badge, confirmDialog } from '../ui.js';
import { messageLog, quarantineList, directiveList, sessionLog, loadOrDeny } from './common.js';
import { dashboardView } from './dashboard.js';
import { domainDkim } from './dkim.js';

/* ---------- tabs ---------- */

function tabs(base, list, active) {
  return h('nav.actions.tabs', { 'aria-label': 'Sections' }, list.map(([key, label]) =>
    h('a.button', { href: `#${base}?tab=${key}`, class: key === active ? '' : 'secondary', 'aria-current': key === active ? 'page' : undefined }, label)));
}

async function groupOptions() {
  try {
    const r = await get('/groups', { per_page: 200 });
    return (r.items || []).map((g) => [String(g.id), g.name]);
  } catch (e) {
    return [];
  }
}

function toggleEnabled(path, r, reload) {
  return h('button.secondary', { type: 'button', onclick: async (ev) => {
    const next = !r.enabled;
    if ((await act(ev.currentTarget, () => patch(path, { enabled: next }), next ? 'Enabled.' : 'Disabled.')) !== undefined) reload();
  } }, r.enabled === false ? 'Enable' : 'Disable');
}

function removeButton(path, what, reload) {
  return h('button.danger', { type: 'button', onclick: async (ev) => {
    const b = ev.currentTarget;
    if (!(await confirmDialog(`Delete ${what}? This cannot be undone.`, { okLabel: 'Delete', danger: true }))) return;
    if ((await act(b, () => del(path), `Deleted ${what}.`)) !== undefined) reload();
  } }, 'Delete');
}

/* ---------- domains ---------- */

async function domainList() {
  const groups = atLeast('group-admin') ? await groupOptions() : [];
  return listView({
    title: 'Domains', path: '/domains',
    intro: 'The domains you manage. Open one for its users, rules, rejection texts and logs.',
    filters: [{ name: 'q', label: 'Search', type: 'search', placeholder: 'domain name' }],
    create: atLeast('group-admin') ? {
      legend: 'Add a domain', submitLabel: 'Add domain',
      fields: [
        { name: 'name', label: 'Domain name', required: true, placeholder: 'example.org' },
        { name: 'group_id', label: 'Group', type: 'select', required: true, options: groups },
        { name: 'default_action', label: 'Unknown senders', type: 'select', options: [['accept', 'accept'], ['quarantine', 'quarantine']] },
      ],
      submit: (v) => post('/domains', { name: v.name.trim().toLowerCase(), group_id: Number(v.group_id), default_action: v.default_action }),
      success: 'Domain added.',
    } : null,
    columns: [
      { label: 'Domain', render: (r) => h('a', { href: `#/domains/${r.id}` }, r.name) },
      { label: 'Group', render: (r) => r.group_name || r.group_id },
      { label: 'Unknown senders', render: (r) => badge(r.default_action) },
      { label: 'Users', key: 'users' },
    ],
    actions: atLeast('group-admin') ? (r, reload) => [removeButton(`/domains/${r.id}`, `domain ${r.name}`, reload)] : null,
  });
}

/* ---------- content verdicts (Rspamd, issue 18) ---------- */

const SCORE_KEYS = ['spam_reject_score', 'spam_quarantine_score', 'spam_tag_score'];

/** The three Rspamd score fields; empty = `empty` (Rspamd's own action, or the group's value). */
function scoreFields(o, empty) {
  const f = (name, label, help) => ({ name, label, type: 'number', step: '0.01', min: -999.99, max: 999.99,
    value: o[name] ?? '', placeholder: empty, help });
  return [
    f('spam_reject_score', 'Reject at score', 'Refused at the end of DATA (550 5.7.1) with the main reasons.'),
    f('spam_quarantine_score', 'Quarantine at score', 'Accepted, then held in quarantine with its score and reasons.'),
    f('spam_tag_score', 'Tag at score', 'Delivered with X-Spam-Flag, X-Spam-Score and X-Spam-Status headers.'),
  ];
}

/** Scores from a form: an empty field is null (the default), never left out. */
function scoreBody(v) {
  const out = {};
  for (const k of SCORE_KEYS) out[k] = typeof v[k] === 'number' ? v[k] : null;
  return out;
}

function groupContent(g) {
  return h('fieldset.card', h('legend', 'Spam and sender authentication'), apiForm({
    className: 'stack', label: 'Spam settings', submitLabel: 'Save', reset: false,
    fields: [...scoreFields(g, "Rspamd's default"),
      { name: 'dmarc_enforce', label: 'Enforce DMARC p=reject', type: 'checkbox', value: g.dmarc_enforce,
        help: 'Refuse mail whose From domain publishes p=reject when neither SPF nor DKIM aligns.' },
      { name: 'learn_quarantine', label: 'Learn from quarantine decisions', type: 'checkbox',
        value: g.learn_quarantine,
        help: 'Releasing a message held as spam teaches Rspamd ham; deleting it teaches spam.' }],
    onSubmit: (v) => patch(`/groups/${g.id}`, { ...scoreBody(v), dmarc_enforce: !!v.dmarc_enforce,
      learn_quarantine: !!v.learn_quarantine }),
    success: 'Spam settings saved.',
  }));
}

function domainContent(d) {
  const dm = d.dmarc_enforce === true ? 'on' : d.dmarc_enforce === false ? 'off' : '';
  return h('fieldset.card', h('legend', 'Spam and sender authentication'), apiForm({
    className: 'stack', label: 'Spam settings', submitLabel: 'Save', reset: false,
    fields: [...scoreFields(d, "the group's"),
      { name: 'dmarc_enforce', label: 'Enforce DMARC p=reject', type: 'select', value: dm,
        options: [['', "as the group says"], ['on', 'enforce'], ['off', 'do not enforce']] }],
    onSubmit: (v) => patch(`/domains/${d.id}`, { ...scoreBody(v),
      dmarc_enforce: v.dmarc_enforce === 'on' ? true : v.dmarc_enforce === 'off' ? false : null }),
    success: 'Spam settings saved.',
  }));
}

function domainSettings(d) {
  return h('fieldset.card', h('legend', 'Domain settings'), apiForm({
    className: 'stack', label: 'Domain settings', submitLabel: 'Save', reset: false,
    fields: [
      { name: 'default_action', label: 'Default for unknown senders', type: 'select', value: d.default_action,
        options: [['accept', 'accept'], ['quarantine', 'quarantine']],
        help: 'What happens to mail from senders no rule names.' },
      { name: 'reject_text', label: 'Rejection text', type: 'textarea', value: d.reject_text || '', maxlength: 200,
        placeholder: 'does not accept mail from', help: 'Replaces "does not accept mail from" in the SMTP refusal a rejected sender gets.' },
      { name: 'unknown_user_text', label: 'Unknown-user text', type: 'textarea', value: d.unknown_user_text || '', maxlength: 200,
        placeholder: 'no such user', help: 'The reason given for a recipient that does not exist.' },
    ],
    onSubmit: (v) => patch(`/domains/${d.id}`, {
      default_action: v.default_action, reject_text: v.reject_text || null, unknown_user_text: v.unknown_user_text || null }),
    success: 'Domain settings saved.',
  }));
}

/** The sender aliases of one account in a dialog: the addresses besides its own that it may
 *  use as MAIL FROM after logging in to send (any other is refused); grant and remove. */
async function aliasesDialog(u, btn) {
  const body = h('div');
  const close = h('button.secondary', { type: 'submit' }, 'Close');
  const dlg = h('dialog', { 'aria-labelledby': 'al-title' },
    h('h2', { id: 'al-title' }, `Sender aliases of ${u.address}`),
    h('p.muted', `Besides ${u.address}, the addresses this account may send from after logging in. `
      + 'Any other sender address is refused (553 5.7.1).'), body,
    h('form', { method: 'dialog' }, h('div.actions', close)));
  const render = async () => {
    let list;
    try { list = await get(`/users/${u.id}/aliases`); } catch (e) { body.replaceChildren(h('p.msg.error', e.message)); return; }
    const items = list.items || [];
    body.replaceChildren(
      h('ul', { 'aria-label': 'Sender aliases' }, items.length ? items.map((a) => h('li', a.address, ' ',
        h('button.link', { type: 'button', 'aria-label': `remove ${a.address}`, onclick: async (ev) => {
          if ((await act(ev.currentTarget, () => del(`/users/${u.id}/aliases/${a.id}`), 'Alias removed.')) !== undefined) render();
        } }, 'remove'))) : h('li.muted', 'No alias yet.')),
      apiForm({ label: 'Grant a sender alias', submitLabel: 'Grant alias',
        fields: [{ name: 'address', label: 'Alias address', type: 'email', required: true, placeholder: `sales@${u.address.split('@')[1]}`,
          help: 'An address in a domain you manage.' }],
        onSubmit: async (v) => { const r = await post(`/users/${u.id}/aliases`, { address: v.address.trim() }); render(); return r; },
        success: 'Alias granted.' }));
  };
  await render();
  dlg.addEventListener('close', () => { dlg.remove(); btn.focus(); });
  document.body.append(dlg);
  dlg.showModal();
  close.focus();
}

/** Ask before a role change: the account's sessions end and its menu changes. */
export function confirmRole(address, from, to) {
  if (from === to) return Promise.resolve(true);
  return confirmDialog(`Make ${address} a ${ROLE_LABELS[to] || to} (now ${ROLE_LABELS[from] || from})? `
    + 'Their sessions end; they log in again with the new role.', { okLabel: 'Change role' });
}

/** Edit one account in a dialog: name, role (only those the caller may give), quota, a new
 * password, enabled. Only what changed is sent. */
function editUserDialog(u, btn, reload) {
  const close = h('button.secondary', { type: 'submit' }, 'Cancel');
  const roles = grantableRoles();
  if (!roles.some(([v]) => v === u.role)) roles.unshift([u.role, ROLE_LABELS[u.role] || u.role]);
  let dlg;
  const form = apiForm({
    className: 'stack', label: `Edit ${u.address}`, submitLabel: 'Save', reset: false,
    fields: [
      { name: 'display_name', label: 'Name', value: u.display_name || '', maxlength: 200 },
      { name: 'role', label: 'Role', type: 'select', value: u.role, options: roles },
      { name: 'quota_mb', label: 'Quota (MB, empty: none)', type: 'number', min: 1, value: u.quota_bytes ? Math.round(u.quota_bytes / 1048576) : '' },
      { name: 'password', label: 'New password (empty: unchanged)', type: 'password', autocomplete: 'new-password', maxlength: 1024 },
      { name: 'enabled', label: 'Enabled (may receive mail and log in)', type: 'checkbox', value: u.enabled !== false },
    ],
    onSubmit: async (v) => {
      const body = {};
      if ((v.display_name || '') !== (u.display_name || '')) body.display_name = v.display_name || null;
      if (v.role !== u.role) body.role = v.role;
      const quota = v.quota_mb ? v.quota_mb * 1048576 : null;
      if (quota !== (u.quota_bytes ?? null)) body.quota_bytes = quota;
      if (v.password) body.password = v.password;
      if (v.enabled !== (u.enabled !== false)) body.enabled = v.enabled;
      if (!Object.keys(body).length) return {};
      if (body.role && !(await confirmRole(u.address, u.role, body.role))) throw new Error('Nothing saved: the role change was cancelled.');
      const r = await patch(`/users/${u.id}`, body);
      dlg.close();
      reload();
      return r;
    },
    success: `Saved ${u.address}.`,
  });
  dlg = h('dialog', { 'aria-labelledby': 'eu-title' }, h('h2', { id: 'eu-title' }, `Edit ${u.address}`), form,
    h('form', { method: 'dialog' }, h('div.actions', close)));
  dlg.addEventListener('close', () => { dlg.remove(); if (btn.isConnected) btn.focus(); });
  document.body.append(dlg);
  dlg.showModal();
  form.querySelector('input').focus();
}

/** One account's sender rules, for its admins (the user sees them as "My senders"). */
async function userSenders({ id }) {
  const { obj: u, denied } = await loadOrDeny(`/users/${id}`);
  if (denied) return denied;
  const address = u.address || u.local_part;
  const view = directiveList({
    title: `Sender rules of ${address}`, owner: { user_id: u.id },
    intro: `What ${address} accepts, rejects or sends to quarantine, over the domain's and group's rules.`,
  });
  view.prepend(h('p', h('a', { href: `#/domains/${u.domain_id}?tab=users` }, '‹ Users of the domain')));
  return view;
}

function userList(d) {
  const roles = grantableRoles();
  return listView({
    title: `Users of ${d.name}`, path: '/users', params: { domain_id: d.id },
    filters: [{ name: 'q', label: 'Search', type: 'search', placeholder: 'address or name' }],
    create: {
      legend: 'Add a user', submitLabel: 'Add user',
      fields: [
        { name: 'local_part', label: `Address (before @${d.name})`, required: true, placeholder: 'alice' },
        { name: 'display_name', label: 'Name' },
        { name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', maxlength: 1024,
          help: 'Leave empty for users who log in with their mailbox (IMAP) password.' },
        { name: 'role', label: 'Role', type: 'select', options: roles },
      ],
      submit: (v) => post('/users', { ...v, local_part: v.local_part.trim().toLowerCase(), domain_id: d.id }),
      success: 'User added.',
    },
    columns: [
      { label: 'Address', className: 'wrap', render: (r) => r.address || `${r.local_part}@${d.name}` },
      { label: 'Name', key: 'display_name' },
      { label: 'Role', render: (r) => badge(r.role) },
      { label: 'Enabled', render: (r) => (r.enabled === false ? 'no' : 'yes') },
      { label: 'Created', render: (r) => fmtTime(r.created_at) },
    ],
    // Only what the API would allow: accounts below the caller's role, never its own.
    actions: (r, reload) => {
      const u = { ...r, address: r.address || `${r.local_part}@${d.name}` };
      if (!mayManage(u)) return [h('span.muted', u.id === state.me.id ? 'you' : 'managed above you')];
      return [h('button.secondary', { type: 'button', onclick: (ev) => editUserDialog(u, ev.currentTarget, reload) }, 'Edit'),
        h('a.button.secondary', { href: `#/users/${u.id}/senders` }, 'Sender rules'),
        h('a.button.secondary', { href: `#/dashboard?user_id=${u.id}`, 'aria-label': `Dashboard of ${u.address}` }, 'Dashboard'),
        toggleEnabled(`/users/${r.id}`, r, reload),
        h('button.secondary', { type: 'button', onclick: (ev) => aliasesDialog(u, ev.currentTarget) }, 'Aliases'),
        removeButton(`/users/${r.id}`, `user ${u.address}`, reload)];
    },
  });
}

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function weekdaysText(mask) {
  return DAYS.filter((_, i) => mask & (1 << i)).join(', ');
}

/** Quarantine digest schedules of a user, domain or group: owner = {user_id} | {domain_id} | {group_id}. */
export function digestList(owner, title, intro = 'When quarantine digests are mailed: daily at a time, on chosen weekdays, or every N hours.') {
  return listView({
    title, path: '/digest-schedules', params: owner,
    intro: `${intro} Times of day are the mail server's clock (UTC); "Next run" shows when that is in your time zone.`,
    create: {
      legend: 'Add a schedule', submitLabel: 'Add schedule',
      fields: [
        { name: 'kind', label: 'Kind', type: 'select', options: [['daily', 'daily'], ['weekdays', 'on weekdays'], ['interval', 'every N hours']] },
        { name: 'at_time', label: 'At (daily / weekdays)', type: 'time', help: 'The mail server\'s clock: UTC.' },
        { name: 'weekdays', label: 'Weekdays', placeholder: 'Mon,Wed,Fri', help: 'For "on weekdays": day names separated by commas.' },
        { name: 'interval_hours', label: 'Every N hours', type: 'number', min: 1, max: 168 },
      ],
      submit: (v) => {
        const body = { ...owner, kind: v.kind };
        if (v.kind !== 'interval') body.at_time = v.at_time;
        if (v.kind === 'weekdays') {
          body.weekdays = String(v.weekdays || '').split(/[ ,]+/).reduce((m, name) => {
            const i = DAYS.findIndex((d) => d.toLowerCase() === name.slice(0, 3).toLowerCase());
            return i >= 0 ? m | (1 << i) : m;
          }, 0);
        }
        if (v.kind === 'interval') body.interval_hours = v.interval_hours;
        return post('/digest-schedules', body);
      },
      success: 'Schedule added.',
    },
    columns: [
      { label: 'Kind', key: 'kind' },
      { label: 'When', render: (r) => (r.kind === 'interval' ? `every ${r.interval_hours} h`
        : `${r.kind === 'weekdays' ? weekdaysText(r.weekdays) + ' ' : 'daily '}at ${String(r.at_time || '').slice(0, 5)} UTC`) },
      { label: 'Enabled', render: (r) => (r.enabled === false ? 'no' : 'yes') },
      { label: 'Next run', render: (r) => fmtTime(r.next_run_at) },
    ],
    actions: (r, reload) => [toggleEnabled(`/digest-schedules/${r.id}`, r, reload),
      removeButton(`/digest-schedules/${r.id}`, 'this schedule', reload)],
  });
}

const DOMAIN_TABS = [['settings', 'Settings'], ['users', 'Users'], ['rules', 'Rules'], ['logs', 'Logs'],
  ['quarantine', 'Quarantine'], ['sessions', 'Sessions'], ['digests', 'Digests'], ['dashboard', 'Dashboard']];

async function domainDetail({ id }, query) {
  const { obj, denied } = await loadOrDeny(`/domains/${encodeURIComponent(id)}`);
  if (denied) return denied;
  const d = obj.domain || obj;
  const tab = query.tab || 'settings';
  let body;
  if (tab === 'users') body = userList(d);
  else if (tab === 'rules') body = directiveList({ title: `Rules of ${d.name}`, owner: { domain_id: d.id },
    intro: 'Rules for every user of the domain; a user\'s own rules come first.' });
  else if (tab === 'logs') body = messageLog({ title: `Mail log of ${d.name}`, params: { domain_id: d.id }, intro: 'Every message for and from this domain.' });
  else if (tab === 'quarantine') body = quarantineList({ title: `Quarantine of ${d.name}`, params: { domain_id: d.id }, intro: 'Held messages for every user of the domain.' });
  else if (tab === 'sessions') body = sessionLog({ title: `SMTP sessions for ${d.name}`, params: { domain_id: d.id } });
  else if (tab === 'digests') body = digestList({ domain_id: d.id }, `Digest schedules of ${d.name}`);
  else if (tab === 'dashboard') body = await dashboardView({ heading: `Dashboard of ${d.name}`, params: { domain_id: String(d.id) }, base: `/domains/${d.id}?tab=dashboard`, hours: Number(query.hours) || 24 });
  else body = h('section', h('h1', { id: 'page-title' }, d.name), h('p.muted', `Group: ${d.group_name || d.group_id}`), domainSettings(d), domainContent(d), domainDkim(d));
  return h('div', h('p', h('a', { href: '#/domains' }, '‹ All domains'), ` · ${d.name}`), tabs(`/domains/${d.id}`, DOMAIN_TABS, tab), body);
}

/* ---------- groups ---------- */

function groupFields(g = {}) {
  return [
    { name: 'mode', label: 'Mode', type: 'select', value: g.mode || 'local', options: [['local', 'local (Maildir)'], ['relay', 'relay (downstream MTA)']],
      help: 'Local: Clement stores mail in mailboxes, and the downstream MTA below is the smart host for the mail the group\'s users send. Relay: Clement passes mail to the downstream MTA.' },
    { name: 'relay_host', label: 'Downstream MTA host', value: g.relay_host || '', placeholder: 'mx.internal.example.org',
      help: 'Relay mode: where the group\'s incoming mail goes. Local mode: the smart host that relays what the group\'s users send (submission). Empty: the server\'s smart host, if one is configured.' },
    { name: 'relay_port', label: 'Downstream MTA port', type: 'number', min: 1, max: 65535, value: g.relay_port ?? 25,
      help: '25 for an MTA, 587 for a provider\'s submission port (with credentials below).' },
    { name: 'relay_tls', label: 'Downstream TLS', type: 'select', value: g.relay_tls || 'opportunistic',
      options: [['none', 'none'], ['opportunistic', 'opportunistic'], ['required', 'required']],
      help: 'Required: STARTTLS (certificate verified unless the server turns that off), or nothing is sent. Without TLS a password below crosses the network in clear.' },
  ];
}

// The downstream's SMTP AUTH credentials (settings form only). The password is write-only in
// the API (reads say only relay_auth_pass_set): the field is always empty, empty keeps the
// stored one, and a separate box removes it (the API's null).
function groupAuthFields(g) {
  return [
    { name: 'relay_auth_user', label: 'Downstream login (SMTP AUTH user)', value: g.relay_auth_user || '', autocomplete: 'off',
      help: 'Clement authenticates to the downstream MTA / smart host with this login and the password below. Empty: no authentication.' },
    { name: 'relay_auth_pass', label: 'Downstream password', type: 'password', value: '', autocomplete: 'new-password',
      placeholder: g.relay_auth_pass_set ? '(stored, not shown)' : '(none)',
      help: g.relay_auth_pass_set ? 'A password is stored; it is never shown. Leave empty to keep it, type a new one to replace it.'
        : 'No password is stored. Type one to store it; it is never shown again.' },
    ...(g.relay_auth_pass_set ? [{ name: 'relay_auth_pass_clear', label: 'Remove the stored password', type: 'checkbox', value: false }] : []),
  ];
}

function groupSettingsFields(g) {
  return [
    ...groupFields(g),
    ...groupAuthFields(g),
    { name: 'verify_recipients', label: 'Recipient verification', type: 'select', value: g.verify_recipients || 'list',
      options: [['list', 'users listed here'], ['probe', 'ask the downstream MTA (RCPT probe)']] },
    { name: 'verify_ttl_s', label: 'Verification cache (seconds)', type: 'number', min: 0, max: 604800, value: g.verify_ttl_s ?? 3600 },
    { name: 'dnsbl_threshold', label: 'Reputation threshold', type: 'number', min: 1, max: 1000, value: g.dnsbl_threshold ?? '',
      help: 'Refuse senders whose DNS blocklist score reaches this for the group\'s recipients. Only stricter (lower) than the server\'s threshold has an effect; empty: the server\'s.' },
    // Where the group's users log in is a root-admin's decision (whoever runs that server
    // sees their passwords): other admins are not offered the fields.
    ...(atLeast('root-admin') ? [
      { name: 'imap_host', label: 'IMAP server for logins', value: g.imap_host || '',
        help: 'Users of the group without a Clement password log in with their mailbox password, checked here. Never admins.' },
      { name: 'imap_port', label: 'IMAP port', type: 'number', min: 1, max: 65535, value: g.imap_port ?? '' },
      { name: 'imap_tls', label: 'IMAP TLS', type: 'select', value: g.imap_tls || 'required',
        options: [['required', 'required (implicit TLS on 993, STARTTLS elsewhere)'], ['implicit', 'implicit TLS on any port'],
          ['plain', 'none: passwords in clear text (logged)']] },
    ] : []),
  ];
}

function groupBody(v) {
  const out = { ...v };
  if (!out.relay_host) out.relay_host = null;
  if ('imap_host' in out && !out.imap_host) out.imap_host = null;
  if ('imap_tls' in out && out.imap_port === undefined) out.imap_port = null;
  // The settings form (it alone has verify_recipients): formValues drops an emptied number, and
  // an empty threshold means the server's again (null), so it is sent as null, not left out.
  if ('verify_recipients' in out && (out.dnsbl_threshold === undefined || out.dnsbl_threshold === '')) out.dnsbl_threshold = null;
  // Credentials (settings form): an emptied login is removed (null); an empty password is left
  // out, so the stored one stays; the box removes it. Both at once is a contradiction, refused here.
  if ('verify_recipients' in out && out.relay_auth_user === undefined) out.relay_auth_user = null;
  if (out.relay_auth_pass_clear) {
    if (out.relay_auth_pass) throw new Error('Either type a new downstream password or remove the stored one, not both.');
    out.relay_auth_pass = null;
  }
  delete out.relay_auth_pass_clear;
  return out;
}

function groupList() {
  return listView({
    title: 'Groups', path: '/groups',
    intro: 'Each domain belongs to a group; the group sets how its mail is delivered.',
    filters: [{ name: 'q', label: 'Search', type: 'search', placeholder: 'group name' }],
    create: atLeast('root-admin') ? {
      legend: 'Add a group', submitLabel: 'Add group',
      fields: [{ name: 'name', label: 'Group name', required: true }, ...groupFields().slice(0, 2)],
      submit: (v) => post('/groups', groupBody(v)),
      success: 'Group added.',
    } : null,
    columns: [
      { label: 'Group', render: (r) => h('a', { href: `#/groups/${r.id}` }, r.name) },
      { label: 'Mode', render: (r) => badge(r.mode) },
      { label: 'Downstream', render: (r) => (r.mode === 'relay' ? `${r.relay_host}:${r.relay_port}` : '') },
      { label: 'Domains', key: 'domains' },
    ],
    actions: atLeast('root-admin') ? (r, reload) => [removeButton(`/groups/${r.id}`, `group ${r.name}`, reload)] : null,
  });
}

const GROUP_TABS = [['settings', 'Mode'], ['domains', 'Domains'], ['rules', 'Rules'], ['logs', 'Logs'],
  ['quarantine', 'Quarantine'], ['sessions', 'Sessions'], ['digests', 'Digests'], ['dashboard', 'Dashboard']];

async function groupDetail({ id }, query) {
  const { obj, denied } = await loadOrDeny(`/groups/${encodeURIComponent(id)}`);
  if (denied) return denied;
  const g = obj.group || obj;
  const tab = query.tab || 'settings';
  let body;
  if (tab === 'domains') {
    body = listView({
      title: `Domains of ${g.name}`, path: '/domains', params: { group_id: g.id },
      create: { legend: 'Add a domain', submitLabel: 'Add domain',
        fields: [{ name: 'name', label: 'Domain name', required: true, placeholder: 'example.org' }],
        submit: (v) => post('/domains', { name: v.name.trim().toLowerCase(), group_id: g.id }), success: 'Domain added.' },
      columns: [{ label: 'Domain', render: (r) => h('a', { href: `#/domains/${r.id}` }, r.name) },
        { label: 'Unknown senders', render: (r) => badge(r.default_action) }],
    });
  } else if (tab === 'rules') body = directiveList({ title: `Rules of ${g.name}`, owner: { group_id: g.id }, intro: 'Rules for every domain of the group.' });
  else if (tab === 'logs') body = messageLog({ title: `Mail log of ${g.name}`, params: { group_id: g.id }, intro: 'Every message of the group\'s domains.' });
  else if (tab === 'quarantine') body = quarantineList({ title: `Quarantine of ${g.name}`, params: { group_id: g.id }, intro: 'Held messages of the group.' });
  else if (tab === 'sessions') body = sessionLog({ title: `SMTP sessions of ${g.name}`, params: { group_id: g.id } });
  else if (tab === 'digests') body = digestList({ group_id: g.id }, `Digest schedules of ${g.name}`);
  else if (tab === 'dashboard') body = await dashboardView({ heading: `Dashboard of ${g.name}`, params: { group_id: String(g.id) }, base: `/groups/${g.id}?tab=dashboard`, hours: Number(query.hours) || 24 });
  else {
    body = h('section', h('h1', { id: 'page-title' }, g.name), h('fieldset.card', h('legend', 'Mode and delivery'),
      apiForm({ className: 'stack', label: 'Group settings', submitLabel: 'Save', reset: false, fields: groupSettingsFields(g),
        // Shown again as saved: the typed password leaves the page, the password's state is the server's.
        onSubmit: async (v) => { await patch(`/groups/${g.id}`, groupBody(v)); go(location.hash.slice(1)); }, success: 'Group settings saved.' }),
      (!atLeast('root-admin') && g.imap_host) ? h('p.muted', `IMAP logins: ${g.imap_host}:${g.imap_port || ''} (TLS ${g.imap_tls}), set by a root admin.`) : null), groupContent(g));
  }
  return h('div', h('p', h('a', { href: '#/groups' }, '‹ All groups'), ` · ${g.name}`), tabs(`/groups/${g.id}`, GROUP_TABS, tab), body);
}

export function registerAdminScreens(route) {
  route('/domains', domainList);
  route('/domains/:id', domainDetail);
  route('/groups', groupList);
  route('/groups/:id', groupDetail);
  const admin = { min: 'domain-admin' };
  route('/users/:id/senders', userSenders, admin);
  route('/admin/messages', (_, query) => messageLog({ title: 'Mail log', intro: 'Every message within your scope.', query }), admin);
  route('/admin/quarantine', (_, query) => quarantineList({ title: 'Quarantine', intro: 'Held messages within your scope.', query }), admin);
  route('/admin/sessions', () => sessionLog({}));
}
