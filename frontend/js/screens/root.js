// root.js - root-admin screens: admins and their scopes, bans, never-ban networks,
// mesh peers and their trust, global settings.
import { h, fmtTime } from '../dom.js';
import { get, post, patch, put, del } from '../api.js';
import { listView } from '../listview.js';
import { act, badge, confirmDialog, apiForm, table } from '../ui.js';
import { loadOrDeny } from './common.js';
import { grantableRoles, mayManage } from '../session.js';
import { confirmRole } from './admin.js';

function confirmAct(label, question, fn, success, { danger = false } = {}) {
  return h(`button${danger ? '.danger' : '.secondary'}`, { type: 'button', onclick: async (ev) => {
    const b = ev.currentTarget;
    if (!(await confirmDialog(question, { okLabel: label, danger }))) return;
    await act(b, fn, success);
  } }, label);
}

/* ---------- admins and scopes ---------- */

/** The scopes of one admin in a dialog: list, grant a group or domain, revoke. */
async function scopesDialog(u, btn, reloadList) {
  const body = h('div');
  const close = h('button.secondary', { type: 'submit' }, 'Close');
  const dlg = h('dialog', { 'aria-labelledby': 'sc-title' },
    h('h2', { id: 'sc-title' }, `Scopes of ${u.address}`), body, h('form', { method: 'dialog' }, h('div.actions', close)));
  const [groups, domains] = await Promise.all([get('/groups', { per_page: 200 }).catch(() => ({ items: [] })),
    get('/domains', { per_page: 200 }).catch(() => ({ items: [] }))]);
  const gname = new Map((groups.items || []).map((g) => [String(g.id), g.name]));
  const dname = new Map((domains.items || []).map((d) => [String(d.id), d.name]));
  const render = async () => {
    let list;
    try { list = await get(`/users/${u.id}/scopes`); } catch (e) { body.replaceChildren(h('p.msg.error', e.message)); return; }
    const items = list.items || list || [];
    body.replaceChildren(
      h('ul', items.length ? items.map((s) => h('li', s.group_id ? `group ${s.group_name || gname.get(String(s.group_id)) || s.group_id}`
        : `domain ${s.domain_name || dname.get(String(s.domain_id)) || s.domain_id}`, ' ',
      h('button.link', { type: 'button', onclick: async (ev) => {
        const b = ev.currentTarget;
        const what = s.group_id ? `group ${s.group_name || gname.get(String(s.group_id)) || s.group_id}` : `domain ${s.domain_name || dname.get(String(s.domain_id)) || s.domain_id}`;
        if (!(await confirmDialog(`Revoke ${u.address}'s scope over ${what}? Their sessions end; they no longer manage it.`, { okLabel: 'Revoke', danger: true }))) return;
        if ((await act(b, () => del(`/users/${u.id}/scopes/${s.id}`), 'Scope revoked.')) !== undefined) { render(); reloadList(); }
      } }, 'revoke'))) : h('li.muted', 'No scope yet.')),
      apiForm({ label: 'Grant a scope', submitLabel: 'Grant',
        fields: [{ name: 'target', label: 'Group or domain', type: 'select', required: true, options: [
          ...(groups.items || []).map((g) => [`g${g.id}`, `group ${g.name}`]),
          ...(domains.items || []).map((d) => [`d${d.id}`, `domain ${d.name}`])] }],
        onSubmit: async (v) => {
          const id = Number(v.target.slice(1));
          const r = await post(`/users/${u.id}/scopes`, v.target[0] === 'g' ? { group_id: id } : { domain_id: id });
          render(); reloadList();
          return r;
        },
        success: 'Scope granted.' }));
  };
  await render();
  dlg.addEventListener('close', () => { dlg.remove(); btn.focus(); });
  document.body.append(dlg);
  dlg.showModal();
  close.focus();
}

const ROLE_OPTIONS = [['user', 'user'], ['domain-admin', 'domain admin'], ['group-admin', 'group admin'], ['root-admin', 'root admin']];

