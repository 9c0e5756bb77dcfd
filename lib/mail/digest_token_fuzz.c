/* digest_token_fuzz.c - libFuzzer target for the digest token checker (digest_token.c): the
 * token arrives in the path of /api/digest/<token>, from anyone who has or guesses a link.
 *
 * fuzz-sources: lib/mail/digest_token.c
 * fuzz-libs: -lcrypto
 *
 * Input: byte 0 picks the clock (before, at or after the expiry) and whether the rest is a
 * whole token or the fields to make one; the rest is the token, or "action.qid.expires".
 * Invariants: checking never reads past the token or writes past the caller's buffers; a
 * token the checker accepts is exactly the one cl_digest_token_make gives for what it
 * returned; any token made is accepted before its expiry and refused after it, and refused
 * with a single byte changed or under another secret. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/digest_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char SECRET[] = "fuzz secret";

/* check_accepted - an accepted token is the canonical one for its fields. */
static void check_accepted(const char *token, long long now, size_t actionlen)
{
	char action[CL_DIGEST_ACTION_MAX + 1], again[CL_DIGEST_TOKEN_MAX];
	long long qid = 0;
	if (cl_digest_token_check(SECRET, token, now, action, actionlen, &qid) != 0)
		return;
	if (qid <= 0 || strlen(action) >= actionlen)
		abort();
	const char *d2 = strchr(strchr(token, '.') + 1, '.'); /* accepted: three dots */
	long long exp = strtoll(d2 + 1, NULL, 10);
	if (exp < now || cl_digest_token_make(SECRET, action, qid, exp, again, sizeof again) != 0 ||
	    strcmp(again, token) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 400)
		return 0;
	char *s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	long long now = 1700000000 + (long long)(data[0] % 3) - 1;
	size_t actionlen = (data[0] & 4) ? 4 : CL_DIGEST_ACTION_MAX + 1;

	if (!(data[0] & 8)) {
		check_accepted(s, now, actionlen);
		free(s);
		return 0;
	}
	/* the rest names fields: make a token and test it */
	char action[64] = "", tok[CL_DIGEST_TOKEN_MAX], got[CL_DIGEST_ACTION_MAX + 1];
	long long qid = 0, exp = 0, q2 = 0;
	if (sscanf(s, "%63[^.].%lld.%lld", action, &qid, &exp) == 3 &&
	    cl_digest_token_make(SECRET, action, qid, exp, tok, sizeof tok) == 0) {
		if (strlen(tok) >= CL_DIGEST_TOKEN_MAX)
			abort();
		int ok = cl_digest_token_check(SECRET, tok, exp - 1, got, sizeof got, &q2) == 0;
		if (exp >= 1 && (!ok || q2 != qid || strcmp(got, action) != 0))
			abort();
		if (exp < 0x7fffffffffffffffLL &&
		    cl_digest_token_check(SECRET, tok, exp + 1, got, sizeof got, &q2) == 0)
			abort();
		if (cl_digest_token_check("other secret", tok, exp - 1, got, sizeof got, &q2) == 0)
			abort();
		size_t at = (size_t)data[0] % strlen(tok);
		tok[at] = tok[at] == 'A' ? 'B' : 'A';
		if (cl_digest_token_check(SECRET, tok, exp - 1, got, sizeof got, &q2) == 0)
			abort();
	}
	free(s);
	return 0;
}
