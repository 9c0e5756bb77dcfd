/* net_test.c - addresses, CIDR parsing and longest-prefix lookup, table-driven. */
#include <string.h>

#include "net.h"
#include "util/test.h"

static void test_parse(void)
{
	static const struct {
		const char *in;
		int ok, family, plen;
	} cases[] = {
	    {"192.0.2.1", 1, 4, 32},
	    {"192.0.2.0/24", 1, 4, 24},
	    {"2001:db8::/32", 1, 6, 32},
	    {"::1", 1, 6, 128},
	    {"::ffff:10.0.0.0/104", 1, 4, 8},
	    {"::ffff:10.0.0.1", 1, 4, 32},
	    {"10.0.0.0/33", 0, 0, 0},
	    {"10.0.0.0/", 0, 0, 0},
	    {"10.0.0.0/-1", 0, 0, 0},
	    {"10.0.0.0/8x", 0, 0, 0},
	    {"nonsense", 0, 0, 0},
	    {"", 0, 0, 0},
	    {"::ffff:10.0.0.0/64", 0, 0, 0},
	    {"2001:db8::/129", 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct pn_addr a;
		int plen = -1;
		int rc = pn_cidr_parse(cases[i].in, &a, &plen);
		CL_CHECK((rc == 0) == cases[i].ok, "%s", cases[i].in);
		if (rc == 0 && cases[i].ok)
			CL_CHECK(a.family == cases[i].family && plen == cases[i].plen, "%s: family %d plen %d",
				 cases[i].in, a.family, plen);
	}
	struct pn_addr a;
	pn_cidr_parse("192.0.2.77/24", &a, &(int){0});
	CL_CHECK(a.b[3] == 0, "host bits are masked");
	pn_addr_parse("127.8.9.1", &a);
	CL_CHECK(pn_is_loopback(&a), "127/8 is loopback");
	pn_addr_parse("::1", &a);
	CL_CHECK(pn_is_loopback(&a), "::1 is loopback");
	pn_addr_parse("::2", &a);
	CL_CHECK(!pn_is_loopback(&a), "::2 is not");
}

static int only_odd(void *arg, size_t idx)
{
	(void)arg;
	return (int)(idx & 1);
}

static void test_set(void)
{
	static const char *nets[] = {"10.0.0.0/8",      "10.1.0.0/16", "10.1.2.3",   "2001:db8::/32",
				     "2001:db8:1::/48", "0.0.0.0/0",   "10.1.0.0/16"};
	struct pn_set s;
	memset(&s, 0, sizeof s);
	for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
		struct pn_addr a;
		int plen;
		pn_cidr_parse(nets[i], &a, &plen);
		pn_set_add(&s, &a, plen, i);
	}
	pn_set_finish(&s);
	static const struct {
		const char *ip;
		long want;
	} cases[] = {
	    {"10.1.2.3", 2},        {"10.1.2.4", 1},      {"10.2.0.1", 0},      {"11.0.0.1", 5},
	    {"::ffff:10.1.2.3", 2}, {"2001:db8:1::5", 4}, {"2001:db8:2::5", 3}, {"2001:db9::1", -1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct pn_addr a;
		pn_addr_parse(cases[i].ip, &a);
		long got = pn_set_find(&s, &a, NULL, NULL);
		CL_CHECK(got == cases[i].want, "%s: got %ld want %ld", cases[i].ip, got, cases[i].want);
	}
	/* The predicate skips entries: 10.1.2.4 matches /16 twice (idx 1 and 6, both odd/even). */
	struct pn_addr a;
	pn_addr_parse("10.1.2.3", &a);
	CL_CHECK(pn_set_find(&s, &a, only_odd, NULL) == 1, "predicate picks the next most specific");
	pn_set_free(&s);
}

int main(void)
{
	test_parse();
	test_set();
	return CL_TEST_END();
}
