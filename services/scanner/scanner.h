/* scanner.h - the clement-scanner service: its settings, its one shared state, the scan op
 * (scan.c) and the signature reload thread (watch.c).
 *
 * One struct scanner lives for the whole process (created in main, freed at exit); the RPC
 * workers and the reload thread only read its settings and metrics and go through its
 * engine slot for the engine. */
#ifndef CLEMENT_SCANNER_SCANNER_H
#define CLEMENT_SCANNER_SCANNER_H

#include <cjson/cJSON.h>
#include <clamav.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "bulk.h"
#include "content.h"
#include "engine.h"
#include "rspamd.h"
#include "scratch.h"
#include "util/metrics.h"

struct scanner_config {
	char *listen;
	char *health_listen;
	char *db_dir;
	char *tmpdir;
	char *limit_action; /* "refuse" or "accept" */
	char *log_level;
	long long workers; /* 0 = one per core */
	long long reload_s;
	struct scan_limits limits;
	char *rspamd_url; /* "" = Rspamd off */
	long long rspamd_timeout_ms;
	int rspamd_fail_open;
	long long bulk_clients;       /* refuse a text already sent by this many other clients; 0 = off */
	long long bulk_window_s;      /* ... within this many seconds */
	long long bulk_defer_clients; /* defer once a scored copy already sent by this many others */
	int refuse_unsigned;          /* held spam without a passing DKIM signature is refused (content.h) */
};

/* The codec's results (lib/mail/scanner_client.h), under the scanner's short names. */
enum scan_verdict { SCAN_CLEAN = CL_SCAN_CLEAN, SCAN_INFECTED = CL_SCAN_INFECTED, SCAN_ERROR = CL_SCAN_ERROR };

struct scan_result {
	enum scan_verdict verdict;
	int limit_hit;       /* the message hit a scan limit (whatever the action) */
	char signature[160]; /* SCAN_INFECTED: the signature name */
	char error[256];     /* SCAN_ERROR: why */
};

struct scanner {
	const struct scanner_config *cfg;
	int limit_refuse;
	struct cl_scan_options opts;
	struct engine_slot slot;
	struct cl_metrics *reg; /* not owned */
	struct cl_metric *scans_clean, *scans_infected, *scans_error, *limit_hits, *latency, *bytes;
	struct cl_metric *sigs, *db_version, *db_time, *loaded_at, *reloads_ok, *reloads_failed;
	/* Rspamd (content.c): off when rspamd.url is NULL */
	struct rspamd_client rspamd;
	struct cl_metric *rs_ok, *rs_error, *rs_unscanned, *rs_latency;
	struct cl_metric *content_reject, *content_defer, *content_quarantine, *content_tag;
	struct bulk_table bulk; /* snowshoe: body fingerprints by client (bulk.c) */
	struct scratch scratch; /* room in libclamav's scratch directory (scratch.h) */
	struct cl_metric *scratch_full;

	/* reload thread (watch.c) */
	pthread_t watch_thread;
	int watch_running;
	pthread_mutex_t watch_lock;
	pthread_cond_t watch_cond;
	int watch_stop;
	uint64_t last_fingerprint;
	int have_fingerprint;
};

/* scanner_init - scan options, metrics and the Rspamd client from cfg; the engine slot starts empty. 0 or -1.
 * cfg and reg must outlive the scanner. */
int scanner_init(struct scanner *s, const struct scanner_config *cfg, struct cl_metrics *reg, char *err, size_t errlen);
/* scanner_fini - release the current engine (the RPC server and the reload thread must be
 * stopped). */
void scanner_fini(struct scanner *s);

/* scanner_scan - scan one message held in memory (never written to disk by us; libclamav's
 * unpackers may use cfg->limits.tmpdir). Fills r; never fails otherwise. Thread-safe. */
void scanner_scan(struct scanner *s, const unsigned char *msg, size_t len, struct scan_result *r);

/* scanner_handle - the RPC handler of op "scan" (docs/RPC.md) in the service's op table. */
cJSON *scanner_handle(void *ctx, const cJSON *req, const unsigned char *body, size_t blen, void **rbody, size_t *rblen);

/* One Rspamd check running in its own thread while the RPC worker runs libclamav (check.c).
 * Everything it borrows (the request, the body) lives until rspamd_job_finish returns. */
struct rspamd_job {
	struct scanner *s;
	const struct cl_scan_env *req; /* the decoded request's envelope */
	struct rspamd_env env;
	char tls_version[32], tls_cipher[96], settings[200];
	struct cl_content_policy pol;
	const unsigned char *msg;
	size_t len;
	struct rspamd_result r;
	double secs;
	pthread_t thread;
};

/* own_received_len - length of smtp-edge's own Received: field at the start of msg (by <mta>
 * (Clement) ... id <msgid>), 0 if the message does not start with it; Rspamd is given the
 * message after it (check.c says why). */
size_t own_received_len(const unsigned char *msg, size_t len, const char *mta, const char *msgid);
/* msg_has_header - 1 when the header block of msg has a field called name (any case). */
int msg_has_header(const unsigned char *msg, size_t len, const char *name);
/* rspamd_job_start - the envelope and policy from the decoded request, then the check in a new
 * thread. 0, or -1 when no thread could be started (nothing to finish then). */
int rspamd_job_start(struct rspamd_job *j, struct scanner *s, const struct cl_scanner_scan_request *req,
		     const unsigned char *msg, size_t len);
/* rspamd_job_finish - wait for the check, then rspamd_job_decide; frees what the job owns. */
void rspamd_job_finish(struct rspamd_job *j, const char *sid, cJSON *reply);
/* rspamd_job_decide - the content verdict of j->r into reply (may be NULL: out of memory),
 * with its log line and metrics. */
void rspamd_job_decide(struct rspamd_job *j, const char *sid, cJSON *reply);

/* scanner_ready - /healthz: ready once an engine is loaded (a cl_ready_fn). */
int scanner_ready(void *ctx, char *why, size_t whylen);

/* scanner_reload_once - load the database if it changed since the last attempt (or force).
 * Returns 1 when a new engine was swapped in, 0 when nothing changed, -1 on failure (the
 * previous engine stays). Called by the reload thread; exposed for the unit tests. */
int scanner_reload_once(struct scanner *s, int force);

/* scanner_watch_start / scanner_watch_stop - the reload thread: an initial load, then a
 * check every cfg->reload_s seconds. Stop wakes it and joins it (a load in progress
 * finishes first). */
int scanner_watch_start(struct scanner *s, char *err, size_t errlen);
void scanner_watch_stop(struct scanner *s);

#endif
