/* banstats.h - what the parts of clement-banstats share: the settings (filled once by
 * cl_config_load from the table in main.c, read-only afterwards) and the metrics.
 *
 * Parts: stats.c (statistics and classification, one SQL transaction per run), maintain.c
 * (the once-per-interval claim of a job, log partition maintenance), store.c (the
 * RPC op mesh_records: records from mesh peers into bans), push.c (ban_events to each mesh
 * peer over SMTP, with lib/mail/smtp_client.h), config.c (what the settings table cannot
 * check), metrics.c (the metrics), main.c (the settings table and the service hooks). */
#ifndef CLEMENT_BANSTATS_H
#define CLEMENT_BANSTATS_H

#include <stddef.h>

#include "db/pg.h"
#include "util/cidr.h"
#include "util/metrics.h"
#include "util/net.h"

struct banstats_config {
	char *health_listen, *db_url, *log_level, *listen, *server_name;
	char *never_ban;       /* comma-separated CIDRs (util/cidr.h), parsed into never_ban_set */
	char *classify_window; /* "1h", "24h" or "7d" */
	char *mesh_cert, *mesh_key, *mesh_ca;
	char *firewall_dir; /* CLEMENT_BANSTATS_FIREWALL_DIR: "" = no firewall files (firewall.c) */
	long long interval_s, push_interval_s;
	long long maintenance_s, retention_months; /* log partition maintenance (maintain.c) */
	int once, mesh_tls_verify;
	/* classification (docs/MESH.md section 9) */
	long long min_sessions;
	long long w_pregreet, w_protocol, w_unknown, w_directive, w_virus, w_dnsbl;
	long long candidate_score, candidate_bad_pct, ban_score, ban_bad_pct;
	long long ban_s, ban_max_s, candidate_ttl_s, offence_memory_s;
	long long work_mem_mb;
	/* mesh */
	long long mesh_max_hops, mesh_timeout_s, mesh_batch;
	char *dns_resolver;              /* CLEMENT_DNS_RESOLVER: the peers' names (lib/dns) */
	struct cl_net_resolver resolver; /* the mesh push's, set in main.c when the push is on */
	struct cl_netset never_ban_set;  /* CLEMENT_NEVER_BAN, owned by the settings table */
	char never_ban_array[4096];      /* "{cidr,cidr}" for SQL, built in main.c */
	char instance[300];              /* this replica in job_runs: host name and pid, set in main.c */
};

struct banstats_metrics {
	struct cl_metric *runs, *run_failures, *run_seconds;
	struct cl_metric *new_candidates, *new_bans, *lifted;
	struct cl_metric *rec_stored, *rec_ignored, *rec_refused, *rec_tempfail;
	struct cl_metric *pushed, *push_failures;
};

/* banstats_config_finish - after the table loaded cfg: the server name (the host name when
 * empty; must be a domain name, lowercased in place), cfg->instance, and the never-ban
 * networks as SQL's cidr[] literal in cfg->never_ban_array. 0 or -1 with err. */
int banstats_config_finish(struct banstats_config *cfg, char *err, size_t errlen);
/* banstats_metrics_register - every series into m, before any thread starts. */
void banstats_metrics_register(struct cl_metrics *reg, struct banstats_metrics *m);

/* firewall_export - after a statistics run: banned.txt and banned.nft in cfg->firewall_dir
 * (nothing when it is ""). 0 or -1 with err. */
int firewall_export(struct cl_pg *pg, const struct banstats_config *cfg, char *err, size_t errlen);

/* stats_run - one statistics + classification pass in one transaction (skipped when another
 * replica holds the advisory lock). Returns 0 (and logs the counts) or -1 with err. */
int stats_run(struct cl_pg *pg, const struct banstats_config *cfg, struct banstats_metrics *m, char *err,
	      size_t errlen);

/* job_claim - inside an open transaction: 1 when this replica is to run job now (no other
 * replica holds it and its last run is at least every_s old; recorded with the transaction),
 * 0 when not, -1 with err. With CLEMENT_BANSTATS_ONCE the interval is not checked. */
int job_claim(struct cl_pg *pg, const struct banstats_config *cfg, const char *job, long long every_s, char *err,
	      size_t errlen);

/* job_end - end the transaction of a job whose steps returned rc (1 ran, 0 not ours, -1
 * failed with err): COMMIT, or ROLLBACK when rc < 0 or the COMMIT fails. Returns rc or -1. */
int job_end(struct cl_pg *pg, int rc, char *err, size_t errlen);

/* maintain_run - one log partition maintenance run in its own transaction (skipped when
 * another replica ran it within CLEMENT_MAINTENANCE_INTERVAL_S). 0, or -1 with err. */
int maintain_run(struct cl_pg *pg, const struct banstats_config *cfg, char *err, size_t errlen);

/* push_run - deliver pending ban_events to every enabled peer (see push.c). Returns the number
 * of peers that failed (0 when all are up to date). */
int push_run(struct cl_pg *pg, const struct banstats_config *cfg, struct banstats_metrics *m, void *ssl_ctx);

/* push_tls_ctx_new - the client TLS context (client certificate, CA, TLS >= 1.2), or NULL with
 * err. The caller frees it with push_tls_ctx_free. */
void *push_tls_ctx_new(const struct banstats_config *cfg, char *err, size_t errlen);
void push_tls_ctx_free(void *ctx);

/* The RPC side (store.c). One store serves the RPC worker; it owns its connection. */
struct store;
struct store *store_new(const struct banstats_config *cfg, struct banstats_metrics *m);
void store_free(struct store *s);
/* store_ops - the service's RPC op table (n entries; each handler's ctx is a struct store). */
struct cl_rpc_op;
const struct cl_rpc_op *store_ops(size_t *n);

#endif
