/* main.c - clement-policy: every accept/reject decision of an SMTP session, from
 * PostgreSQL through an in-memory cache, and the batched session and message logs.
 *
 * Start-up order: settings, logging, signals, metrics, log writer, cache watcher, RPC
 * server, health endpoint (not ready until the first cache load). On shutdown the RPC server
 * stops first, so every decision in flight finishes before what it uses goes away, and
 * queued logs are flushed last. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handler.h"
#include "metrics.h"
#include "policy.h"
#include "rpc/rpc.h"
#include "svc/service.h"
#include "util/buf.h"
#include "util/log.h"

/* ready - /healthz: ready once the cache has been loaded at least once. */
static int ready(void *ctx, char *why, size_t whylen)
{
	struct policy *p = ctx;
	struct pc_snap *s = pc_cache_acquire(&p->cache);
	int ok = pol_cache_usable(p, s);
	pc_snap_release(s);
	if (!ok)
		cl_snprintf(why, whylen, s ? "cache stale: database unreachable" : "cache not loaded yet");
	return ok;
}

/* metrics_hook - values computed at scrape time. */
static void metrics_hook(void *ctx, struct cl_buf *out)
{
	struct policy *p = ctx;
	struct pc_snap *s = pc_cache_acquire(&p->cache);
	double age = s ? cl_now_seconds() - s->loaded_at : -1;
	pc_snap_release(s);
	cl_buf_printf(out,
		      "# HELP clement_policy_cache_age_seconds seconds since the cache was last loaded (-1: never)\n"
		      "# TYPE clement_policy_cache_age_seconds gauge\nclement_policy_cache_age_seconds %.3f\n"
		      "# HELP clement_policy_cache_db_connected 1 while the cache's LISTEN connection is up\n"
		      "# TYPE clement_policy_cache_db_connected gauge\nclement_policy_cache_db_connected %d\n"
		      "# HELP clement_policy_log_queue_length log rows waiting for the batch writer\n"
		      "# TYPE clement_policy_log_queue_length gauge\nclement_policy_log_queue_length %zu\n",
		      age, atomic_load(&p->cache.connected), atomic_load(&p->logq.len));
}

/* policy_setup - everything but the RPC server; 0 or -1 with err. */
static int policy_setup(struct policy *p, struct cl_metrics *reg, char *err, size_t errlen)
{
	const struct policy_config *c = p->cfg;
	pol_metrics_register(reg, &p->m);
	pc_cache_init(&p->cache);
	char why[200];
	if (!(p->dns = cl_dns_host_new(c->dns_resolver, why, sizeof why))) {
		cl_snprintf(err, errlen, "bad setting: CLEMENT_DNS_RESOLVER: %s", why);
		return -1;
	}
	p->resolver = (struct cl_net_resolver){cl_dns_host_dial_resolver, p->dns};
	p->probe = (struct pp_probe){.timeout_ms = (int)c->probe_timeout_ms,
				     .helo_name = c->helo_name,
				     .resolver = &p->resolver,
				     .max_entries = 100000,
				     .m_hits = p->m.probe_hits};
	memcpy(p->probe.m_probes, p->m.probes, sizeof p->m.probes);
	p->imap = (struct cl_imap_conf){c->imap_ca_file, (long)c->imap_timeout_ms};
	p->logq = (struct pl_queue){.db_url = c->db_url,
				    .queue_max = (size_t)c->log_queue_max,
				    .batch_max = (size_t)c->log_batch_max,
				    .flush_ms = (int)c->log_flush_ms,
				    .stop_wait_ms = 5000,
				    .m_dropped = p->m.log_dropped,
				    .m_written = p->m.log_written,
				    .m_db_errors = p->m.db_errors};
	p->watch = (struct pc_watch){.cache = &p->cache,
				     .db_url = c->db_url,
				     .debounce_ms = (int)c->debounce_ms,
				     .m_reloads = p->m.reloads,
				     .m_errors = p->m.reload_errors};
	if (pp_init(&p->probe) < 0 || pl_queue_start(&p->logq) < 0 || pc_watch_start(&p->watch) < 0) {
		cl_snprintf(err, errlen, "cannot start threads");
		return -1;
	}
	return 0;
}

static struct policy_config cfg;
static struct policy pol = {.cfg = &cfg};

