/* main.c - clement-delivery: makes an accepted message safe before smtp-edge answers 250.
 *
 * Serves the deliver, release and delete RPC ops (docs/RPC.md) with a fixed pool of worker
 * threads, and runs one background thread (bg.c) for quarantine digests and housekeeping
 * (stale Maildir tmp/ files, expired quarantine rows). Settings are the table below. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bg.h"
#include "dconf.h"
#include "digest.h"
#include "maildir.h"
#include "ops.h"
#include "relay.h"
#include "rpc/rpc.h"
#include "store.h"
#include "svc/service.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/metrics.h"

static struct dl_config cfg;
static struct dl_metrics m;
static struct dl_ctx c = {.cfg = &cfg, .m = &m};
static struct dl_bg b;
static int curl_inited, bg_inited, bg_started;

/* setup - HELO name, libcurl (before any thread), metrics, the database pool. */
static int setup(void *ctx, struct cl_metrics *reg, char *err, size_t errlen)
{
	(void)ctx;
	if (cfg.helo[0])
		cl_strlcpy(c.helo, cfg.helo, sizeof c.helo);
	else if (gethostname(c.helo, sizeof c.helo - 1) != 0 || !c.helo[0])
		strcpy(c.helo, "localhost");
	if (!cfg.digest_secret[0])
		cl_log(CL_LOG_WARN, NULL, "no_digest_secret", "note=\"CLEMENT_DIGEST_SECRET unset: no digests\"");
	char why[200];
	if (!(c.dns = cl_dns_host_new(cfg.dns_resolver, why, sizeof why))) {
		cl_snprintf(err, errlen, "bad setting: CLEMENT_DNS_RESOLVER: %s", why);
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		cl_snprintf(err, errlen, "curl_global_init failed");
		return 1;
	}
	curl_inited = 1;
	dl_metrics_register(reg, &m);
	dl_bg_init(&b, &c);
	bg_inited = 1;
	if (!(c.db = cl_pg_pool_new(cfg.db_url, (int)(cfg.workers + 1), NULL, 0))) {
		cl_snprintf(err, errlen, "out of memory");
		return 1;
	}
	return 0;
}

/* start - the background thread (digests, housekeeping), once the RPC server is up. */
static int start(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	if (dl_bg_start(&b) < 0) {
		cl_snprintf(err, errlen, "cannot start the background thread");
		return 1;
	}
	bg_started = 1;
	cl_log(CL_LOG_INFO, NULL, "start", "listen=%s health=%s maildir=%s", cfg.listen, cfg.health_listen,
	       cfg.maildir_root);
	return 0;
}

/* stop - the background thread, before the RPC server stops. */
static void stop(void *ctx)
{
	(void)ctx;
	if (!bg_started)
		return;
	dl_bg_stop(&b);
	bg_started = 0;
}

static void teardown(void *ctx)
{
	stop(ctx);
	if (bg_inited)
		dl_bg_fini(&b);
	cl_pg_pool_free(c.db);
	cl_dns_host_free(c.dns);
	if (curl_inited)
		curl_global_cleanup();
}

