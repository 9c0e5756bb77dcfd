/* policy-load.c - load generator for bench/policy-bench, and the bare nng echo server it is
 * compared with.
 *
 *   policy-load echo URL WORKERS            REP server answering every message with itself
 *   policy-load run URL CLIENTS SECONDS JSON
 *                                           CLIENTS threads, each with its own REQ socket
 *                                           (one TCP connection), sending JSON as one frame
 *                                           back to back for SECONDS; prints one line:
 *                                           "requests=N rps=R p50_us=A p99_us=B errors=E cpu_s=C"
 *                                           (C: this process's own CPU time, user + system)
 *
 *   policy-load rawecho PORT                the floor under any RPC transport (bench/rpc-floor): plain
 *                                           loopback TCP, one blocking thread per connection,
 *                                           each frame a 4-octet length and the payload
 *   policy-load rawrun PORT CLIENTS SECONDS JSON
 *                                           as run, against rawecho
 *   policy-load rpcecho URL WORKERS         Clement's own RPC server (lib/rpc) echoing each
 *                                           request's body under a {"v":1} header
 *   policy-load rpcrun URL CLIENTS SECONDS JSON
 *                                           as run, the threads sharing one lib/rpc client (as a
 *                                           service's threads do), JSON as the body of a frame
 *   policy-load greet PORT N                N new SMTP sessions to 127.0.0.1:PORT one after
 *                                           another, each from its own source address
 *                                           127.2.x.y, timed from connect() to the end of its
 *                                           final "220 " line; prints "p50_ms=A p99_ms=B" (for
 *                                           bench/concurrency: a client in C adds less of its
 *                                           own time than Python's, which counts in
 *                                           bench/held-vm's emulated guest)
 *   policy-load greeter PORT                the floor under any greeting: accepts on
 *                                           127.0.0.1:PORT, writes "220 floor" and closes, one
 *                                           client after another (what greet measures against
 *                                           it is the machine's own cost of a session)
 *
 * Raw nng on both sides, no JSON work in the client, so the client costs the same against
 * either server and the difference is the server's work. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "rpc/rpc.h"
#include "util/daemon.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct echo_worker {
	nng_socket sock;
	pthread_t th;
};

/* echo_main - receive on a context, send the same message back, until the socket closes. */
static void *echo_main(void *arg)
{
	struct echo_worker *w = arg;
	nng_ctx ctx;
	nng_aio *aio;
	if (nng_ctx_open(&ctx, w->sock) != 0 || nng_aio_alloc(&aio, NULL, NULL) != 0)
		return NULL;
	for (;;) {
		nng_ctx_recv(ctx, aio);
		nng_aio_wait(aio);
		if (nng_aio_result(aio) != 0)
			break;
		nng_msg *m = nng_aio_get_msg(aio);
		nng_aio_set_msg(aio, m);
		nng_ctx_send(ctx, aio);
		nng_aio_wait(aio);
		if (nng_aio_result(aio) != 0) {
			nng_msg_free(m);
			if (nng_aio_result(aio) == NNG_ECLOSED)
				break;
		}
	}
	nng_aio_free(aio);
	nng_ctx_close(ctx);
	return NULL;
}

static int echo(const char *url, int workers)
{
	nng_socket s;
	if (nng_rep0_open(&s) != 0 || nng_listen(s, url, NULL, 0) != 0) {
		fprintf(stderr, "policy-load: cannot listen on %s\n", url);
		return 1;
	}
	cl_daemon_signals_init();
	struct echo_worker *w = calloc((size_t)workers, sizeof *w);
	for (int i = 0; i < workers; i++) {
		w[i].sock = s;
		pthread_create(&w[i].th, NULL, echo_main, &w[i]);
	}
	cl_daemon_wait();
	nng_close(s);
	for (int i = 0; i < workers; i++)
		pthread_join(w[i].th, NULL);
	free(w);
	return 0;
}