function admins(_, query) {
  return listView({
    title: 'Admins and scopes', path: '/users', params: { role: query.role || undefined },
    intro: 'Who administers what: a group admin manages the groups in its scope, a domain admin its domains. '
      + 'Make a user an admin by changing its role, then grant it scopes.',
    filters: [{ name: 'q', label: 'Search', type: 'search', placeholder: 'address' },
      { name: 'role', label: 'Role', type: 'select', options: [['', 'any'], ...ROLE_OPTIONS] }],
    columns: [
      { label: 'Account', className: 'wrap', render: (r) => r.address || r.local_part },
      { label: 'Role', render: (r) => badge(r.role) },
    ],
    actions: (r, reload) => {
      // Only roles the caller may give, on accounts it may manage (never its own).
      if (!mayManage(r)) return [h('span.muted', 'managed above you or yourself')];
      const sel = h('select', { 'aria-label': `Role of ${r.address}` }, grantableRoles().map(([v, l]) => h('option', { value: v, selected: v === r.role }, l)));
      return [sel,
        h('button.secondary', { type: 'button', onclick: async (ev) => {
          const b = ev.currentTarget;
          if (sel.value === r.role || !(await confirmRole(r.address, r.role, sel.value))) return;
          if ((await act(b, () => patch(`/users/${r.id}`, { role: sel.value }), `${r.address} is now ${sel.value}.`)) !== undefined) reload();
        } }, 'Set role'),
        r.role === 'group-admin' || r.role === 'domain-admin'
          ? h('button.secondary', { type: 'button', onclick: (ev) => scopesDialog(r, ev.currentTarget, reload) }, 'Scopes') : null];
    },
  });
}

/* ---------- bans ---------- */

/** A JSON key in words: "unknown_rcpt" -> "unknown recipients". */
const WORDS = { unknown_rcpt: 'unknown recipients', directive_rejects: 'directive refusals', bad_pct: 'bad %',
  protocol_errors: 'protocol errors', dnsbl_listed: 'on a DNS blocklist', min_sessions: 'min. sessions', candidate_score: 'candidate score',
  candidate_bad_pct: 'candidate bad %', ban_score: 'ban score', ban_bad_pct: 'ban bad %', computed_at: 'computed' };
const word = (k) => WORDS[k] || k.replace(/_/g, ' ');
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const scalar = (k, v) => (k.endsWith('_at') ? fmtTime(v) : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v ?? ''));

/** Rows (objects) as a small table, one column per key they have; `first` names the row keys of an object of objects. */
function rowsTable(rows, caption, first) {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return table(keys.map((k) => ({ label: k === '_key' ? first : word(k), render: (r) => scalar(k, r[k]) })), rows, { caption });
}

/** Ban evidence as people read it: plain values as a list, counters per window as tables,
 * thresholds as a list; the raw JSON behind a toggle for whoever needs it. */
export function evidenceView(ev, title) {
  if (!isObj(ev) && !Array.isArray(ev)) return h('p', ev === null || ev === undefined ? '(none recorded)' : String(ev));
  const parts = [];
  if (Array.isArray(ev)) {
    if (ev.length) parts.push(rowsTable(ev, title));
  } else {
    const plain = Object.entries(ev).filter(([, v]) => !isObj(v) && !Array.isArray(v));
    if (plain.length) parts.push(h('dl.kv', plain.flatMap(([k, v]) => [h('dt', word(k)), h('dd', scalar(k, v))])));
    for (const [k, v] of Object.entries(ev).filter(([, x]) => isObj(x) || Array.isArray(x))) {
      const vals = Object.values(v);
      parts.push(h('h4', word(k)));
      if (Array.isArray(v)) parts.push(v.length && v.every(isObj) ? rowsTable(v, word(k)) : h('p', v.map(String).join(', ')));
      else if (vals.length && vals.every(isObj)) parts.push(rowsTable(Object.entries(v).map(([n, o]) => ({ _key: n, ...o })), word(k), 'window'));
      else parts.push(h('dl.kv', Object.entries(v).flatMap(([n, x]) => [h('dt', word(n)), h('dd', scalar(n, x))])));
    }
  }
  if (!parts.length) parts.push(h('p', '(none recorded)'));
  parts.push(h('details.raw', h('summary', 'Raw JSON'), h('pre.preview', JSON.stringify(ev, null, 2))));
  return h('div.evidence', parts);
}

function evidenceButton(r) {
  return h('button.secondary', { type: 'button', onclick: (ev) => {
    const btn = ev.currentTarget;
    const close = h('button', { type: 'submit' }, 'Close');
    const dlg = h('dialog.wide', { 'aria-labelledby': 'ev-title' }, h('form', { method: 'dialog' },
      h('h2', { id: 'ev-title' }, `Evidence for ${r.network}`),
      h('dl.kv', h('dt', 'Reason'), h('dd', r.reason), h('dt', 'Score'), h('dd', String(r.score ?? '')),
        h('dt', 'Offences'), h('dd', String(r.offences ?? '')), h('dt', 'Origin'), h('dd', `${r.origin}${r.origin_server ? ` (${r.origin_server})` : ''}`)),
      h('h3', 'Evidence'), evidenceView(r.evidence, 'Evidence'),
      h('h3', 'Statistics now'), r.stats && r.stats.length ? evidenceView(r.stats, 'Statistics') : h('p', '(none computed)'), h('div.actions', close)));
    dlg.addEventListener('close', () => { dlg.remove(); btn.focus(); });
    document.body.append(dlg);
    dlg.showModal();
    close.focus();
  } }, 'Evidence');
}

