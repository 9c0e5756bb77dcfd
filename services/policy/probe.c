/* probe.c - RCPT probes against a downstream MTA, with a TTL cache. See probe.h. */
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/net.h"

#define PP_REPLY_MAX 4096 /* a whole (multi-line) reply; more is a broken peer */
#define PP_NBUCKETS  4096

struct pp_entry {
	char *key; /* "host|port|rcpt", rcpt lower-cased */
	enum pp_result result;
	double expires;
	struct pp_entry *next;
};

/* conn - one probe connection with its deadline. */
struct conn {
	int fd;
	double deadline;
	char buf[PP_REPLY_MAX + 1];
	size_t len;
};

static int ms_left(const struct conn *c)
{
	double left = (c->deadline - cl_now_seconds()) * 1000.0;
	return left < 1 ? 0 : (int)left;
}

int pp_reply_scan(const char *buf, size_t len, size_t *last, size_t *lastlen)
{
	const char *line = buf, *nl;
	while ((nl = memchr(line, '\n', len - (size_t)(line - buf))) != NULL) {
		size_t ll = (size_t)(nl - line);
		if (ll < 3 || line[0] < '2' || line[0] > '5')
			return -1;
		/* RFC 5321 4.2.1: every line of a reply carries the same code. "250-..." then "550 ..."
		 * is a broken peer, not an answer: taken as 550 it would be cached as "no such user". */
		if (line != buf && memcmp(line, buf, 3) != 0)
			return -1;
		if (ll == 3 || line[3] == ' ' || line[3] == '\r') {
			*last = (size_t)(line - buf);
			*lastlen = ll;
			if (line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9')
				return -2;
			return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		}
		if (line[3] != '-')
			return -1;
		line = nl + 1;
	}
	return 0;
}

/* read_reply - one complete SMTP reply (pp_reply_scan); returns the code, or -1 on timeout,
 * close or garbage. The last line stays in c->buf. */
static int read_reply(struct conn *c)
{
	c->len = 0;
	for (;;) {
		size_t last = 0, ll = 0;
		int code = pp_reply_scan(c->buf, c->len, &last, &ll);
		if (code > 0 || code == -2) {
			c->buf[last + ll] = '\0';
			memmove(c->buf, c->buf + last, ll + 1);
			c->len = ll;
			return code > 0 ? code : -1;
		}
		if (code < 0)
			return -1;
		if (c->len >= PP_REPLY_MAX)
			return -1;
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		if (poll(&p, 1, ms_left(c)) != 1)
			return -1;
		ssize_t n = recv(c->fd, c->buf + c->len, PP_REPLY_MAX - c->len, 0);
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
	}
}

/* command - send one line and read the reply; the reply code or -1. */
static int command(struct conn *c, const char *line)
{
	size_t n = strlen(line), off = 0;
	while (off < n) {
		struct pollfd p = {.fd = c->fd, .events = POLLOUT};
		if (poll(&p, 1, ms_left(c)) != 1)
			return -1;
		ssize_t w = send(c->fd, line + off, n - off, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return read_reply(c);
}

/* reply_text - the current reply line without CR, for logs. */
static void reply_text(const struct conn *c, const char *what, char *reply, size_t rlen)
{
	char tmp[300];
	cl_strlcpy(tmp, c->buf, sizeof tmp);
	tmp[strcspn(tmp, "\r\n")] = '\0';
	cl_snprintf(reply, rlen, "%s: %s", what, tmp);
}

enum pp_result pp_smtp_probe(const char *host, int port, const char *helo, const char *rcpt, int timeout_ms,
			     char *reply, size_t rlen)
{
	static char dummy[8];
	if (!reply) {
		reply = dummy;
		rlen = sizeof dummy;
	}
	reply[0] = '\0';
	/* The address travels inside an SMTP command line: refuse anything that could end it. */
	if (strpbrk(rcpt, "\r\n<>") || strlen(rcpt) > 256) {
		cl_snprintf(reply, rlen, "bad address");
		return PP_TEMPFAIL;
	}
	struct conn *c = malloc(sizeof *c);
	if (!c) {
		cl_snprintf(reply, rlen, "out of memory");
		return PP_TEMPFAIL;
	}
	c->deadline = cl_now_seconds() + timeout_ms / 1000.0;
	c->len = 0;
	c->buf[0] = '\0';
	c->fd = cl_net_dial(host, port, ms_left(c), reply, rlen);
	enum pp_result res = PP_TEMPFAIL;
	if (c->fd < 0) {
		free(c);
		return res;
	}
	char line[400];
	int code = read_reply(c);
	if (code != 220) {
		reply_text(c, code < 0 ? "no greeting" : "greeting", reply, rlen);
		goto out;
	}
	cl_snprintf(line, sizeof line, "EHLO %s\r\n", helo);
	code = command(c, line);
	if (code >= 500) {
		cl_snprintf(line, sizeof line, "HELO %s\r\n", helo);
		code = command(c, line);
	}
	if (code / 100 != 2) {
		reply_text(c, "EHLO", reply, rlen);
		goto out;
	}
	if (command(c, "MAIL FROM:<>\r\n") / 100 != 2) {
		reply_text(c, "MAIL", reply, rlen);
		goto out;
	}
	cl_snprintf(line, sizeof line, "RCPT TO:<%s>\r\n", rcpt);
	code = command(c, line);
	reply_text(c, "RCPT", reply, rlen);
	if (code / 100 == 2)
		res = PP_EXISTS;
	else if (code / 100 == 5)
		res = PP_NO_SUCH_USER;
	if (code > 0)
		command(c, "QUIT\r\n"); /* best effort, the answer is already known */
out:
	close(c->fd);
	free(c);
	return res;
}

int pp_init(struct pp_probe *p)
{
	p->nbuckets = PP_NBUCKETS;
	p->buckets = calloc(p->nbuckets, sizeof *p->buckets);
	p->count = 0;
	if (!p->buckets)
		return -1;
	pthread_mutex_init(&p->lock, NULL);
	return 0;
}

/* clear - drop every entry (lock held). */
static void clear(struct pp_probe *p, int only_expired)
{
	double now = cl_now_seconds();
	for (size_t i = 0; i < p->nbuckets; i++) {
		struct pp_entry **e = &p->buckets[i];
		while (*e) {
			if (only_expired && (*e)->expires > now) {
				e = &(*e)->next;
				continue;
			}
			struct pp_entry *dead = *e;
			*e = dead->next;
			free(dead->key);
			free(dead);
			p->count--;
		}
	}
}

void pp_fini(struct pp_probe *p)
{
	if (!p->buckets)
		return;
	clear(p, 0);
	free(p->buckets);
	p->buckets = NULL;
	pthread_mutex_destroy(&p->lock);
}

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* cache_get - a fresh cached answer for key; -1 when none. */
static int cache_get(struct pp_probe *p, const char *key)
{
	int r = -1;
	double now = cl_now_seconds();
	pthread_mutex_lock(&p->lock);
	for (struct pp_entry *e = p->buckets[hash(key) % p->nbuckets]; e; e = e->next)
		if (strcmp(e->key, key) == 0 && e->expires > now)
			r = (int)e->result;
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* cache_put - remember an answer; when full, expired entries go first, then everything
 * (a bounded cache that sometimes forgets costs a probe, never memory). */
static void cache_put(struct pp_probe *p, const char *key, enum pp_result r, int ttl_s)
{
	struct pp_entry *n = calloc(1, sizeof *n);
	if (!n || !(n->key = strdup(key))) {
		free(n);
		return;
	}
	n->result = r;
	n->expires = cl_now_seconds() + ttl_s;
	pthread_mutex_lock(&p->lock);
	if (p->count >= p->max_entries)
		clear(p, 1);
	if (p->count >= p->max_entries)
		clear(p, 0);
	struct pp_entry **b = &p->buckets[hash(key) % p->nbuckets];
	for (struct pp_entry **e = b; *e; e = &(*e)->next) {
		if (strcmp((*e)->key, key) == 0) { /* replace a stale answer */
			struct pp_entry *dead = *e;
			*e = dead->next;
			free(dead->key);
			free(dead);
			p->count--;
			break;
		}
	}
	n->next = *b;
	*b = n;
	p->count++;
	pthread_mutex_unlock(&p->lock);
}

enum pp_result pp_verify(struct pp_probe *p, const char *host, int port, const char *rcpt, int ttl_s, char *reply,
			 size_t rlen)
{
	char key[600];
	if (cl_snprintf(key, sizeof key, "%s|%d|%s", host, port, rcpt) < 0)
		return PP_TEMPFAIL;
	for (char *k = key; *k; k++)
		*k = (char)(*k >= 'A' && *k <= 'Z' ? *k + 32 : *k);
	int c = cache_get(p, key);
	if (c >= 0) {
		if (p->m_hits)
			cl_metric_inc(p->m_hits);
		if (reply)
			cl_snprintf(reply, rlen, "cached");
		return (enum pp_result)c;
	}
	enum pp_result r = pp_smtp_probe(host, port, p->helo_name, rcpt, p->timeout_ms, reply, rlen);
	if (p->m_probes[r])
		cl_metric_inc(p->m_probes[r]);
	if (r != PP_TEMPFAIL && ttl_s > 0)
		cache_put(p, key, r, ttl_s);
	return r;
}
