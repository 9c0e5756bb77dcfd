// session.js - who is logged in, and what their role may see in the navigation.
// The navigation only hides what a role cannot use; admin-api checks every call.

export const RANK = { user: 0, 'domain-admin': 1, 'group-admin': 2, 'root-admin': 3 };

export const state = { me: null };

export function rank(role) { return RANK[role] ?? -1; }
export function atLeast(role) { return state.me !== null && rank(state.me.role) >= rank(role); }

/** What admin-api lets the caller do to accounts (h_users.c): give roles below its own (root:
 * any), manage accounts whose role is below its own (root: all), never its own role or account. */
export const ROLE_LABELS = { user: 'user', 'domain-admin': 'domain admin', 'group-admin': 'group admin', 'root-admin': 'root admin' };
export function grantableRoles() {
  const mine = state.me ? rank(state.me.role) : -1;
  return Object.keys(RANK).filter((r) => mine === RANK['root-admin'] || RANK[r] < mine).map((r) => [r, ROLE_LABELS[r]]);
}
export function mayManage(account) {
  if (!state.me || account.id === state.me.id) return false;
  return state.me.role === 'root-admin' || rank(account.role) < rank(state.me.role);
}

/** Normalise /api/me and /api/login answers: {user:{...}} or the user itself. */
export function meFrom(r) {
  const u = (r && (r.user || r.me)) || r || {};
  return {
    id: u.id,
    address: u.address || u.email || [u.local_part, u.domain].filter(Boolean).join('@'),
    role: u.role || 'user',
    display_name: u.display_name || '',
    scopes: u.scopes || r.scopes || [],
    password_min: u.password_min,   // CLEMENT_PASSWORD_MIN: what the password screens state
  };
}