/* rpc_echo - lib/rpc's handler for rpcecho: the body back under a bare header. */
static cJSON *rpc_echo(void *ctx, const cJSON *req, const unsigned char *body, size_t blen, void **rbody, size_t *rblen)
{
	(void)ctx, (void)req;
	cJSON *r = cJSON_CreateObject();
	cJSON_AddNumberToObject(r, "v", 1);
	*rbody = malloc(blen ? blen : 1);
	if (*rbody && blen)
		memcpy(*rbody, body, blen);
	*rblen = blen;
	return r;
}

static int rpcecho(const char *url, int workers)
{
	char err[256];
	struct cl_rpc_server *s = cl_rpc_server_start(url, workers, rpc_echo, NULL, err, sizeof err);
	if (!s) {
		fprintf(stderr, "policy-load: %s\n", err);
		return 1;
	}
	cl_daemon_signals_init();
	cl_daemon_wait();
	cl_rpc_server_stop(s);
	return 0;
}

struct client {
	int raw;                  /* rawrun: plain TCP frames instead of an nng REQ socket */
	struct cl_rpc_client *rc; /* rpcrun: the shared lib/rpc client instead */
	const char *url;
	const char *payload;
	size_t plen;
	double until;
	double *lat; /* seconds, one per request */
	size_t n, cap;
	long errors;
	pthread_t th;
};

/* record - one answered request's latency, from its start t0. */
static void record(struct client *c, double t0)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 4096;
		c->lat = realloc(c->lat, c->cap * sizeof *c->lat);
	}
	c->lat[c->n++] = now_s() - t0;
}

/* full_io - all n octets through read or write; -1 on error or end of stream. */
static int full_io(int fd, void *buf, size_t n, int wr)
{
	char *p = buf;
	while (n > 0) {
		ssize_t k = wr ? write(fd, p, n) : read(fd, p, n);
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* raw_recv / raw_send - one frame (4-octet big-endian length, then the payload) read into buf
 * (cap octets; the length, or -1) or written from it (0, or -1). */
static long raw_recv(int fd, char *buf, size_t cap)
{
	uint32_t len;
	if (full_io(fd, &len, 4, 0) < 0 || ntohl(len) > cap || full_io(fd, buf, ntohl(len), 0) < 0)
		return -1;
	return (long)ntohl(len);
}

static int raw_send(int fd, const char *buf, size_t n)
{
	uint32_t len = htonl((uint32_t)n);
	return full_io(fd, &len, 4, 1) < 0 || full_io(fd, (void *)buf, n, 1) < 0 ? -1 : 0;
}

static int tcp_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static void *raw_conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[65536];
	long n;
	while ((n = raw_recv(fd, buf, sizeof buf)) >= 0)
		if (raw_send(fd, buf, (size_t)n) < 0)
			break;
	close(fd);
	return NULL;
}

/* rawecho - answer every frame with itself, one thread per connection, until killed. */
static int rawecho(int port)
{
	int l = tcp_socket(), one = 1;
	struct sockaddr_in a = loopback(port);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 128) < 0) {
		fprintf(stderr, "policy-load: cannot listen on 127.0.0.1:%d\n", port);
		return 1;
	}
	for (;;) {
		int fd = accept(l, NULL, NULL);
		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		pthread_t t;
		if (pthread_create(&t, NULL, raw_conn_main, (void *)(intptr_t)fd) != 0)
			close(fd);
		else
			pthread_detach(t);
	}
}

/* raw_client_main - client_main's loop over a plain TCP connection to rawecho. */
static void *raw_client_main(struct client *c)
{
	int fd = tcp_socket();
	struct sockaddr_in a = loopback(atoi(c->url));
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		c->errors++;
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	char buf[65536];
	while (now_s() < c->until) {
		double t0 = now_s();
		if (raw_send(fd, c->payload, c->plen) < 0 || raw_recv(fd, buf, sizeof buf) != (long)c->plen) {
			c->errors++;
			break;
		}
		record(c, t0);
	}
	close(fd);
	return NULL;
}

