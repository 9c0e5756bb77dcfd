// common.js - screens shared by users and admins: the message log, the quarantine with its
// preview, sender rules and the SMTP session log. Admin screens reuse them with a scope filter.
import { h, clear, fmtTime, fmtSize } from '../dom.js';
import { get, post, del } from '../api.js';
import { listView } from '../listview.js';
import { act, badge, confirmDialog, deniedPanel, fail } from '../ui.js';
import { state } from '../session.js';

export const STATUS_OPTIONS = [['', 'any status'], ['received', 'received'], ['sent', 'sent'], ['relayed', 'relayed'],
  ['rejected', 'rejected'], ['quarantined', 'quarantined'], ['released', 'released'], ['failed', 'failed'], ['deleted', 'deleted']];

/** Why the API refused a message (message_log.reason_class), in words. */
export const REFUSAL_LABELS = {
  unknown_rcpt: 'unknown recipient', directive: 'sender rule', relay_denied: 'relay denied', virus: 'virus',
  banned: 'banned client', protocol: 'protocol error', policy: 'policy', temporary: 'temporary failure',
  downstream: 'refused downstream', size: 'too large', other: 'other',
  spam: 'spam score', dmarc: 'DMARC p=reject', greylist: 'greylisted',
  helo: 'bad HELO name', sender_syntax: 'bad sender address',
};

/** Why a message is held (quarantine.reason_class), in words. */
export const HOLD_LABELS = {
  user_rule: "the recipient's own sender rule", domain_rule: "a sender rule of the recipient's domain",
  group_rule: "a sender rule of the domain's group", domain_default: "the domain's default for senders no rule names",
  spam: 'spam', virus: 'virus', other: 'other',
};

/** "Held by …: details" for a quarantine row ({reason_class, reason}) or a log row ({held_by, held_reason}). */
export function heldWhy(klass, text) {
  const what = klass ? (HOLD_LABELS[klass] || klass) : '';
  return [what, text].filter(Boolean).join(': ');
}

/** The log's "Why" column: the refusal's category, or why the message was held. */
export function logWhy(r) {
  if (r.status === 'rejected' && r.reason_class) return REFUSAL_LABELS[r.reason_class] || r.reason_class;
  if (r.held_by || r.held_reason) return `held: ${heldWhy(r.held_by, r.held_reason)}`;
  return '';
}

/** Where a message's log and quarantine live for the caller: its own screens, or the admin ones. */
const isUser = () => !state.me || state.me.role === 'user';
export const logHref = (q) => `#/${isUser() ? 'mail' : 'admin/messages'}?${new URLSearchParams(q)}`;
export const quarantineHref = (q) => `#/${isUser() ? 'quarantine' : 'admin/quarantine'}?${new URLSearchParams(q)}`;

const LOG_FILTERS = [
  { name: 'status', label: 'Status', type: 'select', options: STATUS_OPTIONS },
  { name: 'reason_class', label: 'Refused for', type: 'select', options: [['', 'any reason'], ...Object.entries(REFUSAL_LABELS)] },
  { name: 'direction', label: 'Direction', type: 'select', options: [['', 'both'], ['in', 'received'], ['out', 'sent']] },
  { name: 'sender', label: 'Sender', placeholder: 'sender@example.org' },
  { name: 'rcpt', label: 'Recipient' },
  { name: 'client_ip', label: 'Client IP', inputmode: 'decimal' },
  { name: 'from', label: 'From', type: 'datetime-local', help: 'Date and time, your time zone.' },
  { name: 'to', label: 'Until', type: 'datetime-local' },
  { name: 'subject', label: 'Subject', type: 'search' },
  { name: 'msgid', label: 'Message id', placeholder: 'the id in the 250 reply', help: 'The queue id the sender was given ("queued as" / "id …").' },
  { name: 'sid', label: 'Session' },
];

