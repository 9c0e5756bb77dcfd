/* digest_token.c - signed, expiring one-click tokens for quarantine digests (see digest_token.h). */
#include "mail/digest_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAC_LEN     32
#define MAC_B64_LEN 43                   /* ceil(32 * 4 / 3), unpadded */
#define DEC_MAX     999999999999999999LL /* 18 digits, what parse_dec reads */

/* action_ok - action is [a-z_-]{1,CL_DIGEST_ACTION_MAX}: keeps the token URL-safe and the
 * signed string unambiguous (no '|' or '.'). */
static int action_ok(const char *a, size_t n)
{
	if (n == 0 || n > CL_DIGEST_ACTION_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((a[i] >= 'a' && a[i] <= 'z') || a[i] == '_' || a[i] == '-'))
			return 0;
	return 1;
}

/* b64url - unpadded base64url (RFC 4648 section 5) of n bytes; out holds >= 4n/3+2. */
static void b64url(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = tab[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = tab[v & 63];
	}
	out[o] = '\0';
}

/* token_mac - base64url HMAC-SHA256 over the versioned, '|'-separated fields. 0 or -1. */
static int token_mac(const char *secret, const char *action, size_t alen, long long qid, long long exp,
		     char out[MAC_B64_LEN + 1])
{
	char msg[96];
	int n = snprintf(msg, sizeof msg, "clement-digest-v1|%.*s|%lld|%lld", (int)alen, action, qid, exp);
	if (n < 0 || (size_t)n >= sizeof msg)
		return -1;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0;
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, (size_t)n, mac, &mlen) ||
	    mlen != MAC_LEN)
		return -1;
	b64url(mac, MAC_LEN, out);
	return 0;
}

int cl_digest_token_make(const char *secret, const char *action, long long qid, long long expires_unix, char *out,
			 size_t outlen)
{
	if (!secret || !*secret || !action || !out || qid <= 0 || expires_unix < 0 || qid > DEC_MAX ||
	    expires_unix > DEC_MAX)
		return -1; /* past DEC_MAX the checker could never read it back */
	size_t alen = strlen(action);
	if (!action_ok(action, alen))
		return -1;
	char mac[MAC_B64_LEN + 1];
	if (token_mac(secret, action, alen, qid, expires_unix, mac) < 0)
		return -1;
	int n = snprintf(out, outlen, "%s.%lld.%lld.%s", action, qid, expires_unix, mac);
	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

/* parse_dec - strict decimal: 1..18 digits (no overflow), no sign, no leading zero (one canonical token
 * per value). Returns 0 and *v, or -1. */
static int parse_dec(const char *s, size_t n, long long *v)
{
	if (n == 0 || n > 18 || (n > 1 && s[0] == '0'))
		return -1;
	long long x = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return 0;
}

int cl_digest_token_check(const char *secret, const char *token, long long now_unix, char *action, size_t actionlen,
			  long long *qid)
{
	if (!secret || !*secret || !token || !action || !qid)
		return -1;
	size_t tlen = strnlen(token, CL_DIGEST_TOKEN_MAX);
	if (tlen >= CL_DIGEST_TOKEN_MAX)
		return -1;
	const char *d1 = memchr(token, '.', tlen);
	const char *d2 = d1 ? memchr(d1 + 1, '.', tlen - (size_t)(d1 + 1 - token)) : NULL;
	const char *d3 = d2 ? memchr(d2 + 1, '.', tlen - (size_t)(d2 + 1 - token)) : NULL;
	if (!d3)
		return -1;
	size_t alen = (size_t)(d1 - token);
	long long q, exp;
	if (!action_ok(token, alen) || parse_dec(d1 + 1, (size_t)(d2 - d1 - 1), &q) < 0 || q <= 0 ||
	    parse_dec(d2 + 1, (size_t)(d3 - d2 - 1), &exp) < 0)
		return -1;
	const char *given = d3 + 1;
	if (strlen(given) != MAC_B64_LEN)
		return -1;
	char mac[MAC_B64_LEN + 1];
	if (token_mac(secret, token, alen, q, exp, mac) < 0)
		return -1;
	if (CRYPTO_memcmp(mac, given, MAC_B64_LEN) != 0)
		return -1;
	if (now_unix > exp || alen + 1 > actionlen)
		return -1;
	memcpy(action, token, alen);
	action[alen] = '\0';
	*qid = q;
	return 0;
}
