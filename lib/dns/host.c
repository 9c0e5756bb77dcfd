/* host.c - blocking, thread-safe host lookups on top of the event-driven resolver (see
 * host.h). One mutex guards the struct cl_dns: callers ask under it, the resolver's thread
 * runs cl_dns_process() under it (so every callback runs with it held), and a caller whose
 * deadline passed cancels its queries under it, after which dns.h promises no callback: the
 * answers may live on the caller's stack. */
#include "dns/host.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct cl_dns_host {
	struct cl_dns *dns;
	pthread_mutex_t mu;
	pthread_cond_t answered; /* broadcast whenever a callback ran */
	pthread_t thread;
	int stop[2]; /* pipe: cl_dns_host_free wakes the thread */
};

struct slot {
	struct cl_dns_host *h;
	struct cl_dns_answer a;
	int done, id;
};

/* drive - the resolver's thread: wait for answers, hand them to their callbacks. */
static void *drive(void *arg)
{
	struct cl_dns_host *h = arg;
	struct pollfd p[2] = {{.fd = cl_dns_fd(h->dns), .events = POLLIN}, {.fd = h->stop[0], .events = POLLIN}};
	for (;;) {
		int rv = poll(p, 2, -1);
		if (rv < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (rv > 0 && p[0].revents) {
			pthread_mutex_lock(&h->mu);
			cl_dns_process(h->dns);
			pthread_mutex_unlock(&h->mu);
		}
	}
	return NULL;
}

struct cl_dns_host *cl_dns_host_new(const char *spec, char *err, size_t errlen)
{
	struct cl_dns_host *h = calloc(1, sizeof *h);
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->stop[0] = h->stop[1] = -1;
	if (!(h->dns = cl_dns_new(spec, err, errlen)))
		goto fail;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	int bad = pthread_cond_init(&h->answered, &ca);
	pthread_condattr_destroy(&ca);
	if (bad || pthread_mutex_init(&h->mu, NULL) != 0) {
		snprintf(err, errlen, "cannot set up the resolver's lock");
		goto fail;
	}
	if (pipe(h->stop) < 0 || pthread_create(&h->thread, NULL, drive, h) != 0) {
		snprintf(err, errlen, "cannot start the resolver's thread: %s", strerror(errno));
		goto fail;
	}
	return h;
fail:
	if (h->stop[0] >= 0)
		close(h->stop[0]), close(h->stop[1]);
	cl_dns_free(h->dns);
	free(h);
	return NULL;
}

void cl_dns_host_free(struct cl_dns_host *h)
{
	if (!h)
		return;
	(void)!write(h->stop[1], "x", 1);
	pthread_join(h->thread, NULL);
	close(h->stop[0]);
	close(h->stop[1]);
	cl_dns_free(h->dns);
	pthread_cond_destroy(&h->answered);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

/* on_answer - runs inside cl_dns_process, h->mu held. */
static void on_answer(void *arg, const struct cl_dns_answer *a)
{
	struct slot *s = arg;
	s->a = *a;
	s->done = 1;
	pthread_cond_broadcast(&s->h->answered);
}

/* host_name_ok - a name worth asking: letters, digits, '-', '_' and '.', 1..253 octets. */
static int host_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 253)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_' || *p == '.'))
			return 0;
	return 1;
}

enum cl_dns_status cl_dns_host_resolve(struct cl_dns_host *h, const char *name, int timeout_ms,
				       struct cl_net_addrs *out, char *err, size_t errlen)
{
	unsigned char bin[16];
	out->n = 0;
	if (inet_pton(AF_INET, name, bin) == 1 || inet_pton(AF_INET6, name, bin) == 1) {
		snprintf(out->addr[0], sizeof out->addr[0], "%s", name);
		out->n = 1;
		return CL_DNS_OK;
	}
	if (!host_name_ok(name)) {
		snprintf(err, errlen, "\"%.100s\" is not a host name", name);
		return CL_DNS_ERROR;
	}
	struct slot s[2] = {{.h = h}, {.h = h}};
	static const int types[2] = {CL_DNS_TYPE_A, CL_DNS_TYPE_AAAA};
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L)
		dl.tv_sec++, dl.tv_nsec -= 1000000000L;
	int timed_out = 0;
	pthread_mutex_lock(&h->mu);
	for (int i = 0; i < 2; i++)
		if ((s[i].id = cl_dns_query(h->dns, name, types[i], on_answer, &s[i])) < 0) {
			s[i].done = 1;
			s[i].a.status = CL_DNS_ERROR;
		}
	while (!(s[0].done && s[1].done) && !timed_out)
		timed_out = pthread_cond_timedwait(&h->answered, &h->mu, &dl) == ETIMEDOUT;
	for (int i = 0; i < 2; i++)
		if (!s[i].done) /* dns.h: a cancelled query's callback never runs */
			cl_dns_cancel(h->dns, s[i].id);
	pthread_mutex_unlock(&h->mu);

	int nx = 0, fail = 0;
	for (int i = 0; i < 2; i++) {
		if (!s[i].done) {
			fail = 1;
			continue;
		}
		nx |= s[i].a.status == CL_DNS_NXDOMAIN;
		fail |= s[i].a.status == CL_DNS_ERROR;
		for (int k = 0; s[i].a.status == CL_DNS_OK && k < s[i].a.n && out->n < CL_NET_ADDRS_MAX; k++)
			snprintf(out->addr[out->n++], sizeof out->addr[0], "%s", s[i].a.rr[k]);
	}
	if (out->n > 0)
		return CL_DNS_OK;
	const char *why = nx ? "no such domain" : timed_out ? "DNS timed out" : fail ? "DNS failure" : "no address";
	snprintf(err, errlen, "%.200s: %s", name, why);
	return nx ? CL_DNS_NXDOMAIN : fail ? CL_DNS_ERROR : CL_DNS_NODATA;
}

int cl_dns_host_dial_resolver(void *arg, const char *name, int timeout_ms, struct cl_net_addrs *out, char *err,
			      size_t errlen)
{
	return cl_dns_host_resolve(arg, name, timeout_ms, out, err, errlen) == CL_DNS_OK ? 0 : -1;
}
