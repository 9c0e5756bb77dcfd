// user.js - what every user has: my mail, my quarantine, my senders, my account.
import { h } from '../dom.js';
import { get, post } from '../api.js';
import { state } from '../session.js';
import { apiForm } from '../ui.js';
import { messageLog, quarantineList, directiveList } from './common.js';
import { digestList } from './admin.js';

/** The sender addresses an admin granted this account, besides its own (read-only). */
function myAliases() {
  const dd = h('dd', '…');
  get(`/users/${state.me.id}/aliases`).then((l) => {
    const items = (l && l.items) || [];
    dd.replaceChildren(items.length ? items.map((a) => a.address).join(', ') : 'none (an admin can grant some)');
  }).catch((e) => dd.replaceChildren(e.message));
  return [h('dt', 'May also send as'), dd];
}

function account() {
  return h('section', { 'aria-labelledby': 'page-title' },
    h('h1', { id: 'page-title' }, 'Account'),
    h('dl.kv.card', h('dt', 'Address'), h('dd', state.me.address), h('dt', 'Role'), h('dd', state.me.role), ...myAliases(),
      h('dt', 'Quarantine digests'), h('dd', h('a', { href: '#/digests' }, 'Choose when they are mailed to you'))),
    h('fieldset.card', h('legend', 'Change password'),
      h('p.muted', 'Changing your password ends your other sessions.'),
      apiForm({
        className: 'stack', label: 'Change password', submitLabel: 'Change password',
        fields: [
          { name: 'current_password', label: 'Current password', type: 'password', required: true, autocomplete: 'current-password', maxlength: 1024 },
          { name: 'new_password', label: 'New password', type: 'password', required: true, autocomplete: 'new-password', maxlength: 1024,
            help: `At least ${state.me.password_min} characters.` },
        ],
        onSubmit: (v) => post('/password', v),
        success: 'Password changed.',
      })));
}

export function registerUserScreens(route) {
  route('/mail', (_, query) => messageLog({ params: { user_id: state.me.id }, query }));
  route('/quarantine', (_, query) => quarantineList({ params: { user_id: state.me.id }, query }));
  route('/senders', () => directiveList({
    title: 'My senders',
    intro: 'Senders you always accept, always reject (they get an SMTP refusal) or send to quarantine.',
    owner: { user_id: state.me.id },
  }));
  route('/account', account);
  route('/digests', () => {
    const view = digestList({ user_id: state.me.id }, 'My digest schedule',
      'When a list of your held messages is mailed to you, with links to release, always accept or delete each one. Your domain or group may mail digests on a schedule of their own too; each held message is listed once.');
    view.prepend(h('p', h('a', { href: '#/account' }, '‹ Account')));
    return view;
  });
}
