/* digest_token.h - signed, expiring one-click tokens for quarantine digest links.
 *
 * delivery puts tokens into the links of a quarantine digest
 * (<CLEMENT_DIGEST_BASE_URL>/api/digest/<token>); admin-api checks them with the same secret
 * (CLEMENT_DIGEST_SECRET) before it releases, deletes or always-accepts.
 *
 * Format (URL-safe, no percent-encoding needed, at most CL_DIGEST_TOKEN_MAX - 1 chars):
 *     <action>.<qid>.<expires_unix>.<mac>
 * action is 1..CL_DIGEST_ACTION_MAX chars of [a-z_-] ("release", "delete", "accept" are the
 * ones delivery uses), qid and expires_unix are decimal (qid > 0), and mac is the unpadded
 * base64url (RFC 4648 section 5) of HMAC-SHA256(secret, "clement-digest-v1|" action "|" qid
 * "|" expires_unix). The MAC is compared in constant time.
 *
 * Neither function allocates; both only write into the caller's buffers. */
#ifndef CLEMENT_MAIL_DIGEST_TOKEN_H
#define CLEMENT_MAIL_DIGEST_TOKEN_H

#include <stddef.h>

#define CL_DIGEST_ACTION_MAX 16
#define CL_DIGEST_TOKEN_MAX  128

/* cl_digest_token_make - write the token for (action, qid, expires_unix) into out.
 * Returns 0, or -1 when secret is empty, action is not [a-z_-]{1,16}, qid or expires_unix
 * is outside 1..10^18-1 (0 is allowed for expires_unix), or out is too small
 * (CL_DIGEST_TOKEN_MAX always suffices). */
int cl_digest_token_make(const char *secret, const char *action, long long qid, long long expires_unix, char *out,
			 size_t outlen);

/* cl_digest_token_check - verify token with secret at time now_unix. Returns 0 when the MAC
 * is right and now_unix <= expires; action (NUL-terminated, must fit actionlen) and *qid are
 * then filled. Returns -1 for anything else (malformed, bad MAC, expired, action too long
 * for the buffer); the outputs are then unspecified. */
int cl_digest_token_check(const char *secret, const char *token, long long now_unix, char *action, size_t actionlen,
			  long long *qid);

#endif
