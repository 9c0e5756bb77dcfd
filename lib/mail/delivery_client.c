/* delivery_client.c - delivery requests and replies. See delivery_client.h, docs/RPC.md. */
#include "mail/delivery_client.h"

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
		if (!e || !cJSON_AddStringToObject(e, "rcpt", rcpts[i].rcpt) || cl_route_to_json(&rcpts[i].route, e) < 0) {
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
	cJSON *j = cJSON_AddObjectToObject(o, "content");
	return j && cJSON_AddNumberToObject(j, "score", c->score) && cJSON_AddStringToObject(j, "reason", c->reason);
}

int cl_delivery_deliver_req(nng_msg **out, const char *sid, const char *msgid, const char *ip, const char *sender,
			    const char *auth_user, const struct cl_delivery_rcpt *rcpts, size_t n,
			    const struct cl_delivery_content *content, const void *body, size_t blen)
{
	cJSON *o = hdr(CL_DELIVERY_OP_DELIVER);
	cJSON *arr = rcpt_array(rcpts, n);
	int rc = -1;
	if (o && arr && cJSON_AddStringToObject(o, "sid", sid) && cJSON_AddStringToObject(o, "msgid", msgid) &&
	    cJSON_AddStringToObject(o, "ip", ip) && cJSON_AddStringToObject(o, "sender", sender) &&
	    (!auth_user || !auth_user[0] || cJSON_AddStringToObject(o, "auth_user", auth_user)) &&
	    add_content(o, content)) {
		cJSON_AddItemToObject(o, "rcpts", arr);
		arr = NULL;
		rc = cl_frame_build(out, o, body ? body : "", blen);
	}
	cJSON_Delete(arr);
	cJSON_Delete(o);
	return rc;
}

/* quarantine_req - release/delete share one shape. */
static int quarantine_req(nng_msg **out, const char *op, long long qid, long long by)
{
	cJSON *o = hdr(op);
	int rc = -1;
	if (o && cJSON_AddNumberToObject(o, "quarantine_id", (double)qid) &&
	    cJSON_AddNumberToObject(o, "by_user_id", (double)by))
		rc = cl_frame_build(out, o, NULL, 0);
	cJSON_Delete(o);
	return rc;
}

int cl_delivery_release_req(nng_msg **out, long long quarantine_id, long long by_user_id)
{
	return quarantine_req(out, CL_DELIVERY_OP_RELEASE, quarantine_id, by_user_id);
}

int cl_delivery_delete_req(nng_msg **out, long long quarantine_id, long long by_user_id)
{
	return quarantine_req(out, CL_DELIVERY_OP_DELETE, quarantine_id, by_user_id);
}

int cl_delivery_verdict_reply(nng_msg *reply, struct cl_verdict *v, char (*status)[16], size_t n)
{
	cJSON *h = NULL;
	const unsigned char *body;
	size_t blen;
	char err[128];
	for (size_t i = 0; status && i < n; i++)
		status[i][0] = '\0';
	if (!reply || cl_frame_parse(reply, &h, &body, &blen, err, sizeof err) < 0) {
		cl_verdict_tempfail(v, NULL);
		return -1;
	}
	int rc = cl_verdict_from_json(h, v);
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(h, "rcpts");
	size_t i = 0;
	const cJSON *e;
	if (rc == 0 && status && cJSON_IsArray(arr))
		cJSON_ArrayForEach(e, arr)
		{
			if (i >= n)
				break;
			cl_strlcpy(status[i++], cl_json_str(e, "status", ""), 16);
		}
	cJSON_Delete(h);
	return rc;
}
