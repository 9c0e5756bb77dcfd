/* dns.c - the asynchronous resolver on libunbound. See dns.h.
 *
 * The cache is libunbound's own, bounded by its options: cache-min-ttl / cache-max-ttl clamp
 * positive answers to 60 s - 1 h and cache-max-negative-ttl keeps NXDOMAIN/NODATA at most
 * 1 h (a blocklist's negative TTL is usually its SOA minimum, often 60 s - 15 min). */
#include "dns/dns.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>

#include "util/buf.h"
#include "util/config.h"

#define DNS_TTL_MIN "60"
#define DNS_TTL_MAX "3600"
#define DNS_FWD_MAX 8

struct query {
	struct cl_dns *d;
	struct query *prev, *next;
	int id;
	cl_dns_cb cb;
	void *arg;
};

struct cl_dns {
	struct ub_ctx *ctx;
	struct query *pending; /* asked, not answered nor cancelled (doubly linked) */
};

/* set_forwarders - "host:port[,host[:port]...]" as unbound's "host@port" forwarders. */
static int set_forwarders(struct ub_ctx *ctx, const char *spec, char *err, size_t errlen)
{
	int n = 0;
	for (const char *p = spec; *p;) {
		size_t k = strcspn(p, ", ");
		char item[128], host[100], fwd[128];
		int port = 53;
		if (k == 0 || k >= sizeof item) {
			snprintf(err, errlen, "bad resolver list \"%s\" (host:port[,host:port...] expected)", spec);
			return -1;
		}
		memcpy(item, p, k);
		item[k] = '\0';
		unsigned char bin[16];
		if (inet_pton(AF_INET, item, bin) == 1 || inet_pton(AF_INET6, item, bin) == 1) {
			cl_strlcpy(host, item, sizeof host);
		} else if (cl_parse_hostport(item, host, sizeof host, &port) < 0 ||
			   (inet_pton(AF_INET, host, bin) != 1 && inet_pton(AF_INET6, host, bin) != 1)) {
			snprintf(err, errlen, "bad resolver \"%s\" (numeric address with optional :port expected)",
				 item);
			return -1;
		}
		snprintf(fwd, sizeof fwd, "%s@%d", host, port);
		int rc = ub_ctx_set_fwd(ctx, fwd);
		if (rc != 0) {
			snprintf(err, errlen, "resolver %s: %s", item, ub_strerror(rc));
			return -1;
		}
		if (++n > DNS_FWD_MAX) {
			snprintf(err, errlen, "more than %d resolvers", DNS_FWD_MAX);
			return -1;
		}
		p += k;
		p += strspn(p, ", ");
	}
	if (n == 0) {
		snprintf(err, errlen, "empty resolver list");
		return -1;
	}
	/* Forwarders on this host (a local unbound, the tests' server) must be usable, and they
	 * are asked for every name: libunbound would otherwise answer the loopback reverse zone
	 * and the RFC 6761 names (.test, .invalid) itself. */
	static const char *own[] = {
	    "127.in-addr.arpa. transparent",
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa. transparent",
	    "test. transparent", "invalid. transparent"};
	for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
		if (ub_ctx_set_option(ctx, "local-zone:", own[i]) != 0) {
			snprintf(err, errlen, "cannot pass %s to the forwarders", own[i]);
			return -1;
		}
	if (ub_ctx_set_option(ctx, "do-not-query-localhost:", "no") != 0) {
		snprintf(err, errlen, "cannot allow forwarders on loopback");
		return -1;
	}
	return 0;
}

struct cl_dns *cl_dns_new(const char *spec, char *err, size_t errlen)
{
	struct cl_dns *d = calloc(1, sizeof *d);
	if (!d || !(d->ctx = ub_ctx_create())) {
		snprintf(err, errlen, "cannot create the resolver (out of memory)");
		free(d);
		return NULL;
	}
	int rc = 0;
	const char *what = "";
	if (ub_ctx_set_option(d->ctx, "cache-min-ttl:", DNS_TTL_MIN) != 0 ||
	    ub_ctx_set_option(d->ctx, "cache-max-ttl:", DNS_TTL_MAX) != 0 ||
	    ub_ctx_set_option(d->ctx, "cache-max-negative-ttl:", DNS_TTL_MAX) != 0) {
		snprintf(err, errlen, "cannot set the resolver's cache bounds");
		goto fail;
	}
	if (!spec || !spec[0]) {
		/* full recursion with libunbound's built-in root hints */
	} else if (strcmp(spec, "system") == 0) {
		what = "/etc/resolv.conf";
		rc = ub_ctx_resolvconf(d->ctx, NULL);
		/* as the C library's resolver would (nsswitch "files dns"); a host without
		 * /etc/hosts simply has no such names */
		if (rc == 0)
			(void)ub_ctx_hosts(d->ctx, NULL);
		if (rc == 0)
			rc = ub_ctx_set_option(d->ctx, "do-not-query-localhost:", "no");
	} else if (set_forwarders(d->ctx, spec, err, errlen) < 0) {
		goto fail;
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", what, ub_strerror(rc));
		goto fail;
	}
	rc = ub_ctx_async(d->ctx, 1);
	if (rc != 0) {
		snprintf(err, errlen, "resolver thread: %s", ub_strerror(rc));
		goto fail;
	}
	return d;
fail:
	ub_ctx_delete(d->ctx);
	free(d);
	return NULL;
}

