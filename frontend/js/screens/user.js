// user.js - what every user has: my mail, my quarantine, my senders, my account.
import { h } from '../dom.js';
import { post } from '../api.js';
import { state } from '../session.js';
import { apiForm } from '../ui.js';
import { messageLog, quarantineList, directiveList } from './common.js';

function account() {
  return h('section', { 'aria-labelledby': 'page-title' },
    h('h1', { id: 'page-title' }, 'Account'),
    h('dl.kv.card', h('dt', 'Address'), h('dd', state.me.address), h('dt', 'Role'), h('dd', state.me.role)),
    h('fieldset.card', h('legend', 'Change password'),
      h('p.muted', 'Changing your password ends your other sessions.'),
      apiForm({
        className: 'stack', label: 'Change password', submitLabel: 'Change password',
        fields: [
          { name: 'current_password', label: 'Current password', type: 'password', required: true, autocomplete: 'current-password', maxlength: 1024 },
          { name: 'new_password', label: 'New password', type: 'password', required: true, autocomplete: 'new-password', maxlength: 1024,
            help: 'At least 12 characters.' },
        ],
        onSubmit: (v) => post('/password', v),
        success: 'Password changed.',
      })));
}

export function registerUserScreens(route) {
  route('/mail', () => messageLog({ params: { user_id: state.me.id } }));
  route('/quarantine', () => quarantineList({ params: { user_id: state.me.id } }));
  route('/senders', () => directiveList({
    title: 'My senders',
    intro: 'Senders you always accept, always reject (they get an SMTP refusal) or send to quarantine.',
    owner: { user_id: state.me.id },
  }));
  route('/account', account);
}
