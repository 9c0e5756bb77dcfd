/* rep.c - the reputation facts of a session: DNSBL/DNSWL lookups, FCrDNS, HELO findings.
 * See rep.h. Everything runs on the worker's loop thread, with the worker's own resolver: its
 * answers come through rep_process() when its fd is readable (loop.c). */
#include "rep.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "dns/dns.h"
#include "edge.h"
#include "ptrname.h"
#include "util/log.h"

#define Q_PTR     (-1)
#define Q_FORWARD (-2)

static const char *result_names[REP_NRESULTS] = {"listed", "not_listed", "error", "timeout"};

int rep_setup(struct edge *e, char *err, size_t errlen)
{
	struct rep_conf *c = &e->cfg.rep;
	struct rep_edge *r = &e->rep;
	char why[300];
	if (cl_dnsbl_parse(c->sites_text, &r->sites, why, sizeof why) < 0) {
		snprintf(err, errlen, "bad setting: CLEMENT_DNSBL_SITES: %s", why);
		return -1;
	}
	r->enabled =
	    r->sites.n > 0 || c->w_no_ptr || c->w_ptr_mismatch || c->w_helo_ip || c->w_helo_not_fqdn || c->w_helo_us;
	if (!r->enabled)
		return 0;
	if (!(r->dns = cl_dns_new(c->resolver, why, sizeof why))) {
		snprintf(err, errlen, "bad setting: CLEMENT_DNS_RESOLVER: %s", why);
		return -1;
	}
	return 0;
}

/* rep_worker - a worker's own resolver (its struct edge is a copy of the configured one, the
 * sites and metrics shared): a resolver belongs to the thread whose loop polls its fd. */
int rep_worker(struct edge *w, char *err, size_t errlen)
{
	char why[300];
	w->rep.dns = NULL;
	if (w->rep.enabled && !(w->rep.dns = cl_dns_new(w->cfg.rep.resolver, why, sizeof why))) {
		snprintf(err, errlen, "bad setting: CLEMENT_DNS_RESOLVER: %s", why);
		return -1;
	}
	return 0;
}

/* rep_metrics - register the DNS metrics (after the registry exists). */
void rep_metrics(struct edge *e)
{
	struct rep_edge *r = &e->rep;
	struct cl_metrics *reg = e->reg;
	r->lookups = cl_metrics_counter(reg, "clement_edge_dns_lookups_total", "DNS lookups started (reputation)", "");
	r->latency = cl_metrics_histogram(reg, "clement_edge_dns_seconds", "DNS lookup latency (answered ones)", "");
	static const char *pf[4] = {"ok", "none", "mismatch", "unknown"};
	for (int i = 0; i < 4; i++) {
		char l[64];
		snprintf(l, sizeof l, "result=\"%s\"", pf[i]);
		r->ptr[i] = cl_metrics_counter(reg, "clement_edge_fcrdns_total", "FCrDNS findings", l);
	}
	for (size_t i = 0; i < r->sites.n; i++) {
		/* one series per zone, under its shown name: the first site of a zone owns them */
		size_t first = i;
		for (size_t k = 0; k < i; k++)
			if (strcmp(r->sites.site[k].zone, r->sites.site[i].zone) == 0) {
				first = k;
				break;
			}
		for (int j = 0; j < REP_NRESULTS; j++) {
			if (first != i) {
				r->answers[i][j] = r->answers[first][j];
				continue;
			}
			char l[320];
			snprintf(l, sizeof l, "zone=\"%s\",result=\"%s\"", r->sites.site[i].name, result_names[j]);
			r->answers[i][j] = cl_metrics_counter(reg, "clement_edge_dnsbl_answers_total",
							      "DNSBL/DNSWL answers by zone and result", l);
		}
	}
}

void rep_teardown(struct edge *e)
{
	cl_dns_free(e->rep.dns);
	e->rep.dns = NULL;
}

void rep_process(struct edge *e)
{
	if (e->rep.dns)
		cl_dns_process(e->rep.dns);
}

