/* check.c - one Rspamd check per scan request, run in its own thread so that Rspamd and
 * libclamav look at the same bytes at the same time (the slower of the two sets the
 * latency, not their sum), and the content verdict that comes of it (content.c).
 *
 * The request's envelope (docs/RPC.md, op "scan") becomes Rspamd's headers; its "content"
 * object, the recipients' group policy, becomes the Settings header and the thresholds. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rpc/frame.h"
#include "scanner.h"
#include "util/buf.h"
#include "util/log.h"

static void *job_run(void *arg)
{
	struct rspamd_job *j = arg;
	double t0 = cl_now_seconds();
	rspamd_check(&j->s->rspamd, &j->env, j->msg, j->len, &j->r);
	j->secs = cl_now_seconds() - t0;
	return NULL;
}

/* split_tls - "TLSv1.3 TLS_AES_256_GCM_SHA384" (smtp-edge's tls field) into version and cipher. */
static void split_tls(struct rspamd_job *j, const char *tls)
{
	const char *sp = tls ? strchr(tls, ' ') : NULL;
	if (!sp)
		return;
	size_t n = (size_t)(sp - tls);
	if (n < sizeof j->tls_version) {
		memcpy(j->tls_version, tls, n);
		j->tls_version[n] = '\0';
	}
	cl_strlcpy(j->tls_cipher, sp + 1, sizeof j->tls_cipher);
}

/* own_received_len - the length of the Received: field smtp-edge put first in the message
 * ("Received: from ... by <mta> (Clement) with ... id <msgid>..."), or 0 when the message does
 * not start with it. Rspamd is given the message without it, as a milter behind an MTA sees it:
 * with our line on top, Rspamd counts one relay before us and no longer sees a message sent
 * straight to its MX by a host that SPF refuses (VIOLATED_DIRECT_SPF), the mark of a forgery;
 * the client's address and HELO reach it as the IP and Helo headers anyway. */
size_t own_received_len(const unsigned char *msg, size_t len, const char *mta, const char *msgid)
{
	static const char head[] = "Received: from ";
	if (!mta || !mta[0] || !msgid || !msgid[0] || len < sizeof head - 1 || memcmp(msg, head, sizeof head - 1) != 0)
		return 0;
	size_t end = 0; /* the field ends at the first CRLF not followed by folding white space */
	for (size_t i = 0; i + 1 < len; i++)
		if (msg[i] == '\r' && msg[i + 1] == '\n' &&
		    (i + 2 >= len || (msg[i + 2] != ' ' && msg[i + 2] != '\t'))) {
			end = i + 2;
			break;
		}
	if (!end || end > 4096)
		return 0;
	char field[4097], by[300], id[120];
	memcpy(field, msg, end);
	field[end] = '\0';
	cl_snprintf(by, sizeof by, "by %s (Clement) with ", mta);
	cl_snprintf(id, sizeof id, " id %s", msgid);
	const char *b = strstr(field, by), *i = b ? strstr(b, id) : NULL;
	if (!i || (i[strlen(id)] != '\r' && i[strlen(id)] != ';'))
		return 0;
	return end;
}

int rspamd_job_start(struct rspamd_job *j, struct scanner *s, const struct cl_scanner_scan_request *req,
		     const unsigned char *msg, size_t len)
{
	memset(j, 0, sizeof *j);
	j->s = s;
	const struct cl_scan_env *e = j->req = &req->env;
	size_t skip = own_received_len(msg, len, e->mta, e->msgid);
	j->msg = msg + skip;
	j->len = len - skip;
	split_tls(j, e->tls);
	j->pol = req->content;
	content_settings(&j->pol, j->settings, sizeof j->settings);
	j->env = (struct rspamd_env){
	    .sid = e->sid,
	    .ip = e->ip,
	    .helo = e->helo,
	    .hostname = e->hostname,
	    .from = e->sender,
	    .queue_id = e->msgid,
	    .user = e->auth_user,
	    .tls_version = j->tls_version,
	    .tls_cipher = j->tls_cipher,
	    .mta_name = e->mta,
	    .rcpts = e->rcpts,
	    .nrcpt = e->nrcpt,
	    .settings = j->settings[0] ? j->settings : NULL,
	};
	if (pthread_create(&j->thread, NULL, job_run, j) != 0)
		return -1;
	return 0;
}

