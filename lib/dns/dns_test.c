/* dns_test.c - the resolver against a real DNS server on loopback when one is given
 * (CLEMENT_TEST_DNS=host:port, as tests/integration/test_reputation.py does), and its pure
 * parts (reverse names, resolver specs) always. */
#include "dns/dns.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "util/test.h"

struct got {
	int done;
	struct cl_dns_answer a;
};

static void on_answer(void *arg, const struct cl_dns_answer *a)
{
	struct got *g = arg;
	g->a = *a;
	g->done = 1;
}

static void test_reverse(void)
{
	char out[CL_DNS_NAME_MAX];
	CL_CHECK(cl_dns_reverse_name("192.0.2.99", "bl.example", out, sizeof out) == 0 &&
		     strcmp(out, "99.2.0.192.bl.example") == 0,
		 "%s", out);
	CL_CHECK(cl_dns_reverse_name("192.0.2.99", NULL, out, sizeof out) == 0 &&
		     strcmp(out, "99.2.0.192.in-addr.arpa") == 0,
		 "%s", out);
	CL_CHECK(cl_dns_reverse_name("2001:db8:1:2:3:4:567:89ab", "bl.example", out, sizeof out) == 0 &&
		     strcmp(out, "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example") == 0,
		 "%s", out);
	CL_CHECK(cl_dns_reverse_name("::1", NULL, out, sizeof out) == 0 && strstr(out, ".ip6.arpa") != NULL, "%s", out);
	CL_CHECK(cl_dns_reverse_name("not-an-ip", "bl.example", out, sizeof out) < 0, "bad ip");
	CL_CHECK(cl_dns_reverse_name("192.0.2.99", "bl.example", out, 10) < 0, "too small");
}

static void test_specs(void)
{
	static const struct {
		const char *spec;
		int ok;
	} t[] = {
	    {"127.0.0.1:5353", 1},
	    {"127.0.0.1:5353,127.0.0.2:53", 1},
	    {"127.0.0.1", 1},
	    {"[::1]:53", 1},
	    {"system", 1},
	    {"", 1},
	    {"dns.example:53", 0},
	    {"127.0.0.1:99999", 0},
	    {",", 0},
	    {"127.0.0.1:x", 0},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char err[200] = "";
		struct cl_dns *d = cl_dns_new(t[i].spec, err, sizeof err);
		CL_CHECK((d != NULL) == t[i].ok, "spec \"%s\": %s", t[i].spec, err);
		CL_CHECK(d || err[0], "spec \"%s\" refused without a reason", t[i].spec);
		cl_dns_free(d);
	}
}

/* wait_for - drive the resolver as the loop does until g is answered (at most 5 s). */
static void wait_for(struct cl_dns *d, struct got *g)
{
	for (int i = 0; i < 50 && !g->done; i++) {
		struct pollfd p = {.fd = cl_dns_fd(d), .events = POLLIN};
		if (poll(&p, 1, 100) > 0)
			cl_dns_process(d);
	}
}

/* test_live - against the server the integration test serves (tests/integration/dnsserver.py
 * zone "bl.test"): 2.0.0.127.bl.test A 127.0.0.2, 1.0.0.127.bl.test absent. */
static void test_live(const char *server)
{
	char err[200];
	struct cl_dns *d = cl_dns_new(server, err, sizeof err);
	CL_CHECK(d != NULL, "%s", err);
	if (!d)
		return;
	struct got g1 = {0}, g2 = {0}, g3 = {0};
	CL_CHECK(cl_dns_query(d, "2.0.0.127.bl.test", CL_DNS_TYPE_A, on_answer, &g1) > 0, "query");
	CL_CHECK(cl_dns_query(d, "1.0.0.127.bl.test", CL_DNS_TYPE_A, on_answer, &g2) > 0, "query");
	int id = cl_dns_query(d, "4.0.0.127.bl.test", CL_DNS_TYPE_A, on_answer, &g3);
	cl_dns_cancel(d, id);
	wait_for(d, &g1);
	wait_for(d, &g2);
	CL_CHECK(g1.done && g1.a.status == CL_DNS_OK && g1.a.n == 1 && strcmp(g1.a.rr[0], "127.0.0.2") == 0,
		 "status %d n %d %s", g1.a.status, g1.a.n, g1.a.rr[0]);
	CL_CHECK(g2.done && g2.a.status == CL_DNS_NXDOMAIN, "status %d", g2.a.status);
	CL_CHECK(!g3.done, "a cancelled query was called back");
	/* A second ask is answered from the cache (the same answer). */
	struct got g4 = {0};
	cl_dns_query(d, "2.0.0.127.bl.test", CL_DNS_TYPE_A, on_answer, &g4);
	wait_for(d, &g4);
	CL_CHECK(g4.done && g4.a.status == CL_DNS_OK, "status %d", g4.a.status);
	/* A query still pending at free is cancelled (no leak, no call). */
	struct got g5 = {0};
	cl_dns_query(d, "5.0.0.127.bl.test", CL_DNS_TYPE_A, on_answer, &g5);
	cl_dns_free(d);
	CL_CHECK(!g5.done, "called back after free");
}

int main(void)
{
	test_reverse();
	test_specs();
	const char *server = getenv("CLEMENT_TEST_DNS");
	if (server && server[0])
		test_live(server);
	return CL_TEST_END();
}
