// api.js - the one way the UI talks to admin-api (same origin, under /api).
//
// * The session is an HttpOnly cookie the browser sends by itself; the CSRF token comes
//   from /api/login and /api/me and travels in X-CSRF-Token on every state-changing request.
// * Errors: the API answers {"error":"text"}; that text is what the user sees.
// * A 401 from anywhere but the login call means the session ended: listeners of
//   onSessionEnd() send the user back to the login screen with a message.

let csrfToken = '';
const endListeners = new Set();

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function setCsrf(token) { csrfToken = token || ''; }
export function onSessionEnd(fn) { endListeners.add(fn); }

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Query string from an object, skipping empty values. */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') u.set(k, v);
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

export async function api(method, path, body, { allow401 = false } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (UNSAFE.has(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(`/api${path}`, init);
  } catch (e) {
    throw new ApiError(0, 'The server cannot be reached. Check your connection and try again.');
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (res.status === 401 && !allow401) {
    setCsrf('');
    for (const fn of endListeners) fn(data && data.error);
  }
  if (!res.ok) {
    const msg = (data && typeof data.error === 'string' && data.error)
      || `${res.status} ${res.statusText || 'error'}`;
    throw new ApiError(res.status, msg);
  }
  if (data && typeof data.csrf_token === 'string') setCsrf(data.csrf_token);
  return data;
}

export const get = (p, q) => api('GET', p + qs(q));
export const post = (p, b) => api('POST', p, b === undefined ? {} : b);
export const put = (p, b) => api('PUT', p, b);
export const patch = (p, b) => api('PATCH', p, b);
export const del = (p) => api('DELETE', p);
