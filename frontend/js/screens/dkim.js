// dkim.js - the DKIM section of a domain's settings (issue 18): the domain's keys with the TXT
// record to publish for each, a form that generates a key (RSA 2048 or Ed25519), and per key
// Activate/Rotate (it signs from now on; the key it replaces stays published) and Retire (it
// never signs again), each asked for in a confirmation dialog. API: /api/domains/{id}/dkim.
import { h, fmtTime } from '../dom.js';
import { get, post } from '../api.js';
import { act, apiForm, badge, confirmDialog } from '../ui.js';

const ALGS = [['rsa-sha256', 'RSA 2048 (rsa-sha256)'], ['ed25519-sha256', 'Ed25519 (ed25519-sha256)']];

function keyRow(d, k, hasActive, render) {
  const actions = [];
  if (k.state === 'published') {
    const verb = hasActive ? 'Rotate' : 'Activate';
    actions.push(h('button', { type: 'button', 'aria-label': hasActive ? `Rotate to ${k.selector}` : `Activate ${k.selector}`, onclick: async (ev) => {
      const b = ev.currentTarget;
      const q = `${verb}: sign the mail of ${d.name} with selector ${k.selector} from now on? Publish its TXT record `
        + `first (${k.txt_name}).${hasActive ? ' The key signing now stays published until you retire it.' : ''}`;
      if (!(await confirmDialog(q, { okLabel: verb }))) return;
      if ((await act(b, () => post(`/domains/${d.id}/dkim/${k.id}/activate`, {}), `${k.selector} signs now.`)) !== undefined) render();
    } }, verb));
  }
  if (k.state !== 'retired') {
    actions.push(h('button.danger', { type: 'button', 'aria-label': `Retire ${k.selector}`, onclick: async (ev) => {
      const b = ev.currentTarget;
      const q = `Retire selector ${k.selector}? It will never sign again (its private key is erased)`
        + (k.state === 'active' ? `, and the mail of ${d.name} goes unsigned until another key is activated.` : '.');
      if (!(await confirmDialog(q, { okLabel: 'Retire', danger: true }))) return;
      if ((await act(b, () => post(`/domains/${d.id}/dkim/${k.id}/retire`, {}), `${k.selector} retired.`)) !== undefined) render();
    } }, 'Retire'));
  }
  return h('tr', h('td', k.selector), h('td', k.algorithm), h('td', badge(k.state)),
    h('td', k.state === 'retired' ? h('span.muted', `${k.txt_name} (may be removed from DNS)`)
      : [h('code', k.txt_name), h('br'), h('code.dkim-txt', k.txt)]),
    h('td', fmtTime(k.activated_at || k.created_at)), h('td', ...actions));
}

/** The DKIM card of domain d's settings. */
export function domainDkim(d) {
  const body = h('div');
  const render = async () => {
    let list;
    try { list = await get(`/domains/${d.id}/dkim`); } catch (e) { body.replaceChildren(h('p.msg.error', e.message)); return; }
    const keys = list.items || [];
    const hasActive = keys.some((k) => k.state === 'active');
    body.replaceChildren(
      keys.length ? h('table', { 'aria-label': 'DKIM keys' },
        h('thead', h('tr', h('th', 'Selector'), h('th', 'Algorithm'), h('th', 'State'), h('th', 'TXT record to publish'),
          h('th', 'Since'), h('th', 'Actions'))),
        h('tbody', ...keys.map((k) => keyRow(d, k, hasActive, render))))
        : h('p.muted', 'No key yet: mail from this domain leaves unsigned.'),
      apiForm({ label: 'Generate a DKIM key', submitLabel: 'Generate key', fields: [
        { name: 'algorithm', label: 'Algorithm', type: 'select', value: 'rsa-sha256', options: ALGS },
        { name: 'selector', label: 'Selector', type: 'text', placeholder: 'automatic',
          help: 'One DNS label (a-z, 0-9, -); empty: c<date>k<number>.' }],
      onSubmit: async (v) => {
        const r = await post(`/domains/${d.id}/dkim`, { algorithm: v.algorithm, selector: v.selector ? v.selector.trim() : null });
        render();
        return r;
      },
      success: (r) => `Key ${r.selector} generated: publish its TXT record, then activate it.` }));
  };
  render();
  return h('fieldset.card', h('legend', 'DKIM signing'),
    h('p.muted', 'Mail your users send from this domain is signed with the active key. A new key signs once '
      + 'activated; publish its TXT record in DNS first. A replaced key stays published until you retire it.'), body);
}
