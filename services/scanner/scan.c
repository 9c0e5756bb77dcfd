/* scan.c - the scan op: one message in memory -> clean / infected (signature) / error.
 *
 * The message is handed to libclamav as a memory fmap (cl_fmap_open_memory), so Clement
 * never writes it to disk; libclamav's MIME and archive unpackers see it exactly as the file
 * clamscan would. A message that hits a scan limit gets the configured action: "refuse"
 * reports it infected as Heuristics.Limits.Exceeded.<limit> (libclamav's own names), "accept"
 * scans what fits within the limits and lets the rest through as clean, logged and counted. */
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc.h"
#include "scanner.h"
#include "util/buf.h"
#include "util/log.h"

#define LIMIT_PREFIX "Heuristics.Limits.Exceeded"

/* scan_options - what each scan unpacks and reports; fixed at start. */
static void scan_options(struct cl_scan_options *o)
{
	memset(o, 0, sizeof *o);
	/* First match only (no ALLMATCHES): one signature name is all the SMTP reply needs.
	 * HEURISTICS enables heuristic alerts, among them the limit alert below. */
	o->general = CL_SCAN_GENERAL_HEURISTICS;
	/* Every parser, as clamscan and clamd enable by default: archives, mail (MIME), OLE2,
	 * PDF, HTML, PE/ELF, ... */
	o->parse = ~(uint32_t)0;
	/* Only libclamav can tell that a nested part (a zip in an attachment) or the scan time
	 * hit a limit; with EXCEEDS_MAX it says so as Heuristics.Limits.Exceeded.*, and only when
	 * no real signature matched (HEURISTIC_PRECEDENCE stays off, so a virus found anywhere
	 * wins). scanner_scan() then applies the configured action to that answer. */
	o->heuristic = CL_SCAN_HEURISTIC_EXCEEDS_MAX;
}