static int setup(void *ctx, struct cl_metrics *reg, char *err, size_t errlen)
{
	(void)ctx;
	cfg.rep_action = pol_rep_action_parse(cfg.rep_action_text); /* the table checked the word */
	/* libpq's default for connect_timeout, also for the log writer's connection (lib/db):
	 * a database host that drops packets must not hold a connection attempt (and so a
	 * SIGTERM) for the kernel's TCP timeout. Set before any thread exists. */
	setenv("PGCONNECT_TIMEOUT", "5", 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return policy_setup(&pol, reg, err, errlen) < 0 ? 1 : 0;
}

static int start(void *ctx, char *err, size_t errlen)
{
	(void)ctx, (void)err, (void)errlen;
	cl_log(CL_LOG_INFO, NULL, "start", "listen=%s health=%s workers=%lld", cfg.listen, cfg.health_listen,
	       cfg.workers);
	return 0;
}

/* teardown - after the RPC server stopped: every decision in flight has finished. */
static void policy_teardown(void *ctx)
{
	struct policy *p = ctx;
	pc_watch_stop(&p->watch);
	pl_queue_stop(&p->logq);
	pp_fini(&p->probe);
	cl_dns_host_free(p->dns);
	pc_cache_fini(&p->cache);
	curl_global_cleanup();
}

int main(int argc, char **argv)
{
	const struct cl_setting settings[] = {
	    {"CLEMENT_POLICY_LISTEN", CL_SET_STR, "tcp://0.0.0.0:7001", 0, 0,
	     "RPC URL the server listens on: tcp://host:port or ipc:///path", &cfg.listen},
	    CL_SETTING_HEALTH_LISTEN("CLEMENT_POLICY_HEALTH_LISTEN", "0.0.0.0:9102", &cfg.health_listen),
	    CL_SETTING_DB_URL(&cfg.db_url),
	    {"CLEMENT_POLICY_WORKERS", CL_SET_INT, "8", 1, 64,
	     "RPC worker threads (each blocks during an RCPT probe or IMAP login)", &cfg.workers},
	    {"CLEMENT_NEVER_BAN", CL_SET_NETS, "", 0, 0,
	     "extra never-ban networks (CIDRs, comma separated) besides the never_ban_networks table; "
	     "they always pass connect, loopback included",
	     CL_NETS(&cfg.never_ban, &pol.never_ban_cfg)},
	    {"CLEMENT_POLICY_ALLOW_LOOPBACK", CL_SET_BOOL, "0", 0, 1,
	     "accept SMTP clients on 127.0.0.0/8 and ::1 (tests, local tools); refused otherwise", &cfg.allow_loopback},
	    {"CLEMENT_POLICY_CACHE_MAX_STALE_S", CL_SET_DURATION, "300", 0, 86400,
	     "seconds decisions keep trusting the cache while PostgreSQL is unreachable; then they defer (4xx)",
	     CL_SECONDS(&cfg.max_stale_s)},
	    {"CLEMENT_POLICY_CACHE_DEBOUNCE_MS", CL_SET_DURATION, "50", 0, 900,
	     "wait after a change notification so that one reload covers a burst", CL_MILLIS(&cfg.debounce_ms)},
	    {"CLEMENT_POLICY_PROBE_TIMEOUT_MS", CL_SET_DURATION, "3000", 100, 60000,
	     "deadline of a whole recipient-verification probe to a downstream MTA", CL_MILLIS(&cfg.probe_timeout_ms)},
	    CL_SETTING_DNS_RESOLVER(&cfg.dns_resolver),
	    {"CLEMENT_POLICY_HELO_NAME", CL_SET_STR, "localhost", 0, 0, "name policy gives in EHLO when probing",
	     &cfg.helo_name},
	    {"CLEMENT_POLICY_IMAP_TIMEOUT_MS", CL_SET_DURATION, "5000", 100, 60000, "deadline of an IMAP login",
	     CL_MILLIS(&cfg.imap_timeout_ms)},
	    {"CLEMENT_POLICY_IMAP_CA_FILE", CL_SET_STR, "", 0, 0,
	     "CA bundle for IMAP servers' certificates (empty: the system store)", &cfg.imap_ca_file},
	    {"CLEMENT_POLICY_LOG_FLUSH_MS", CL_SET_DURATION, "500", 10, 1000,
	     "longest time a log row waits before its batch is written", CL_MILLIS(&cfg.log_flush_ms)},
	    {"CLEMENT_POLICY_LOG_QUEUE_MAX", CL_SET_INT, "100000", 100, 10000000,
	     "log rows kept while PostgreSQL is away; beyond it the oldest are dropped (counted)", &cfg.log_queue_max},
	    {"CLEMENT_POLICY_LOG_BATCH_MAX", CL_SET_INT, "500", 1, 3000, "log rows per INSERT batch",
	     &cfg.log_batch_max},
	    {"CLEMENT_DNSBL_THRESHOLD", CL_SET_INT, "3", 1, 1000,
	     "reputation score (the weights of CLEMENT_DNSBL_SITES listings and of the smtp-edge's CLEMENT_REP_* "
	     "findings) from which a client is refused",
	     &cfg.rep_threshold},
	    {"CLEMENT_DNSBL_ACTION", CL_SET_CHOICE, "enforce", 0, 0,
	     "at the threshold: ignore (log only), enforce (550 5.7.1 at RCPT naming the lists; postmaster@ and "
	     "abuse@ still accepted), drop (554 5.7.1 instead of the greeting)",
	     CL_CHOICE(&cfg.rep_action_text, "ignore|enforce|drop")},
	    CL_SETTING_LOG_LEVEL(&cfg.log_level),
	};
	size_t nops;
	const struct cl_rpc_op *ops = pol_ops(&nops);
	const struct cl_service svc = {
	    .prog = "clement-policy",
	    .name = "policy",
	    .summary =
		"Decides every SMTP step (connect, HELO, MAIL, RCPT, AUTH) from PostgreSQL through an "
		"in-memory cache kept fresh by LISTEN/NOTIFY, and writes the session and message logs in batches.",
	    CL_SERVICE_SETTINGS(settings, cfg),
	    CL_SERVICE_RPC(cfg, ops, nops),
	    /* the handlers decode into C structs and build a fresh reply: nothing of cJSON outlives
	       a request, so its nodes come from the worker's arena (rpc/jarena.h) */
	    .rpc_json_arena = 1,
	    .ctx = &pol,
	    .ready = ready,
	    .metrics_hook = metrics_hook,
	    .setup = setup,
	    .start = start,
	    .teardown = policy_teardown,
	};
	return cl_service_main(argc, argv, &svc);
}