/** What the sender was told, e.g. "550 5.7.1 <a@b> does not accept mail from <c@d>". */
export function replyText(r) {
  return [r.code, r.enh, r.reason].filter((x) => x !== null && x !== undefined && x !== '').join(' ')
    + (r.virus ? ` (virus: ${r.virus})` : '');
}

/** The mail log; `params` narrows it (domain_id for an admin's domain page). */
export function messageLog({ title = 'My mail', intro, params, query } = {}) {
  return listView({
    title, params, query, path: '/logs',
    intro: intro || 'Everything received for you, sent by you (with its delivery status), refused (with the reply the sender got) and quarantined.',
    filters: LOG_FILTERS,
    empty: 'No messages match.',
    sort: { default: 'time', order: 'desc' },
    bulk: heldBulk((r) => r.quarantine_id),
    rowName: (r) => `${r.subject || '(no subject)'} to ${r.rcpt}`,
    tools: (query) => [h('button.secondary', { type: 'button', onclick: (ev) => exportCsv(ev.currentTarget, query()) }, 'Export CSV')],
    columns: [
      { label: 'Time', sort: 'time', sortFirst: 'desc', render: (r) => fmtTime(r.logged_at || r.time) },
      { label: 'Direction', render: (r) => (r.direction === 'out' ? 'sent' : 'received') },
      { label: 'From', sort: 'sender', key: 'sender', className: 'wrap', render: (r) => r.sender || '<>' },
      { label: 'To', sort: 'rcpt', key: 'rcpt', className: 'wrap' },
      { label: 'Subject', sort: 'subject', key: 'subject', className: 'wrap' },
      { label: 'Status', sort: 'status', render: (r) => badge(r.status) },
      { label: 'Reply / reason', className: 'wrap reason', render: (r) => replyText(r) },
      { label: 'Why', className: 'wrap why', render: logWhy },
      { label: 'Client IP', key: 'client_ip' },
    ],
    actions: logRowLinks,
  });
}

/** Bulk release / always accept / delete of held messages; idOf(row) is the held copy's id
 * (a quarantine row's own, a log row's quarantine_id), none: that row is not held. */
function heldBulk(idOf) {
  const call = (r, path, method = post) => {
    const id = idOf(r);
    if (!id) return Promise.reject(new Error('not a held message'));
    return method(`/quarantine/${encodeURIComponent(id)}${path}`);
  };
  const n = (k) => `${k} message${k === 1 ? '' : 's'}`;
  return [
    { label: 'Release', run: (r) => call(r, '/release'), done: (k) => `Released ${n(k)}.` },
    { label: 'Always accept senders', confirm: (rows) => `Always accept mail from ${[...new Set(rows.map((r) => r.sender || '<>'))].join(', ')}? This also releases the selected messages.`,
      run: (r) => call(r, '/accept-sender'), done: (k) => `Released ${n(k)}; their senders will always be accepted.` },
    { label: 'Delete', danger: true, confirm: (rows) => `Delete ${n(rows.length)}? They cannot be recovered.`,
      run: (r) => call(r, '', del), done: (k) => `Deleted ${n(k)}.` },
  ];
}

const CSV_COLUMNS = ['logged_at', 'direction', 'sender', 'rcpt', 'subject', 'status', 'reason_class', 'code', 'enh', 'reason',
  'held_by', 'held_reason', 'client_ip', 'msgid', 'sid'];
const CSV_MAX_ROWS = 50000;

