// dashboard.js - messages per hour by outcome, top refusal reasons, top banned IPs,
// from GET /api/stats (scoped by the server to what the admin may see).
import { h } from '../dom.js';
import { field } from '../ui.js';
import { loadOrDeny } from './common.js';
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

async function dashboard(_, query) {
  const hours = Number(query.hours) || 24;
  const { obj, denied } = await loadOrDeny(`/stats?hours=${hours}`);
  if (denied) return denied;
  const st = obj || {};
  const choose = h('form.row', { 'aria-label': 'Period' },
    field({ name: 'hours', label: 'Period', type: 'select', value: String(hours), options: [['24', 'last 24 hours'], ['48', 'last 48 hours'], ['168', 'last 7 days']] }));
  choose.addEventListener('change', () => go(`/dashboard?hours=${choose.elements.hours.value}`));
  const reasons = topReasons(st.top_reasons || st.top_refusals || []);
  const banned = (st.top_banned || st.top_banned_ips || []).map((r) => ({ label: r.ip || r.network || r.label, value: r.offences ?? r.count ?? r.hits ?? r.score ?? r.value }));
  return h('section', { 'aria-labelledby': 'page-title' },
    h('h1', { id: 'page-title' }, 'Dashboard'), choose,
    h('div.card', h('h2', 'Messages per hour by outcome'),
      stackedColumns({ title: `Messages per hour, last ${hours} hours`, points: perHourPoints(st.per_hour || st.messages_per_hour, hours), series: SERIES })),
    h('div.grid2',
      h('div.card', h('h2', 'Top refusal reasons'), horizontalBars({ title: 'Top refusal reasons', items: reasons })),
      h('div.card', h('h2', 'Top banned IPs'), horizontalBars({ title: 'Top banned IPs', items: banned }))));
}

export function registerDashboard(route) {
  route('/dashboard', dashboard);
}