function bans(_, query) {
  const status = query.status || 'candidate';
  const tabs = h('nav.actions', { 'aria-label': 'Ban lists' }, [['candidate', 'Candidates'], ['banned', 'Fully banned'], ['lifted', 'Lifted']]
    .map(([k, l]) => h('a.button', { href: `#/bans?status=${k}`, class: k === status ? '' : 'secondary', 'aria-current': k === status ? 'page' : undefined }, l)));
  const view = listView({
    title: status === 'candidate' ? 'Ban candidates' : status === 'banned' ? 'Fully banned' : 'Lifted bans',
    path: '/bans', params: { status },
    above: () => tabs,   // inside the list's section, so a refusal replaces the tabs too
    intro: 'Candidates are servers whose statistics look abusive; promote them to fully banned, or ban a network by hand.',
    filters: [{ name: 'ip', label: 'IP address', inputmode: 'decimal' }],
    create: {
      legend: 'Ban a network', submitLabel: 'Ban',
      fields: [{ name: 'network', label: 'IP or network', required: true, placeholder: '192.0.2.7 or 198.51.100.0/24' },
        { name: 'reason', label: 'Reason', required: true, maxlength: 200 },
        { name: 'days', label: 'For days (empty: no expiry)', type: 'number', min: 1, max: 3650 }],
      submit: ({ days, ...v }) => post('/bans', days ? { ...v, expires_in_s: days * 86400 } : v),
      success: 'Banned.',
    },
    columns: [
      { label: 'Network', key: 'network' },
      { label: 'Status', render: (r) => badge(r.status) },
      { label: 'Reason', key: 'reason', className: 'wrap' },
      { label: 'Score', key: 'score' },
      { label: 'Origin', render: (r) => `${r.origin}${r.origin_server ? ` (${r.origin_server})` : ''}` },
      { label: 'Since', render: (r) => fmtTime(r.created_at) },
      { label: 'Expires', render: (r) => fmtTime(r.expires_at) },
    ],
    actions: (r, reload) => [evidenceButton(r),
      r.status === 'candidate' ? confirmAct('Promote', `Fully ban ${r.network}?`, async () => { await post(`/bans/${r.id}/promote`); reload(); }, `${r.network} is fully banned.`) : null,
      r.status !== 'lifted' ? confirmAct('Unban', `Lift the ban on ${r.network}?`, async () => { await post(`/bans/${r.id}/unban`); reload(); }, `${r.network} is no longer banned.`, { danger: true }) : null],
  });
  return view;
}

/* ---------- never-ban networks ---------- */

function neverBan() {
  return listView({
    title: 'Never-ban networks', path: '/never-ban',
    intro: 'Networks that are never banned, whatever their statistics or a peer says (your own relays, partners).',
    create: { legend: 'Add a network', submitLabel: 'Add', fields: [
      { name: 'network', label: 'IP or network', required: true, placeholder: '203.0.113.0/24' }, { name: 'note', label: 'Note' }],
      submit: (v) => post('/never-ban', v), success: 'Network added.' },
    columns: [{ label: 'Network', key: 'network' }, { label: 'Note', key: 'note', className: 'wrap' }],
    actions: (r, reload) => [confirmAct('Remove', `Remove ${r.network} from the never-ban list?`,
      async () => { await del(`/never-ban/${r.id}`); reload(); }, 'Removed.', { danger: true })],
  });
}

/* ---------- mesh peers ---------- */

