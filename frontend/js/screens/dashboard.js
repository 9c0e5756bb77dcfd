// dashboard.js - the dashboard of the caller's scope, of one domain, group or user (issue 23):
// received, quarantined and refused in numbers, messages per hour by outcome, refusals by
// reason, top refusal replies and (root's whole view) top banned IPs, from GET /api/stats, which
// the server scopes to what the caller may see (a user: its own mail) and narrows by
// ?domain_id=, ?group_id=, ?user_id=. Used by #/dashboard and the domain and group "Dashboard" tabs.
import { h } from '../dom.js';
import { get } from '../api.js';
import { field } from '../ui.js';
import { loadOrDeny, REFUSAL_LABELS } from './common.js';
import { state } from '../session.js';
import { stackedColumns, horizontalBars } from '../chart.js';
import { go } from '../router.js';

const SERIES = ['received', 'sent', 'quarantined', 'rejected', 'other'];
const KNOWN = new Set(SERIES);

const HOUR = 3600 * 1000;

/**
 * Columns for the per-hour chart from [{hour, received: n, ...}] or [{hour, status, count}]
 * rows. With `hours`, every hour of the period gets a column, empty ones included, so the
 * chart is a time line rather than a list of the busy hours.
 */
export function perHourPoints(rows, hours = 0, now = Date.now()) {
  const byHour = new Map();
  if (hours > 0) {
    const last = Math.floor(now / HOUR) * HOUR;
    for (let t = last - (hours - 1) * HOUR; t <= last; t += HOUR) byHour.set(t, {});
  }
  for (const r of rows || []) {
    const raw = r.hour || r.bucket || r.time;
    const ms = new Date(raw).getTime();
    const key = Number.isNaN(ms) ? raw : ms;
    if (!byHour.has(key)) byHour.set(key, {});
    const v = byHour.get(key);
    if (r.count !== undefined && (r.outcome || r.status)) {
      const k0 = r.outcome || r.status;
      const k = k0 === 'relayed' ? 'received' : KNOWN.has(k0) ? k0 : 'other';
      v[k] = (v[k] || 0) + Number(r.count);
    } else {
      for (const [k0, n] of Object.entries(r)) {
        if (['hour', 'bucket', 'time'].includes(k0) || typeof n !== 'number') continue;
        const k = k0 === 'relayed' ? 'received' : KNOWN.has(k0) ? k0 : 'other';
        v[k] = (v[k] || 0) + n;
      }
    }
  }
  return [...byHour.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([hour, values]) => {
    const d = new Date(hour);
    if (Number.isNaN(d.getTime())) return { label: String(hour), values };
    const hh = `${String(d.getHours()).padStart(2, '0')}h`;
    return { label: hours > 48 && d.getHours() === 0 ? d.toLocaleDateString(undefined, { weekday: 'short' }) : hh, values };
  });
}

const REASON_LABELS = {
  unknown_rcpt: 'unknown recipient', directive: 'refused by a rule', relay_denied: 'relaying denied', virus: 'virus',
  banned: 'banned client', protocol: 'protocol error', policy: 'policy', temporary: 'temporary failure',
  downstream: 'downstream MTA refused', size: 'too big', other: 'other',
  spam: 'spam score', dmarc: 'DMARC p=reject', greylist: 'greylisted',
  helo: 'bad HELO name', sender_syntax: 'bad sender address',
};

/** Refusals summed by reason class (the API's rows are per class and exact reply text). */
export function topReasons(rows) {
  const sums = new Map();
  for (const r of rows) {
    const key = r.reason_class ? (REASON_LABELS[r.reason_class] || r.reason_class) : (r.reason || r.label || 'other');
    sums.set(key, (sums.get(key) || 0) + Number(r.count ?? r.value ?? 0));
  }
  return [...sums.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([label, value]) => ({ label, value }));
}

/** {status: count} from the API's totals rows. */
function totalsOf(rows) {
  const t = {};
  for (const r of rows || []) t[r.status] = (t[r.status] || 0) + Number(r.count);
  return t;
}

/** The three numbers people ask first, as tiles. */
function tiles(t) {
  const tile = (label, n, cls) => h(`div.tile.${cls}`, h('span.tile-n', String(n)), h('span.tile-label', label));
  return h('div.tiles', { role: 'list', 'aria-label': 'Totals' },
    [tile('received', (t.received || 0) + (t.relayed || 0), 's-received'), tile('quarantined', t.quarantined || 0, 's-quarantined'),
      tile('refused', t.rejected || 0, 's-rejected'), tile('sent', t.sent || 0, 's-sent')].map((e) => { e.setAttribute('role', 'listitem'); return e; }));
}

