// session.js - who is logged in, and what their role may see in the navigation.
// The navigation only hides what a role cannot use; admin-api checks every call.

export const RANK = { user: 0, 'domain-admin': 1, 'group-admin': 2, 'root-admin': 3 };

export const state = { me: null };

export function rank(role) { return RANK[role] ?? -1; }
export function atLeast(role) { return state.me !== null && rank(state.me.role) >= rank(role); }

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
