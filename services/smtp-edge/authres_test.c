/* authres_test.c - which Authentication-Results fields authres_drop_ours removes. */
#include <string.h>

#include "authres.h"
#include "util/test.h"

static const struct {
	const char *in, *out;
} cases[] = {
    /* ours (any case, folded over lines) goes; another host's stays; the body is never touched */
    {"Authentication-Results: mx.test; dkim=pass\r\nSubject: x\r\n\r\nbody\r\n", "Subject: x\r\n\r\nbody\r\n"},
    {"A: 1\r\nauthentication-results :  MX.TEST;\r\n\tdkim=pass\r\n header.d=b\r\nB: 2\r\n\r\n",
     "A: 1\r\nB: 2\r\n\r\n"},
    {"Authentication-Results: other.test; spf=pass\r\n\r\nAuthentication-Results: mx.test; x\r\n",
     "Authentication-Results: other.test; spf=pass\r\n\r\nAuthentication-Results: mx.test; x\r\n"},
    {"Authentication-Results: mx.test.evil; dkim=pass\r\n\r\n",
     "Authentication-Results: mx.test.evil; dkim=pass\r\n\r\n"},
    {"Authentication-Results: mx.test dkim=pass\r\n\r\n", "\r\n"},
    {"Authentication-Results-Extra: mx.test; a\r\n\r\n", "Authentication-Results-Extra: mx.test; a\r\n\r\n"},
    {"Authentication-Results: mx.test\r\n\r\n", "\r\n"}, /* malformed, but it claims our name */
    /* an empty header: what follows the first empty line is body, whatever it looks like */
    {"\r\nAuthentication-Results: mx.test; a\r\n\r\n", "\r\nAuthentication-Results: mx.test; a\r\n\r\n"},
    /* no empty line: no header we could tell from a body, nothing changes */
    {"Authentication-Results: mx.test; dkim=pass\r\n", "Authentication-Results: mx.test; dkim=pass\r\n"},
    {"", ""},
};

int main(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[300];
		size_t len = strlen(cases[i].in);
		memcpy(buf, cases[i].in, len + 1);
		size_t got = authres_drop_ours(buf, len, "mx.test");
		CL_CHECK(got == strlen(cases[i].out) && memcmp(buf, cases[i].out, got) == 0, "case %zu: \"%.*s\"", i,
			 (int)got, buf);
	}
	/* A NUL byte in the body does not hide the header's end. */
	char nul[] = "Authentication-Results: mx.test; a\r\n\r\nx\0y";
	CL_CHECK(authres_drop_ours(nul, sizeof nul - 1, "mx.test") == 5 && memcmp(nul, "\r\nx\0y", 5) == 0,
		 "binary body");
	return CL_TEST_END();
}
