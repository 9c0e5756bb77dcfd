/* session.h - web sessions: a 128-bit random id in a cookie, only its SHA-256 in the
 * web_sessions table, a CSRF token per session, idle and absolute expiry.
 *
 * The cookie is HttpOnly, SameSite=Strict, Path=/; behind TLS (CLEMENT_COOKIE_SECURE) it is
 * also Secure and named with the __Host- prefix (RFC 6265bis section 4.1.3.2), so no
 * sub-domain can plant or read it. */
#ifndef CLEMENT_ADMIN_SESSION_H
#define CLEMENT_ADMIN_SESSION_H

#include "api.h"

/* session_load - find the caller's session from the cookie, refresh its idle timer and
 * fill r->me. 1 when logged in, 0 when not, -1 on a database error (answered 503). */
int session_load(struct api_req *r);
/* session_create - a new session for user_id: sets the cookie on r and fills r->me.csrf
 * and r->me.sid_hash. 0, or -1 (answered). */
int session_create(struct api_req *r, long long user_id);
/* session_end - delete the current session and clear the cookie. */
void session_end(struct api_req *r);
/* session_end_user - delete every session of user_id except the one whose hash is keep
 * (may be NULL). Used when a password, role or scope changes. 0 or -1 (answered). */
int session_end_user(struct api_req *r, long long user_id, const char *keep);
/* random_hex - 2*n hex chars of fresh randomness into out (size >= 2n+1). 0 or -1. */
int random_hex(char *out, size_t n);

#endif
