/* dconf.h - clement-delivery's settings (filled from the one table in main.c) and the
 * context every part of the service shares. */
#ifndef CLEMENT_DELIVERY_DCONF_H
#define CLEMENT_DELIVERY_DCONF_H

#include "dbexec.h"
#include "dns/host.h"
#include "util/metrics.h"

struct dl_config {
	char *listen;
	char *health_listen;
	char *db_url;
	char *maildir_root;
	char *smarthost; /* host:port, "" for none */
	char *helo;      /* "" -> gethostname() */
	char *digest_secret;
	char *digest_base_url;
	char *digest_from; /* "" -> postmaster@<the user's domain> */
	char *log_level;
	long long workers;
	long long db_conns;
	long long retention_days;
	long long relay_connect_timeout_ms;
	long long relay_timeout_ms;
	int relay_verify_cert;
	char *relay_ca_file; /* "" for the system's CA store */
	long long digest_poll_s;
	long long housekeeping_s;
	long long tmp_max_age_s;
	char *rspamd_controller; /* "" = no learning */
	char *dns_resolver;      /* CLEMENT_DNS_RESOLVER: the downstream and smarthost names */
};

/* Metrics, registered once by dl_metrics_register (metrics.c) before any thread starts. */
enum dl_mode { DL_MODE_LOCAL = 0, DL_MODE_RELAY, DL_MODE_OUTBOUND, DL_MODE_QUARANTINE, DL_MODE_COUNT };
enum dl_outcome { DL_OUT_OK = 0, DL_OUT_TEMPFAIL, DL_OUT_PERMFAIL, DL_OUT_COUNT };

struct dl_metrics {
	struct cl_metric *deliveries[DL_MODE_COUNT][DL_OUT_COUNT];
	struct cl_metric *latency[DL_MODE_COUNT];
	struct cl_metric *fsync;
	struct cl_metric *downstream_err[8]; /* by enum dl_relay_err (DL_RELAY_NERR); [0] unused */
	struct cl_metric *q_stored, *q_released, *q_deleted, *q_purged;
	struct cl_metric *digests_sent, *digest_errors, *tmp_cleaned;
	struct cl_metric *learn_ok, *learn_failed;
	struct cl_metric *dkim_signed, *dkim_failed, *dkim_refused; /* outbound DKIM signatures (sign.c) */
};

/* dl_metrics_register - every series of m in reg (which owns them), before any thread runs. */
void dl_metrics_register(struct cl_metrics *reg, struct dl_metrics *m);

struct dl_ctx {
	const struct dl_config *cfg;
	struct dl_metrics *m;
	struct cl_pg_pool *db;
	char helo[256];
	struct cl_dns_host *dns; /* lib/dns: every downstream name is resolved here, by no one else */
};

#endif