void cl_dns_free(struct cl_dns *d)
{
	if (!d)
		return;
	while (d->pending) {
		struct query *q = d->pending;
		d->pending = q->next;
		ub_cancel(d->ctx, q->id);
		free(q);
	}
	ub_ctx_delete(d->ctx);
	free(d);
}

int cl_dns_fd(struct cl_dns *d)
{
	return ub_fd(d->ctx);
}

int cl_dns_process(struct cl_dns *d)
{
	return ub_process(d->ctx) == 0 ? 0 : -1;
}

static void unlink_query(struct query *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		q->d->pending = q->next;
	if (q->next)
		q->next->prev = q->prev;
}

/* wire_name - an uncompressed wire-format name (RFC 1035 3.1) as text without the final dot.
 * 0, or -1 when malformed or too long. */
static int wire_name(const unsigned char *p, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0;
	while (i < len && p[i] != 0) {
		size_t l = p[i++];
		if (l > 63 || i + l > len || o + l + 2 > outlen)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (size_t k = 0; k < l; k++) {
			unsigned char c = p[i + k];
			out[o++] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
		}
		i += l;
	}
	if (i >= len)
		return -1;
	out[o] = '\0';
	return 0;
}

/* convert - one libunbound record as text in rr; 0 or -1. */
static int convert(int type, const char *data, int len, char *rr)
{
	const unsigned char *p = (const unsigned char *)data;
	switch (type) {
	case CL_DNS_TYPE_A:
		return len == 4 && inet_ntop(AF_INET, p, rr, CL_DNS_NAME_MAX) ? 0 : -1;
	case CL_DNS_TYPE_AAAA:
		return len == 16 && inet_ntop(AF_INET6, p, rr, CL_DNS_NAME_MAX) ? 0 : -1;
	case CL_DNS_TYPE_PTR:
		return wire_name(p, (size_t)len, rr, CL_DNS_NAME_MAX);
	case CL_DNS_TYPE_TXT: {
		size_t l = len > 0 ? p[0] : 0;
		if (len <= 0 || l + 1 > (size_t)len || l >= CL_DNS_NAME_MAX)
			return -1;
		for (size_t k = 0; k < l; k++)
			rr[k] = (p[k + 1] >= 0x20 && p[k + 1] < 0x7f) ? (char)p[k + 1] : '?';
		rr[l] = '\0';
		return 0;
	}
	default:
		return -1;
	}
}

/* on_result - libunbound's callback (inside ub_process, on the loop's thread). */
static void on_result(void *arg, int err, struct ub_result *r)
{
	struct query *q = arg;
	struct cl_dns_answer a = {.status = CL_DNS_ERROR};
	if (err == 0 && r) {
		if (r->rcode == 3 || r->nxdomain)
			a.status = CL_DNS_NXDOMAIN;
		else if (r->rcode != 0 || r->bogus)
			a.status = CL_DNS_ERROR;
		else if (!r->havedata)
			a.status = CL_DNS_NODATA;
		else {
			for (int i = 0; r->data[i] && a.n < CL_DNS_MAX_ANSWERS; i++)
				if (convert(r->qtype, r->data[i], r->len[i], a.rr[a.n]) == 0)
					a.n++;
			a.status = a.n > 0 ? CL_DNS_OK : CL_DNS_ERROR;
		}
	}
	if (r)
		ub_resolve_free(r);
	unlink_query(q);
	cl_dns_cb cb = q->cb;
	void *cbarg = q->arg;
	free(q);
	cb(cbarg, &a);
}

int cl_dns_query(struct cl_dns *d, const char *name, int type, cl_dns_cb cb, void *arg)
{
	struct query *q = calloc(1, sizeof *q);
	if (!q)
		return -1;
	*q = (struct query){.d = d, .cb = cb, .arg = arg};
	/* With a resolver thread, even a cached answer arrives only through ub_process(), so
	 * linking before asking is safe. */
	q->next = d->pending;
	if (d->pending)
		d->pending->prev = q;
	d->pending = q;
	if (ub_resolve_async(d->ctx, name, type, 1 /* IN */, q, on_result, &q->id) != 0) {
		unlink_query(q);
		free(q);
		return -1;
	}
	return q->id;
}

void cl_dns_cancel(struct cl_dns *d, int id)
{
	for (struct query *q = d->pending; q; q = q->next)
		if (q->id == id) {
			ub_cancel(d->ctx, id);
			unlink_query(q);
			free(q);
			return;
		}
}

int cl_dns_reverse_name(const char *ip, const char *zone, char *out, size_t outlen)
{
	unsigned char b[16];
	struct cl_buf tmp;
	char part[8];
	int n = 0;
	if (inet_pton(AF_INET, ip, b) == 1) {
		n = snprintf(out, outlen, "%u.%u.%u.%u.%s", b[3], b[2], b[1], b[0], zone ? zone : "in-addr.arpa");
		return n > 0 && (size_t)n < outlen ? 0 : -1;
	}
	if (inet_pton(AF_INET6, ip, b) != 1)
		return -1;
	cl_buf_init(&tmp, outlen);
	int bad = 0;
	for (int i = 15; i >= 0; i--) {
		snprintf(part, sizeof part, "%x.%x.", b[i] & 0xf, b[i] >> 4);
		bad |= cl_buf_append_str(&tmp, part);
	}
	bad |= cl_buf_append_str(&tmp, zone ? zone : "ip6.arpa");
	bad |= tmp.len + 1 > outlen;
	if (!bad) {
		memcpy(out, tmp.data, tmp.len);
		out[tmp.len] = '\0';
	}
	cl_buf_free(&tmp);
	return bad ? -1 : 0;
}
