/* health_test.c - /healthz answers while the process holds descriptors past FD_SETSIZE
 * (smtp-edge holds one per SMTP session: a select()-based server refused them). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "svc/health.h"
#include "util/test.h"

static int ready(void *ctx, char *why, size_t whylen)
{
	(void)ctx;
	(void)why;
	(void)whylen;
	return 1;
}

/* get - "GET path" on 127.0.0.1:port; the response's first bytes in out ("" on failure). */
static void get(int port, const char *path, char *out, size_t outlen)
{
	out[0] = '\0';
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char req[128];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\n\r\n", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && write(fd, req, (size_t)n) == n) {
		size_t got = 0;
		ssize_t k;
		while (got + 1 < outlen && (k = read(fd, out + got, outlen - 1 - got)) > 0)
			got += (size_t)k;
		out[got] = '\0';
	}
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < FD_SETSIZE + 64) {
		printf("health_test: the file descriptor hard limit (%llu) is too low to test; skipped\n",
		       (unsigned long long)rl.rlim_max);
		return CL_TEST_END();
	}
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > FD_SETSIZE + 256 ? FD_SETSIZE + 256 : rl.rlim_max;
	CL_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "raise the soft limit");
	struct cl_metrics *m = cl_metrics_new();
	char err[256] = "", resp[512];
	struct cl_health *h = NULL;
	int port = -1;
	for (int tries = 0; tries < 20 && !h; tries++) { /* the free port may be taken meanwhile */
		char addr[64];
		port = cl_test_free_port();
		snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
		h = cl_health_start(addr, m, ready, NULL, NULL, err, sizeof err);
	}
	CL_CHECK(h != NULL, "health server started: %s", err);
	/* Then fill every descriptor below FD_SETSIZE, as a busy smtp-edge does with its
	 * sessions: the connections the server accepts now are past it. */
	int last = -1;
	while ((last = dup(0)) >= 0 && last < FD_SETSIZE)
		;
	CL_CHECK(last >= FD_SETSIZE, "descriptors past FD_SETSIZE in use (%d)", last);
	if (h) {
		get(port, "/healthz", resp, sizeof resp);
		CL_CHECK(strncmp(resp, "HTTP/1.", 7) == 0 && strstr(resp, " 200 ") != NULL,
			 "/healthz is 200 with descriptors past FD_SETSIZE, got \"%.80s\"", resp);
		get(port, "/metrics", resp, sizeof resp);
		CL_CHECK(strstr(resp, " 200 ") != NULL, "/metrics is 200, got \"%.80s\"", resp);
	}
	cl_health_stop(h);
	cl_metrics_free(m);
	for (int fd = 3; fd <= last; fd++)
		close(fd);
	return CL_TEST_END();
}
