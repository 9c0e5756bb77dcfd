/* net.c - listen and dial over TCP. See net.h. */
#include "util/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/config.h"

int cl_net_sockaddr(const char *hostport, struct sockaddr_storage *ss, socklen_t *len, char *err, size_t errlen)
{
	char host[128];
	int port;
	if (cl_parse_hostport(hostport, host, sizeof host, &port) < 0) {
		cl_snprintf(err, errlen, "\"%s\" is not host:port", hostport);
		return -1;
	}
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof *sin;
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof *sin6;
	} else {
		cl_snprintf(err, errlen, "\"%s\": host must be a numeric IP address", hostport);
		return -1;
	}
	return 0;
}

int cl_net_listen(const char *hostport, int backlog, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	if (cl_net_sockaddr(hostport, &ss, &slen, err, errlen) < 0)
		return -1;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, slen) < 0 || listen(fd, backlog) < 0) {
		cl_snprintf(err, errlen, "cannot listen on %s: %s", hostport, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* ms_until - milliseconds from now to deadline (CLOCK_MONOTONIC seconds), at least 0. */
static int ms_until(double deadline)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double left = (deadline - ((double)ts.tv_sec + ts.tv_nsec / 1e9)) * 1000.0;
	return left < 1 ? 0 : (int)left;
}

/* connect_one - a non-blocking connect to the numeric address addr, port, until deadline;
 * the descriptor, or -1 with the reason (errno's, or ETIMEDOUT) in *why. */
static int connect_one(const char *addr, int port, double deadline, int *why)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	char hp[64], err[120];
	cl_snprintf(hp, sizeof hp, strchr(addr, ':') ? "[%s]:%d" : "%s:%d", addr, port);
	if (cl_net_sockaddr(hp, &ss, &slen, err, sizeof err) < 0) {
		*why = EINVAL;
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*why = errno;
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, slen) == 0)
		return fd;
	*why = errno;
	if (errno == EINPROGRESS) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		int rv;
		do
			rv = poll(&p, 1, ms_until(deadline));
		while (rv < 0 && errno == EINTR);
		if (rv == 0)
			*why = ETIMEDOUT;
		else if (rv < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			*why = errno;
		else if (soerr != 0)
			*why = soerr;
		else
			return fd;
	}
	close(fd);
	return -1;
}

int cl_net_dial(const struct cl_net_resolver *r, const char *host, int port, int timeout_ms, char *err, size_t errlen)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double deadline = (double)ts.tv_sec + ts.tv_nsec / 1e9 + timeout_ms / 1000.0;
	struct cl_net_addrs a = {0};
	unsigned char bin[16];
	char why_r[300];
	cl_snprintf(why_r, sizeof why_r, "%s: no resolver for host names", host);
	if (inet_pton(AF_INET, host, bin) == 1 || inet_pton(AF_INET6, host, bin) == 1) {
		a.n = 1;
		cl_strlcpy(a.addr[0], host, sizeof a.addr[0]);
	} else if (!r || !r->fn || r->fn(r->arg, host, timeout_ms, &a, why_r, sizeof why_r) < 0 || a.n <= 0) {
		cl_snprintf(err, errlen, "cannot resolve %s", why_r); /* why_r names the host */
		return -1;
	}
	int fd = -1, why = ETIMEDOUT;
	for (int i = 0; i < a.n && fd < 0 && ms_until(deadline) > 0; i++)
		fd = connect_one(a.addr[i], port, deadline, &why);
	if (fd < 0)
		cl_snprintf(err, errlen, "cannot connect to %s port %d: %s", host, port,
			    why == ETIMEDOUT ? "timed out" : strerror(why));
	return fd;
}
