/* policy_client.c - policy requests and replies. See policy_client.h and docs/RPC.md. */
#include "mail/policy_client.h"

#include <string.h>

#include "rpc/frame.h"
#include "util/buf.h"

/* add_rep - the "rep" object: {"ptr": name, "facts": [{kind, name, answer, weight}...]}. */
static int add_rep(cJSON *o, const struct cl_policy_rep *r)
{
	cJSON *rep = cJSON_AddObjectToObject(o, "rep");
	cJSON *arr = rep ? cJSON_AddArrayToObject(rep, "facts") : NULL;
	int ok = arr && cJSON_AddStringToObject(rep, "ptr", r->ptr ? r->ptr : "");
	for (size_t i = 0; ok && i < r->n; i++) {
		const struct cl_policy_rep_fact *f = &r->facts[i];
		cJSON *e = cJSON_CreateObject();
		ok = e && cJSON_AddStringToObject(e, "kind", f->kind) && cJSON_AddStringToObject(e, "name", f->name) &&
		     cJSON_AddStringToObject(e, "answer", f->answer) && cJSON_AddNumberToObject(e, "weight", f->weight);
		if (e)
			cJSON_AddItemToArray(arr, e);
	}
	return ok ? 0 : -1;
}

/* base - a request header with "v", "op" and the session fields; NULL on failure. */
static cJSON *base(const char *op, const struct cl_policy_session *s)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	int ok = cJSON_AddNumberToObject(o, "v", 1) && cJSON_AddStringToObject(o, "op", op) &&
		 cJSON_AddStringToObject(o, "sid", s->sid ? s->sid : "") &&
		 cJSON_AddStringToObject(o, "ip", s->ip ? s->ip : "") && cJSON_AddNumberToObject(o, "port", s->port) &&
		 cJSON_AddStringToObject(o, "listener", s->listener ? s->listener : "smtp");
	if (ok && s->helo && s->helo[0])
		ok = cJSON_AddStringToObject(o, "helo", s->helo) != NULL;
	if (ok && s->tls && s->tls[0])
		ok = cJSON_AddStringToObject(o, "tls", s->tls) != NULL;
	if (ok && s->auth_user && s->auth_user[0])
		ok = cJSON_AddStringToObject(o, "auth_user", s->auth_user) != NULL;
	if (ok && s->rep)
		ok = add_rep(o, s->rep) == 0;
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* finish - build the message from o and free o. */
static int finish(nng_msg **out, cJSON *o, int ok)
{
	int rc = -1;
	if (o && ok)
		rc = cl_frame_build(out, o, NULL, 0);
	cJSON_Delete(o);
	return rc;
}

int cl_policy_connect_req(nng_msg **out, const struct cl_policy_session *s)
{
	cJSON *o = base(CL_POLICY_OP_CONNECT, s);
	return finish(out, o, o != NULL);
}

int cl_policy_helo_req(nng_msg **out, const struct cl_policy_session *s)
{
	cJSON *o = base(CL_POLICY_OP_HELO, s);
	return finish(out, o, o != NULL);
}

int cl_policy_mail_req(nng_msg **out, const struct cl_policy_session *s, const char *sender, long long size,
		       int smtputf8)
{
	cJSON *o = base(CL_POLICY_OP_MAIL, s);
	int ok = o && cJSON_AddStringToObject(o, "sender", sender) &&
		 cJSON_AddNumberToObject(o, "size", (double)size) && cJSON_AddBoolToObject(o, "smtputf8", smtputf8);
	return finish(out, o, ok);
}

int cl_policy_rcpt_req(nng_msg **out, const struct cl_policy_session *s, const char *sender, const char *rcpt)
{
	cJSON *o = base(CL_POLICY_OP_RCPT, s);
	int ok = o && cJSON_AddStringToObject(o, "sender", sender) && cJSON_AddStringToObject(o, "rcpt", rcpt);
	return finish(out, o, ok);
}

int cl_policy_auth_req(nng_msg **out, const struct cl_policy_session *s, const char *user, const char *password)
{
	cJSON *o = base(CL_POLICY_OP_AUTH, s);
	int ok = o && cJSON_AddStringToObject(o, "user", user) && cJSON_AddStringToObject(o, "password", password);
	return finish(out, o, ok);
}

