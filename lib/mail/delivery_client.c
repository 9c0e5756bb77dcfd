/* delivery_client.c - delivery requests and replies. See delivery_client.h, docs/RPC.md. */
#include "mail/delivery_client.h"

#include <stdlib.h>
#include <string.h>

#include "rpc/frame.h"
#include "util/buf.h"

/* hdr - {"v":1,"op":op}; NULL on failure. */
static cJSON *hdr(const char *op)
{
	cJSON *o = cJSON_CreateObject();
	if (o && cJSON_AddNumberToObject(o, "v", 1) && cJSON_AddStringToObject(o, "op", op))
		return o;
	cJSON_Delete(o);
	return NULL;
}

/* rcpt_array - [{"rcpt","route"}...]; NULL on failure. */
static cJSON *rcpt_array(const struct cl_delivery_rcpt *rcpts, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < n; i++) {
		cJSON *e = cJSON_CreateObject();
		if (!e || !cJSON_AddStringToObject(e, CL_DELIVERY_F_RCPT, rcpts[i].rcpt) ||
		    cl_route_to_json(&rcpts[i].route, e) < 0) {
			cJSON_Delete(e);
			cJSON_Delete(arr);
			return NULL;
		}
		cJSON_AddItemToArray(arr, e);
	}
	return arr;
}

/* add_content - "content":{"score":N,"reason":"..."} when c is given. 1 or 0 (out of memory). */
static int add_content(cJSON *o, const struct cl_delivery_content *c)
{
	if (!c || !c->reason)
		return 1;
	cJSON *j = cJSON_AddObjectToObject(o, CL_DELIVERY_F_CONTENT);
	return j && cJSON_AddNumberToObject(j, CL_DELIVERY_F_SCORE, c->score) &&
	       cJSON_AddStringToObject(j, CL_DELIVERY_F_REASON, c->reason);
}

cJSON *cl_delivery_deliver_req_encode(const struct cl_delivery_envelope *env, const struct cl_delivery_rcpt *rcpts,
				      size_t n, const struct cl_delivery_content *content)
{
	cJSON *o = hdr(CL_DELIVERY_OP_DELIVER);
	cJSON *arr = rcpt_array(rcpts, n);
	const char *au = env->auth_user;
	if (o && arr && cJSON_AddStringToObject(o, CL_DELIVERY_F_SID, env->sid) &&
	    cJSON_AddStringToObject(o, CL_DELIVERY_F_MSGID, env->msgid) &&
	    cJSON_AddStringToObject(o, CL_DELIVERY_F_IP, env->ip) &&
	    cJSON_AddStringToObject(o, CL_DELIVERY_F_SENDER, env->sender) &&
	    (!au || !au[0] || cJSON_AddStringToObject(o, CL_DELIVERY_F_AUTH_USER, au)) &&
	    (!env->smtputf8 || cJSON_AddTrueToObject(o, CL_DELIVERY_F_SMTPUTF8)) && add_content(o, content)) {
		cJSON_AddItemToObject(o, CL_DELIVERY_F_RCPTS, arr);
		return o;
	}
	cJSON_Delete(arr);
	cJSON_Delete(o);
	return NULL;
}

int cl_delivery_deliver_req_decode(const cJSON *req, size_t max, struct cl_delivery_deliver_request *r)
{
	memset(r, 0, sizeof *r);
	r->sid = cl_json_str(req, CL_DELIVERY_F_SID, NULL);
	r->msgid = cl_json_str(req, CL_DELIVERY_F_MSGID, NULL);
	r->ip = cl_json_str(req, CL_DELIVERY_F_IP, NULL);
	r->sender = cl_json_str(req, CL_DELIVERY_F_SENDER, NULL);
	r->auth_user = cl_json_str(req, CL_DELIVERY_F_AUTH_USER, NULL);
	r->smtputf8 = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, CL_DELIVERY_F_SMTPUTF8));
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(req, CL_DELIVERY_F_CONTENT);
	const cJSON *sc = cJSON_GetObjectItemCaseSensitive(c, CL_DELIVERY_F_SCORE);
	r->has_score = cJSON_IsNumber(sc);
	r->score = r->has_score ? sc->valuedouble : 0;
	r->reason = cl_json_str(c, CL_DELIVERY_F_REASON, "");
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(req, CL_DELIVERY_F_RCPTS);
	int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
	if (n < 1 || (size_t)n > max || !(r->rcpts = calloc((size_t)n, sizeof *r->rcpts)))
		return -1;
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
	{
		struct cl_delivery_rcpt *d = &r->rcpts[r->n];
		d->rcpt = cl_json_str(it, CL_DELIVERY_F_RCPT, NULL);
		if (!d->rcpt || cl_route_from_json(it, &d->route) < 0) {
			free(r->rcpts);
			r->rcpts = NULL;
			r->n = 0;
			return -1;
		}
		r->n++;
	}
	return 0;
}