static void add_fact(struct rep_session *r, const char *kind, const char *name, const char *answer, int weight)
{
	if (r->nfacts >= CL_POLICY_REP_MAX_FACTS)
		return;
	struct cl_policy_rep_fact *f = &r->facts[r->nfacts++];
	f->kind = kind;
	cl_strlcpy(f->name, name, sizeof f->name);
	cl_strlcpy(f->answer, answer, sizeof f->answer);
	f->weight = weight;
}

/* finish - every lookup answered or timed out: log the facts, let the connect call go. */
static void finish(struct session *s)
{
	struct rep_session *r = s->rep;
	if (r->done)
		return;
	r->done = 1;
	char line[600] = "";
	size_t o = 0;
	for (size_t i = 0; i < r->nfacts && o < sizeof line - 1; i++) {
		const struct cl_policy_rep_fact *f = &r->facts[i];
		int n = snprintf(line + o, sizeof line - o, "%s%s:%s%s%s:%d", o ? "," : "", f->kind, f->name,
				 f->answer[0] ? "=" : "", f->answer, f->weight);
		if (n < 0 || (size_t)n >= sizeof line - o)
			break;
		o += (size_t)n;
	}
	char q[700];
	cl_log(CL_LOG_INFO, s->id, "reputation", "ip=%s facts=%s", s->ip, cl_log_escape(q, sizeof q, line, o));
	if (r->connect_waiting) {
		r->connect_waiting = 0;
		session_connect_call(s);
	}
}

/* ptr_finding - the FCrDNS fact (weight from the settings). */
static void ptr_finding(struct session *s, const char *finding)
{
	struct rep_conf *c = &s->e->cfg.rep;
	struct rep_session *r = s->rep;
	static const char *pf[4] = {"ok", "none", "mismatch", "unknown"};
	r->ptr_finding = finding;
	long long w = strcmp(finding, "none") == 0       ? c->w_no_ptr
		      : strcmp(finding, "mismatch") == 0 ? c->w_ptr_mismatch
							 : 0;
	add_fact(r, "ptr", finding, r->ptr, (int)w);
	for (int i = 0; i < 4; i++)
		if (strcmp(pf[i], finding) == 0)
			cl_metric_inc(s->e->rep.ptr[i]);
}

static void on_answer(void *arg, const struct cl_dns_answer *a);

/* ask - start one query for s; the slot records what it is for. */
static void ask(struct session *s, const char *name, int type, int site)
{
	struct rep_session *r = s->rep;
	struct rep_edge *re = &s->e->rep;
	if (r->nq >= REP_MAX_QUERIES)
		return;
	struct rep_query *q = &r->q[r->nq];
	*q = (struct rep_query){.s = s, .site = site, .sent = now_mono()};
	int id = cl_dns_query(re->dns, name, type, on_answer, q);
	if (id <= 0) {
		if (site >= 0)
			cl_metric_inc(re->answers[site][REP_ERROR]);
		return;
	}
	q->id = id;
	r->nq++;
	r->pending++;
	cl_metric_inc(re->lookups);
}

/* site_answer - one zone's answer, applied to every site of that zone. */
static void site_answer(struct session *s, int first, const struct cl_dns_answer *a)
{
	struct rep_edge *re = &s->e->rep;
	const char *zone = re->sites.site[first].zone;
	int errors = 0, listed = 0;
	for (size_t i = (size_t)first; i < re->sites.n; i++) {
		const struct cl_dnsbl_site *site = &re->sites.site[i];
		if (strcmp(site->zone, zone) != 0)
			continue;
		for (int k = 0; a->status == CL_DNS_OK && k < a->n; k++) {
			enum cl_dnsbl_result m = cl_dnsbl_match(site, a->rr[k]);
			if (m == CL_DNSBL_ERROR && i == (size_t)first) {
				errors++;
				cl_log(CL_LOG_WARN, s->id, "dnsbl_error", "zone=%s answer=%s effect=\"not a listing\"",
				       site->name, a->rr[k]);
			}
			if (m == CL_DNSBL_MATCH) {
				add_fact(s->rep, site->weight < 0 ? "dnswl" : "dnsbl", site->name, a->rr[k],
					 site->weight);
				listed = 1;
				break;
			}
		}
	}
	enum rep_result res = listed ? REP_LISTED : errors || a->status == CL_DNS_ERROR ? REP_ERROR : REP_CLEAN;
	cl_metric_inc(re->answers[first][res]);
	if (a->status == CL_DNS_ERROR)
		cl_log(CL_LOG_WARN, s->id, "dnsbl_error", "zone=%s effect=\"not listed\" error=\"lookup failed\"",
		       re->sites.site[first].name);
}

