/* main.c - clement-banstats: per-client statistics from the logs, bans, and the trusted mesh.
 *
 * Threads: the loop thread (loop.c, one PostgreSQL connection) runs a statistics pass (stats.c) every
 * CLEMENT_BANSTATS_INTERVAL_S, log partition maintenance (maintain.c) every
 * CLEMENT_MAINTENANCE_INTERVAL_S (each once per interval among all replicas) and a mesh push
 * round (push.c) every CLEMENT_MESH_PUSH_INTERVAL_S; one RPC worker (its own connection,
 * store.c) answers mesh_records from smtp-edge; libmicrohttpd serves /healthz and /metrics.
 * SIGTERM stops the RPC server, then wakes and joins the loop thread (a run in progress
 * finishes first). With CLEMENT_BANSTATS_ONCE=1 it runs one statistics pass, the maintenance
 * and one push round and exits (cron, the benchmark). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "banstats.h"
#include "dns/host.h"
#include "loop.h"
#include "rpc/rpc.h"
#include "svc/service.h"
#include "util/buf.h"
#include "util/cidr.h"
#include "util/log.h"
#include "util/metrics.h"

#define PROG "clement-banstats"

static struct banstats_config cfg;
static struct banstats_metrics m;
static struct loop l = {.cfg = &cfg, .m = &m};
static struct store *st;        /* the RPC handlers' context */
static struct cl_dns_host *dns; /* the mesh push's resolver, when the push is on */
static int loop_inited, loop_started;

static int check(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	return banstats_config_finish(&cfg, err, errlen) < 0 ? 2 : 0;
}

/* setup - metrics, the push's TLS context, the loop's database connection (a database down at
 * start is not fatal: the loop reconnects and /healthz says 503) and the RPC store. */
static int setup(void *ctx, struct cl_metrics *reg, char *err, size_t errlen)
{
	(void)ctx;
	banstats_metrics_register(reg, &m);
	if (cfg.mesh_cert[0] && !(l.tls = push_tls_ctx_new(&cfg, err, errlen)))
		return 2;
	/* The peers' names go through Clement's one resolver (lib/dns), as every mail-path name. */
	char why[300];
	if (l.tls && !(dns = cl_dns_host_new(cfg.dns_resolver, why, sizeof why))) {
		cl_snprintf(err, errlen, "bad setting: CLEMENT_DNS_RESOLVER: %s", why);
		return 2;
	}
	cfg.resolver = (struct cl_net_resolver){cl_dns_host_dial_resolver, dns};
	loop_init(&l);
	loop_inited = 1;
	atomic_store(&l.db_ok, cl_pg_open(&l.pg, cfg.db_url, NULL, 0, cfg.once ? 5 : 3, why, sizeof why) == 0);
	if (!atomic_load(&l.db_ok))
		cl_log(CL_LOG_WARN, NULL, "db_unreachable", "error=\"%s\"", why);
	if (!cfg.once && !(st = store_new(&cfg, &m))) {
		cl_snprintf(err, errlen, "out of memory");
		return 1;
	}
	return 0;
}

/* oneshot - CLEMENT_BANSTATS_ONCE: one statistics pass, maintenance and push round. */
static int oneshot(void *ctx)
{
	(void)ctx;
	if (!cfg.once)
		return -1;
	loop_once(&l, 1, 1, 1);
	return atomic_load(&l.db_ok) ? 0 : 1;
}

static int start(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	if (loop_start(&l) < 0) {
		cl_snprintf(err, errlen, "cannot start the loop thread");
		return 1;
	}
	loop_started = 1;
	cl_log(CL_LOG_INFO, NULL, "start", "listen=%s health=%s server=%s interval_s=%lld mesh_push=%s", cfg.listen,
	       cfg.health_listen, cfg.server_name, cfg.interval_s, l.tls ? "on" : "off");
	return 0;
}

/* teardown - after the RPC server stopped: wake and join the loop thread (a run in progress
 * finishes first), then close what it used. */
static void teardown(void *ctx)
{
	(void)ctx;
	if (loop_started)
		loop_stop(&l);
	store_free(st);
	if (loop_inited)
		loop_fini(&l);
	push_tls_ctx_free(l.tls);
	cl_dns_host_free(dns);
}

