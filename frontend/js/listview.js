// listview.js - the one list screen every resource uses: a heading, an optional "add"
// form, filters, a paginated table with per-row actions. The API does the filtering
// and the scope checks; a refused list (403/404) turns the whole screen into the refusal.
import { h, clear } from './dom.js';
import { get } from './api.js';
import { apiForm, field, formValues, table, pager, deniedPanel, fail, notify, confirmDialog } from './ui.js';

export const PER_PAGE = 25;
const PAGE_SIZES = [10, 25, 50, 100, 200];
const SIZE_KEY = 'clement.per_page';

/** The page size the user chose last (any list), else PER_PAGE. */
function savedPageSize() {
  const n = Number(window.localStorage.getItem(SIZE_KEY));
  return PAGE_SIZES.includes(n) ? n : PER_PAGE;
}

/** datetime-local values are the browser's local time: the API gets them as an instant (ISO, UTC). */
function apiValues(filters, values) {
  const out = { ...values };
  for (const f of filters) {
    if (f.type === 'datetime-local' && out[f.name]) {
      const d = new Date(out[f.name]);
      if (!Number.isNaN(d.getTime())) out[f.name] = d.toISOString();
    }
  }
  return out;
}

/**
 * spec = {
 *   title, intro, path, params (fixed query),
 *   filters: [field specs], query (initial filter values, e.g. from a link's address), columns: [...], actions(row, reload) -> [nodes],
 *   create: {legend, fields, submitLabel, submit(values) -> Promise, success},
 *   empty, above(container, reload) -> node (extra content above the list),
 *   sort: {default: 'key', order: 'asc'|'desc'} with columns' `sort: 'key'` (the API sorts: ?sort=&order=),
 *   bulk: [{label, danger, confirm(rows) -> text, run(row) -> Promise, done(n) -> text}] (checkbox per row),
 *   tools(query()) -> [nodes] next to the pager (query(): the list's current filters, e.g. for an export),
 * }
 * Returns the section element; mount it into <main>.
 */
export function listView(spec) {
  const section = h('section.list', { 'aria-labelledby': 'page-title' });
  const tableArea = h('div', { 'aria-live': 'polite', 'aria-busy': 'true' });
  let page = 1;
  // Filters start from the address's values (a link from another screen, e.g. one message's
  // queue id), else from their fields' initial values (e.g. quarantine: status "held").
  const initial = spec.query || {};
  const filters = (spec.filters || []).map((f) => (f.name in initial ? { ...f, value: initial[f.name] } : f));
  let filterValues = Object.fromEntries(filters.filter((f) => f.value !== undefined && f.value !== '')
    .map((f) => [f.name, f.value]));
  let perPage = savedPageSize();
  let sort = spec.sort ? { key: spec.sort.default, order: spec.sort.order || 'desc' } : null;
  const query = () => ({ ...(spec.params || {}), ...apiValues(filters, filterValues),
    ...(sort ? { sort: sort.key, order: sort.order } : {}) });

  const reload = async () => {
    tableArea.setAttribute('aria-busy', 'true');
    let list;
    try {
      list = await get(spec.path, { ...query(), page, per_page: perPage });
    } catch (e) {
      if (e.status === 403 || e.status === 404) {
        clear(section).append(deniedPanel(e));
        return;
      }
      if (e.status !== 401) fail(e);
      clear(tableArea).append(h('p.msg.error', e.message));
      tableArea.setAttribute('aria-busy', 'false');
      return;
    }
    const items = (list && list.items) || [];
    let cols = spec.columns.map((c) => (sort && c.sort ? sortable(c) : c));
    if (spec.actions) cols = [...cols, { label: 'Actions', render: (r) => h('div.actions', spec.actions(r, reload)) }];
    const parts = [];
    if (spec.bulk && items.length) {
      const { column, bar } = bulkSelect(spec, items, reload);
      cols = [column, ...cols];
      parts.push(bar);
    }
    const refresh = h('button.secondary', { type: 'button', onclick: () => reload() }, 'Refresh');
    const nav = pager(list || {}, (p) => { page = p; reload(); });
    const size = h('select', { 'aria-label': 'Rows per page', onchange: (ev) => {
      perPage = Number(ev.currentTarget.value);
      window.localStorage.setItem(SIZE_KEY, String(perPage));
      page = 1;
      reload();
    } }, PAGE_SIZES.map((n) => h('option', { value: String(n), selected: n === perPage }, `${n} a page`)));
    nav.append(refresh, size, ...(spec.tools ? spec.tools(query) : []));
    clear(tableArea).append(...parts, table(cols, items, { caption: spec.title, empty: spec.empty }), nav);
    tableArea.setAttribute('aria-busy', 'false');
    // The shell keeps counts (held messages in the menu) in step with what lists show.
    window.dispatchEvent(new CustomEvent('clement:list', { detail: spec.path }));
  };

  /* A column header that sorts by its key: first click ascending (time: newest first), again the other way. */
  function sortable(c) {
    const on = sort.key === c.sort;
    const label = `${c.label}${on ? (sort.order === 'asc' ? ' ▲' : ' ▼') : ''}`;
    const header = h('button.link.sort', { type: 'button', onclick: () => {
      sort = on ? { key: c.sort, order: sort.order === 'asc' ? 'desc' : 'asc' } : { key: c.sort, order: c.sortFirst || 'asc' };
      page = 1;
      reload();
    } }, label);
    return { ...c, header, ariaSort: on ? (sort.order === 'asc' ? 'ascending' : 'descending') : undefined };
  }

  section.append(h('h1', { id: 'page-title' }, spec.title));
  if (spec.intro) section.append(h('p.muted', spec.intro));
  if (spec.above) section.append(spec.above(reload));
  if (spec.create) {
    const c = spec.create;
    section.append(h('fieldset.card.create', h('legend', c.legend || 'Add'),
      apiForm({ fields: c.fields, submitLabel: c.submitLabel || 'Add', label: c.legend || 'Add',
        onSubmit: async (v) => { const r = await c.submit(v); reload(); return r; }, success: c.success || 'Saved.' })));
  }
  if (filters.length) {
    const form = h('form.row.filters', { role: 'search', 'aria-label': `Filter ${spec.title}` },
      filters.map(field),
      h('div.field', h('button', { type: 'submit' }, 'Filter')),
      h('div.field', h('button.secondary', { type: 'reset' }, 'Clear')));
    form.addEventListener('submit', (ev) => { ev.preventDefault(); filterValues = formValues(form); page = 1; reload(); });
    form.addEventListener('reset', () => { setTimeout(() => { filterValues = formValues(form); page = 1; reload(); }, 0); });
    const details = h('details.filters', { open: !window.matchMedia('(max-width: 700px)').matches }, h('summary', 'Filters'), form);
    section.append(details);
  }
  section.append(tableArea);
  reload();
  section.reload = reload;
  return section;
}

