/* addr_test.c - HELO and address syntax, and directive matching, table-driven. */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cache.h"
#include "util/test.h"

static void test_split(void)
{
	static const struct {
		const char *in;
		int utf8, ok;
		const char *local, *domain;
	} cases[] = {
	    {"Bob@Example.ORG", 0, 1, "bob", "example.org"},
	    {"\"john doe\"@example.com", 0, 1, "\"john doe\"", "example.com"},
	    {"a.b+tag@sub.example.com", 0, 1, "a.b+tag", "sub.example.com"},
	    {"user@[192.0.2.1]", 0, 1, "user", "[192.0.2.1]"},
	    {"jos\xc3\xa9@example.com", 1, 1, "jos\xc3\xa9", "example.com"},
	    {"jos\xc3\xa9@example.com", 0, 0, NULL, NULL},
	    {"a..b@example.com", 0, 0, NULL, NULL},
	    {".a@example.com", 0, 0, NULL, NULL},
	    {"a b@example.com", 0, 0, NULL, NULL},
	    {"a@-example.com", 0, 0, NULL, NULL},
	    {"a@example-.com", 0, 0, NULL, NULL},
	    {"a@exa_mple.com", 0, 0, NULL, NULL},
	    {"@example.com", 0, 0, NULL, NULL},
	    {"a@", 0, 0, NULL, NULL},
	    {"noat", 0, 0, NULL, NULL},
	    {"a@[999.0.0.1]", 0, 0, NULL, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char l[PA_LOCAL_MAX + 1], d[PA_DOMAIN_MAX + 1];
		int rc = pa_split(cases[i].in, cases[i].utf8, l, sizeof l, d, sizeof d);
		CL_CHECK((rc == 0) == cases[i].ok, "%s", cases[i].in);
		if (rc == 0 && cases[i].ok)
			CL_CHECK(strcmp(l, cases[i].local) == 0 && strcmp(d, cases[i].domain) == 0, "%s -> %s @ %s",
				 cases[i].in, l, d);
	}
	char long_local[80];
	memset(long_local, 'x', 65);
	strcpy(long_local + 65, "@e.com");
	char l[PA_LOCAL_MAX + 1], d[PA_DOMAIN_MAX + 1];
	CL_CHECK(pa_split(long_local, 0, l, sizeof l, d, sizeof d) < 0, "65-octet local part is refused");
}

static void test_helo(void)
{
	CL_CHECK(pa_helo_ok("mx.example.com"), "fqdn");
	CL_CHECK(pa_helo_ok("localhost"), "bare name tolerated");
	CL_CHECK(pa_helo_ok("[IPv6:2001:db8::1]"), "v6 literal");
	CL_CHECK(!pa_helo_ok(""), "empty");
	CL_CHECK(!pa_helo_ok("a b"), "space");
	CL_CHECK(!pa_helo_ok("[IPv6:nonsense]"), "bad literal");
}

/* snapshot with directives for one user (1), domain (2) and group (3). */
static void test_directives(void)
{
	static const struct {
		int level;
		const char *pat;
		int action;
	} dirs[] = {
	    {PC_LEVEL_USER, "spam@x.test", PC_REJECT},
	    {PC_LEVEL_USER, "@x.test", PC_QUARANTINE},
	    {PC_LEVEL_USER, "*.z.test", PC_REJECT},
	    {PC_LEVEL_USER, "*.a.z.test", PC_ACCEPT},
	};
	struct pc_snap *s = pc_snap_new();
	s->dirs = calloc(4, sizeof *s->dirs);
	for (size_t i = 0; i < 4; i++)
		s->dirs[s->ndirs++] = (struct pc_directive){dirs[i].level, 1, strdup(dirs[i].pat), dirs[i].action};
	char err[64];
	CL_CHECK(pc_snap_index(s, err, sizeof err) == 0, "index");
	static const struct {
		const char *sender;
		int want;
	} cases[] = {
	    {"spam@x.test", PC_REJECT},  {"ham@x.test", PC_QUARANTINE},
	    {"a@sub.x.test", -1},        {"a@z.test", PC_REJECT},
	    {"a@q.z.test", PC_REJECT},   {"a@a.z.test", PC_ACCEPT},
	    {"a@b.a.z.test", PC_ACCEPT}, {"", -1},
	    {"a@az.test", -1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int got = pc_directive_match(s, PC_LEVEL_USER, 1, cases[i].sender);
		CL_CHECK(got == cases[i].want, "%s: got %d want %d", cases[i].sender, got, cases[i].want);
	}
	CL_CHECK(pc_directive_match(s, PC_LEVEL_USER, 2, "spam@x.test") == -1, "other owner");
	CL_CHECK(pc_directive_match(s, PC_LEVEL_DOMAIN, 1, "spam@x.test") == -1, "other level");
	pc_snap_release(s);
}

int main(void)
{
	test_split();
	test_helo();
	test_directives();
	return CL_TEST_END();
}
