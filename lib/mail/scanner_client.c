/* scanner_client.c - scan request and reply. See scanner_client.h and docs/RPC.md. */
#include "mail/scanner_client.h"

#include <stdlib.h>
#include <string.h>

#include "rpc/frame.h"
#include "util/buf.h"

/* add_str - a string field when set. 0 or -1. */
static int add_str(cJSON *o, const char *key, const char *v)
{
	return !v || cJSON_AddStringToObject(o, key, v) ? 0 : -1;
}

int cl_scanner_scan_req(nng_msg **out, const struct cl_scan_env *e, const void *body, size_t blen)
{
	cJSON *o = cJSON_CreateObject();
	int rc = -1;
	int ok = o && cJSON_AddNumberToObject(o, "v", 1) && cJSON_AddStringToObject(o, "op", CL_SCANNER_OP_SCAN) &&
		 cJSON_AddStringToObject(o, "sid", e->sid ? e->sid : "") && add_str(o, "ip", e->ip) == 0 &&
		 add_str(o, "helo", e->helo && e->helo[0] ? e->helo : NULL) == 0 &&
		 add_str(o, "sender", e->sender) == 0 && add_str(o, "msgid", e->msgid) == 0 &&
		 add_str(o, "auth_user", e->auth_user && e->auth_user[0] ? e->auth_user : NULL) == 0 &&
		 add_str(o, "tls", e->tls) == 0 && add_str(o, "mta", e->mta) == 0 &&
		 add_str(o, "hostname", e->hostname && e->hostname[0] ? e->hostname : NULL) == 0;
	cJSON *rc_arr = ok ? cJSON_AddArrayToObject(o, "rcpts") : NULL;
	ok = ok && rc_arr;
	for (size_t i = 0; ok && i < e->nrcpt; i++) {
		cJSON *s = cJSON_CreateString(e->rcpts[i]);
		ok = s && cJSON_AddItemToArray(rc_arr, s);
	}
	if (ok && e->content) {
		cJSON *c = cJSON_AddObjectToObject(o, "content");
		ok = c && cl_content_policy_to_json(e->content, c) == 0;
	}
	if (ok)
		rc = cl_frame_build(out, o, body ? body : "", blen);
	cJSON_Delete(o);
	return rc;
}

static const char *const content_actions[] = {"accept", "tag", "quarantine", "reject", "defer"};

/* header_block_ok - header fields only: printable ASCII and tabs in CRLF-terminated lines,
 * each "Name:" or a continuation, bounded; anything else could forge the message's layout. */
static int header_block_ok(const char *h)
{
	size_t n = strlen(h);
	if (n > 4000 || (n && (n < 2 || h[n - 2] != '\r' || h[n - 1] != '\n')))
		return 0;
	int line_start = 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)h[i];
		if (ch == '\r') {
			if (h[i + 1] != '\n' || line_start)
				return 0;
			i++;
			line_start = 1;
			continue;
		}
		if (line_start && ch != ' ' && ch != '\t') {
			size_t k = strcspn(h + i, ":\r");
			if (h[i + k] != ':' || k == 0)
				return 0;
		}
		if (ch != '\t' && (ch < 0x20 || ch > 0x7E))
			return 0;
		line_start = 0;
	}
	return 1;
}

/* read_content - the reply's "content" object into c. 0, or -1 when it is malformed. */
static int read_content(const cJSON *h, struct cl_scan_content *c)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(h, "content");
	if (!o)
		return 0;
	if (!cJSON_IsObject(o))
		return -1;
	const char *a = cl_json_str(o, "action", "");
	int act = -1;
	for (int i = 0; i < 5; i++)
		if (strcmp(a, content_actions[i]) == 0)
			act = i;
	const char *headers = cl_json_str(o, "headers", "");
	if (act < 0 || !header_block_ok(headers))
		return -1;
	c->present = 1;
	c->action = (enum cl_content_action)act;
	if (act == CL_CONTENT_REJECT || act == CL_CONTENT_DEFER) {
		/* The reply to DATA: the code class must match the action, as for every verdict. */
		cJSON *vj = cJSON_CreateObject();
		int bad = !vj ||
			  !cJSON_AddStringToObject(vj, "action", act == CL_CONTENT_REJECT ? "reject" : "defer") ||
			  !cJSON_AddNumberToObject(vj, "code", (double)cl_json_int(o, "code", 0)) ||
			  !cJSON_AddStringToObject(vj, "enh", cl_json_str(o, "enh", "")) ||
			  !cJSON_AddStringToObject(vj, "text", cl_json_str(o, "text", "")) ||
			  cl_verdict_from_json(vj, &c->v) < 0;
		cJSON_Delete(vj);
		if (bad)
			return -1;
	} else {
		cl_verdict_set(&c->v, CL_ACCEPT, 250, "2.0.0", cl_json_str(o, "text", ""));
	}
	const char *cls = cl_json_str(o, "reason_class", "");
	if (strspn(cls, "abcdefghijklmnopqrstuvwxyz_") == strlen(cls))
		cl_strlcpy(c->reason_class, cls, sizeof c->reason_class);
	const cJSON *sc = cJSON_GetObjectItemCaseSensitive(o, "score");
	c->score = cJSON_IsNumber(sc) ? sc->valuedouble : 0;
	const char *sym = cl_json_str(o, "symbols", "");
	size_t k = 0;
	for (; sym[k] && k + 1 < sizeof c->symbols; k++)
		c->symbols[k] = (sym[k] >= 0x20 && sym[k] < 0x7F) ? sym[k] : '_';
	c->symbols[k] = '\0';
	c->unscanned = cl_json_bool(o, "unscanned", 0);
	if (headers[0] && !(c->headers = strdup(headers)))
		return -1;
	return 0;
}

enum cl_scan_result cl_scanner_scan_reply(nng_msg *reply, char *sig, size_t siglen, struct cl_scan_content *c)
{
	cJSON *h = NULL;
	const unsigned char *body;
	size_t blen;
	char err[128];
	if (siglen)
		sig[0] = '\0';
	if (c)
		memset(c, 0, sizeof *c);
	if (!reply || cl_frame_parse(reply, &h, &body, &blen, err, sizeof err) < 0)
		return CL_SCAN_ERROR;
	const char *verdict = cl_json_str(h, "verdict", "");
	enum cl_scan_result r = CL_SCAN_ERROR;
	if (strcmp(verdict, "clean") == 0) {
		r = CL_SCAN_CLEAN;
	} else if (strcmp(verdict, "infected") == 0) {
		r = CL_SCAN_INFECTED;
		/* The name goes into an SMTP reply: printable ASCII only, bounded. */
		const char *s = cl_json_str(h, "signature", "unknown");
		size_t k = 0;
		for (; s[k] && k + 1 < siglen; k++)
			sig[k] = (s[k] > 0x20 && s[k] < 0x7F) ? s[k] : '_';
		if (siglen)
			sig[k] = '\0';
	}
	if (c && r != CL_SCAN_ERROR && read_content(h, c) < 0) {
		cl_scan_content_free(c);
		r = CL_SCAN_ERROR;
	}
	cJSON_Delete(h);
	return r;
}

void cl_scan_content_free(struct cl_scan_content *c)
{
	free(c->headers);
	memset(c, 0, sizeof *c);
}
