/* main.c - clement-scanner: scans each message with one shared libclamav engine before
 * smtp-edge answers DATA (docs/RPC.md, op "scan").
 *
 * Threads: the RPC workers (one thread each, CLEMENT_SCANNER_WORKERS, one per core by
 * default) scan in parallel on the same read-only engine; the reload thread (watch.c) loads
 * the database at start and again whenever CLEMENT_CLAMAV_DB changes; libmicrohttpd serves
 * /healthz (ready once an engine is loaded) and /metrics. SIGTERM stops the RPC server first
 * (scans in flight finish), then the reload thread, then frees the engine. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "mail/scanner_client.h"
#include "rpc/rpc.h"
#include "scanner.h"
#include "svc/service.h"
#include "util/log.h"

#define PROG "clement-scanner"

static struct scanner_config cfg;
static struct scanner sc;
static int sc_inited, curl_inited;

/* setup - libclamav and libcurl before any thread (as both ask), the engine's state and the
 * reload thread (it loads the database at start). */
static int setup(void *ctx, struct cl_metrics *reg, char *err, size_t errlen)
{
	(void)ctx;
	cfg.limits.tmpdir = cfg.tmpdir;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl_inited = 1;
	if (engine_lib_init(err, errlen) < 0)
		return 1;
	if (scanner_init(&sc, &cfg, reg, err, errlen) < 0)
		return 2;
	sc_inited = 1;
	return scanner_watch_start(&sc, err, errlen) < 0 ? 1 : 0;
}

static int start(void *ctx, char *err, size_t errlen)
{
	(void)ctx, (void)err, (void)errlen;
	cl_log(CL_LOG_INFO, NULL, "start",
	       "listen=%s health=%s workers=%d db=%s libclamav=%s limit_action=%s rspamd=%s rspamd_timeout_ms=%lld",
	       cfg.listen, cfg.health_listen, cl_service_workers(cfg.workers), cfg.db_dir, cl_retver(),
	       cfg.limit_action, cfg.rspamd_url[0] ? cfg.rspamd_url : "off", cfg.rspamd_timeout_ms);
	if (cfg.rspamd_url[0] && cfg.rspamd_fail_open)
		cl_log(CL_LOG_WARN, NULL, "rspamd_fail_open",
		       "rspamd_fail_open=1 warning=\"messages are delivered without Rspamd's verdict whenever Rspamd "
		       "fails\"");
	return 0;
}

/* teardown - after the RPC server stopped (scans in flight finished): the reload thread, then
 * the engine. */
static void teardown(void *ctx)
{
	(void)ctx;
	if (sc_inited) {
		scanner_watch_stop(&sc);
		scanner_fini(&sc);
	}
	if (curl_inited)
		curl_global_cleanup();
}