/**
 * The dashboard body. params narrows it ({domain_id} | {group_id} | {user_id} | {}); base is the
 * address the period choice goes back to (with its own query, hours added).
 */
export async function dashboardView({ heading, params = {}, base = '/dashboard', hours = 24, picker = null }) {
  const q = new URLSearchParams({ hours: String(hours), ...params });
  const { obj, denied } = await loadOrDeny(`/stats?${q}`);
  if (denied) return denied;
  const st = obj || {};
  const choose = h('form.row', { 'aria-label': 'What to show' },
    field({ name: 'hours', label: 'Period', type: 'select', value: String(hours), options: [['24', 'last 24 hours'], ['48', 'last 48 hours'], ['168', 'last 7 days'], ['720', 'last 30 days']] }),
    picker);
  choose.addEventListener('change', () => {
    const next = new URLSearchParams(base.includes('?') ? base.slice(base.indexOf('?') + 1) : '');
    next.set('hours', choose.elements.hours.value);
    if (choose.elements.domain_id) {
      if (choose.elements.domain_id.value) next.set('domain_id', choose.elements.domain_id.value); else next.delete('domain_id');
    }
    go(`${base.split('?')[0]}?${next}`);
  });
  const refused = (st.refused_by_class || []).map((r) => ({ label: REFUSAL_LABELS[r.reason_class] || r.reason_class, value: Number(r.count) }));
  const replies = (st.top_reasons || []).map((r) => ({ label: r.reason || REASON_LABELS[r.reason_class] || r.reason_class || 'other', value: Number(r.count) }));
  const banned = (st.top_banned || []).map((r) => ({ label: r.ip || r.network || r.label, value: r.offences ?? r.count ?? r.hits ?? r.score ?? r.value }));
  return h('section.dashboard', { 'aria-labelledby': 'page-title' },
    h('h1', { id: 'page-title' }, heading), choose,
    tiles(totalsOf(st.totals)),
    h('div.card', h('h2', 'Messages over time, by outcome'),
      stackedColumns({ title: `Messages per hour, last ${hours} hours`, points: perHourPoints(st.per_hour || st.messages_per_hour, hours), series: SERIES })),
    h('div.grid2',
      h('div.card', h('h2', 'Refused, by reason'), horizontalBars({ title: 'Refused recipients by reason', items: refused })),
      h('div.card', h('h2', 'Top refusal replies'), horizontalBars({ title: 'Top refusal replies', items: replies })),
      params.domain_id || params.group_id || params.user_id || state.me?.role !== 'root-admin' ? null
        : h('div.card', h('h2', 'Top banned IPs'), horizontalBars({ title: 'Top banned IPs', items: banned }))));
}

/** #/dashboard: a user's own; an admin's whole scope, one domain (picked) or one user (?user_id=). */
async function dashboard(_, query) {
  const hours = Number(query.hours) || 24;
  const me = state.me || {};
  if (me.role === 'user') return dashboardView({ heading: 'My dashboard', hours, params: { user_id: String(me.id) } });
  if (query.user_id) {
    const { obj: u, denied } = await loadOrDeny(`/users/${encodeURIComponent(query.user_id)}`);
    if (denied) return denied;
    const view = await dashboardView({ heading: `Dashboard of ${u.address || u.local_part}`, hours, params: { user_id: String(u.id) }, base: `/dashboard?user_id=${u.id}` });
    view.prepend(h('p', h('a', { href: `#/domains/${u.domain_id}?tab=users` }, '‹ Users of the domain')));
    return view;
  }
  let domains = [];
  try { domains = (await get('/domains', { per_page: 500 })).items || []; } catch { domains = []; }
  const picked = domains.find((d) => String(d.id) === String(query.domain_id || ''));
  const picker = field({ name: 'domain_id', label: 'Domain', type: 'select', value: picked ? String(picked.id) : '',
    options: [['', 'all domains you manage'], ...domains.map((d) => [String(d.id), d.name])] });
  return dashboardView({ heading: picked ? `Dashboard of ${picked.name}` : 'Dashboard', hours, picker,
    params: picked ? { domain_id: String(picked.id) } : {}, base: '/dashboard' });
}

export function registerDashboard(route) {
  route('/dashboard', dashboard);
}