void rspamd_job_finish(struct rspamd_job *j, const char *sid, cJSON *reply)
{
	pthread_join(j->thread, NULL);
	cl_metric_observe(j->s->rs_latency, j->secs);
	rspamd_job_decide(j, sid, reply);
}

int msg_has_header(const unsigned char *msg, size_t len, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < len;) {
		if (msg[i] == '\r' || msg[i] == '\n') /* the empty line: end of the header */
			return 0;
		if (i + n < len && strncasecmp((const char *)msg + i, name, n) == 0 && msg[i + n] == ':')
			return 1;
		const unsigned char *nl = memchr(msg + i, '\n', len - i);
		if (!nl)
			return 0;
		i = (size_t)(nl - msg) + 1;
	}
	return 0;
}

/* dmarc_exempt - why a DMARC p=reject failure is not refused although the group enforces
 * DMARC, or NULL. The two kinds of wanted mail that fail DMARC without forging anyone (issue
 * 19's world has both; RFC 7960 describes them): a delivery status notification (null
 * sender: many MTAs sign only submitted mail, and the HELO name is the only SPF identity),
 * and a mailing list that keeps its p=reject author's From: and changes the message
 * (List-Id:, the list itself authenticated: its envelope passes SPF or its DKIM signature
 * passes). Such a message is judged by its score like any other. */
static const char *dmarc_exempt(const struct rspamd_job *j)
{
	const char *sender = j->req ? j->req->sender : NULL;
	if (sender && !sender[0])
		return "null sender (a delivery status notification)";
	int list_ok = strcmp(j->r.spf.result, "pass") == 0 || strcmp(j->r.dkim.result, "pass") == 0;
	if (list_ok && msg_has_header(j->msg, j->len, "List-Id"))
		return "mailing list (List-Id, the list's SPF or DKIM passes)";
	return NULL;
}

/* bulk_set - v becomes the bulk verdict: refused (code 550) or deferred (451). */
static void bulk_set(struct content_verdict *v, int code, int others, long long window_s)
{
	v->action = code == 550 ? CA_REJECT : CA_DEFER;
	v->code = code;
	cl_strlcpy(v->enh, code == 550 ? "5.7.1" : "4.7.1", sizeof v->enh);
	v->reason_class = code == 550 ? "spam" : "greylist";
	v->headers[0] = '\0';
	cl_snprintf(v->text, sizeof v->text, "%s: the same text came from %d other servers within %lld minutes",
		    code == 550 ? "Message refused as bulk" : "Try again later (bulk check)", others,
		    (window_s + 59) / 60);
}

/* bulk_decide - snowshoe (issue 19): a text that CLEMENT_BULK_CLIENTS other client addresses
 * already sent within CLEMENT_BULK_WINDOW_S is refused, whatever its score. Before that count,
 * from CLEMENT_BULK_DEFER_CLIENTS others on, a copy with some spam evidence (a positive Rspamd
 * score) is deferred once, 451 4.7.1: a campaign sends all its copies within minutes and a real
 * MTA retries minutes later, so the retry, judged by the full count alone, meets the campaign's
 * other copies; a few servers sending one text meet nothing and pass. Not counted: mail of a
 * logged-in user, and list mail that says so and is signed (List-Id: or List-Unsubscribe: with
 * a passing DKIM signature: mailing lists and ESP newsletters send one text from many
 * addresses by design). Every other copy is counted, refused or not. */
