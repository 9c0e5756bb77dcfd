/* probe.c - RCPT probes against a downstream MTA, with a TTL cache. See probe.h. */
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mail/smtp_client.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/metrics.h"

#define PP_NBUCKETS 4096

struct pp_entry {
	char *key; /* "host|port|rcpt", rcpt lower-cased */
	enum pp_result result;
	double expires;
	struct pp_entry *next;
};

/* reply_text - the current reply's final line (or what failed), for logs. */
static void reply_text(const struct cl_smtpc *c, const char *what, const char *err, char *reply, size_t rlen)
{
	char tmp[300];
	cl_strlcpy(tmp, c->last[0] ? c->last : err, sizeof tmp);
	cl_snprintf(reply, rlen, "%s: %s", what, tmp);
}

enum pp_result pp_smtp_probe(const struct cl_net_resolver *r, const char *host, int port, const char *helo,
			     const char *rcpt, int timeout_ms, char *reply, size_t rlen)
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
	struct cl_smtpc *c = malloc(sizeof *c);
	if (!c) {
		cl_snprintf(reply, rlen, "out of memory");
		return PP_TEMPFAIL;
	}
	enum pp_result res = PP_TEMPFAIL;
	/* timeout_ms bounds the whole dialogue: it is the deadline as well as each wait */
	if (cl_smtpc_connect(c, r, host, port, timeout_ms, timeout_ms, reply, rlen) < 0) {
		free(c);
		return res;
	}
	char line[400], err[200] = "";
	if (cl_smtpc_cmd(c, NULL, err, sizeof err) < 0 || c->code != 220) {
		reply_text(c, c->code ? "greeting" : "no greeting", err, reply, rlen);
		goto out;
	}
	cl_snprintf(line, sizeof line, "EHLO %s", helo);
	int rc = cl_smtpc_cmd(c, line, err, sizeof err);
	if (rc == 0 && c->code >= 500) {
		cl_snprintf(line, sizeof line, "HELO %s", helo);
		rc = cl_smtpc_cmd(c, line, err, sizeof err);
	}
	if (rc < 0 || c->code / 100 != 2) {
		reply_text(c, "EHLO", err, reply, rlen);
		goto out;
	}
	if (cl_smtpc_cmd(c, "MAIL FROM:<>", err, sizeof err) < 0 || c->code / 100 != 2) {
		reply_text(c, "MAIL", err, reply, rlen);
		goto out;
	}
	cl_snprintf(line, sizeof line, "RCPT TO:<%s>", rcpt);
	rc = cl_smtpc_cmd(c, line, err, sizeof err);
	reply_text(c, "RCPT", err, reply, rlen);
	if (rc == 0 && c->code / 100 == 2)
		res = PP_EXISTS;
	else if (rc == 0 && c->code / 100 == 5)
		res = PP_NO_SUCH_USER;
	if (rc == 0)
		cl_smtpc_cmd(c, "QUIT", err, sizeof err); /* best effort, the answer is already known */
out:
	cl_smtpc_close(c);
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

/* cache_get - a fresh cached answer for key; -1 when none. */
static int cache_get(struct pp_probe *p, const char *key)
{
	int r = -1;
	double now = cl_now_seconds();
	pthread_mutex_lock(&p->lock);
	for (struct pp_entry *e = p->buckets[cl_hash_str(key) % p->nbuckets]; e; e = e->next)
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
	struct pp_entry **b = &p->buckets[cl_hash_str(key) % p->nbuckets];
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
	enum pp_result r = pp_smtp_probe(p->resolver, host, port, p->helo_name, rcpt, p->timeout_ms, reply, rlen);
	if (p->m_probes[r])
		cl_metric_inc(p->m_probes[r]);
	if (r != PP_TEMPFAIL && ttl_s > 0)
		cache_put(p, key, r, ttl_s);
	return r;
}