cJSON *cl_delivery_quarantine_req_encode(const char *op, const struct cl_delivery_quarantine_request *q)
{
	cJSON *o = hdr(op);
	if (o && cJSON_AddNumberToObject(o, CL_DELIVERY_F_QUARANTINE_ID, (double)q->quarantine_id) &&
	    cJSON_AddNumberToObject(o, CL_DELIVERY_F_BY_USER_ID, (double)q->by_user_id))
		return o;
	cJSON_Delete(o);
	return NULL;
}

void cl_delivery_quarantine_req_decode(const cJSON *req, struct cl_delivery_quarantine_request *q)
{
	q->quarantine_id = cl_json_int(req, CL_DELIVERY_F_QUARANTINE_ID, 0);
	q->by_user_id = cl_json_int(req, CL_DELIVERY_F_BY_USER_ID, 0);
}

cJSON *cl_delivery_verdict_encode(const struct cl_verdict *v, const struct cl_delivery_rcpt_status *st, size_t n)
{
	cJSON *o = cJSON_CreateObject();
	int ok = o && cJSON_AddNumberToObject(o, "v", CL_FRAME_VERSION) && cl_verdict_to_json(v, o) == 0;
	cJSON *arr = ok && st ? cJSON_AddArrayToObject(o, CL_DELIVERY_F_RCPTS) : NULL;
	if (ok && st && !arr)
		ok = 0;
	for (size_t i = 0; ok && st && i < n; i++) {
		cJSON *e = cJSON_CreateObject();
		ok = e && cJSON_AddItemToArray(arr, e) && cJSON_AddStringToObject(e, CL_DELIVERY_F_RCPT, st[i].rcpt) &&
		     cJSON_AddStringToObject(e, CL_DELIVERY_F_STATUS, st[i].status) &&
		     cJSON_AddNumberToObject(e, "code", v->code) && cJSON_AddStringToObject(e, "enh", v->enh) &&
		     cJSON_AddStringToObject(e, "text", v->text);
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int cl_delivery_verdict_decode(const cJSON *h, struct cl_verdict *v, char (*status)[16], size_t n)
{
	for (size_t i = 0; status && i < n; i++)
		status[i][0] = '\0';
	if (!h) {
		cl_verdict_tempfail(v, NULL);
		return -1;
	}
	int rc = cl_verdict_from_json(h, v);
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(h, CL_DELIVERY_F_RCPTS);
	size_t i = 0;
	const cJSON *e;
	if (rc == 0 && status && cJSON_IsArray(arr))
		cJSON_ArrayForEach(e, arr)
		{
			if (i >= n)
				break;
			cl_strlcpy(status[i++], cl_json_str(e, CL_DELIVERY_F_STATUS, ""), 16);
		}
	return rc;
}

int cl_delivery_deliver_req(nng_msg **out, const struct cl_delivery_envelope *env, const struct cl_delivery_rcpt *rcpts,
			    size_t n, const struct cl_delivery_content *content, const void *body, size_t blen)
{
	return cl_frame_build_owned(out, cl_delivery_deliver_req_encode(env, rcpts, n, content), body ? body : "",
				    blen);
}

int cl_delivery_release_req(nng_msg **out, long long quarantine_id, long long by_user_id)
{
	struct cl_delivery_quarantine_request q = {quarantine_id, by_user_id};
	return cl_frame_build_owned(out, cl_delivery_quarantine_req_encode(CL_DELIVERY_OP_RELEASE, &q), NULL, 0);
}

int cl_delivery_delete_req(nng_msg **out, long long quarantine_id, long long by_user_id)
{
	struct cl_delivery_quarantine_request q = {quarantine_id, by_user_id};
	return cl_frame_build_owned(out, cl_delivery_quarantine_req_encode(CL_DELIVERY_OP_DELETE, &q), NULL, 0);
}

int cl_delivery_verdict_reply(nng_msg *reply, struct cl_verdict *v, char (*status)[16], size_t n)
{
	cJSON *h = cl_frame_header(reply);
	int rc = cl_delivery_verdict_decode(h, v, status, n);
	cJSON_Delete(h);
	return rc;
}