/** A checkbox per row (and one for the page), and the bulk actions for the checked rows: each
 * row is one API request, in turn; the notice says how many were done and what failed. */
function bulkSelect(spec, items, reload) {
  const checked = new Set();
  const buttons = spec.bulk.map((b) => h(`button${b.danger ? '.danger' : '.secondary'}`, { type: 'button', disabled: true, onclick: async (ev) => {
    const btn = ev.currentTarget;
    const rows = items.filter((r) => checked.has(r));
    if (b.confirm && !(await confirmDialog(b.confirm(rows), { okLabel: b.label, danger: !!b.danger }))) return;
    btn.disabled = true;
    let done = 0;
    const errors = [];
    for (const r of rows) {
      try { await b.run(r); done += 1; } catch (e) { errors.push(e.message); }
    }
    const text = b.done(done);
    if (errors.length) notify('error', `${text}; ${errors.length} failed: ${[...new Set(errors)].join('; ')}`);
    else notify('ok', text);
    if (spec.changed) spec.changed();
    reload();
  } }, b.label));
  const count = h('span.muted', { 'aria-live': 'polite' }, 'none selected');
  const boxes = [];
  const all = h('input', { type: 'checkbox', 'aria-label': 'Select all on this page' });
  const sync = () => {
    for (const btn of buttons) btn.disabled = checked.size === 0;
    count.textContent = checked.size ? `${checked.size} selected` : 'none selected';
    all.checked = checked.size === items.length;
    all.indeterminate = checked.size > 0 && checked.size < items.length;
  };
  all.addEventListener('change', () => {
    for (const [r, box] of boxes) { box.checked = all.checked; if (all.checked) checked.add(r); else checked.delete(r); }
    sync();
  });
  const column = { label: 'Select', header: all, className: 'select', render: (r) => {
    const box = h('input', { type: 'checkbox', 'aria-label': `Select ${spec.rowName ? spec.rowName(r) : r.id}` });
    box.addEventListener('change', () => { if (box.checked) checked.add(r); else checked.delete(r); sync(); });
    boxes.push([r, box]);
    return box;
  } };
  const bar = h('div.bulk.actions', { role: 'group', 'aria-label': 'With the selected rows' }, count, buttons);
  return { column, bar };
}
