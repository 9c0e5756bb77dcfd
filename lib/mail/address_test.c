/* address_test.c - table-driven tests of the RFC 5321 path parser. */
#include <string.h>

#include "mail/address.h"
#include "util/test.h"
#include "util/utf8.h"

struct addr_case {
	const char *in;
	enum cl_addr_kind kind;
	int utf8_ok;
	enum cl_addr_err want;
	const char *addr; /* expected address on success */
};

static const struct addr_case cases[] = {
    {"<alice@example.org>", CL_ADDR_MAIL, 0, CL_ADDR_OK, "alice@example.org"},
    {" <alice@example.org>", CL_ADDR_MAIL, 0, CL_ADDR_OK, "alice@example.org"},
    {"<>", CL_ADDR_MAIL, 0, CL_ADDR_OK, ""},
    {"<>", CL_ADDR_RCPT, 0, CL_ADDR_SYNTAX, NULL},
    {"<@a.example,@b.example:u@c.example>", CL_ADDR_RCPT, 0, CL_ADDR_OK, "u@c.example"},
    {"<a.b+tag@sub.example.org>", CL_ADDR_RCPT, 0, CL_ADDR_OK, "a.b+tag@sub.example.org"},
    {"<\"john doe\"@example.org>", CL_ADDR_RCPT, 0, CL_ADDR_OK, "\"john doe\"@example.org"},
    {"<u@[192.0.2.1]>", CL_ADDR_RCPT, 0, CL_ADDR_OK, "u@[192.0.2.1]"},
    {"<u@[IPv6:2001:db8::1]>", CL_ADDR_RCPT, 0, CL_ADDR_OK, "u@[IPv6:2001:db8::1]"},
    {"<a@b.example> SIZE=1000 BODY=8BITMIME", CL_ADDR_MAIL, 0, CL_ADDR_OK, "a@b.example"},
    {"<a@b.example> AUTH=<>", CL_ADDR_MAIL, 0, CL_ADDR_OK, "a@b.example"},
    /* hostile and malformed */
    {"<;sleep 5;>", CL_ADDR_MAIL, 0, CL_ADDR_SYNTAX, NULL},
    {"<a'--@x>", CL_ADDR_MAIL, 0, CL_ADDR_SYNTAX, NULL},
    {"<${run{/bin/true}}@x>", CL_ADDR_MAIL, 0, CL_ADDR_SYNTAX, NULL},
    {"<`id`@x.example>", CL_ADDR_MAIL, 0, CL_ADDR_SYNTAX, NULL},
    {"<\"a;b\"@x.example>", CL_ADDR_MAIL, 0, CL_ADDR_SYNTAX, NULL},
    {"<bob>", CL_ADDR_RCPT, 0, CL_ADDR_NOT_FQDN, NULL},
    {"<bob@>", CL_ADDR_RCPT, 0, CL_ADDR_NOT_FQDN, NULL},
    {"<bob@localhost>", CL_ADDR_RCPT, 0, CL_ADDR_NOT_FQDN, NULL},
    {"<bob@-x.example>", CL_ADDR_RCPT, 0, CL_ADDR_SYNTAX, NULL},
    {"<bob@x..example>", CL_ADDR_RCPT, 0, CL_ADDR_SYNTAX, NULL},
    {"<.bob@x.example>", CL_ADDR_RCPT, 0, CL_ADDR_SYNTAX, NULL},
    {"<bob@x.example", CL_ADDR_RCPT, 0, CL_ADDR_SYNTAX, NULL},
    {"bob@x.example", CL_ADDR_RCPT, 0, CL_ADDR_SYNTAX, NULL},
    {"<bob@x.example>junk", CL_ADDR_RCPT, 0, CL_ADDR_SYNTAX, NULL},
    {"<bob@x.example>\r\n", CL_ADDR_RCPT, 0, CL_ADDR_SYNTAX, NULL},
    {"<a@b.example> AUTH=x+0D+0AInjected", CL_ADDR_MAIL, 0, CL_ADDR_PARAM_SYNTAX, NULL},
    {"<a@b.example> SIZE=12x", CL_ADDR_MAIL, 0, CL_ADDR_PARAM_SYNTAX, NULL},
    {"<a@b.example> BODY=BINARYMIME", CL_ADDR_MAIL, 0, CL_ADDR_BAD_BODY, NULL},
    {"<a@b.example> NOTIFY=NEVER", CL_ADDR_RCPT, 0, CL_ADDR_PARAM_UNKNOWN, NULL},
    {"<a@b.example> RET=FULL", CL_ADDR_MAIL, 0, CL_ADDR_PARAM_UNKNOWN, NULL},
    {"<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@b.example>", CL_ADDR_RCPT, 0, CL_ADDR_TOO_LONG,
     NULL},
    /* RFC 6531 */
    {"<jos\xc3\xa9@b.example>", CL_ADDR_MAIL, 0, CL_ADDR_UTF8, NULL},
    {"<jos\xc3\xa9@b.example> SMTPUTF8", CL_ADDR_MAIL, 0, CL_ADDR_OK, "jos\xc3\xa9@b.example"},
    {"<zo\xc3\xab@b.example>", CL_ADDR_RCPT, 1, CL_ADDR_OK, "zo\xc3\xab@b.example"},
    {"<zo\xc3\xab@b.example>", CL_ADDR_RCPT, 0, CL_ADDR_UTF8, NULL},
    {"<a\xff@b.example> SMTPUTF8", CL_ADDR_MAIL, 0, CL_ADDR_UTF8, NULL},
    {"<a\xc0\xaf@b.example> SMTPUTF8", CL_ADDR_MAIL, 0, CL_ADDR_UTF8, NULL}, /* overlong */
};

int main(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct addr_case *c = &cases[i];
		struct cl_addr a;
		enum cl_addr_err e = cl_addr_parse(c->in, strlen(c->in), c->kind, c->utf8_ok, &a);
		CL_CHECK(e == c->want, "case %zu %s: got %d want %d", i, c->in, (int)e, (int)c->want);
		if (e == CL_ADDR_OK && c->addr)
			CL_CHECK(strcmp(a.addr, c->addr) == 0, "case %zu: addr %s", i, a.addr);
	}
	struct cl_addr a;
	const char *p = "<a@b.example> SIZE=1000 BODY=8BITMIME SMTPUTF8";
	CL_CHECK(cl_addr_parse(p, strlen(p), CL_ADDR_MAIL, 0, &a) == CL_ADDR_OK && a.size == 1000 && a.body_8bit &&
		     a.smtputf8,
		 "parameters");
	/* not NUL-terminated input: the parser reads only n bytes */
	char raw[3] = {'<', '>', 'X'};
	CL_CHECK(cl_addr_parse(raw, 2, CL_ADDR_MAIL, 0, &a) == CL_ADDR_OK && a.null_path, "length-bounded");
	CL_CHECK(cl_utf8_valid((const unsigned char *)"\xed\xa0\x80", 3) == 0, "surrogate refused");
	return CL_TEST_END();
}
