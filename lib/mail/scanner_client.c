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

cJSON *cl_scanner_scan_req_encode(const struct cl_scan_env *e)
{
	cJSON *o = cJSON_CreateObject();
	int ok = o && cJSON_AddNumberToObject(o, "v", CL_FRAME_VERSION) &&
		 cJSON_AddStringToObject(o, "op", CL_SCANNER_OP_SCAN) &&
		 cJSON_AddStringToObject(o, CL_SCANNER_F_SID, e->sid ? e->sid : "") &&
		 add_str(o, CL_SCANNER_F_IP, e->ip) == 0 &&
		 add_str(o, CL_SCANNER_F_HELO, e->helo && e->helo[0] ? e->helo : NULL) == 0 &&
		 add_str(o, CL_SCANNER_F_SENDER, e->sender) == 0 && add_str(o, CL_SCANNER_F_MSGID, e->msgid) == 0 &&
		 add_str(o, CL_SCANNER_F_AUTH_USER, e->auth_user && e->auth_user[0] ? e->auth_user : NULL) == 0 &&
		 add_str(o, CL_SCANNER_F_TLS, e->tls) == 0 && add_str(o, CL_SCANNER_F_MTA, e->mta) == 0 &&
		 add_str(o, CL_SCANNER_F_HOSTNAME, e->hostname && e->hostname[0] ? e->hostname : NULL) == 0;
	cJSON *rc_arr = ok ? cJSON_AddArrayToObject(o, CL_SCANNER_F_RCPTS) : NULL;
	ok = ok && rc_arr;
	for (size_t i = 0; ok && i < e->nrcpt; i++) {
		cJSON *s = cJSON_CreateString(e->rcpts[i]);
		ok = s && cJSON_AddItemToArray(rc_arr, s);
	}
	if (ok && e->content) {
		cJSON *c = cJSON_AddObjectToObject(o, CL_SCANNER_F_CONTENT);
		ok = c && cl_content_policy_to_json(e->content, c) == 0;
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int cl_scanner_scan_req(nng_msg **out, const struct cl_scan_env *e, const void *body, size_t blen)
{
	return cl_frame_build_owned(out, cl_scanner_scan_req_encode(e), body ? body : "", blen);
}

int cl_scanner_scan_req_decode(const cJSON *req, struct cl_scanner_scan_request *r)
{
	memset(r, 0, sizeof *r);
	struct cl_scan_env *e = &r->env;
	const cJSON *rc = cJSON_GetObjectItemCaseSensitive(req, CL_SCANNER_F_RCPTS);
	int n = cJSON_IsArray(rc) ? cJSON_GetArraySize(rc) : 0;
	const char **rcpts = calloc((size_t)n + 1, sizeof *rcpts);
	if (!rcpts)
		return -1;
	const cJSON *it;
	cJSON_ArrayForEach(it, rc) if (cJSON_IsString(it)) rcpts[e->nrcpt++] = it->valuestring;
	e->rcpts = rcpts;
	e->sid = cl_json_str(req, CL_SCANNER_F_SID, NULL);
	e->ip = cl_json_str(req, CL_SCANNER_F_IP, NULL);
	e->helo = cl_json_str(req, CL_SCANNER_F_HELO, NULL);
	e->hostname = cl_json_str(req, CL_SCANNER_F_HOSTNAME, NULL);
	e->sender = cl_json_str(req, CL_SCANNER_F_SENDER, NULL);
	e->msgid = cl_json_str(req, CL_SCANNER_F_MSGID, NULL);
	e->auth_user = cl_json_str(req, CL_SCANNER_F_AUTH_USER, NULL);
	e->tls = cl_json_str(req, CL_SCANNER_F_TLS, NULL);
	e->mta = cl_json_str(req, CL_SCANNER_F_MTA, NULL);
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(req, CL_SCANNER_F_CONTENT);
	cl_content_policy_from_json(c, &r->content);
	e->content = cJSON_IsObject(c) ? &r->content : NULL;
	return 0;
}

void cl_scanner_scan_request_free(struct cl_scanner_scan_request *r)
{
	free((void *)r->env.rcpts);
	r->env.rcpts = NULL;
	r->env.nrcpt = 0;
}

static const char *const verdicts[] = {"clean", "infected", "error"};

cJSON *cl_scanner_scan_reply_encode(enum cl_scan_result r, const char *signature, const char *error)
{
	cJSON *o = cJSON_CreateObject();
	int ok = o && cJSON_AddNumberToObject(o, "v", CL_FRAME_VERSION) &&
		 cJSON_AddStringToObject(o, CL_SCANNER_F_VERDICT, verdicts[r <= CL_SCAN_ERROR ? r : CL_SCAN_ERROR]);
	if (ok && r == CL_SCAN_INFECTED)
		ok = cJSON_AddStringToObject(o, CL_SCANNER_F_SIGNATURE, signature ? signature : "") != NULL;
	if (ok && r != CL_SCAN_CLEAN && r != CL_SCAN_INFECTED)
		ok = cJSON_AddStringToObject(o, CL_SCANNER_F_ERROR, error ? error : "") != NULL;
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
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

int cl_scanner_content_encode(cJSON *reply, const struct cl_scan_content_reply *v)
{
	cJSON *c = cJSON_AddObjectToObject(reply, CL_SCANNER_F_CONTENT);
	unsigned a = (unsigned)v->action <= CL_CONTENT_DEFER ? (unsigned)v->action : CL_CONTENT_ACCEPT;
	if (!c || !cJSON_AddStringToObject(c, CL_SCANNER_F_ACTION, content_actions[a]) ||
	    !cJSON_AddNumberToObject(c, CL_SCANNER_F_CODE, v->code) ||
	    !cJSON_AddStringToObject(c, CL_SCANNER_F_ENH, v->enh ? v->enh : "") ||
	    !cJSON_AddStringToObject(c, CL_SCANNER_F_TEXT, v->text ? v->text : "") ||
	    !cJSON_AddBoolToObject(c, CL_SCANNER_F_UNSCANNED, v->unscanned) ||
	    !cJSON_AddStringToObject(c, CL_SCANNER_F_HEADERS, v->headers ? v->headers : ""))
		return -1;
	if (v->reason_class && !cJSON_AddStringToObject(c, CL_SCANNER_F_REASON_CLASS, v->reason_class))
		return -1;
	if (v->scored &&
	    (!cJSON_AddNumberToObject(c, CL_SCANNER_F_SCORE, v->score) ||
	     !cJSON_AddStringToObject(c, CL_SCANNER_F_RSPAMD_ACTION, v->rspamd_action ? v->rspamd_action : "") ||
	     !cJSON_AddStringToObject(c, CL_SCANNER_F_SYMBOLS, v->symbols ? v->symbols : "")))
		return -1;
	return 0;
}

/* read_content - the reply's "content" object into c. 0, or -1 when it is malformed. */
static int read_content(const cJSON *h, struct cl_scan_content *c)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(h, CL_SCANNER_F_CONTENT);
	if (!o)
		return 0;
	if (!cJSON_IsObject(o))
		return -1;
	const char *a = cl_json_str(o, CL_SCANNER_F_ACTION, "");
	int act = -1;
	for (int i = 0; i < 5; i++)
		if (strcmp(a, content_actions[i]) == 0)
			act = i;
	const char *headers = cl_json_str(o, CL_SCANNER_F_HEADERS, "");
	if (act < 0 || !header_block_ok(headers))
		return -1;
	c->present = 1;
	c->action = (enum cl_content_action)act;
	if (act == CL_CONTENT_REJECT || act == CL_CONTENT_DEFER) {
		/* The reply to DATA: the code class must match the action, as for every verdict. */
		cJSON *vj = cJSON_CreateObject();
		int bad = !vj ||
			  !cJSON_AddStringToObject(vj, "action", act == CL_CONTENT_REJECT ? "reject" : "defer") ||
			  !cJSON_AddNumberToObject(vj, "code", (double)cl_json_int(o, CL_SCANNER_F_CODE, 0)) ||
			  !cJSON_AddStringToObject(vj, "enh", cl_json_str(o, CL_SCANNER_F_ENH, "")) ||
			  !cJSON_AddStringToObject(vj, "text", cl_json_str(o, CL_SCANNER_F_TEXT, "")) ||
			  cl_verdict_from_json(vj, &c->v) < 0;
		cJSON_Delete(vj);
		if (bad)
			return -1;
	} else {
		cl_verdict_set(&c->v, CL_ACCEPT, 250, "2.0.0", cl_json_str(o, CL_SCANNER_F_TEXT, ""));
	}
	const char *cls = cl_json_str(o, CL_SCANNER_F_REASON_CLASS, "");
	if (strspn(cls, "abcdefghijklmnopqrstuvwxyz_") == strlen(cls))
		cl_strlcpy(c->reason_class, cls, sizeof c->reason_class);
	const cJSON *sc = cJSON_GetObjectItemCaseSensitive(o, CL_SCANNER_F_SCORE);
	c->score = cJSON_IsNumber(sc) ? sc->valuedouble : 0;
	const char *sym = cl_json_str(o, CL_SCANNER_F_SYMBOLS, "");
	size_t k = 0;
	for (; sym[k] && k + 1 < sizeof c->symbols; k++)
		c->symbols[k] = (sym[k] >= 0x20 && sym[k] < 0x7F) ? sym[k] : '_';
	c->symbols[k] = '\0';
	c->unscanned = cl_json_bool(o, CL_SCANNER_F_UNSCANNED, 0);
	if (headers[0] && !(c->headers = strdup(headers)))
		return -1;
	return 0;
}

enum cl_scan_result cl_scanner_scan_reply_decode(const cJSON *h, char *sig, size_t siglen, struct cl_scan_content *c)
{
	if (siglen)
		sig[0] = '\0';
	if (c)
		memset(c, 0, sizeof *c);
	if (!h)
		return CL_SCAN_ERROR;
	const char *verdict = cl_json_str(h, CL_SCANNER_F_VERDICT, "");
	enum cl_scan_result r = CL_SCAN_ERROR;
	if (strcmp(verdict, "clean") == 0) {
		r = CL_SCAN_CLEAN;
	} else if (strcmp(verdict, "infected") == 0) {
		r = CL_SCAN_INFECTED;
		/* The name goes into an SMTP reply: printable ASCII only, bounded. */
		const char *s = cl_json_str(h, CL_SCANNER_F_SIGNATURE, "unknown");
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
	return r;
}

enum cl_scan_result cl_scanner_scan_reply(nng_msg *reply, char *sig, size_t siglen, struct cl_scan_content *c)
{
	cJSON *h = cl_frame_header(reply);
	enum cl_scan_result r = cl_scanner_scan_reply_decode(h, sig, siglen, c);
	cJSON_Delete(h);
	return r;
}

void cl_scan_content_free(struct cl_scan_content *c)
{
	free(c->headers);
	memset(c, 0, sizeof *c);
}
