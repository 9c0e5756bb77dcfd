/* cidr.c - addresses, networks and network sets. See cidr.h. */
#include "util/cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int cl_ip_parse(const char *s, struct cl_ip *a)
{
	memset(a, 0, sizeof *a);
	if (inet_pton(AF_INET, s, a->b) == 1) {
		a->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->b) != 1)
		return -1;
	a->family = 6;
	if (memcmp(a->b, v4mapped, 12) == 0) {
		memmove(a->b, a->b + 12, 4);
		memset(a->b + 4, 0, 12);
		a->family = 4;
	}
	return 0;
}

/* mask - clear every bit after the first plen. */
static void mask(struct cl_ip *a, int plen)
{
	int bytes = a->family == 4 ? 4 : 16;
	for (int i = 0; i < bytes; i++) {
		int keep = plen - i * 8;
		if (keep >= 8)
			continue;
		a->b[i] &= keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
	}
}

int cl_cidr_parse(const char *s, struct cl_ip *a, int *plen)
{
	char host[64];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	if (hl == 0 || hl >= sizeof host)
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	/* Parse as given first: "::ffff:10.0.0.0/104" must shift its prefix by 96. */
	struct cl_ip raw;
	int was6 = inet_pton(AF_INET6, host, raw.b) == 1;
	if (cl_ip_parse(host, a) < 0)
		return -1;
	int max = was6 ? 128 : 32;
	long n = max;
	if (slash) {
		char *end;
		if (!slash[1] || slash[1] == '-' || slash[1] == '+')
			return -1;
		n = strtol(slash + 1, &end, 10);
		if (*end || n < 0 || n > max)
			return -1;
	}
	if (was6 && a->family == 4) {
		if (n < 96)
			return -1; /* a mapped prefix wider than the mapped range means nothing useful */
		n -= 96;
	}
	*plen = (int)n;
	mask(a, *plen);
	return 0;
}

int cl_ip_is_loopback(const struct cl_ip *a)
{
	static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	if (a->family == 4)
		return a->b[0] == 127;
	return memcmp(a->b, one, 16) == 0;
}

int cl_netset_add(struct cl_netset *s, const struct cl_ip *net, int plen, size_t idx)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct cl_netset_entry *v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	struct cl_netset_entry *e = &s->v[s->n++];
	e->net = *net;
	e->plen = plen;
	mask(&e->net, plen);
	e->idx = idx;
	if (net->family == 4)
		s->lens4[plen] = 1;
	else
		s->lens6[plen] = 1;
	return 0;
}

/* entry_cmp - order by family, prefix length, address bytes. */
static int entry_cmp(const void *x, const void *y)
{
	const struct cl_netset_entry *a = x, *b = y;
	if (a->net.family != b->net.family)
		return a->net.family - b->net.family;
	if (a->plen != b->plen)
		return a->plen - b->plen;
	return memcmp(a->net.b, b->net.b, 16);
}

void cl_netset_finish(struct cl_netset *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof *s->v, entry_cmp);
}

/* lower_bound - first entry not less than key. */
static size_t lower_bound(const struct cl_netset *s, const struct cl_netset_entry *key)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (entry_cmp(&s->v[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

long cl_netset_find(const struct cl_netset *s, const struct cl_ip *a, int (*ok)(void *arg, size_t idx), void *arg)
{
	int max = a->family == 4 ? 32 : 128;
	const unsigned char *lens = a->family == 4 ? s->lens4 : s->lens6;
	for (int plen = max; plen >= 0; plen--) {
		if (!lens[plen])
			continue;
		struct cl_netset_entry key = {*a, plen, 0};
		mask(&key.net, plen);
		for (size_t i = lower_bound(s, &key); i < s->n && entry_cmp(&s->v[i], &key) == 0; i++)
			if (!ok || ok(arg, s->v[i].idx))
				return (long)s->v[i].idx;
	}
	return -1;
}

void cl_netset_free(struct cl_netset *s)
{
	free(s->v);
	memset(s, 0, sizeof *s);
}

int cl_netset_parse(struct cl_netset *s, const char *setting, const char *list, char *err, size_t errlen)
{
	char *copy = strdup(list ? list : "");
	if (!copy) {
		cl_snprintf(err, errlen, "%s: out of memory", setting);
		return -1;
	}
	int rc = 0;
	char *save = NULL;
	for (char *t = strtok_r(copy, ", \t\r\n", &save); t; t = strtok_r(NULL, ", \t\r\n", &save)) {
		struct cl_ip a, host;
		int plen;
		if (cl_cidr_parse(t, &a, &plen) < 0) {
			cl_snprintf(err, errlen, "%s: not a network: %.80s", setting, t);
			rc = -1;
			break;
		}
		char h[64];
		cl_strlcpy(h, t, sizeof h); /* cl_cidr_parse refused a longer address */
		h[strcspn(h, "/")] = '\0';
		if (cl_ip_parse(h, &host) == 0 && memcmp(host.b, a.b, sizeof a.b) != 0) {
			cl_snprintf(err, errlen, "%s: host bits set after the prefix: %s", setting, t);
			rc = -1;
			break;
		}
		if (cl_netset_add(s, &a, plen, s->n) < 0) {
			cl_snprintf(err, errlen, "%s: out of memory", setting);
			rc = -1;
			break;
		}
	}
	free(copy);
	cl_netset_finish(s);
	return rc;
}

int cl_netset_has(const struct cl_netset *s, const char *ip)
{
	struct cl_ip a;
	return ip && cl_ip_parse(ip, &a) == 0 && cl_netset_find(s, &a, NULL, NULL) >= 0;
}

int cl_cidr_format(const struct cl_ip *net, int plen, char *out, size_t outlen)
{
	char t[INET6_ADDRSTRLEN];
	if (!inet_ntop(net->family == 4 ? AF_INET : AF_INET6, net->b, t, sizeof t))
		return -1;
	return cl_snprintf(out, outlen, "%s/%d", t, plen);
}