int main(int argc, char **argv)
{
	const struct cl_setting settings[] = {
	    CL_SETTING_HEALTH_LISTEN("CLEMENT_BANSTATS_HEALTH_LISTEN", "0.0.0.0:9105", &cfg.health_listen),
	    {"CLEMENT_BANSTATS_LISTEN", CL_SET_STR, "tcp://0.0.0.0:7004", 0, 0,
	     "RPC URL (tcp://host:port or ipc:///path) of the endpoint (ops mesh_peer and mesh_records, called by "
	     "smtp-edge)",
	     &cfg.listen},
	    CL_SETTING_DB_URL(&cfg.db_url),
	    {"CLEMENT_SERVER_NAME", CL_SET_STR, "", 0, 0,
	     "this server's name in the mesh (ORIGIN of our records; records naming it are refused as loops); "
	     "empty: the host name",
	     &cfg.server_name},
	    CL_SETTING_DNS_RESOLVER(&cfg.dns_resolver),
	    {"CLEMENT_BANSTATS_INTERVAL_S", CL_SET_DURATION, "300", 1, 86400,
	     "seconds between two statistics runs (the first runs at start)", CL_SECONDS(&cfg.interval_s)},
	    {"CLEMENT_BANSTATS_FIREWALL_DIR", CL_SET_STR, "", 0, 0,
	     "directory where each run writes banned.txt and banned.nft (nft -f), the networks banned at connect, for "
	     "the host's firewall (empty: none)",
	     &cfg.firewall_dir},
	    {"CLEMENT_BANSTATS_ONCE", CL_SET_BOOL, "false", 0, 0,
	     "run one statistics pass, partition maintenance and one mesh push round, then exit (cron, benchmarks)",
	     &cfg.once},
	    {"CLEMENT_MAINTENANCE_INTERVAL_S", CL_SET_DURATION, "3600", 1, 86400,
	     "seconds between two log partition maintenance runs (create the coming months, drop those past the "
	     "retention); one replica runs it per interval",
	     CL_SECONDS(&cfg.maintenance_s)},
	    {"CLEMENT_LOG_RETENTION_MONTHS", CL_SET_INT, "13", 1, 1200,
	     "months of session and message logs kept; older monthly partitions are dropped (the settings table's "
	     "log.retention_months overrides it at run time)",
	     &cfg.retention_months},
	    {"CLEMENT_BANSTATS_WINDOW", CL_SET_CHOICE, "24h", 0, 0,
	     "statistics window the thresholds apply to: 1h, 24h or 7d", CL_CHOICE(&cfg.classify_window, "1h|24h|7d")},
	    {"CLEMENT_BANSTATS_MIN_SESSIONS", CL_SET_INT, "3", 1, 1000000,
	     "a client with fewer sessions in the window is never listed", &cfg.min_sessions},
	    {"CLEMENT_BANSTATS_WEIGHT_PREGREET", CL_SET_INT, "5", 0, 1000,
	     "score points per session that talked before our greeting", &cfg.w_pregreet},
	    {"CLEMENT_BANSTATS_WEIGHT_PROTOCOL_ERROR", CL_SET_INT, "2", 0, 1000, "score points per SMTP protocol error",
	     &cfg.w_protocol},
	    {"CLEMENT_BANSTATS_WEIGHT_UNKNOWN_RCPT", CL_SET_INT, "1", 0, 1000,
	     "score points per recipient refused as unknown", &cfg.w_unknown},
	    {"CLEMENT_BANSTATS_WEIGHT_DIRECTIVE", CL_SET_INT, "1", 0, 1000,
	     "score points per recipient refused by a sender directive", &cfg.w_directive},
	    {"CLEMENT_BANSTATS_WEIGHT_VIRUS", CL_SET_INT, "10", 0, 1000, "score points per virus found", &cfg.w_virus},
	    {"CLEMENT_BANSTATS_WEIGHT_DNSBL", CL_SET_INT, "2", 0, 1000,
	     "score points per session whose client smtp-edge found on a DNS blocklist (CLEMENT_DNSBL_SITES)",
	     &cfg.w_dnsbl},
	    {"CLEMENT_BANSTATS_CANDIDATE_SCORE", CL_SET_INT, "20", 1, 100000000,
	     "score from which a client becomes a candidate (to be banned, reviewed by an admin)",
	     &cfg.candidate_score},
	    {"CLEMENT_BANSTATS_CANDIDATE_BAD_PCT", CL_SET_INT, "50", 0, 100,
	     "...and the share of bad events (pregreets, protocol errors, refused recipients, viruses) among "
	     "bad events and accepted messages, in percent",
	     &cfg.candidate_bad_pct},
	    {"CLEMENT_BANSTATS_BAN_SCORE", CL_SET_INT, "50", 1, 100000000,
	     "score from which a client is fully banned (refused at connect)", &cfg.ban_score},
	    {"CLEMENT_BANSTATS_BAN_BAD_PCT", CL_SET_INT, "80", 0, 100, "...and the share of bad events, in percent",
	     &cfg.ban_bad_pct},
	    {"CLEMENT_BANSTATS_BAN_S", CL_SET_DURATION, "86400", 60, 31536000,
	     "length of a first automatic ban; each repeat offence doubles it", CL_SECONDS(&cfg.ban_s)},
	    {"CLEMENT_BANSTATS_BAN_MAX_S", CL_SET_DURATION, "2592000", 60, 315360000,
	     "longest automatic ban, however often the client offended", CL_SECONDS(&cfg.ban_max_s)},
	    {"CLEMENT_BANSTATS_OFFENCE_MEMORY_S", CL_SET_DURATION, "7776000", 0, 315360000,
	     "how long a lifted ban still counts as an earlier offence", CL_SECONDS(&cfg.offence_memory_s)},
	    {"CLEMENT_BANSTATS_CANDIDATE_TTL_S", CL_SET_DURATION, "604800", 60, 31536000,
	     "a candidate that stops qualifying is lifted after this long", CL_SECONDS(&cfg.candidate_ttl_s)},
	    {"CLEMENT_BANSTATS_WORK_MEM_MB", CL_SET_INT, "64", 4, 4096,
	     "PostgreSQL work_mem of the statistics transaction (per-IP aggregates stay in memory)", &cfg.work_mem_mb},
	    {"CLEMENT_NEVER_BAN", CL_SET_NETS, "127.0.0.0/8,::1/128", 0, 0,
	     "comma-separated networks never listed (added to the never_ban_networks table)",
	     CL_NETS(&cfg.never_ban, &cfg.never_ban_set)},
	    {"CLEMENT_MESH_PUSH_INTERVAL_S", CL_SET_DURATION, "60", 1, 86400,
	     "seconds between two rounds of pushing new ban events to the mesh peers",
	     CL_SECONDS(&cfg.push_interval_s)},
	    {"CLEMENT_MESH_CERT", CL_SET_STR, "", 0, 0,
	     "PEM client certificate (chain) presented to mesh peers; empty: no push", &cfg.mesh_cert},
	    {"CLEMENT_MESH_KEY", CL_SET_STR, "", 0, 0, "PEM private key of CLEMENT_MESH_CERT", &cfg.mesh_key},
	    {"CLEMENT_MESH_CA", CL_SET_STR, "", 0, 0,
	     "PEM CA certificates that verify the peers' server certificates; empty: the system's", &cfg.mesh_ca},
	    {"CLEMENT_MESH_TLS_VERIFY", CL_SET_BOOL, "true", 0, 0,
	     "verify the peer's server certificate and name (turn off only for tests)", &cfg.mesh_tls_verify},
	    {"CLEMENT_MESH_MAX_HOPS", CL_SET_INT, "3", 1, 16,
	     "records that would exceed this many hops here are refused (loop prevention)", &cfg.mesh_max_hops},
	    {"CLEMENT_MESH_TIMEOUT_S", CL_SET_DURATION, "30", 1, 300,
	     "timeout of each connect, read and write of the mesh push", CL_SECONDS(&cfg.mesh_timeout_s)},
	    {"CLEMENT_MESH_BATCH", CL_SET_INT, "200", 1, 10000, "ban events read per query while pushing",
	     &cfg.mesh_batch},
	    CL_TOGETHER("CLEMENT_MESH_CERT", "CLEMENT_MESH_KEY"),
	    CL_SETTING_LOG_LEVEL(&cfg.log_level),
	};
	static const long long one_worker = 1;
	size_t nops;
	const struct cl_rpc_op *ops = store_ops(&nops);
	const struct cl_service svc = {
	    .prog = PROG,
	    .name = "banstats",
	    .summary = "Computes per-client statistics from Clement's logs, bans abusive servers and "
		       "shares bans with trusted mesh peers.",
	    CL_SERVICE_SETTINGS(settings, cfg),
	    .rpc_listen = &cfg.listen,
	    .rpc_workers = &one_worker,
	    .ops = ops,
	    .nops = nops,
	    .rpc_ctx = (void *const *)&st,
	    .ctx = &l,
	    .ready = loop_ready,
	    .check = check,
	    .setup = setup,
	    .oneshot = oneshot,
	    .start = start,
	    .teardown = teardown,
	};
	return cl_service_main(argc, argv, &svc);
}