static void bulk_decide(struct rspamd_job *j, const char *sid, struct content_verdict *v)
{
	struct scanner *s = j->s;
	const char *user = j->req ? j->req->auth_user : NULL;
	if (s->cfg->bulk_clients <= 0 || !j->msg || j->r.status != RSPAMD_OK || (user && user[0]))
		return;
	if (strcmp(j->r.dkim.result, "pass") == 0 &&
	    (msg_has_header(j->msg, j->len, "List-Id") || msg_has_header(j->msg, j->len, "List-Unsubscribe")))
		return;
	const char *ip = j->req && j->req->ip ? j->req->ip : "";
	uint64_t fp = bulk_fingerprint(j->msg, j->len);
	time_t now = time(NULL);
	int deferred = 0, others = bulk_note(&s->bulk, fp, ip, now, &deferred);
	if (v->action == CA_REJECT || v->action == CA_DEFER)
		return;
	if (others >= s->cfg->bulk_clients) {
		bulk_set(v, 550, others, s->cfg->bulk_window_s);
		cl_log(CL_LOG_INFO, sid, "bulk_refused", "others=%d window_s=%lld", others, s->cfg->bulk_window_s);
	} else if (s->cfg->bulk_defer_clients > 0 && others >= s->cfg->bulk_defer_clients && !deferred &&
		   j->r.score > 0 && v->action != CA_QUARANTINE) {
		bulk_defer(&s->bulk, fp, ip, now);
		bulk_set(v, 451, others, s->cfg->bulk_window_s);
		cl_log(CL_LOG_INFO, sid, "bulk_deferred", "others=%d score=%.2f", others, j->r.score);
	}
}

void rspamd_job_decide(struct rspamd_job *j, const char *sid, cJSON *reply)
{
	struct scanner *s = j->s;
	struct content_verdict v;
	cl_metric_inc(j->r.status == RSPAMD_OK ? s->rs_ok : s->rs_error);
	struct cl_content_policy pol = j->pol;
	const char *exempt =
	    pol.dmarc_reject && j->r.status == RSPAMD_OK && j->r.dmarc_reject && j->msg ? dmarc_exempt(j) : NULL;
	if (exempt) {
		pol.dmarc_reject = 0;
		cl_log(CL_LOG_INFO, sid, "dmarc_not_enforced", "domain=%s why=\"%s\"", j->r.dmarc_domain, exempt);
	}
	content_decide(&j->r, &pol, s->cfg->rspamd_fail_open, j->req ? j->req->mta : NULL, &v);
	if (s->cfg->refuse_unsigned && content_refuse_unsigned(&j->r, &pol, &v))
		cl_log(CL_LOG_INFO, sid, "unsigned_refused", "score=%.2f quarantine=%.2f", j->r.score, pol.quarantine);
	bulk_decide(j, sid, &v);
	char etext[400], eerr[200];
	cl_log_escape(etext, sizeof etext, v.text, strlen(v.text));
	cl_log_escape(eerr, sizeof eerr, j->r.error, strlen(j->r.error));
	if (j->r.status == RSPAMD_ERROR && v.unscanned) {
		/* CLEMENT_RSPAMD_FAIL_OPEN: the operator chose delivery over safety; say so loudly. */
		cl_metric_inc(s->rs_unscanned);
		cl_log(CL_LOG_ERROR, sid, "rspamd_failed_open",
		       "error=%s action=deliver_unscanned warning=\"Rspamd failed, message passed WITHOUT its verdict "
		       "(CLEMENT_RSPAMD_FAIL_OPEN=1)\"",
		       eerr);
	} else if (j->r.status == RSPAMD_ERROR) {
		cl_log(CL_LOG_WARN, sid, "rspamd_failed", "error=%s action=defer", eerr);
	} else {
		char esym[500];
		cl_log_escape(esym, sizeof esym, j->r.symbols, strlen(j->r.symbols));
		cl_log(CL_LOG_INFO, sid, "rspamd",
		       "action=%s rspamd_action=\"%s\" score=%.2f symbols=%s text=%s ms=%.1f",
		       content_action_str(v.action), rspamd_action_str(j->r.action), j->r.score, esym, etext,
		       j->secs * 1000.0);
	}
	struct cl_metric *m[] = {[CA_REJECT] = s->content_reject,
				 [CA_DEFER] = s->content_defer,
				 [CA_QUARANTINE] = s->content_quarantine,
				 [CA_TAG] = s->content_tag};
	if (v.action != CA_ACCEPT)
		cl_metric_inc(m[v.action]);
	if (reply && content_to_json(&v, &j->r, reply) < 0) /* out of memory: an error, never a pass */
		cJSON_ReplaceItemInObjectCaseSensitive(reply, "verdict", cJSON_CreateString("error"));
}