/* forward_answer - the addresses of the PTR name: does one of them give back the client? */
static void forward_answer(struct session *s, const struct cl_dns_answer *a)
{
	unsigned char want[16], got[16];
	int fam = strchr(s->ip, ':') ? AF_INET6 : AF_INET;
	if (a->status == CL_DNS_ERROR) {
		ptr_finding(s, "unknown");
		return;
	}
	int match = 0;
	for (int k = 0; a->status == CL_DNS_OK && k < a->n && !match; k++)
		match = inet_pton(fam, s->ip, want) == 1 && inet_pton(fam, a->rr[k], got) == 1 &&
			memcmp(want, got, fam == AF_INET ? 4 : 16) == 0;
	ptr_finding(s, match ? "ok" : "mismatch");
}

static void on_answer(void *arg, const struct cl_dns_answer *a)
{
	struct rep_query *q = arg;
	struct session *s = q->s;
	struct rep_session *r = s->rep;
	q->id = 0;
	r->pending--;
	cl_metric_observe(s->e->rep.latency, now_mono() - q->sent);
	if (q->site >= 0) {
		site_answer(s, q->site, a);
	} else if (q->site == Q_PTR) {
		if (a->status == CL_DNS_OK) {
			cl_strlcpy(r->ptr, a->rr[0], sizeof r->ptr);
			/* a weak fact of its own, whether or not the name resolves back (ptrname.h) */
			if (ptrname_generic(s->ip, r->ptr))
				add_fact(r, "ptr", "generic", r->ptr, (int)s->e->cfg.rep.w_ptr_generic);
			ask(s, r->ptr, strchr(s->ip, ':') ? CL_DNS_TYPE_AAAA : CL_DNS_TYPE_A, Q_FORWARD);
		} else {
			ptr_finding(s, a->status == CL_DNS_ERROR ? "unknown" : "none");
		}
	} else {
		forward_answer(s, a);
	}
	if (r->pending == 0)
		finish(s);
	loop_timer_update(s); /* the lookups' deadline may be gone; the session may have moved on */
}

void rep_start(struct session *s)
{
	struct rep_edge *re = &s->e->rep;
	if (!re->enabled || s->rep)
		return;
	/* allocated only when reputation is on: the hot path without it stays as it was */
	struct rep_session *r = s->rep = calloc(1, sizeof *s->rep);
	if (!r) {
		cl_log(CL_LOG_WARN, s->id, "reputation", "error=\"out of memory\" effect=\"no lookups\"");
		return;
	}
	r->started = 1;
	r->deadline = now_mono() + (double)s->e->cfg.rep.timeout_ms / 1000.0;
	char name[CL_DNS_NAME_MAX];
	for (size_t i = 0; i < re->sites.n; i++) {
		size_t k = 0;
		while (k < i && strcmp(re->sites.site[k].zone, re->sites.site[i].zone) != 0)
			k++;
		if (k < i)
			continue; /* one lookup per zone */
		if (cl_dns_reverse_name(s->ip, re->sites.site[i].zone, name, sizeof name) == 0)
			ask(s, name, CL_DNS_TYPE_A, (int)i);
	}
	if (cl_dns_reverse_name(s->ip, NULL, name, sizeof name) == 0)
		ask(s, name, CL_DNS_TYPE_PTR, Q_PTR);
	if (r->pending == 0)
		finish(s);
}

double rep_due(const struct session *s)
{
	const struct rep_session *r = s->rep;
	return r && !r->done ? r->deadline : 0;
}

int rep_waiting(struct session *s)
{
	struct rep_session *r = s->rep;
	if (!r || r->done)
		return 0;
	r->connect_waiting = 1;
	return 1;
}

