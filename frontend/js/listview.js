// listview.js - the one list screen every resource uses: a heading, an optional "add"
// form, filters, a paginated table with per-row actions. The API does the filtering
// and the scope checks; a refused list (403/404) turns the whole screen into the refusal.
import { h, clear } from './dom.js';
import { get } from './api.js';
import { apiForm, field, formValues, table, pager, deniedPanel, fail } from './ui.js';

export const PER_PAGE = 25;

/**
 * spec = {
 *   title, intro, path, params (fixed query),
 *   filters: [field specs], query (initial filter values, e.g. from a link's address), columns: [...], actions(row, reload) -> [nodes],
 *   create: {legend, fields, submitLabel, submit(values) -> Promise, success},
 *   empty, above(container, reload) -> node (extra content above the list),
 * }
 * Returns the section element; mount it into <main>.
 */
export function listView(spec) {
  const section = h('section', { 'aria-labelledby': 'page-title' });
  const tableArea = h('div', { 'aria-live': 'polite', 'aria-busy': 'true' });
  let page = 1;
  // Filters start from the address's values (a link from another screen, e.g. one message's
  // queue id), else from their fields' initial values (e.g. quarantine: status "held").
  const query = spec.query || {};
  const filters = (spec.filters || []).map((f) => (f.name in query ? { ...f, value: query[f.name] } : f));
  let filterValues = Object.fromEntries(filters.filter((f) => f.value !== undefined && f.value !== '')
    .map((f) => [f.name, f.value]));

  const reload = async () => {
    tableArea.setAttribute('aria-busy', 'true');
    let list;
    try {
      list = await get(spec.path, { ...(spec.params || {}), ...filterValues, page, per_page: PER_PAGE });
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
    const cols = spec.actions
      ? [...spec.columns, { label: 'Actions', render: (r) => h('div.actions', spec.actions(r, reload)) }]
      : spec.columns;
    const refresh = h('button.secondary', { type: 'button', onclick: () => reload() }, 'Refresh');
    const nav = pager(list || {}, (p) => { page = p; reload(); });
    nav.append(refresh);
    clear(tableArea).append(table(cols, items, { caption: spec.title, empty: spec.empty }), nav);
    tableArea.setAttribute('aria-busy', 'false');
  };

  section.append(h('h1', { id: 'page-title' }, spec.title));
  if (spec.intro) section.append(h('p.muted', spec.intro));
  if (spec.above) section.append(spec.above(reload));
  if (spec.create) {
    const c = spec.create;
    section.append(h('fieldset.card', h('legend', c.legend || 'Add'),
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