int main(int argc, char **argv)
{
	const struct cl_setting settings[] = {
	    {"CLEMENT_SCANNER_LISTEN", CL_SET_STR, "tcp://0.0.0.0:7002", 0, 0,
	     "RPC URL the scan server listens on: tcp://host:port or ipc:///path", &cfg.listen},
	    CL_SETTING_HEALTH_LISTEN("CLEMENT_SCANNER_HEALTH_LISTEN", "0.0.0.0:9103", &cfg.health_listen),
	    {"CLEMENT_CLAMAV_DB", CL_SET_STR, "/var/lib/clamav", 0, 0,
	     "ClamAV database directory (freshclam's: .cvd/.cld/.ndb/.hdb ...), watched for changes", &cfg.db_dir},
	    {"CLEMENT_CLAMAV_RELOAD_S", CL_SET_DURATION, "60", 1, 86400,
	     "seconds between two checks of CLEMENT_CLAMAV_DB for changed signatures", CL_SECONDS(&cfg.reload_s)},
	    {"CLEMENT_SCANNER_WORKERS", CL_SET_INT, "0", 0, 256,
	     "scans in parallel (one RPC worker thread each); 0 = one per CPU core", &cfg.workers},
	    {"CLEMENT_SCAN_MAX_SCAN_SIZE", CL_SET_INT, "104857600", 1024, 4294967295LL,
	     "bytes scanned at most per message, counting unpacked parts (libclamav MaxScanSize)",
	     &cfg.limits.max_scan_size},
	    {"CLEMENT_SCAN_MAX_FILE_SIZE", CL_SET_INT, "52428800", 1024, 4294967295LL,
	     "largest message or unpacked part scanned, in bytes (libclamav MaxFileSize)", &cfg.limits.max_file_size},
	    {"CLEMENT_SCAN_MAX_FILES", CL_SET_INT, "10000", 1, 1000000,
	     "most parts and archive members unpacked from one message (libclamav MaxFiles)", &cfg.limits.max_files},
	    {"CLEMENT_SCAN_MAX_RECURSION", CL_SET_INT, "17", 1, 100,
	     "deepest nesting unpacked: MIME in zip in MIME ... (libclamav MaxRecursion)", &cfg.limits.max_recursion},
	    {"CLEMENT_SCAN_MAX_TIME_MS", CL_SET_DURATION, "60000", 1, 3600000,
	     "longest scan of one message, in milliseconds (libclamav MaxScanTime)",
	     CL_MILLIS(&cfg.limits.max_scan_time_ms)},
	    {"CLEMENT_SCAN_LIMIT_ACTION", CL_SET_CHOICE, "refuse", 0, 0,
	     "a message that hits a scan limit: refuse (infected, Heuristics.Limits.Exceeded.*) or accept (clean, "
	     "logged)",
	     CL_CHOICE(&cfg.limit_action, "refuse|accept")},
	    {"CLEMENT_SCANNER_TMPDIR", CL_SET_STR, "", 0, 0,
	     "scratch directory of libclamav's unpackers (use a tmpfs); empty = libclamav's default (TMPDIR or /tmp). "
	     "A scan starts only with 4 times the message's size + 1 MiB free there for it and each scan in flight, "
	     "else 451 4.3.0 (libclamav would scan what it could not write as empty); give it "
	     "CLEMENT_SCAN_MAX_SCAN_SIZE per worker for archives",
	     &cfg.tmpdir},
	    {"CLEMENT_RSPAMD_URL", CL_SET_STR, "", 0, 0,
	     "Rspamd's normal worker (http://127.0.0.1:11333), asked POST /checkv2 in parallel with libclamav; "
	     "empty = Rspamd off (ClamAV only)",
	     &cfg.rspamd_url},
	    {"CLEMENT_RSPAMD_TIMEOUT_MS", CL_SET_DURATION, "10000", 100, 300000,
	     "deadline of one Rspamd check, in milliseconds (then 451 4.3.0, or unscanned with "
	     "CLEMENT_RSPAMD_FAIL_OPEN); keep it below smtp-edge's CLEMENT_SCANNER_TIMEOUT_MS",
	     CL_MILLIS(&cfg.rspamd_timeout_ms)},
	    {"CLEMENT_RSPAMD_FAIL_OPEN", CL_SET_BOOL, "0", 0, 1,
	     "deliver without Rspamd's verdict when Rspamd is down, slow or answers garbage (logged at error level, "
	     "counted in clement_scanner_rspamd_unscanned_total); default: 451 4.3.0",
	     &cfg.rspamd_fail_open},
	    {"CLEMENT_BULK_CLIENTS", CL_SET_INT, "10", 0, 31,
	     "snowshoe spam (needs Rspamd): refuse (550 5.7.1) a message whose text (its body's words without "
	     "digits) this many other client addresses already sent within CLEMENT_BULK_WINDOW_S; signed list mail "
	     "(List-Id/List-Unsubscribe with DKIM pass) and logged-in users are not counted; 0 = off",
	     &cfg.bulk_clients},
	    {"CLEMENT_BULK_WINDOW_S", CL_SET_DURATION, "3600", 60, 86400,
	     "the window of CLEMENT_BULK_CLIENTS, in seconds (counts are per scanner process, in memory)",
	     CL_SECONDS(&cfg.bulk_window_s)},
	    {"CLEMENT_BULK_DEFER_CLIENTS", CL_SET_INT, "2", 0, 31,
	     "early snowshoe check: defer once (451 4.7.1) a copy with a positive Rspamd score whose text this many "
	     "other client addresses already sent (fewer than CLEMENT_BULK_CLIENTS); its retry is judged by "
	     "CLEMENT_BULK_CLIENTS alone, so a campaign's copies meet each other and a few servers' text passes; "
	     "0 = off",
	     &cfg.bulk_defer_clients},
	    {"CLEMENT_SPAM_REFUSE_UNSIGNED", CL_SET_BOOL, "1", 0, 1,
	     "refuse (550 5.7.1) in-session instead of holding a message that reaches its group's quarantine score "
	     "when no DKIM signature passes and the group set no reject score of its own (needs Rspamd); 0 = hold it "
	     "as any other",
	     &cfg.refuse_unsigned},
	    CL_SETTING_LOG_LEVEL(&cfg.log_level),
	};
	static const struct cl_rpc_op ops[] = {{CL_SCANNER_OP_SCAN, scanner_handle}};
	const struct cl_service svc = {
	    .prog = PROG,
	    .name = "scanner",
	    .summary = "Scans each message for viruses with one shared libclamav engine, reloaded in the "
		       "background when the signature directory changes.",
	    CL_SERVICE_SETTINGS(settings, cfg),
	    CL_SERVICE_RPC(cfg, ops, sizeof ops / sizeof ops[0]),
	    .ctx = &sc,
	    .ready = scanner_ready,
	    .setup = setup,
	    .start = start,
	    .teardown = teardown,
	};
	return cl_service_main(argc, argv, &svc);
}