int cl_policy_log_session_req(nng_msg **out, const struct cl_policy_session *s, const struct cl_policy_session_log *l)
{
	cJSON *o = base(CL_POLICY_OP_LOG_SESSION, s);
	int ok = o && cJSON_AddNumberToObject(o, "started_at", l->started_at) &&
		 cJSON_AddNumberToObject(o, "ended_at", l->ended_at) &&
		 cJSON_AddStringToObject(o, "outcome", l->outcome ? l->outcome : "") &&
		 cJSON_AddBoolToObject(o, "pregreet", l->pregreet) &&
		 cJSON_AddNumberToObject(o, "protocol_errors", l->protocol_errors) &&
		 cJSON_AddNumberToObject(o, "messages", l->messages) &&
		 cJSON_AddStringToObject(o, "transcript", l->transcript ? l->transcript : "");
	return finish(out, o, ok);
}

/* rcpt_entry - one element of log_message's "rcpts". */
static cJSON *rcpt_entry(const struct cl_policy_rcpt_log *r)
{
	cJSON *e = cJSON_CreateObject();
	int ok = e && cJSON_AddStringToObject(e, "rcpt", r->rcpt) && cJSON_AddStringToObject(e, "status", r->status) &&
		 cJSON_AddNumberToObject(e, "code", r->v->code) && cJSON_AddStringToObject(e, "enh", r->v->enh) &&
		 cJSON_AddStringToObject(e, "reason", r->v->text) &&
		 cJSON_AddStringToObject(e, "reason_class", r->reason_class ? r->reason_class : "") &&
		 (!r->virus || cJSON_AddStringToObject(e, "virus", r->virus)) && cl_route_to_json(r->route, e) == 0;
	if (!ok) {
		cJSON_Delete(e);
		return NULL;
	}
	return e;
}

int cl_policy_log_message_req(nng_msg **out, const struct cl_policy_session *s, const char *msgid, const char *sender,
			      long long size, const char *subject, const struct cl_policy_rcpt_log *rcpts, size_t n)
{
	cJSON *o = base(CL_POLICY_OP_LOG_MESSAGE, s);
	cJSON *arr = cJSON_CreateArray();
	int ok = o && arr && cJSON_AddStringToObject(o, "msgid", msgid) &&
		 cJSON_AddStringToObject(o, "sender", sender) && cJSON_AddNumberToObject(o, "size", (double)size) &&
		 cJSON_AddStringToObject(o, "subject", subject ? subject : "");
	for (size_t i = 0; ok && i < n; i++) {
		cJSON *e = rcpt_entry(&rcpts[i]);
		ok = e != NULL;
		if (ok)
			cJSON_AddItemToArray(arr, e);
	}
	if (ok) {
		cJSON_AddItemToObject(o, "rcpts", arr);
		arr = NULL;
	}
	cJSON_Delete(arr);
	return finish(out, o, ok);
}

int cl_policy_verdict_reply(nng_msg *reply, struct cl_verdict *v, struct cl_route *route, char *user, size_t userlen)
{
	cJSON *h = NULL;
	const unsigned char *body;
	size_t blen;
	char err[128];
	if (route)
		memset(route, 0, sizeof *route);
	if (user && userlen)
		user[0] = '\0';
	if (!reply || cl_frame_parse(reply, &h, &body, &blen, err, sizeof err) < 0) {
		cl_verdict_tempfail(v, NULL);
		return -1;
	}
	int rc = cl_verdict_from_json(h, v);
	if (rc == 0 && route && v->action == CL_ACCEPT) {
		if (cJSON_GetObjectItemCaseSensitive(h, "route") && cl_route_from_json(h, route) < 0) {
			cl_verdict_tempfail(v, NULL);
			rc = -1;
		}
	}
	if (rc == 0 && user && v->action == CL_ACCEPT) {
		const char *u = cl_json_str(h, "user", "");
		if (cl_strlcpy(user, u, userlen) < 0) {
			cl_verdict_tempfail(v, NULL);
			rc = -1;
		}
	}
	cJSON_Delete(h);
	return rc;
}