/** One CSV cell (RFC 4180); a leading = + - @ is defused so a spreadsheet never runs it as a formula. */
function csvCell(v) {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The filtered log as a CSV file: every page the filters match (up to CSV_MAX_ROWS rows). */
async function exportCsv(btn, query) {
  const rows = await act(btn, async () => {
    const out = [];
    for (let page = 1; out.length < CSV_MAX_ROWS; page += 1) {
      const list = await get('/logs', { ...query, page, per_page: 500 });
      out.push(...(list.items || []));
      if (!list.items || list.items.length < 500 || out.length >= list.total) break;
    }
    return out;
  });
  if (!rows) return;
  const text = [CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => csvCell(r[c])).join(','))].join('\r\n') + '\r\n';
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = h('a', { href: url, download: `mail-log-${new Date().toISOString().slice(0, 10)}.csv`, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** A log row's way to the rest of its message: the held copy, the SMTP session (admins), the
 * message's other rows (every recipient, the release). */
function logRowLinks(r) {
  const out = [];
  if (r.quarantine_id && r.msgid) {
    out.push(h('a.button.secondary', { href: quarantineHref({ msgid: r.msgid, status: '' }) }, 'Held copy'));
  }
  if (r.sid && !isUser()) {
    out.push(h('button.secondary', { type: 'button', onclick: (ev) => transcript(r, ev.currentTarget) }, 'Session'));
  }
  if (r.msgid) out.push(h('a.button.secondary', { href: logHref({ msgid: r.msgid }) }, 'All rows'));
  return out;
}

/** Headers and the safe text preview of one quarantined message, in a dialog. */
async function preview(row, btn) {
  const q = await act(btn, () => get(`/quarantine/${encodeURIComponent(row.id)}`));
  if (!q) return;
  const headers = Array.isArray(q.headers)
    ? q.headers.map((x) => (Array.isArray(x) ? `${x[0]}: ${x[1]}` : (x.name ? `${x.name}: ${x.value}` : String(x)))).join('\n')
    : (q.headers || '');
  const close = h('button', { type: 'submit' }, 'Close');
  const dlg = h('dialog', { 'aria-labelledby': 'pv-title', class: 'preview-dialog' },
    h('form', { method: 'dialog' },
      h('h2', { id: 'pv-title' }, q.subject || row.subject || '(no subject)'),
      h('dl.kv', h('dt', 'From'), h('dd', q.sender ?? row.sender), h('dt', 'To'), h('dd', q.rcpt ?? row.rcpt),
        h('dt', 'Received'), h('dd', fmtTime(q.received_at || row.received_at)),
        h('dt', 'Why held'), h('dd', heldWhy(q.reason_class, q.reason) || 'not recorded')),
      h('h3', 'Headers'), h('pre.preview.headers', headers),
      h('h3', 'Text preview'), h('pre.preview.body', q.preview || q.text || '(no text part)'),
      h('div.actions', close)));
  dlg.addEventListener('close', () => { dlg.remove(); btn.focus(); });
  document.body.append(dlg);
  dlg.showModal();
  close.focus();
}

export function quarantineRowActions(r, reload) {
  const inLog = h('a.button.secondary', { href: logHref({ msgid: r.msgid }) }, 'In the log');
  if (r.status && r.status !== 'held') return [inLog];
  const who = r.sender || '<>';
  return [inLog,
    h('button.secondary', { type: 'button', onclick: (ev) => preview(r, ev.currentTarget) }, 'Preview'),
    h('button', { type: 'button', onclick: async (ev) => {
      const b = ev.currentTarget;
      const done = await act(b, () => post(`/quarantine/${encodeURIComponent(r.id)}/release`), `Released the message from ${who}.`);
      if (done !== undefined) reload();
    } }, 'Release'),
    h('button.secondary', { type: 'button', onclick: async (ev) => {
      const b = ev.currentTarget;
      if (!(await confirmDialog(`Always accept mail from ${who}? This also releases this message.`, { okLabel: 'Always accept' }))) return;
      const done = await act(b, () => post(`/quarantine/${encodeURIComponent(r.id)}/accept-sender`), `Released the message; mail from ${who} will always be accepted.`);
      if (done !== undefined) reload();
    } }, 'Always accept sender'),
    h('button.danger', { type: 'button', onclick: async (ev) => {
      const b = ev.currentTarget;
      if (!(await confirmDialog(`Delete the message from ${who}? It cannot be recovered.`, { okLabel: 'Delete', danger: true }))) return;
      const done = await act(b, () => del(`/quarantine/${encodeURIComponent(r.id)}`), 'Message deleted.');
      if (done !== undefined) reload();
    } }, 'Delete'),
  ];
}

export function quarantineList({ title = 'My quarantine', params, intro, query } = {}) {
  return listView({
    title, params, query, path: '/quarantine',
    intro: intro || 'Messages held for you. Preview their headers and text, release them into your mailbox, delete them, or always accept their sender.',
    filters: [
      { name: 'status', label: 'Status', type: 'select', value: 'held', options: [['held', 'held'], ['released', 'released'], ['deleted', 'deleted'], ['', 'any']] },
      { name: 'sender', label: 'Sender' },
      { name: 'rcpt', label: 'Recipient' },
      { name: 'subject', label: 'Subject', type: 'search' },
      { name: 'msgid', label: 'Message id' },
    ],
    empty: 'Nothing in quarantine.',
    sort: { default: 'time', order: 'desc' },
    bulk: heldBulk((r) => r.id),
    rowName: (r) => `${r.subject || '(no subject)'} from ${r.sender || '<>'}`,
    columns: [
      { label: 'Received', sort: 'time', sortFirst: 'desc', render: (r) => fmtTime(r.received_at) },
      { label: 'From', sort: 'sender', className: 'wrap', render: (r) => r.sender || '<>' },
      { label: 'To', sort: 'rcpt', key: 'rcpt', className: 'wrap' },
      { label: 'Subject', sort: 'subject', key: 'subject', className: 'wrap' },
      { label: 'Why held', className: 'wrap why', render: (r) => heldWhy(r.reason_class, r.reason) },
      { label: 'Size', sort: 'size', render: (r) => fmtSize(r.size) },
      { label: 'Status', render: (r) => badge(r.status || 'held') },
      { label: 'Expires', sort: 'expires', render: (r) => fmtTime(r.expires_at) },
    ],
    actions: quarantineRowActions,
  });
}

export const ACTION_OPTIONS = [['accept', 'accept'], ['reject', 'reject'], ['quarantine', 'quarantine']];

/** Sender rules owned by a user, a domain or a group: owner = {user_id} | {domain_id} | {group_id}. */
export function directiveList({ title, intro, owner }) {
  return listView({
    title, intro, path: '/directives', params: owner,
    filters: [{ name: 'sender', label: 'Search', type: 'search', placeholder: 'sender pattern' },
      { name: 'action', label: 'Show action', type: 'select', options: [['', 'any'], ...ACTION_OPTIONS] }],
    empty: 'No rules yet.',
    create: {
      legend: 'Add a rule',
      submitLabel: 'Add rule',
      fields: [
        { name: 'sender_pattern', label: 'Sender', required: true, placeholder: 'alice@example.org, @example.org or *.example.org',
          help: 'An address, @domain (that domain only) or *.domain (the domain and its subdomains).' },
        { name: 'action', label: 'Action', type: 'select', options: ACTION_OPTIONS, required: true },
      ],
      submit: (v) => post('/directives', { ...owner, sender_pattern: v.sender_pattern.trim().toLowerCase(), action: v.action }),
      success: 'Rule added.',
    },
    columns: [
      { label: 'Sender', key: 'sender_pattern', className: 'wrap' },
      { label: 'Action', render: (r) => badge(r.action) },
      { label: 'Added', render: (r) => fmtTime(r.created_at) },
    ],
    actions: (r, reload) => [h('button.danger', { type: 'button', onclick: async (ev) => {
      const b = ev.currentTarget;
      if (!(await confirmDialog(`Remove the rule for ${r.sender_pattern}?`, { okLabel: 'Remove', danger: true }))) return;
      if ((await act(b, () => del(`/directives/${r.id}`), 'Rule removed.')) !== undefined) reload();
    } }, 'Remove')],
  });
}

/** SMTP session log (admins); a row opens the transcript. */
export function sessionLog({ title = 'SMTP sessions', params } = {}) {
  return listView({
    title, params, path: '/smtp-sessions',
    intro: 'SMTP sessions within your scope; open one to read its transcript (AUTH secrets are masked, bodies are not kept).',
    filters: [
      { name: 'client_ip', label: 'Client IP' },
      { name: 'outcome', label: 'Outcome', placeholder: 'quit, timeout, banned…' },
      { name: 'from', label: 'From', type: 'datetime-local', help: 'Date and time, your time zone.' },
      { name: 'to', label: 'Until', type: 'datetime-local' },
    ],
    columns: [
      { label: 'Started', render: (r) => fmtTime(r.started_at) },
      { label: 'Session', key: 'sid' },
      { label: 'Client', render: (r) => `${r.client_ip}${r.helo ? ` (${r.helo})` : ''}` },
      { label: 'TLS', key: 'tls', className: 'wrap' },
      { label: 'Messages', key: 'messages' },
      { label: 'Reputation', render: (r) => (r.rep_score === null || r.rep_score === undefined ? '' : String(r.rep_score)) },
      { label: 'Outcome', render: (r) => badge(r.outcome) },
    ],
    actions: (r) => [h('button.secondary', { type: 'button', onclick: (ev) => transcript(r, ev.currentTarget) }, 'Transcript')],
  });
}

const FACT_KIND = { dnsbl: 'Listed by', dnswl: 'Allowlisted by', ptr: 'Reverse DNS (FCrDNS)', helo: 'HELO' };
const FACT_NAME = {
  ok: 'PTR resolves back to the client', none: 'no PTR record', mismatch: 'PTR name does not resolve back',
  unknown: 'lookup failed or timed out', bare_ip: 'a bare IP address', not_fqdn: 'not a fully qualified name',
  claims_us: 'claims to be this server', generic: 'PTR name is generic (named after the address)',
};

/** The reputation score of a session and the facts behind it (issue 17), as a table. */
function reputation(s) {
  if (s.rep_score === null || s.rep_score === undefined) return [];
  const facts = (s.rep_facts && Array.isArray(s.rep_facts.facts)) ? s.rep_facts.facts : [];
  return [h('h3', `Reputation score ${s.rep_score}`),
    facts.length === 0 ? h('p', 'No list named this client.') : h('table.rep-facts',
      h('thead', h('tr', h('th', 'Fact'), h('th', 'What'), h('th', 'Answer'), h('th', 'Weight'))),
      h('tbody', ...facts.map((f) => h('tr', h('td', FACT_KIND[f.kind] || f.kind),
        h('td', f.kind === 'dnsbl' || f.kind === 'dnswl' ? f.name : (FACT_NAME[f.name] || f.name)),
        h('td', f.answer || ''), h('td', String(f.weight))))))];
}

export async function transcript(r, btn) {
  const s = await act(btn, () => get(`/smtp-sessions/${encodeURIComponent(r.sid)}`));
  if (!s) return;
  const close = h('button', { type: 'submit' }, 'Close');
  const dlg = h('dialog', { 'aria-labelledby': 'tr-title' }, h('form', { method: 'dialog' },
    h('h2', { id: 'tr-title' }, `Session ${r.sid}`), ...reputation(s),
    h('pre.preview', s.transcript || '(no transcript)'), h('div.actions', close)));
  dlg.addEventListener('close', () => { dlg.remove(); btn.focus(); });
  document.body.append(dlg);
  dlg.showModal();
  close.focus();
}

/** Load one object for a detail page; a refusal becomes the refusal panel. */
export async function loadOrDeny(path) {
  try {
    return { obj: await get(path) };
  } catch (e) {
    if (e.status === 403 || e.status === 404) return { denied: deniedPanel(e) };
    if (e.status !== 401) fail(e);
    return { denied: h('p.msg.error', e.message) };
  }
}

export { clear };