/* rpc_client_main - client_main's loop through the shared lib/rpc client. */
static void *rpc_client_main(struct client *c)
{
	cJSON *req = cJSON_CreateObject();
	cJSON_AddNumberToObject(req, "v", 1);
	cJSON_AddStringToObject(req, "op", "echo");
	char err[256];
	while (now_s() < c->until) {
		double t0 = now_s();
		nng_msg *r = NULL;
		cJSON *h = NULL;
		if (cl_rpc_call(c->rc, req, c->payload, c->plen, 5000, &r, &h, err, sizeof err) != CL_RPC_OK) {
			c->errors++;
			continue;
		}
		nng_msg_free(r);
		cJSON_Delete(h);
		record(c, t0);
	}
	cJSON_Delete(req);
	return NULL;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	if (c->raw)
		return raw_client_main(c);
	if (c->rc)
		return rpc_client_main(c);
	nng_socket s;
	if (nng_req0_open(&s) != 0 || nng_dial(s, c->url, NULL, 0) != 0) {
		c->errors++;
		return NULL;
	}
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000);
	while (now_s() < c->until) {
		double t0 = now_s();
		nng_msg *m;
		if (nng_msg_alloc(&m, 0) != 0 || nng_msg_append(m, c->payload, c->plen) != 0) {
			c->errors++;
			break;
		}
		if (nng_sendmsg(s, m, 0) != 0) {
			nng_msg_free(m);
			c->errors++;
			continue;
		}
		nng_msg *r;
		if (nng_recvmsg(s, &r, 0) != 0) {
			c->errors++;
			continue;
		}
		nng_msg_free(r);
		record(c, t0);
	}
	nng_close(s);
	return NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* quantile - the q quantile of n sorted values (0 for none): the value at index n * q. */
static double quantile(const double *sorted, size_t n, double q)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)((double)n * q);
	return sorted[i < n ? i : n - 1];
}

/* greet_one - session i: connect from 127.2.x.y, read to the end of the final "220 " line,
 * say QUIT. Returns the seconds from connect() to that line, or -1 with why in err. */
static double greet_one(int port, int i, char *err, size_t errlen)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct sockaddr_in src = {.sin_family = AF_INET};
	src.sin_addr.s_addr =
	    htonl((127u << 24) | (2u << 16) | ((unsigned)(i / 250) % 256 << 8) | (unsigned)(i % 250 + 1));
	struct sockaddr_in dst = loopback(port);
	char buf[1024];
	size_t n = 0;
	double t0 = now_s(), t = -1;
	if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0 || connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t r = recv(fd, buf + n, sizeof buf - 1 - n, 0);
		if (r <= 0) {
			snprintf(err, errlen, "no greeting: %s", r == 0 ? "closed" : strerror(errno));
			goto out;
		}
		n += (size_t)r;
		buf[n] = 0;
		/* the final line of a reply is "220 ..." (a continuation is "220-...") */
		const char *line = buf, *eol;
		while ((eol = strstr(line, "\r\n")) != NULL && strncmp(line, "220-", 4) == 0)
			line = eol + 2;
		if (eol && strncmp(line, "220 ", 4) == 0)
			break;
		if (eol || n == sizeof buf - 1) {
			snprintf(err, errlen, "not a 220 greeting: %.200s", buf);
			goto out;
		}
	}
	t = now_s() - t0;
	(void)!write(fd, "QUIT\r\n", 6);
out:
	close(fd);
	return t;
}

static int greet(int port, int n)
{
	double *lat = calloc((size_t)(n > 0 ? n : 1), sizeof *lat);
	if (!lat || n < 1)
		return 2;
	char err[300];
	for (int i = 0; i < n; i++)
		if ((lat[i] = greet_one(port, i, err, sizeof err)) < 0) {
			fprintf(stderr, "greet: session %d: %s\n", i, err);
			free(lat);
			return 1;
		}
	qsort(lat, (size_t)n, sizeof *lat, cmp_d);
	printf("p50_ms=%.3f p99_ms=%.3f\n", quantile(lat, (size_t)n, 0.5) * 1e3, quantile(lat, (size_t)n, 0.99) * 1e3);
	free(lat);
	return 0;
}

