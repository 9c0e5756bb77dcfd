// ui.js - the shared pieces of every screen: notices, confirmation dialog, forms,
// tables and pagination. Everything is keyboard-usable and labelled.
import { h, clear, uid } from './dom.js';

/* ---------- notices ---------- */

/** Show a success/error/info message in the live region (read out by screen readers). */
export function notify(kind, text) {
  const area = document.getElementById('notice');
  clear(area);
  const close = h('button.link', { type: 'button', 'aria-label': 'Dismiss message', onclick: () => clear(area) }, 'dismiss');
  area.append(h(`div.msg.${kind}`, { 'data-kind': kind }, text, ' ', close));
}
export const ok = (t) => notify('ok', t);
export const fail = (e) => notify('error', e && e.message ? e.message : String(e));
export function clearNotice() { clear(document.getElementById('notice')); }

/** The panel shown when the API refuses a screen (403, or 404 for out of scope). */
export function deniedPanel(err) {
  const title = err.status === 403 ? 'Access denied' : 'Not found';
  return h('section.card.msg.error.denied', { role: 'alert', 'data-denied': String(err.status) },
    h('h1', title),
    h('p', err.status === 403
      ? 'Your account may not open this page.'
      : 'This page does not exist or is outside what your account may see.'),
    h('p.muted', err.local ? err.message : `The server said: ${err.message}`),
    h('p', h('a', { href: '#/' }, 'Back to the start page')));
}

/* ---------- confirmation ---------- */

/** Resolve true when the user confirms; a native <dialog> keeps focus inside and Esc cancels. */
export function confirmDialog(question, { okLabel = 'Confirm', danger = false } = {}) {
  return new Promise((resolve) => {
    const okBtn = h(`button${danger ? '.danger' : ''}`, { type: 'submit', value: 'ok' }, okLabel);
    const dlg = h('dialog', { 'aria-labelledby': 'confirm-q' },
      h('form', { method: 'dialog' },
        h('p', { id: 'confirm-q' }, question),
        h('div.actions', okBtn, h('button.secondary', { type: 'submit', value: 'cancel' }, 'Cancel'))));
    const back = document.activeElement;
    dlg.addEventListener('close', () => {
      dlg.remove();
      if (back && back.focus) back.focus();
      resolve(dlg.returnValue === 'ok');
    });
    document.body.append(dlg);
    dlg.showModal();
    okBtn.focus();
  });
}

/** Run an API action from a button: disable it meanwhile, report success or the API's error text. */
export async function act(btn, fn, success) {
  if (btn) btn.disabled = true;
  try {
    const r = await fn();
    if (success) ok(typeof success === 'function' ? success(r) : success);
    return r;
  } catch (e) {
    fail(e);
    return undefined;
  } finally {
    if (btn && btn.isConnected) btn.disabled = false;
  }
}

/* ---------- forms ---------- */

/**
 * One labelled control. f = {name, label, type: text|email|password|number|select|textarea|checkbox|date|
 * datetime-local|time, options: [[value,label]...], required, help, value, placeholder, autocomplete}.
 */
export function field(f) {
  const id = uid(f.name);
  const common = { id, name: f.name, required: f.required || undefined, 'aria-describedby': f.help ? `${id}-help` : undefined };
  let control;
  if (f.type === 'select') {
    control = h('select', common, (f.options || []).map(([v, l]) => h('option', { value: v, selected: String(f.value ?? '') === String(v) }, l)));
  } else if (f.type === 'textarea') {
    control = h('textarea', { ...common, placeholder: f.placeholder, maxlength: f.maxlength }, f.value ?? '');
  } else if (f.type === 'checkbox') {
    control = h('input', { ...common, type: 'checkbox', checked: !!f.value });
    return h('div.field.check', control, h('label', { for: id }, f.label),
      f.help ? h('span.help', { id: `${id}-help` }, f.help) : null);
  } else {
    control = h('input', { ...common, type: f.type || 'text', value: f.value ?? '', placeholder: f.placeholder,
      autocomplete: f.autocomplete || 'off', min: f.min, max: f.max, step: f.step, maxlength: f.maxlength, inputmode: f.inputmode });
  }
  return h('div.field', h('label', { for: id }, f.label), control,
    f.help ? h('span.help', { id: `${id}-help` }, f.help) : null);
}

/** Values of a form's named controls; numbers for type=number, booleans for checkboxes, '' dropped when `drop`. */
export function formValues(form, { drop = true } = {}) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === 'checkbox') out[el.name] = el.checked;
    else if (el.type === 'number') { if (el.value !== '') out[el.name] = Number(el.value); else if (!drop) out[el.name] = null; }
    else if (el.value !== '' || !drop) out[el.name] = el.value === '' ? null : el.value;
  }
  return out;
}

/**
 * A form that submits to `onSubmit(values, form)`; shows success text or the API's error,
 * and focuses the first field after a success so keyboard users can go on typing.
 */
export function apiForm({ fields, submitLabel, onSubmit, success, className = 'row', label, reset = true }) {
  const btn = h('button', { type: 'submit' }, submitLabel);
  const form = h(`form.${className}`, { 'aria-label': label, novalidate: false }, fields.map(field), h('div.field', btn));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await act(btn, () => onSubmit(formValues(form), form), success);
    if (r !== undefined && reset) {
      form.reset();
      const first = form.querySelector('input,select,textarea');
      if (first) first.focus();
    }
  });
  return form;
}

/* ---------- tables and pagination ---------- */

/**
 * cols = [{key, label, render(row) -> node|string, className}], rows = [...].
 * On phones the table turns into cards (css: table.cards), each cell labelled.
 */
export function table(cols, rows, { caption, empty = 'Nothing to show.' } = {}) {
  if (!rows || rows.length === 0) return h('div.table-wrap', h('p.empty', empty));
  const thead = h('thead', h('tr', cols.map((c) => h('th', { scope: 'col', 'aria-sort': c.ariaSort }, c.header || c.label))));
  const tbody = h('tbody', rows.map((r) => h('tr', { dataset: { id: r.id ?? '' } }, cols.map((c) => {
    const v = c.render ? c.render(r) : r[c.key];
    return h(`td${c.className ? '.' + c.className : ''}`, { 'data-label': c.label }, v ?? '');
  }))));
  return h('div.table-wrap', h('table.cards', caption ? h('caption.hidden', caption) : null, thead, tbody));
}

/** Previous / next links for a {total, page, per_page} list answer. */
export function pager(list, go) {
  const page = Number(list.page) || 1;
  const per = Number(list.per_page) || (list.items ? list.items.length : 0) || 1;
  const total = Number(list.total) || 0;
  const pages = Math.max(1, Math.ceil(total / per));
  const prev = h('button.secondary', { type: 'button', disabled: page <= 1, onclick: () => go(page - 1) }, '‹ Previous');
  const next = h('button.secondary', { type: 'button', disabled: page >= pages, onclick: () => go(page + 1) }, 'Next ›');
  return h('nav.pager', { 'aria-label': 'Pages' }, prev,
    h('span', { 'aria-live': 'polite' }, `Page ${page} of ${pages} · ${total} in all`), next);
}

export const badge = (v) => (v ? h(`span.badge.${String(v).replace(/[^a-z0-9-]/gi, '')}`, v) : '');