void rep_free(struct session *s)
{
	rep_cancel(s);
	free(s->rep);
	s->rep = NULL;
}

void rep_cancel(struct session *s)
{
	struct rep_session *r = s->rep;
	if (!r)
		return;
	for (size_t i = 0; i < r->nq; i++)
		if (r->q[i].id > 0) {
			cl_dns_cancel(s->e->rep.dns, r->q[i].id);
			r->q[i].id = 0;
		}
	r->pending = 0;
	r->connect_waiting = 0;
	r->done = 1;
}

void rep_tick(struct session *s, double now)
{
	struct rep_session *r = s->rep;
	if (!r || r->done || now < r->deadline)
		return;
	/* DNS failure never refuses mail: what has not answered counts as not listed. */
	for (size_t i = 0; i < r->nq; i++) {
		struct rep_query *q = &r->q[i];
		if (q->id <= 0)
			continue;
		cl_dns_cancel(s->e->rep.dns, q->id);
		q->id = 0;
		if (q->site >= 0) {
			cl_metric_inc(s->e->rep.answers[q->site][REP_TIMEOUT]);
			cl_log(CL_LOG_WARN, s->id, "dnsbl_timeout", "zone=%s effect=\"not listed\"",
			       s->e->rep.sites.site[q->site].name);
		} else if (!r->ptr_finding) {
			ptr_finding(s, "unknown");
		}
	}
	r->pending = 0;
	finish(s);
}

/* helo_is_us - the HELO names our host name, or our address of this connection. */
static int helo_is_us(struct session *s, const char *h)
{
	if (strcasecmp(h, s->e->cfg.hostname) == 0)
		return 1;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char ip[64] = "", lit[80];
	if (s->fd < 0 || getsockname(s->fd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof ip);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof ip);
	snprintf(lit, sizeof lit, "[%s]", ip);
	return ip[0] && (strcmp(h, ip) == 0 || strcasecmp(h, lit) == 0);
}

void rep_helo(struct session *s)
{
	struct rep_session *r = s->rep;
	struct rep_conf *c = &s->e->cfg.rep;
	if (!r)
		return;
	/* a new HELO replaces the finding of the last one */
	for (size_t i = 0; i < r->nfacts; i++)
		if (strcmp(r->facts[i].kind, "helo") == 0) {
			memmove(&r->facts[i], &r->facts[i + 1], (r->nfacts - i - 1) * sizeof r->facts[0]);
			r->nfacts--;
			break;
		}
	const char *h = s->helo;
	unsigned char bin[16];
	const char *finding = NULL;
	long long w = 0;
	if (helo_is_us(s, h)) {
		finding = "claims_us";
		w = c->w_helo_us;
	} else if (inet_pton(AF_INET, h, bin) == 1 || inet_pton(AF_INET6, h, bin) == 1) {
		finding = "bare_ip";
		w = c->w_helo_ip;
	} else if (h[0] != '[' && (!strchr(h, '.') || h[strlen(h) - 1] == '.')) {
		finding = "not_fqdn";
		w = c->w_helo_not_fqdn;
	}
	r->helo_finding = finding;
	if (finding)
		add_fact(r, "helo", finding, "", (int)w);
}

const struct cl_policy_rep *rep_facts(struct session *s, struct cl_policy_rep *out, int decide)
{
	if (!s->rep)
		return NULL;
	if (decide) {
		/* A sum of weights below 1 can reach no threshold (CLEMENT_DNSBL_THRESHOLD and a
		 * group's are >= 1): a clean client's connect and rcpt carry nothing, so policy's hot
		 * path is the same as without the checks (docs/PERFORMANCE.md). */
		long long sum = 0;
		for (size_t i = 0; i < s->rep->nfacts; i++)
			sum += s->rep->facts[i].weight;
		if (sum < 1)
			return NULL;
	}
	/* A decision reads the weights alone: the findings of weight 0 (a PTR that checks out,
	 * with the default weights every PTR and HELO finding) and the PTR name only make the
	 * request longer; the session record (log_session) gets them all. */
	*out = (struct cl_policy_rep){s->rep->facts, s->rep->nfacts, s->rep->ptr, decide};
	return out;
}
