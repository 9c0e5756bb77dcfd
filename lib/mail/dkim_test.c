/* dkim_test.c - the From: domain delivery's DKIM signer picks (cl_dkim_from_domain): the one
 * mailbox's domain, lower-cased; none (so the mail goes unsigned) when the author is ambiguous
 * (two From: fields, several mailboxes) or the domain would not fit. And a signature over a
 * message made with a fresh key of each algorithm. */
#include <stdlib.h>
#include <string.h>

#include "mail/dkim.h"
#include "util/buf.h"
#include "util/test.h"

static void from_cases(void)
{
	static const struct {
		const char *msg, *want; /* want NULL: -1 */
	} cases[] = {
	    {"From: alice@Send.Test\r\nTo: x@y\r\n\r\nhi\r\n", "send.test"},
	    {"from:<alice@send.test>\r\n\r\n", "send.test"},
	    {"From: Alice <alice@send.test>\r\n\r\n", "send.test"},
	    {"From: \"ceo@other.test\" <alice@send.test>\r\n\r\n", "send.test"},
	    {"From: \"Smith, Alice\" <alice@send.test>\r\n\r\n", "send.test"},
	    {"From: alice@send.test (Alice)\r\n\r\n", "send.test"},
	    {"From:\r\n Alice\r\n <alice@send.test>\r\n\r\n", "send.test"},
	    {"Subject: x\r\nFrom: a@b.test\r\n\r\nFrom: c@d.test\r\n", "b.test"}, /* the body is not a header */
	    {"From: alice@send.test\r\nFrom: ceo@other.test\r\n\r\n", NULL},
	    {"From: ceo@other.test\r\nTo: x@y\r\nfrom: alice@send.test\r\n\r\n", NULL},
	    {"From: ceo@other.test, alice@send.test\r\n\r\n", NULL},
	    {"From: Ceo <ceo@other.test>, Alice <alice@send.test>\r\n\r\n", NULL},
	    {"From: Alice <alice@send.test\r\n\r\n", NULL},
	    {"From: alice\r\n\r\n", NULL},
	    {"From: alice@\r\n\r\n", NULL},
	    {"To: x@y\r\n\r\n", NULL},
	    {"", NULL},
	};
	char out[256];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = cl_dkim_from_domain(cases[i].msg, strlen(cases[i].msg), out, sizeof out);
		if (cases[i].want)
			CL_CHECK(rc == 0 && strcmp(out, cases[i].want) == 0, "case %zu: rc %d, %s", i, rc,
				 rc == 0 ? out : "");
		else
			CL_CHECK(rc == -1, "case %zu: rc %d, %s", i, rc, rc == 0 ? out : "");
	}
	/* A domain that does not fit is refused, never cut to one that might be ours. */
	char small[8];
	const char *m = "From: a@send.test.example\r\n\r\n";
	CL_CHECK(cl_dkim_from_domain(m, strlen(m), small, sizeof small) == -1, "truncated");
	CL_CHECK(cl_dkim_from_domain(m, strlen(m), out, sizeof out) == 0 && !strcmp(out, "send.test.example"), "fits");

	/* A second From: behind more fields than the parser holds (found by dkim_from_fuzz): the
	 * header is refused, never judged by the first From: alone. */
	struct cl_buf b = {0};
	cl_buf_append_str(&b, "From: a@send.test\r\n");
	for (int i = 0; i < 600; i++)
		cl_buf_append_str(&b, "X-A: b\r\n");
	cl_buf_append_str(&b, "From: a@other.test\r\n\r\nbody\r\n");
	CL_CHECK(cl_dkim_from_domain(b.data, b.len, out, sizeof out) == -1, "two From: past the limit: %s", out);
	char *pem, pub[CL_DKIM_PUB_MAX];
	CL_CHECK(cl_dkim_keygen(CL_DKIM_ED25519, &pem, pub) == 0, "keygen");
	CL_CHECK(cl_dkim_sign(CL_DKIM_ED25519, pem, "send.test", "s1", b.data, b.len, 1700000000) == NULL,
		 "signed a header it could not hold");
	free(pem);
	cl_buf_free(&b);
}

static void sign_cases(void)
{
	const char *algs[] = {CL_DKIM_RSA, CL_DKIM_ED25519};
	const char *m = "From: a@send.test\r\nSubject: hi\r\n\r\nhello\r\n";
	for (size_t i = 0; i < 2; i++) {
		char *pem, pub[CL_DKIM_PUB_MAX];
		CL_CHECK(cl_dkim_keygen(algs[i], &pem, pub) == 0, "keygen %s", algs[i]);
		char *h = cl_dkim_sign(algs[i], pem, "send.test", "s1", m, strlen(m), 1700000000);
		CL_CHECK(h && !strncmp(h, "DKIM-Signature: v=1; a=", 23) && strstr(h, "d=send.test; s=s1;") &&
			     strstr(h, "h=from:subject:from;") && h[strlen(h) - 1] == '\n',
			 "%s: %s", algs[i], h ? h : "(null)");
		free(h);
		free(pem);
	}
}

int main(void)
{
	from_cases();
	sign_cases();
	return CL_TEST_END();
}
