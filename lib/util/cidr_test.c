/* cidr_test.c - addresses, CIDR parsing, the network-list grammar of every setting that
 * names networks, and longest-prefix lookup, table-driven. */
#include <string.h>

#include "util/cidr.h"
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
		struct cl_ip a;
		int plen = -1;
		int rc = cl_cidr_parse(cases[i].in, &a, &plen);
		CL_CHECK((rc == 0) == cases[i].ok, "%s", cases[i].in);
		if (rc == 0 && cases[i].ok)
			CL_CHECK(a.family == cases[i].family && plen == cases[i].plen, "%s: family %d plen %d",
				 cases[i].in, a.family, plen);
	}
	struct cl_ip a;
	cl_cidr_parse("192.0.2.77/24", &a, &(int){0});
	CL_CHECK(a.b[3] == 0, "host bits are masked");
	cl_ip_parse("127.8.9.1", &a);
	CL_CHECK(cl_ip_is_loopback(&a), "127/8 is loopback");
	cl_ip_parse("::1", &a);
	CL_CHECK(cl_ip_is_loopback(&a), "::1 is loopback");
	cl_ip_parse("::2", &a);
	CL_CHECK(!cl_ip_is_loopback(&a), "::2 is not");
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
	struct cl_netset s;
	memset(&s, 0, sizeof s);
	for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
		struct cl_ip a;
		int plen;
		cl_cidr_parse(nets[i], &a, &plen);
		cl_netset_add(&s, &a, plen, i);
	}
	cl_netset_finish(&s);
	static const struct {
		const char *ip;
		long want;
	} cases[] = {
	    {"10.1.2.3", 2},        {"10.1.2.4", 1},      {"10.2.0.1", 0},      {"11.0.0.1", 5},
	    {"::ffff:10.1.2.3", 2}, {"2001:db8:1::5", 4}, {"2001:db8:2::5", 3}, {"2001:db9::1", -1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct cl_ip a;
		cl_ip_parse(cases[i].ip, &a);
		long got = cl_netset_find(&s, &a, NULL, NULL);
		CL_CHECK(got == cases[i].want, "%s: got %ld want %ld", cases[i].ip, got, cases[i].want);
	}
	/* The predicate skips entries: 10.1.2.4 matches /16 twice (idx 1 and 6, both odd/even). */
	struct cl_ip a;
	cl_ip_parse("10.1.2.3", &a);
	CL_CHECK(cl_netset_find(&s, &a, only_odd, NULL) == 1, "predicate picks the next most specific");
	cl_netset_free(&s);
}

static void test_list(void)
{
	static const struct {
		const char *list;
		const char *err;      /* NULL: accepted; else a substring of the error */
		size_t n;             /* networks when accepted */
		const char *in, *out; /* an address inside, one outside (NULL: none to try) */
	} cases[] = {
	    {"", NULL, 0, NULL, "10.0.0.1"},
	    {" , ,\t", NULL, 0, NULL, "::1"},
	    {"127.0.0.0/8,::1", NULL, 2, "::1", "::2"},
	    {"127.0.0.0/8, 203.0.113.0/24", NULL, 2, "203.0.113.200", "203.0.114.1"},
	    {"10.0.0.0/8 fd00::/8\n192.0.2.7", NULL, 3, "192.0.2.7", "192.0.2.8"},
	    {"192.0.2.7", NULL, 1, "::ffff:192.0.2.7", "192.0.2.6"},
	    {"2001:db8::1", NULL, 1, "2001:db8::1", "2001:db8::2"},
	    {"0.0.0.0/0", NULL, 1, "198.51.100.1", "2001:db8::1"},
	    {"::/0", NULL, 1, "2001:db8::1", NULL},
	    {"10.0.0.1/8", "host bits set after the prefix: 10.0.0.1/8", 0, NULL, NULL},
	    {"10.0.0.0/8,bogus,::1", "not a network: bogus", 0, NULL, NULL},
	    {"10.0.0.0/33", "not a network: 10.0.0.0/33", 0, NULL, NULL},
	    {"2001:db8::/129", "not a network: 2001:db8::/129", 0, NULL, NULL},
	    {"10.0.0.0/8;11.0.0.0/8", "not a network: 10.0.0.0/8;11.0.0.0/8", 0, NULL, NULL},
	    {"example.com", "not a network: example.com", 0, NULL, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct cl_netset s = {0};
		char err[200] = "";
		int rc = cl_netset_parse(&s, "CLEMENT_X", cases[i].list, err, sizeof err);
		if (cases[i].err) {
			CL_CHECK(rc < 0 && strstr(err, cases[i].err) && !strncmp(err, "CLEMENT_X: ", 11), "%s: %s",
				 cases[i].list, err);
		} else {
			CL_CHECK(rc == 0 && s.n == cases[i].n, "%s: rc %d n %zu (%s)", cases[i].list, rc, s.n, err);
			if (cases[i].in)
				CL_CHECK(cl_netset_has(&s, cases[i].in), "%s has %s", cases[i].list, cases[i].in);
			if (cases[i].out)
				CL_CHECK(!cl_netset_has(&s, cases[i].out), "%s lacks %s", cases[i].list, cases[i].out);
			CL_CHECK(!cl_netset_has(&s, "not-an-ip"), "%s: junk address", cases[i].list);
		}
		cl_netset_free(&s);
	}
}

static void test_format(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"192.0.2.0/24", "192.0.2.0/24"},
	    {"192.0.2.1", "192.0.2.1/32"},
	    {"2001:DB8:0::/32", "2001:db8::/32"},
	    {"::ffff:10.0.0.0/104", "10.0.0.0/8"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct cl_ip a;
		int plen;
		char out[64] = "";
		CL_CHECK(cl_cidr_parse(cases[i].in, &a, &plen) == 0 && cl_cidr_format(&a, plen, out, sizeof out) == 0 &&
			     !strcmp(out, cases[i].out),
			 "%s -> %s", cases[i].in, out);
	}
	struct cl_ip a;
	int plen;
	char small[8];
	cl_cidr_parse("2001:db8::/32", &a, &plen);
	CL_CHECK(cl_cidr_format(&a, plen, small, sizeof small) < 0, "too small a buffer fails");
}

int main(void)
{
	test_parse();
	test_set();
	test_list();
	test_format();
	return CL_TEST_END();
}