function peers() {
  return listView({
    title: 'Mesh peers', path: '/mesh-peers',
    intro: 'Trusted Clement servers that exchange bans with this one. "enforce" applies their bans; "observe" only records them.',
    create: { legend: 'Add a peer', submitLabel: 'Add peer', fields: [
      { name: 'name', label: 'Server name', required: true }, { name: 'host', label: 'Host', required: true },
      { name: 'port', label: 'Port', type: 'number', min: 1, max: 65535, value: 25 },
      { name: 'cert_fingerprint', label: 'Certificate SHA-256', required: true, placeholder: '64 hex digits' },
      { name: 'trust', label: 'Trust', type: 'select', options: [['observe', 'observe'], ['enforce', 'enforce']] }],
      submit: (v) => post('/mesh-peers', { ...v, cert_fingerprint: v.cert_fingerprint.replace(/:/g, '').toLowerCase() }),
      success: 'Peer added.' },
    columns: [
      { label: 'Name', key: 'name' }, { label: 'Host', render: (r) => `${r.host}:${r.port}` },
      { label: 'Trust', render: (r) => badge(r.trust) }, { label: 'Enabled', render: (r) => (r.enabled === false ? 'no' : 'yes') },
      { label: 'Last push', render: (r) => fmtTime(r.last_push_at) }, { label: 'Last error', key: 'last_error', className: 'wrap' }],
    actions: (r, reload) => [
      h('button.secondary', { type: 'button', onclick: async (ev) => {
        const b = ev.currentTarget;
        const trust = r.trust === 'enforce' ? 'observe' : 'enforce';
        const q = trust === 'enforce'
          ? `Enforce the bans ${r.name} sends? Servers it bans are then refused here too.`
          : `Only observe ${r.name}? The bans it sent stop being enforced here; new ones are only recorded.`;
        if (!(await confirmDialog(q, { okLabel: trust === 'enforce' ? 'Enforce' : 'Only observe' }))) return;
        if ((await act(b, () => patch(`/mesh-peers/${r.id}`, { trust }), `${r.name} is now trusted to ${trust}.`)) !== undefined) reload();
      } }, r.trust === 'enforce' ? 'Only observe' : 'Enforce'),
      h('button.secondary', { type: 'button', onclick: async (ev) => {
        if ((await act(ev.currentTarget, () => patch(`/mesh-peers/${r.id}`, { enabled: r.enabled === false }), 'Saved.')) !== undefined) reload();
      } }, r.enabled === false ? 'Enable' : 'Disable'),
      confirmAct('Delete', `Delete peer ${r.name} and the bans it sent?`, async () => { await del(`/mesh-peers/${r.id}`); reload(); }, 'Peer deleted.', { danger: true })],
  });
}

/* ---------- global settings ---------- */

/**
 * The keys of the settings table that services read at run time (GET /api/settings lists the
 * catalogue of lib/db/settings.h): each says who reads it and which CLEMENT_* setting applies
 * while it is unset. Saving takes effect at the reader's next use, without a restart.
 */
async function settings() {
  const { obj, denied } = await loadOrDeny('/settings');
  if (denied) return denied;
  const section = h('section', { 'aria-labelledby': 'page-title' }, h('h1', { id: 'page-title' }, 'Global settings'),
    h('p.muted', 'Each value here is read by a service at run time: a change applies from its next use, without a restart. '
      + 'Unset, the service uses its own setting.'));
  for (const s of obj.items || []) {
    const dflt = s.default === undefined || s.default === null ? '' : ` (default ${s.default})`;
    const unset = `Unset: ${s.fallback} applies${dflt}.`;
    const current = h('p.muted', s.value === null ? unset : `Set to ${s.value}.`);
    const reset = h('button.secondary', { type: 'button', onclick: async (ev) => {
      const r = await act(ev.currentTarget, () => del(`/settings/${encodeURIComponent(s.key)}`), `${s.key}: back to ${s.fallback}.`);
      if (r !== undefined) { input.value = ''; current.textContent = unset; }
    } }, 'Unset');
    const form = apiForm({
      label: `Setting ${s.key}`, submitLabel: 'Save', reset: false,
      fields: [{ name: 'value', label: s.key, type: 'number', required: true, min: s.min, max: s.max, step: 1,
        value: s.value ?? '', placeholder: dflt ? String(s.default) : undefined,
        help: `${s.help}. Read by ${s.read_by}; a whole number from ${s.min} to ${s.max}${dflt ? `, default ${s.default}` : ''}.` }],
      onSubmit: async (v) => {
        const r = await put(`/settings/${encodeURIComponent(s.key)}`, { value: v.value });
        current.textContent = `Set to ${r.value}.`;
        return r;
      },
      success: `${s.key} saved.`,
    });
    const input = form.querySelector('input');
    section.append(h('div.card', form, current, reset));
  }
  return section;
}

export function registerRootScreens(route) {
  route('/admins', admins);
  route('/bans', bans);
  route('/never-ban', neverBan);
  route('/peers', peers);
  route('/settings', settings);
}
export { get };
