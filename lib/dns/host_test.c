/* host_test.c - cl_dns_host_resolve: numeric addresses without a query, malformed names
 * refused, the deadline kept against a forwarder that never answers, many threads at once,
 * the TTL clamp and the negative cache, and, when CLEMENT_TEST_DNS=host:port names a live server (tests/integration/harness/dns.py,
 * as test_reputation.py runs the unit tests), a name that only that server knows. */
#include "dns/host.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/metrics.h"
#include "util/test.h"

static void test_numeric_and_malformed(void)
{
	char err[200] = "";
	struct cl_dns_host *h = cl_dns_host_new("127.0.0.1:9", err, sizeof err);
	CL_CHECK(h != NULL, "new: %s", err);
	if (!h)
		return;
	struct cl_net_addrs a;
	CL_CHECK(cl_dns_host_resolve(h, "192.0.2.7", 100, &a, err, sizeof err) == CL_DNS_OK && a.n == 1 &&
		     strcmp(a.addr[0], "192.0.2.7") == 0,
		 "an IPv4 address is its own answer");
	CL_CHECK(cl_dns_host_resolve(h, "2001:db8::1", 100, &a, err, sizeof err) == CL_DNS_OK && a.n == 1 &&
		     strcmp(a.addr[0], "2001:db8::1") == 0,
		 "an IPv6 address is its own answer");
	static const char *bad[] = {"", "a b.example", "host.example\r\nQUIT", "x/y"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CL_CHECK(cl_dns_host_resolve(h, bad[i], 100, &a, err, sizeof err) == CL_DNS_ERROR && a.n == 0 &&
			     strstr(err, "is not a host name"),
			 "\"%s\" refused: %s", bad[i], err);
	cl_dns_host_free(h);
	CL_CHECK(cl_dns_host_new("dns.example:53", err, sizeof err) == NULL && err[0], "a bad spec is refused");
}

/* test_deadline - a forwarder that takes the query and never answers (a bound UDP socket
 * nobody reads): the lookup gives up at its deadline, as an error, not before. */
static void test_deadline(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof sin;
	CL_CHECK(s >= 0 && bind(s, (struct sockaddr *)&sin, sizeof sin) == 0 &&
		     getsockname(s, (struct sockaddr *)&sin, &sl) == 0,
		 "silent server");
	char spec[64], err[200] = "";
	snprintf(spec, sizeof spec, "127.0.0.1:%d", ntohs(sin.sin_port));
	struct cl_dns_host *h = cl_dns_host_new(spec, err, sizeof err);
	CL_CHECK(h != NULL, "new: %s", err);
	if (h) {
		struct cl_net_addrs a;
		double t0 = cl_now_seconds();
		enum cl_dns_status st = cl_dns_host_resolve(h, "slow.example", 300, &a, err, sizeof err);
		double took = cl_now_seconds() - t0;
		CL_CHECK(st == CL_DNS_ERROR && a.n == 0 && strcmp(err, "slow.example: DNS timed out") == 0, "st=%d %s",
			 st, err);
		CL_CHECK(took >= 0.29 && took < 1.5, "gave up at the deadline: %.2f s", took);
		cl_dns_host_free(h);
	}
	close(s);
}

struct worker {
	struct cl_dns_host *h;
	const char *name, *want;
	int ok;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	char err[200];
	struct cl_net_addrs a;
	w->ok = 1;
	for (int i = 0; i < 20; i++) {
		int found = 0;
		if (cl_dns_host_resolve(w->h, w->name, 3000, &a, err, sizeof err) == CL_DNS_OK)
			for (int k = 0; k < a.n; k++)
				found |= strcmp(a.addr[k], w->want) == 0;
		w->ok &= found;
	}
	return NULL;
}

/* test_live - against the integration test's server (test_dns_names.py): host.test A
 * 127.0.0.7, short-ttl.test A 127.0.0.8 with a TTL of 1 s, nxdomain.test absent; eight
 * threads at once. The test counts the questions the server got. */
static void test_live(const char *server)
{
	char err[200] = "";
	struct cl_dns_host *h = cl_dns_host_new(server, err, sizeof err);
	CL_CHECK(h != NULL, "new %s: %s", server, err);
	if (!h)
		return;
	struct cl_net_addrs a;
	/* twice: the second is answered by the negative cache (the test counts the questions) */
	for (int i = 0; i < 2; i++)
		CL_CHECK(cl_dns_host_resolve(h, "no-such-host.nxdomain.test", 3000, &a, err, sizeof err) ==
				 CL_DNS_NXDOMAIN &&
			     strstr(err, "no such domain"),
			 "nxdomain: %s", err);
	/* A 1 s TTL is kept at least 60 s (dns.h's clamp): asked again 2 s later, still cached. */
	for (int i = 0; i < 2; i++) {
		if (i)
			sleep(2);
		CL_CHECK(cl_dns_host_resolve(h, "short-ttl.test", 3000, &a, err, sizeof err) == CL_DNS_OK && a.n == 1 &&
			     strcmp(a.addr[0], "127.0.0.8") == 0,
			 "short-ttl.test: %s", err);
	}
	struct worker w[8];
	pthread_t th[8];
	for (int i = 0; i < 8; i++) {
		w[i] = (struct worker){h, "host.test", "127.0.0.7", 0};
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		CL_CHECK(w[i].ok, "thread %d resolved host.test to 127.0.0.7 every time", i);
	}
	cl_dns_host_free(h);
}

int main(void)
{
	test_numeric_and_malformed();
	test_deadline();
	const char *server = getenv("CLEMENT_TEST_DNS");
	if (server && *server)
		test_live(server);
	return CL_TEST_END();
}
