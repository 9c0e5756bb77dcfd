/* net_test.c - cl_net_sockaddr's grammar, cl_net_listen on loopback, and cl_net_dial:
 * connected, refused, every address of a name (from the resolver hook) tried, no lookup without a hook, and the deadline kept against a peer
 * that never answers (a listener whose accept queue is full drops the SYN). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/net.h"
#include "util/test.h"

static const struct {
	const char *in;
	int family; /* 0: refused */
	int port;
	const char *why;
} addrs[] = {
    {"127.0.0.1:25", AF_INET, 25, ""},
    {"0.0.0.0:9101", AF_INET, 9101, ""},
    {":2525", AF_INET, 2525, ""},
    {"[::1]:587", AF_INET6, 587, ""},
    {"[::]:0", AF_INET6, 0, ""},
    {"localhost:25", 0, 0, "\"localhost:25\": host must be a numeric IP address"},
    {"127.0.0.1", 0, 0, "\"127.0.0.1\" is not host:port"},
    {"127.0.0.1:65536", 0, 0, "is not host:port"},
    {"127.0.0.1:x", 0, 0, "is not host:port"},
    {"[::1:25", 0, 0, "is not host:port"},
    {"::1:25", AF_INET6, 25, ""}, /* the last colon splits: unbracketed IPv6 works */
};

static int port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &len);
	return ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
					: ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check_sockaddr(void)
{
	for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
		struct sockaddr_storage ss;
		socklen_t len = 0;
		char err[128] = "";
		int rc = cl_net_sockaddr(addrs[i].in, &ss, &len, err, sizeof err);
		if (addrs[i].family == 0) {
			CL_CHECK(rc == -1 && strstr(err, addrs[i].why), "%s refused: %s", addrs[i].in, err);
			continue;
		}
		int port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
						    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
		CL_CHECK(
		    rc == 0 && ss.ss_family == addrs[i].family && port == addrs[i].port &&
			len == (addrs[i].family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)),
		    "%s: rc=%d family=%d port=%d err=%s", addrs[i].in, rc, ss.ss_family, port, err);
	}
}

/* fake_resolve - a resolver hook as lib/dns provides: "two.example" is ::1 then 127.0.0.1. */
static int fake_resolve(void *arg, const char *host, int timeout_ms, struct cl_net_addrs *out, char *err, size_t errlen)
{
	(void)arg, (void)timeout_ms;
	if (strcmp(host, "two.example") != 0) {
		snprintf(err, errlen, "%s: no such domain", host);
		return -1;
	}
	out->n = 2;
	strcpy(out->addr[0], "::1");
	strcpy(out->addr[1], "127.0.0.1");
	return 0;
}

static void check_listen_and_dial(void)
{
	char err[160] = "";
	int l = cl_net_listen("127.0.0.1:0", 16, err, sizeof err);
	CL_CHECK(l >= 0, "listen on loopback: %s", err);
	if (l < 0)
		return;
	CL_CHECK((fcntl(l, F_GETFL) & O_NONBLOCK) && (fcntl(l, F_GETFD) & FD_CLOEXEC), "non-blocking, close-on-exec");
	int port = port_of(l);
	char addr[64];
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	int again = cl_net_listen(addr, 16, err, sizeof err);
	CL_CHECK(again == -1 && strstr(err, "cannot listen on 127.0.0.1:") && strstr(err, "in use"), "port taken: %s",
		 err);

	int c = cl_net_dial(NULL, "127.0.0.1", port, 2000, err, sizeof err);
	CL_CHECK(c >= 0 && (fcntl(c, F_GETFL) & O_NONBLOCK), "dial loopback: %s", err);
	if (c >= 0)
		close(c);
	/* A name goes to the caller's resolver (lib/dns in the services): its addresses are tried
	 * in turn (::1 first, where nothing listens, then 127.0.0.1); without one, no lookup. */
	struct cl_net_resolver r = {fake_resolve, NULL};
	c = cl_net_dial(&r, "two.example", port, 2000, err, sizeof err);
	CL_CHECK(c >= 0, "dial by name: %s", err);
	if (c >= 0)
		close(c);
	c = cl_net_dial(&r, "none.example", port, 2000, err, sizeof err);
	CL_CHECK(c == -1 && strcmp(err, "cannot resolve none.example: no such domain") == 0, "no such name: %s", err);
	c = cl_net_dial(NULL, "localhost", port, 2000, err, sizeof err);
	CL_CHECK(c == -1 && strcmp(err, "cannot resolve localhost: no resolver for host names") == 0,
		 "util resolves no name itself: %s", err);
	close(l);

	c = cl_net_dial(NULL, "127.0.0.1", port, 2000, err, sizeof err);
	char want[96];
	snprintf(want, sizeof want, "cannot connect to 127.0.0.1 port %d: Connection refused", port);
	CL_CHECK(c == -1 && strcmp(err, want) == 0, "refused: %s", err);
}

/* check_deadline - a listener that never accepts, with a backlog of 0, takes one or two
 * connections; the SYNs of the next are dropped and the dial must give up at its deadline. */
static void check_deadline(void)
{
	char err[160] = "";
	int l = cl_net_listen("127.0.0.1:0", 0, err, sizeof err);
	CL_CHECK(l >= 0, "listen: %s", err);
	if (l < 0)
		return;
	int port = port_of(l), fill[8], nfill = 0, c = -1;
	double took = 0;
	for (; nfill < 8; nfill++) {
		double t0 = now();
		c = cl_net_dial(NULL, "127.0.0.1", port, 300, err, sizeof err);
		took = now() - t0;
		if (c < 0)
			break;
		fill[nfill] = c;
	}
	CL_CHECK(c == -1 && strstr(err, "timed out"), "a full queue times out: %s", err);
	CL_CHECK(took >= 0.25 && took < 5, "gave up at the deadline, not before, not much after: %.2f s", took);
	for (int i = 0; i < nfill; i++)
		close(fill[i]);
	close(l);
}

int main(void)
{
	check_sockaddr();
	check_listen_and_dial();
	check_deadline();
	return CL_TEST_END();
}