int scanner_init(struct scanner *s, const struct scanner_config *cfg, struct cl_metrics *reg, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	s->cfg = cfg;
	s->limit_refuse = strcmp(cfg->limit_action, "accept") != 0; /* the settings table allows refuse|accept */
	scan_options(&s->opts);
	engine_slot_init(&s->slot);
	scratch_init(&s->scratch, cfg->tmpdir);
	pthread_mutex_init(&s->watch_lock, NULL);
	pthread_cond_init(&s->watch_cond, NULL);
	s->reg = reg;
	const char *sc = "messages scanned, by verdict";
	s->scans_clean = cl_metrics_counter(reg, "clement_scanner_scans_total", sc, "verdict=\"clean\"");
	s->scans_infected = cl_metrics_counter(reg, "clement_scanner_scans_total", sc, "verdict=\"infected\"");
	s->scans_error = cl_metrics_counter(reg, "clement_scanner_scans_total", sc, "verdict=\"error\"");
	s->limit_hits = cl_metrics_counter(
	    reg, "clement_scanner_limit_hits_total",
	    "messages that hit a scan limit (refused or accepted per CLEMENT_SCAN_LIMIT_ACTION)", "");
	s->latency = cl_metrics_histogram(reg, "clement_scanner_scan_seconds", "time to scan one message", "");
	s->bytes =
	    cl_metrics_counter(reg, "clement_scanner_bytes_scanned_total", "message bytes received for scanning", "");
	s->sigs = cl_metrics_gauge(reg, "clement_scanner_signatures", "signatures in the loaded engine", "");
	s->db_version = cl_metrics_gauge(
	    reg, "clement_scanner_db_version",
	    "version of the loaded ClamAV database (highest .cvd/.cld; 0 for plain signature files)", "");
	s->db_time = cl_metrics_gauge(reg, "clement_scanner_db_time_seconds",
				      "build time of the loaded ClamAV database, unix seconds (0 when unknown)", "");
	s->loaded_at = cl_metrics_gauge(reg, "clement_scanner_engine_loaded_seconds",
					"when the engine in use finished loading, unix seconds", "");
	const char *rl = "signature database loads, by result";
	s->reloads_ok = cl_metrics_counter(reg, "clement_scanner_reloads_total", rl, "result=\"ok\"");
	s->reloads_failed = cl_metrics_counter(reg, "clement_scanner_reloads_total", rl, "result=\"failed\"");
	const char *rs = "Rspamd checks, by result (error: down, slow or garbage)";
	s->rs_ok = cl_metrics_counter(reg, "clement_scanner_rspamd_checks_total", rs, "result=\"ok\"");
	s->rs_error = cl_metrics_counter(reg, "clement_scanner_rspamd_checks_total", rs, "result=\"error\"");
	s->rs_unscanned = cl_metrics_counter(reg, "clement_scanner_rspamd_unscanned_total",
					     "messages passed without Rspamd's verdict (CLEMENT_RSPAMD_FAIL_OPEN)", "");
	s->rs_latency = cl_metrics_histogram(reg, "clement_scanner_rspamd_seconds", "time of one Rspamd check", "");
	const char *cv = "content verdicts other than accept, by action";
	s->content_reject = cl_metrics_counter(reg, "clement_scanner_content_total", cv, "action=\"reject\"");
	s->content_defer = cl_metrics_counter(reg, "clement_scanner_content_total", cv, "action=\"defer\"");
	s->content_quarantine = cl_metrics_counter(reg, "clement_scanner_content_total", cv, "action=\"quarantine\"");
	s->content_tag = cl_metrics_counter(reg, "clement_scanner_content_total", cv, "action=\"tag\"");
	s->scratch_full = cl_metrics_counter(
	    reg, "clement_scanner_scratch_full_total",
	    "scans refused (451) because the scratch directory had no room for them (CLEMENT_SCANNER_TMPDIR)", "");
	if (!s->scans_clean || !s->scans_infected || !s->scans_error || !s->limit_hits || !s->latency || !s->bytes ||
	    !s->sigs || !s->db_version || !s->db_time || !s->loaded_at || !s->reloads_ok || !s->reloads_failed ||
	    !s->rs_ok || !s->rs_error || !s->rs_unscanned || !s->rs_latency || !s->content_reject ||
	    !s->content_defer || !s->content_quarantine || !s->content_tag || !s->scratch_full) {
		cl_snprintf(err, errlen, "cannot register metrics");
		return -1;
	}
	if (cfg->bulk_clients > 0 && bulk_init(&s->bulk, (long)cfg->bulk_window_s) < 0) {
		cl_snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (cfg->rspamd_url && cfg->rspamd_url[0] &&
	    rspamd_client_init(&s->rspamd, cfg->rspamd_url, (long)cfg->rspamd_timeout_ms, 64, err, errlen) < 0)
		return -1;
	return 0;
}

void scanner_fini(struct scanner *s)
{
	engine_slot_fini(&s->slot);
	scratch_fini(&s->scratch);
	rspamd_client_fini(&s->rspamd);
	bulk_fini(&s->bulk);
	pthread_cond_destroy(&s->watch_cond);
	pthread_mutex_destroy(&s->watch_lock);
}

/* set_result - fill r; name is copied. */
static void set_result(struct scan_result *r, enum scan_verdict v, const char *name, const char *error)
{
	r->verdict = v;
	if (name)
		cl_strlcpy(r->signature, name, sizeof r->signature);
	if (error)
		cl_strlcpy(r->error, error, sizeof r->error);
}

/* limit_result - the configured answer for a message that hit limit `what`. */
static void limit_result(struct scanner *s, struct scan_result *r, const char *what)
{
	char name[96];
	r->limit_hit = 1;
	if (!s->limit_refuse) {
		set_result(r, SCAN_CLEAN, NULL, NULL);
		return;
	}
	cl_snprintf(name, sizeof name, LIMIT_PREFIX ".%s", what);
	set_result(r, SCAN_INFECTED, name, NULL);
}

/* limit_of - the limit behind a libclamav limit error code, or NULL for other codes. */
static const char *limit_of(cl_error_t rc)
{
	switch (rc) {
	case CL_ETIMEOUT:
		return "MaxScanTime";
	case CL_EMAXREC:
		return "MaxRecursion";
	case CL_EMAXSIZE:
		return "MaxScanSize";
	case CL_EMAXFILES:
		return "MaxFiles";
	default:
		return NULL;
	}
}

/* scratch_full_log - an error line for the admin, at most every 10 s (each scan's own line
 * says it too, at warn). */
static void scratch_full_log(const char *why)
{
	static _Atomic double last;
	double now = cl_now_seconds();
	if (now - last < 10.0)
		return;
	last = now;
	char esc[400];
	cl_log(CL_LOG_ERROR, NULL, "scratch_full", "error=%s reply=\"451 4.3.0 until there is room\"",
	       cl_log_escape(esc, sizeof esc, why, strlen(why)));
}

void scanner_scan(struct scanner *s, const unsigned char *msg, size_t len, struct scan_result *r)
{
	memset(r, 0, sizeof *r);
	const struct scan_limits *lim = &s->cfg->limits;
	size_t cap = (size_t)(lim->max_file_size < lim->max_scan_size ? lim->max_file_size : lim->max_scan_size);
	size_t n = len;
	if (len > cap) {
		/* libclamav would skip a file over the size limit altogether; decide here so both
		 * actions are explicit. "accept" still scans the first `cap` bytes. */
		limit_result(s, r, (long long)len > lim->max_file_size ? "MaxFileSize" : "MaxScanSize");
		if (r->verdict == SCAN_INFECTED)
			return;
		n = cap;
	}
	struct scan_engine *e = engine_slot_acquire(&s->slot);
	if (!e) {
		set_result(r, SCAN_ERROR, NULL, "no signature database loaded");
		return;
	}
	/* An empty message is an empty file: clean, but libclamav cannot map zero bytes. */
	cl_fmap_t *map = n ? cl_fmap_open_memory(msg, n) : NULL;
	if (n && !map) {
		engine_release(e);
		set_result(r, SCAN_ERROR, NULL, "cannot map the message (out of memory)");
		return;
	}
	unsigned long long held = 0;
	if (n && scratch_reserve(&s->scratch, n, &held, r->error, sizeof r->error) < 0) {
		/* libclamav would skip what it cannot write there and call the message clean. */
		cl_fmap_close(map);
		engine_release(e);
		r->verdict = SCAN_ERROR;
		cl_metric_inc(s->scratch_full);
		scratch_full_log(r->error);
		return;
	}
	const char *virname = NULL;
	unsigned long scanned = 0;
	struct cl_scan_options o = s->opts; /* libclamav takes a non-const pointer */
	cl_error_t rc = map ? cl_scanmap_callback(map, NULL, &virname, &scanned, e->cl, &o, NULL) : CL_CLEAN;
	if (held)
		scratch_release(&s->scratch, held);
	const char *lim_name = limit_of(rc);
	size_t plen = strlen(LIMIT_PREFIX);
	if (rc == CL_VIRUS && virname && strncmp(virname, LIMIT_PREFIX, plen) == 0 && virname[plen] == '.') {
		limit_result(s, r, virname + plen + 1);
	} else if (rc == CL_VIRUS) {
		/* virname points into the engine: copied before the reference goes. */
		set_result(r, SCAN_INFECTED, virname ? virname : "Unknown", NULL);
	} else if (rc == CL_CLEAN) {
		set_result(r, SCAN_CLEAN, NULL, NULL); /* keeps limit_hit of an accepted size limit */
	} else if (lim_name) {
		limit_result(s, r, lim_name);
	} else {
		set_result(r, SCAN_ERROR, NULL, cl_strerror(rc));
	}
	if (map)
		cl_fmap_close(map);
	engine_release(e);
}

/* verdict_str - a verdict for the log line (the wire name: the codec). */
static const char *verdict_str(enum scan_verdict v)
{
	return v == SCAN_CLEAN ? "clean" : v == SCAN_INFECTED ? "infected" : "error";
}

/* count - metrics of one finished scan. */
static void count(struct scanner *s, const struct scan_result *r, size_t blen, double secs)
{
	cl_metric_inc(r->verdict == SCAN_CLEAN      ? s->scans_clean
		      : r->verdict == SCAN_INFECTED ? s->scans_infected
						    : s->scans_error);
	if (r->limit_hit)
		cl_metric_inc(s->limit_hits);
	cl_metric_add(s->bytes, (int64_t)blen);
	cl_metric_observe(s->latency, secs);
}

/* log_scan - one line per scan, with the session id smtp-edge sent. */
static void log_scan(const char *sid, const struct scan_result *r, size_t blen, double secs)
{
	char esig[200], eerr[600];
	cl_log_escape(esig, sizeof esig, r->signature, strlen(r->signature));
	cl_log_escape(eerr, sizeof eerr, r->error, strlen(r->error));
	enum cl_log_level lvl = r->verdict == SCAN_ERROR ? CL_LOG_WARN : CL_LOG_INFO;
	cl_log(lvl, sid, "scan", "verdict=%s signature=%s error=%s limit=%s bytes=%zu ms=%.1f", verdict_str(r->verdict),
	       esig, eerr, r->limit_hit ? "exceeded" : "no", blen, secs * 1000.0);
}

/* reply - the scan reply through the codec; NULL when out of memory. */
static cJSON *reply(const struct scan_result *r)
{
	return cl_scanner_scan_reply_encode((enum cl_scan_result)r->verdict, r->signature, r->error);
}

/* rspamd_job_failed - Rspamd could not even be asked: the same as its failure. */
static void rspamd_job_failed(struct scanner *s, const struct cl_scan_env *req, const char *sid, const char *why,
			      cJSON *o)
{
	struct rspamd_job j;
	memset(&j, 0, sizeof j);
	j.s = s;
	j.req = req;
	j.r.status = RSPAMD_ERROR;
	cl_strlcpy(j.r.error, why, sizeof j.r.error);
	rspamd_job_decide(&j, sid, o);
}

/* sid_for_log - smtp-edge's session ids are short tokens and are logged as they are, so
 * one grep finds a session across services; anything else is quoted and escaped. */
static void sid_for_log(char *dst, size_t dstlen, const char *sid)
{
	size_t n = strlen(sid);
	int plain = n > 0 && n < dstlen &&
		    strspn(sid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
	if (plain)
		cl_strlcpy(dst, sid, dstlen);
	else
		cl_log_escape(dst, dstlen, sid, n);
}

cJSON *scanner_handle(void *ctx, const cJSON *hdr, const unsigned char *body, size_t blen, void **rbody, size_t *rblen)
{
	struct scanner *s = ctx;
	(void)rbody;
	(void)rblen;
	struct cl_scanner_scan_request req;
	if (cl_scanner_scan_req_decode(hdr, &req) < 0)
		return NULL; /* out of memory: the RPC layer answers an internal error */
	char sid[80];
	const char *rsid = req.env.sid;
	if (rsid)
		sid_for_log(sid, sizeof sid, rsid);
	struct scan_result r;
	struct rspamd_job job;
	double t0 = cl_now_seconds();
	int asked = body && s->rspamd.url && rspamd_job_start(&job, s, &req, body, blen) == 0;
	if (!body) {
		/* A header without the NUL and body: nothing to scan is not "clean". */
		memset(&r, 0, sizeof r);
		set_result(&r, SCAN_ERROR, NULL, "request carries no message body");
	} else {
		scanner_scan(s, body, blen, &r); /* while Rspamd looks at the same bytes */
	}
	double secs = cl_now_seconds() - t0;
	count(s, &r, blen, secs);
	log_scan(rsid ? sid : NULL, &r, blen, secs);
	cJSON *o = reply(&r);
	if (asked)
		rspamd_job_finish(&job, rsid ? sid : NULL, o);
	else if (o && body && s->rspamd.url && r.verdict != SCAN_ERROR)
		rspamd_job_failed(s, &req.env, rsid ? sid : NULL, "cannot start the Rspamd check", o);
	cl_scanner_scan_request_free(&req);
	return o;
}

int scanner_ready(void *ctx, char *why, size_t whylen)
{
	struct scanner *s = ctx;
	struct scan_engine *e = engine_slot_acquire(&s->slot);
	if (!e) {
		cl_snprintf(why, whylen, "no signature database loaded yet");
		return 0;
	}
	engine_release(e);
	return 1;
}
