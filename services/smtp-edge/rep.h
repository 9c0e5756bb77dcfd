/* rep.h - reputation facts of one session, gathered by smtp-edge for policy to decide on
 * (docs/ARCHITECTURE.md, "Reputation at connect").
 *
 * At accept (after a PROXY header, on the real address) rep_start() asks every DNSBL/DNSWL
 * zone of CLEMENT_DNSBL_SITES and the client's PTR (then the PTR name's addresses: FCrDNS).
 * The answers arrive during the pregreet wait; the connect call to policy waits for them,
 * or for CLEMENT_DNS_TIMEOUT_MS, whichever is first: a lookup not answered by then counts
 * as not listed (logged, counted per zone). HELO adds its finding (rep_helo). The facts go
 * to policy in the connect, rcpt and log_session requests (struct cl_policy_rep). */
#ifndef CLEMENT_EDGE_REP_H
#define CLEMENT_EDGE_REP_H

#include "dns/dnsbl.h"
#include "mail/policy_client.h"

#define REP_MAX_QUERIES (CL_DNSBL_MAX_SITES + 2)

struct session;
struct edge;
struct cl_dns;
struct cl_metric;

/* The edge-wide part: settings, the resolver, the parsed sites, per-zone metrics. */
struct rep_conf {
	char *resolver, *sites_text;
	long long timeout_ms;
	long long w_no_ptr, w_ptr_mismatch, w_helo_ip, w_helo_not_fqdn, w_helo_us;
	long long w_ptr_generic; /* adds to lookups that run anyway: it turns none on by itself */
};

enum rep_result { REP_LISTED = 0, REP_CLEAN, REP_ERROR, REP_TIMEOUT, REP_NRESULTS };

struct rep_edge {
	int enabled; /* sites configured or an FCrDNS/HELO weight set */
	struct cl_dns *dns;
	struct cl_dnsbl_sites sites;
	struct cl_metric *answers[CL_DNSBL_MAX_SITES][REP_NRESULTS];
	struct cl_metric *lookups, *latency, *ptr[4];
};

struct rep_query {
	struct session *s;
	int id;   /* resolver id while pending, 0 otherwise */
	int site; /* index of the first site of its zone; -1 PTR, -2 the PTR name's address */
	double sent;
};

struct rep_session {
	int started, done;
	int pending;
	int connect_waiting; /* the connect call waits for the lookups */
	double deadline;
	struct rep_query q[REP_MAX_QUERIES];
	size_t nq;
	char ptr[256];
	const char *ptr_finding; /* "ok" "none" "mismatch" "unknown"; NULL before the answer */
	const char *helo_finding;
	struct cl_policy_rep_fact facts[CL_POLICY_REP_MAX_FACTS];
	size_t nfacts;
};

/* rep_setup - parse the sites, create the resolver and the metrics. 0 or -1 with err. */
int rep_setup(struct edge *e, char *err, size_t errlen);
void rep_teardown(struct edge *e);
/* rep_worker - give the worker w (a copy of the configured edge) its own resolver. */
int rep_worker(struct edge *w, char *err, size_t errlen);
/* rep_metrics - register the DNS metrics (once the registry exists). */
void rep_metrics(struct edge *e);
/* rep_start - start the lookups of s (nothing when reputation is off). */
void rep_start(struct session *s);
/* rep_due - when the lookups still out for s time out (rep_tick); 0 when none are. */
double rep_due(const struct session *s);

/* rep_waiting - 1 when the connect call must wait for s's lookups. */
int rep_waiting(struct session *s);
/* rep_tick - the deadline: unanswered lookups count as not listed. */
void rep_tick(struct session *s, double now);
/* rep_cancel - the session closes: cancel what is still asked. */
void rep_cancel(struct session *s);
/* rep_free - session_free: cancel and release s->rep. */
void rep_free(struct session *s);
/* rep_helo - s->helo was set: record what it says (bare IP, not a FQDN, our name). */
void rep_helo(struct session *s);
/* rep_facts - what policy is told (NULL when there is nothing to tell): all the facts for the
 * session log; for a decision (decide = 1, connect and rcpt) only when they could refuse, and
 * then only the facts that carry a weight (cl_policy_rep.weighted_only). */
const struct cl_policy_rep *rep_facts(struct session *s, struct cl_policy_rep *out, int decide);
/* rep_process - the resolver's fd is readable (loop.c). */
void rep_process(struct edge *e);

#endif
