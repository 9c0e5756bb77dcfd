// dashboard.js - messages per hour by outcome, top refusal reasons, top banned IPs,
// from GET /api/stats (scoped by the server to what the admin may see).
import { h } from '../dom.js';
import { field } from '../ui.js';
import { loadOrDeny } from './common.js';
import { stackedColumns, horizontalBars } from '../chart.js';
import { go } from '../router.js';

const SERIES = ['received', 'sent', 'quarantined', 'rejected', 'other'];
const KNOWN = new Set(SERIES);

/** Accept both [{hour, received: n, ...}] and [{hour, outcome|status, count}] shapes. */
export function perHourPoints(rows) {
  const byHour = new Map();
  for (const r of rows || []) {
    const key = r.hour || r.bucket || r.time;
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
  return [...byHour.entries()].sort((a, b) => String(a[0]).localeCompare(String(b[0]))).map(([hour, values]) => {
    const d = new Date(hour);
    const label = Number.isNaN(d.getTime()) ? String(hour) : `${String(d.getHours()).padStart(2, '0')}h`;
    return { label, values };
  });
}

async function dashboard(_, query) {
  const hours = Number(query.hours) || 24;
  const { obj, denied } = await loadOrDeny(`/stats?hours=${hours}`);
  if (denied) return denied;
  const st = obj || {};
  const choose = h('form.row', { 'aria-label': 'Period' },
    field({ name: 'hours', label: 'Period', type: 'select', value: String(hours), options: [['24', 'last 24 hours'], ['48', 'last 48 hours'], ['168', 'last 7 days']] }));
  choose.addEventListener('change', () => go(`/dashboard?hours=${choose.elements.hours.value}`));
  const reasons = (st.top_reasons || st.top_refusals || []).map((r) => ({ label: r.reason || r.reason_class || r.label, value: r.count ?? r.value }));
  const banned = (st.top_banned || st.top_banned_ips || []).map((r) => ({ label: r.ip || r.network || r.label, value: r.offences ?? r.count ?? r.hits ?? r.score ?? r.value }));
  return h('section', { 'aria-labelledby': 'page-title' },
    h('h1', { id: 'page-title' }, 'Dashboard'), choose,
    h('div.card', h('h2', 'Messages per hour by outcome'),
      stackedColumns({ title: `Messages per hour, last ${hours} hours`, points: perHourPoints(st.per_hour || st.messages_per_hour), series: SERIES })),
    h('div.grid2',
      h('div.card', h('h2', 'Top refusal reasons'), horizontalBars({ title: 'Top refusal reasons', items: reasons })),
      h('div.card', h('h2', 'Top banned IPs'), horizontalBars({ title: 'Top banned IPs', items: banned }))));
}

export function registerDashboard(route) {
  route('/dashboard', dashboard);
}
