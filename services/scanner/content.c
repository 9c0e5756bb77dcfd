/* content.c - from Rspamd's answer and the group's policy to one content verdict. See content.h. */
#include "content.h"

#include <stdio.h>
#include <string.h>

#include "util/buf.h"

static const char *const action_names[] = {"accept", "tag", "quarantine", "reject", "defer"};

const char *content_action_str(enum content_action a)
{
	return (unsigned)a <= CA_DEFER ? action_names[a] : "accept";
}

void content_settings(const struct cl_content_policy *p, char *out, size_t outlen)
{
	out[0] = '\0';
	if (!p->has_reject && !p->has_tag)
		return;
	char rej[40] = "", tag[40] = "";
	if (p->has_reject)
		snprintf(rej, sizeof rej, "\"reject\":%.2f", p->reject);
	if (p->has_tag)
		snprintf(tag, sizeof tag, "\"add header\":%.2f", p->tag);
	cl_snprintf(out, outlen, "{\"actions\":{%s%s%s}}", rej, rej[0] && tag[0] ? "," : "", tag);
}

static void set(struct content_verdict *v, enum content_action a, int code, const char *enh, const char *cls)
{
	v->action = a;
	v->code = code;
	cl_strlcpy(v->enh, enh, sizeof v->enh);
	v->reason_class = cls;
}

/* why - Rspamd's own reply text when it gave one (a forced action: "Gtube pattern"), else
 * the descriptions of the symbols that weighed most. */
static const char *why(const struct rspamd_result *r)
{
	return r->smtp_message[0] ? r->smtp_message : r->reasons[0] ? r->reasons : "content filter";
}

/* spam_headers - X-Spam-Flag/-Score/-Status (the fields SpamAssassin made common). */
static void spam_headers(const struct rspamd_result *r, struct cl_buf *b)
{
	char tests[400];
	cl_strlcpy(tests, r->symbols, sizeof tests);
	for (char *p = tests; *p; p++)
		if (*p == ' ')
			*p = ',';
	cl_buf_printf(b, "X-Spam-Flag: YES\r\nX-Spam-Score: %.2f\r\nX-Spam-Status: Yes, score=%.2f tests=%s\r\n",
		      r->score, r->score, tests[0] ? tests : "none");
}

void content_decide(const struct rspamd_result *r, const struct cl_content_policy *p, int fail_open, const char *host,
		    struct content_verdict *v)
{
	memset(v, 0, sizeof *v);
	set(v, CA_ACCEPT, 250, "2.0.0", NULL);
	if (r->status == RSPAMD_OFF)
		return;
	if (r->status == RSPAMD_ERROR) {
		if (fail_open) {
			v->unscanned = 1;
			return;
		}
		set(v, CA_DEFER, 451, "4.3.0", "temporary");
		cl_strlcpy(v->text, "Temporary failure, try again later", sizeof v->text);
		return;
	}
	if (p->dmarc_reject && r->dmarc_reject) {
		set(v, CA_REJECT, 550, "5.7.1", "dmarc");
		cl_snprintf(v->text, sizeof v->text,
			    "Message refused: %s publishes DMARC p=reject and neither SPF nor DKIM is aligned",
			    r->dmarc_domain[0] ? r->dmarc_domain : "the From domain");
	} else if (r->action == RA_REJECT || (p->has_reject && r->score >= p->reject)) {
		set(v, CA_REJECT, 550, "5.7.1", "spam");
		cl_snprintf(v->text, sizeof v->text, "Message refused as spam (score %.2f): %.200s", r->score, why(r));
	} else if (r->action == RA_SOFT_REJECT) {
		/* Rspamd's greylist module (and ratelimit) answer "soft reject" for a triplet it has not
		 * seen long enough; its plain "greylist" action only says the score reached the greylist
		 * score, which that module has already acted on, so it is accepted as Rspamd's milter does. */
		set(v, CA_DEFER, 451, "4.7.1", "greylist");
		cl_snprintf(v->text, sizeof v->text, "Try again later: %.200s",
			    r->smtp_message[0] ? r->smtp_message : "greylisted");
	} else if (p->has_quarantine && r->score >= p->quarantine) {
		set(v, CA_QUARANTINE, 250, "2.0.0", "spam");
		cl_snprintf(v->text, sizeof v->text, "Held as spam (score %.2f): %.200s", r->score, why(r));
	} else if (p->has_tag ? r->score >= p->tag : (r->action == RA_ADD_HEADER || r->action == RA_REWRITE_SUBJECT)) {
		set(v, CA_TAG, 250, "2.0.0", "spam");
		cl_snprintf(v->text, sizeof v->text, "Tagged as spam (score %.2f): %.200s", r->score, why(r));
	}
	if (v->action == CA_REJECT || v->action == CA_DEFER)
		return;
	struct cl_buf b;
	cl_buf_init(&b, sizeof v->headers - 1);
	char ar[700];
	if (rspamd_auth_results(r, host && host[0] ? host : "localhost", ar, sizeof ar) == 0)
		cl_buf_append_str(&b, ar);
	if (v->action == CA_TAG || v->action == CA_QUARANTINE)
		spam_headers(r, &b);
	cl_strlcpy(v->headers, b.data ? b.data : "", sizeof v->headers);
	cl_buf_free(&b);
}

int content_refuse_unsigned(const struct rspamd_result *r, const struct cl_content_policy *p, struct content_verdict *v)
{
	if (v->action != CA_QUARANTINE || p->has_reject || r->status != RSPAMD_OK ||
	    strcmp(r->dkim.result, "pass") == 0)
		return 0;
	set(v, CA_REJECT, 550, "5.7.1", "spam");
	cl_snprintf(v->text, sizeof v->text, "Message refused as spam (score %.2f, not DKIM-signed): %.200s", r->score,
		    why(r));
	v->headers[0] = '\0';
	return 1;
}

int content_to_json(const struct content_verdict *v, const struct rspamd_result *r, cJSON *o)
{
	struct cl_scan_content_reply c = {
	    .action = (enum cl_content_action)v->action,
	    .code = v->code,
	    .enh = v->enh,
	    .text = v->text,
	    .headers = v->headers,
	    .reason_class = v->reason_class,
	    .unscanned = v->unscanned,
	    .scored = r->status == RSPAMD_OK,
	    .score = r->score,
	    .rspamd_action = rspamd_action_str(r->action),
	    .symbols = r->symbols,
	};
	return cl_scanner_content_encode(o, &c);
}