int main(int argc, char **argv)
{
	const struct cl_setting settings[] = {
	    {"CLEMENT_DELIVERY_LISTEN", CL_SET_STR, "tcp://0.0.0.0:7003", 0, 0,
	     "RPC URL the server listens on: tcp://host:port or ipc:///path", &cfg.listen},
	    CL_SETTING_HEALTH_LISTEN("CLEMENT_DELIVERY_HEALTH_LISTEN", "0.0.0.0:9104", &cfg.health_listen),
	    CL_SETTING_DB_URL(&cfg.db_url),
	    {"CLEMENT_MAILDIR_ROOT", CL_SET_STR, "/var/mail/clement", 0, 0,
	     "root of the local-mode Maildirs: <root>/<domain>/<localpart>/{tmp,new,cur}", &cfg.maildir_root},
	    {"CLEMENT_SMARTHOST", CL_SET_STR, "", 0, 0,
	     "host:port (a name resolved through CLEMENT_DNS_RESOLVER, or an address) for outbound mail of users whose "
	     "group has no downstream server (empty: none, 451)",
	     &cfg.smarthost},
	    {"CLEMENT_DELIVERY_HELO", CL_SET_STR, "", 0, 0, "EHLO name towards downstream servers (empty: hostname)",
	     &cfg.helo},
	    {"CLEMENT_QUARANTINE_RETENTION_DAYS", CL_SET_INT, "30", 1, 3650,
	     "days a quarantined message is kept before it is purged (the settings table's quarantine.retention_days "
	     "overrides it at run time)",
	     &cfg.retention_days},
	    {"CLEMENT_DIGEST_SECRET", CL_SET_STR, "", 0, 0,
	     "HMAC key of the digest links (shared with admin-api); empty disables digests", &cfg.digest_secret},
	    {"CLEMENT_DIGEST_BASE_URL", CL_SET_STR, "http://127.0.0.1:8080", 0, 0,
	     "origin of admin-api that digest links point to (<url>/api/digest/<token>)", &cfg.digest_base_url},
	    {"CLEMENT_DIGEST_FROM", CL_SET_STR, "", 0, 0,
	     "From: header of digests (empty: Clement quarantine <postmaster@<the user's domain>>)", &cfg.digest_from},
	    {"CLEMENT_DIGEST_POLL_S", CL_SET_DURATION, "30", 1, 3600,
	     "seconds between two looks for due digest schedules", CL_SECONDS(&cfg.digest_poll_s)},
	    {"CLEMENT_DELIVERY_HOUSEKEEPING_S", CL_SET_DURATION, "600", 1, 86400,
	     "seconds between two purges of stale tmp/ files and expired quarantine rows",
	     CL_SECONDS(&cfg.housekeeping_s)},
	    {"CLEMENT_MAILDIR_TMP_MAX_AGE_S", CL_SET_DURATION, "129600", 60, 31536000,
	     "age after which a Maildir tmp/ file is stale and removed (36 h, as the Maildir spec says)",
	     CL_SECONDS(&cfg.tmp_max_age_s)},
	    {"CLEMENT_RELAY_CONNECT_TIMEOUT_MS", CL_SET_DURATION, "10000", 100, 300000,
	     "connect timeout towards a downstream server (its name's DNS lookup has as long again)",
	     CL_MILLIS(&cfg.relay_connect_timeout_ms)},
	    CL_SETTING_DNS_RESOLVER(&cfg.dns_resolver),
	    {"CLEMENT_RELAY_TIMEOUT_MS", CL_SET_DURATION, "60000", 200, 600000,
	     "whole-transaction timeout towards a downstream server (keep below smtp-edge's delivery deadline)",
	     CL_MILLIS(&cfg.relay_timeout_ms)},
	    {"CLEMENT_RELAY_TLS_VERIFY", CL_SET_BOOL, "1", 0, 1,
	     "verify the downstream's certificate when its group requires TLS", &cfg.relay_verify_cert},
	    {"CLEMENT_RELAY_CA_FILE", CL_SET_STR, "", 0, 0,
	     "PEM file of the CAs that verify a downstream's certificate (a private CA; empty: the system's store)",
	     &cfg.relay_ca_file},
	    {"CLEMENT_DELIVERY_WORKERS", CL_SET_INT, "8", 1, 64, "RPC worker threads (one transaction each)",
	     &cfg.workers},
	    {"CLEMENT_RSPAMD_CONTROLLER_URL", CL_SET_STR, "", 0, 0,
	     "Rspamd's controller (http://127.0.0.1:11334): a message the content verdict held is taught as ham "
	     "when released and as spam when deleted, in groups whose admins turned learning on; empty = no learning",
	     &cfg.rspamd_controller},
	    CL_SETTING_LOG_LEVEL(&cfg.log_level),
	};
	size_t nops;
	const struct cl_rpc_op *ops = dl_ops(&nops);
	const struct cl_service svc = {
	    .prog = "clement-delivery",
	    .name = "delivery",
	    .summary = "Makes accepted mail safe before smtp-edge answers 250: durable Maildir delivery, synchronous "
		       "relay to the downstream MTA, quarantine with release/delete, and quarantine digests.",
	    CL_SERVICE_SETTINGS(settings, cfg),
	    CL_SERVICE_RPC(cfg, ops, nops),
	    .ctx = &c,
	    .setup = setup,
	    .start = start,
	    .stop = stop,
	    .teardown = teardown,
	};
	return cl_service_main(argc, argv, &svc);
}
