/* audit_test.c - audit_mask: which members are secrets, "[masked]" vs "[masked, changed]",
 * nested objects and arrays, settings whose key names a secret, null kept as null. */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "util/test.h"

static const struct {
	const char *before, *after; /* JSON or NULL */
	const char *want_before, *want_after;
} CASES[] = {
    /* a password change: the hash differs on both sides; its time is not a secret */
    {"{\"id\":1,\"password_hash\":\"$argon2id$a\",\"password_changed_at\":\"t1\"}",
     "{\"id\":1,\"password_hash\":\"$argon2id$b\",\"password_changed_at\":\"t2\"}",
     "{\"id\":1,\"password_hash\":\"[masked, changed]\",\"password_changed_at\":\"t1\"}",
     "{\"id\":1,\"password_hash\":\"[masked, changed]\",\"password_changed_at\":\"t2\"}"},
    /* unchanged secret; a flag about it stays */
    {"{\"relay_auth_pass\":\"s\",\"relay_auth_pass_set\":true}",
     "{\"relay_auth_pass\":\"s\",\"relay_auth_pass_set\":true}",
     "{\"relay_auth_pass\":\"[masked]\",\"relay_auth_pass_set\":true}",
     "{\"relay_auth_pass\":\"[masked]\",\"relay_auth_pass_set\":true}"},
    /* created: nothing to compare with; null (not set) stays null */
    {NULL, "{\"Token\":\"abc\",\"api_key\":\"k\",\"secret\":null,\"key\":\"name\"}", NULL,
     "{\"Token\":\"[masked]\",\"api_key\":\"[masked]\",\"secret\":null,\"key\":\"name\"}"},
    /* deleted */
    {"{\"csrf_token\":\"t\",\"note\":\"x\"}", NULL, "{\"csrf_token\":\"[masked]\",\"note\":\"x\"}", NULL},
    /* nested objects and arrays of objects */
    {NULL, "{\"evidence\":{\"imap_password\":\"p\",\"n\":1},\"list\":[{\"private_key\":\"k\"},2]}", NULL,
     "{\"evidence\":{\"imap_password\":\"[masked]\",\"n\":1},\"list\":[{\"private_key\":\"[masked]\"},2]}"},
    /* a setting whose key names a secret: its value; another setting's value stays */
    {"{\"key\":\"digest.secret\",\"value\":\"old\"}", "{\"key\":\"digest.secret\",\"value\":\"new\"}",
     "{\"key\":\"digest.secret\",\"value\":\"[masked, changed]\"}",
     "{\"key\":\"digest.secret\",\"value\":\"[masked, changed]\"}"},
    {NULL, "{\"key\":\"log.retention_months\",\"value\":6}", NULL, "{\"key\":\"log.retention_months\",\"value\":6}"},
};

/* same - o printed equals want (both may be NULL). */
static int same(const cJSON *o, const char *want)
{
	if (!o || !want)
		return !o && !want;
	char *s = cJSON_PrintUnformatted(o);
	int eq = s && strcmp(s, want) == 0;
	if (!eq)
		fprintf(stderr, "got %s\n", s ? s : "(null)");
	free(s);
	return eq;
}

int main(void)
{
	for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
		cJSON *b = CASES[i].before ? cJSON_Parse(CASES[i].before) : NULL;
		cJSON *a = CASES[i].after ? cJSON_Parse(CASES[i].after) : NULL;
		audit_mask(b, a);
		CL_CHECK(same(b, CASES[i].want_before), "case %zu before", i);
		CL_CHECK(same(a, CASES[i].want_after), "case %zu after", i);
		cJSON_Delete(b);
		cJSON_Delete(a);
	}
	return CL_TEST_END();
}