/* greeter - accept, greet, close; for ever. */
static int greeter(int port)
{
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in a = loopback(port);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 128) < 0) {
		fprintf(stderr, "greeter: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
		return 1;
	}
	static const char hello[] = "220 floor ESMTP\r\n";
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		(void)!write(fd, hello, sizeof hello - 1);
		close(fd);
	}
}

static int run(int mode, const char *url, int clients, double secs, const char *json)
{
	struct client *c = calloc((size_t)clients, sizeof *c);
	struct cl_rpc_client *rc = NULL;
	if (mode == 2) {
		char err[256];
		if (!(rc = cl_rpc_client_new(url, err, sizeof err)) || !cl_rpc_client_wait_connected(&rc, 1, 5000)) {
			fprintf(stderr, "policy-load: cannot connect to %s\n", url);
			return 1;
		}
	}
	double start = now_s();
	for (int i = 0; i < clients; i++) {
		c[i] = (struct client){.raw = mode == 1,
				       .rc = rc,
				       .url = url,
				       .payload = json,
				       .plen = strlen(json),
				       .until = start + secs};
		pthread_create(&c[i].th, NULL, client_main, &c[i]);
	}
	size_t total = 0;
	long errors = 0;
	for (int i = 0; i < clients; i++) {
		pthread_join(c[i].th, NULL);
		total += c[i].n;
		errors += c[i].errors;
	}
	double elapsed = now_s() - start;
	double *all = malloc((total ? total : 1) * sizeof *all);
	size_t k = 0;
	for (int i = 0; i < clients; i++) {
		memcpy(all + k, c[i].lat, c[i].n * sizeof *all);
		k += c[i].n;
		free(c[i].lat);
	}
	qsort(all, total, sizeof *all, cmp_d);
	double p50 = quantile(all, total, 0.5), p99 = quantile(all, total, 0.99);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		     ru.ru_stime.tv_usec / 1e6;
	printf("requests=%zu rps=%.0f p50_us=%.0f p99_us=%.0f errors=%ld cpu_s=%.3f\n", total, (double)total / elapsed,
	       p50 * 1e6, p99 * 1e6, errors, cpu);
	free(all);
	free(c);
	cl_rpc_client_free(rc);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "echo") == 0)
		return echo(argv[2], atoi(argv[3]));
	if (argc == 6 && strcmp(argv[1], "run") == 0)
		return run(0, argv[2], atoi(argv[3]), atof(argv[4]), argv[5]);
	if (argc == 3 && strcmp(argv[1], "rawecho") == 0)
		return rawecho(atoi(argv[2]));
	if (argc == 6 && strcmp(argv[1], "rawrun") == 0)
		return run(1, argv[2], atoi(argv[3]), atof(argv[4]), argv[5]);
	if (argc == 4 && strcmp(argv[1], "rpcecho") == 0)
		return rpcecho(argv[2], atoi(argv[3]));
	if (argc == 6 && strcmp(argv[1], "rpcrun") == 0)
		return run(2, argv[2], atoi(argv[3]), atof(argv[4]), argv[5]);
	if (argc == 4 && strcmp(argv[1], "greet") == 0)
		return greet(atoi(argv[2]), atoi(argv[3]));
	if (argc == 3 && strcmp(argv[1], "greeter") == 0)
		return greeter(atoi(argv[2]));
	fprintf(stderr, "usage: policy-load echo URL WORKERS | run URL CLIENTS SECONDS JSON\n"
			"       policy-load rawecho PORT | rawrun PORT CLIENTS SECONDS JSON\n"
			"       policy-load rpcecho URL WORKERS | rpcrun URL CLIENTS SECONDS JSON\n"
			"       policy-load greet PORT N | greeter PORT\n");
	return 2;
}
