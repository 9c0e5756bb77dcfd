// audit.js - the audit trail for admins (GET /api/audit): who changed what, from where, when,
// with what outcome, and which fields changed (before → after; secrets arrive masked from the
// API). The API shows each admin only the rows whose target lies in its scope.
import { h, fmtTime } from '../dom.js';
import { listView } from '../listview.js';

const TARGET_TYPES = [['', 'any'], ['user', 'account'], ['admin_scope', 'admin scope'], ['group', 'group'],
  ['domain', 'domain'], ['directive', 'sender rule'], ['digest_schedule', 'digest schedule'],
  ['quarantine', 'quarantined message'], ['ban', 'ban'], ['never_ban', 'never-ban network'],
  ['mesh_peer', 'mesh peer'], ['setting', 'setting']];

const FILTERS = [
  { name: 'actor', label: 'Who', placeholder: 'admin@example.org' },
  { name: 'method', label: 'Action', type: 'select',
    options: [['', 'any'], ['POST', 'create / act (POST)'], ['PATCH', 'change (PATCH)'], ['PUT', 'set (PUT)'], ['DELETE', 'delete (DELETE)']] },
  { name: 'route', label: 'Route', placeholder: '/api/users' },
  { name: 'target_type', label: 'Target', type: 'select', options: TARGET_TYPES },
  { name: 'outcome', label: 'Outcome', type: 'select', options: [['', 'any'], ['success', 'succeeded'], ['failure', 'refused / failed']] },
  { name: 'from', label: 'From date', type: 'date' },
  { name: 'to', label: 'To date', type: 'date' },
];

const show = (v) => (v === null || v === undefined ? '—' : (typeof v === 'object' ? JSON.stringify(v) : String(v)));

/** The fields that differ between before and after, as "field: old → new" lines. */
function changes(r) {
  const before = r.before || {};
  const after = r.after || {};
  if (!r.before && !r.after) return '';
  if (!r.before) return h('span.muted', 'created');
  if (!r.after) return h('span.muted', 'deleted');
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]) || String(after[k]).includes('changed'));
  if (!keys.length) return h('span.muted', 'no change');
  return h('ul.changes', keys.map((k) => h('li', h('code', k), `: ${show(before[k])} → ${show(after[k])}`)));
}

const target = (r) => [r.target_type, r.target_id ? `#${r.target_id}` : ''].filter(Boolean).join(' ');

export function auditLog() {
  return listView({
    title: 'Audit',
    path: '/audit',
    intro: 'Every change made through the API within your scope: who made it, from which address, what it changed, and whether it succeeded. Secrets are never shown.',
    filters: FILTERS,
    empty: 'No changes match.',
    columns: [
      { label: 'Time', render: (r) => fmtTime(r.at) },
      { label: 'Who', className: 'wrap', render: (r) => [r.actor_name || '(nobody)', r.actor_role ? h('span.muted', ` · ${r.actor_role}`) : ''] },
      { label: 'From', key: 'client_ip' },
      { label: 'Action', className: 'wrap', render: (r) => h('code', `${r.method} ${r.route}`) },
      { label: 'Target', render: target },
      { label: 'Outcome', render: (r) => h(`span.badge.${r.status < 400 ? 'accept' : 'reject'}`, String(r.status)) },
      { label: 'Changes', className: 'wrap', render: changes },
    ],
  });
}

export function registerAuditScreens(route) {
  route('/audit', auditLog, { min: 'domain-admin' });
}
