/* policy_client.c - policy requests and replies, both directions. See policy_client.h and
 * docs/RPC.md. */
#include "mail/policy_client.h"

#include <stdlib.h>
#include <string.h>

#include "rpc/frame.h"
#include "util/buf.h"

cJSON *cl_policy_rep_encode(const struct cl_policy_rep *r)
{
	cJSON *rep = cJSON_CreateObject();
	cJSON *arr = rep ? cJSON_AddArrayToObject(rep, CL_POLICY_F_FACTS) : NULL;
	int ok = arr && (r->weighted_only || cJSON_AddStringToObject(rep, CL_POLICY_F_PTR, r->ptr ? r->ptr : ""));
	for (size_t i = 0; ok && i < r->n; i++) {
		const struct cl_policy_rep_fact *f = &r->facts[i];
		if (r->weighted_only && f->weight == 0)
			continue;
		cJSON *e = cJSON_CreateObject();
		ok = e && cJSON_AddStringToObject(e, CL_POLICY_F_KIND, f->kind) &&
		     cJSON_AddStringToObject(e, CL_POLICY_F_NAME, f->name) &&
		     cJSON_AddStringToObject(e, CL_POLICY_F_ANSWER, f->answer) &&
		     cJSON_AddNumberToObject(e, CL_POLICY_F_WEIGHT, f->weight);
		if (e)
			cJSON_AddItemToArray(arr, e);
	}
	if (!ok) {
		cJSON_Delete(rep);
		return NULL;
	}
	return rep;
}

/* base - a request header with "v", "op" and the session fields; NULL on failure. */
static cJSON *base(const char *op, const struct cl_policy_session *s)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	int ok = cJSON_AddNumberToObject(o, "v", CL_FRAME_VERSION) && cJSON_AddStringToObject(o, "op", op) &&
		 cJSON_AddStringToObject(o, CL_POLICY_F_SID, s->sid ? s->sid : "") &&
		 cJSON_AddStringToObject(o, CL_POLICY_F_IP, s->ip ? s->ip : "") &&
		 cJSON_AddNumberToObject(o, CL_POLICY_F_PORT, s->port) &&
		 cJSON_AddStringToObject(o, CL_POLICY_F_LISTENER, s->listener ? s->listener : "smtp");
	if (ok && s->helo && s->helo[0])
		ok = cJSON_AddStringToObject(o, CL_POLICY_F_HELO, s->helo) != NULL;
	if (ok && s->tls && s->tls[0])
		ok = cJSON_AddStringToObject(o, CL_POLICY_F_TLS, s->tls) != NULL;
	if (ok && s->auth_user && s->auth_user[0])
		ok = cJSON_AddStringToObject(o, CL_POLICY_F_AUTH_USER, s->auth_user) != NULL;
	if (ok && s->rep) {
		cJSON *rep = cl_policy_rep_encode(s->rep);
		ok = rep && cJSON_AddItemToObject(o, CL_POLICY_F_REP, rep);
		if (!ok)
			cJSON_Delete(rep);
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* done - o when ok, else NULL (o freed). */
static cJSON *done(cJSON *o, int ok)
{
	if (o && ok)
		return o;
	cJSON_Delete(o);
	return NULL;
}

cJSON *cl_policy_connect_req_encode(const struct cl_policy_session *s)
{
	return base(CL_POLICY_OP_CONNECT, s);
}

cJSON *cl_policy_helo_req_encode(const struct cl_policy_session *s)
{
	return base(CL_POLICY_OP_HELO, s);
}

cJSON *cl_policy_mail_req_encode(const struct cl_policy_session *s, const char *sender, long long size, int smtputf8)
{
	cJSON *o = base(CL_POLICY_OP_MAIL, s);
	return done(o, o && cJSON_AddStringToObject(o, CL_POLICY_F_SENDER, sender) &&
			   cJSON_AddNumberToObject(o, CL_POLICY_F_SIZE, (double)size) &&
			   cJSON_AddBoolToObject(o, CL_POLICY_F_SMTPUTF8, smtputf8));
}

cJSON *cl_policy_rcpt_req_encode(const struct cl_policy_session *s, const char *sender, const char *rcpt,
				 const char *const *more, size_t nmore, int smtputf8)
{
	cJSON *o = base(CL_POLICY_OP_RCPT, s);
	int ok = o && cJSON_AddStringToObject(o, CL_POLICY_F_SENDER, sender) &&
		 cJSON_AddStringToObject(o, CL_POLICY_F_RCPT, rcpt) &&
		 cJSON_AddBoolToObject(o, CL_POLICY_F_SMTPUTF8, smtputf8);
	if (ok && nmore > 0) {
		cJSON *arr = cJSON_AddArrayToObject(o, CL_POLICY_F_MORE);
		ok = arr != NULL;
		for (size_t i = 0; ok && i < nmore; i++) {
			cJSON *a = cJSON_CreateString(more[i]);
			ok = a && cJSON_AddItemToArray(arr, a);
		}
	}
	return done(o, ok);
}

cJSON *cl_policy_auth_req_encode(const struct cl_policy_session *s, const char *user, const char *password)
{
	cJSON *o = base(CL_POLICY_OP_AUTH, s);
	return done(o, o && cJSON_AddStringToObject(o, CL_POLICY_F_USER, user) &&
			   cJSON_AddStringToObject(o, CL_POLICY_F_PASSWORD, password));
}

cJSON *cl_policy_log_session_req_encode(const struct cl_policy_session *s, const struct cl_policy_session_log *l,
					cJSON *message)
{
	cJSON *o = base(CL_POLICY_OP_LOG_SESSION, s);
	int ok = o && cJSON_AddNumberToObject(o, CL_POLICY_F_STARTED_AT, l->started_at) &&
		 cJSON_AddNumberToObject(o, CL_POLICY_F_ENDED_AT, l->ended_at) &&
		 cJSON_AddStringToObject(o, CL_POLICY_F_OUTCOME, l->outcome ? l->outcome : "") &&
		 cJSON_AddBoolToObject(o, CL_POLICY_F_PREGREET, l->pregreet) &&
		 cJSON_AddNumberToObject(o, CL_POLICY_F_PROTOCOL_ERRORS, l->protocol_errors) &&
		 cJSON_AddNumberToObject(o, CL_POLICY_F_MESSAGES, l->messages) &&
		 cJSON_AddStringToObject(o, CL_POLICY_F_TRANSCRIPT, l->transcript ? l->transcript : "");
	if (ok && message && (ok = cJSON_AddItemToObject(o, CL_POLICY_F_MESSAGE, message)) != 0)
		message = NULL; /* o's now */
	cJSON_Delete(message);
	return done(o, ok);
}

/* rcpt_entry - one element of log_message's "rcpts". */
static cJSON *rcpt_entry(const struct cl_policy_rcpt_log *r)
{
	cJSON *e = cJSON_CreateObject();
	return done(e,
		    e && cJSON_AddStringToObject(e, CL_POLICY_F_RCPT, r->rcpt) &&
			cJSON_AddStringToObject(e, CL_POLICY_F_STATUS, r->status) &&
			cJSON_AddNumberToObject(e, CL_POLICY_F_CODE, r->v->code) &&
			cJSON_AddStringToObject(e, CL_POLICY_F_ENH, r->v->enh) &&
			cJSON_AddStringToObject(e, CL_POLICY_F_REASON, r->v->text) &&
			cJSON_AddStringToObject(e, CL_POLICY_F_REASON_CLASS, r->reason_class ? r->reason_class : "") &&
			(!r->virus || cJSON_AddStringToObject(e, CL_POLICY_F_VIRUS, r->virus)) &&
			cl_route_to_json(r->route, e) == 0);
}

cJSON *cl_policy_log_message_req_encode(const struct cl_policy_session *s, const char *msgid, const char *sender,
					long long size, const char *subject, const struct cl_policy_rcpt_log *rcpts,
					size_t n)
{
	cJSON *o = base(CL_POLICY_OP_LOG_MESSAGE, s);
	cJSON *arr = o ? cJSON_AddArrayToObject(o, CL_POLICY_F_RCPTS) : NULL;
	int ok = arr && cJSON_AddStringToObject(o, CL_POLICY_F_MSGID, msgid) &&
		 cJSON_AddStringToObject(o, CL_POLICY_F_SENDER, sender) &&
		 cJSON_AddNumberToObject(o, CL_POLICY_F_SIZE, (double)size) &&
		 cJSON_AddStringToObject(o, CL_POLICY_F_SUBJECT, subject ? subject : "");
	for (size_t i = 0; ok && i < n; i++) {
		cJSON *e = rcpt_entry(&rcpts[i]);
		ok = e && cJSON_AddItemToArray(arr, e);
	}
	return done(o, ok);
}

/* rep_decode - the well-formed facts of "rep" into r; 1 when "rep" has a "facts" array. */
static int rep_decode(const cJSON *j, struct cl_policy_request *r)
{
	const cJSON *facts = cJSON_GetObjectItemCaseSensitive(j, CL_POLICY_F_FACTS);
	if (!cJSON_IsArray(facts))
		return 0;
	r->rep.ptr = cl_json_str(j, CL_POLICY_F_PTR, "");
	r->rep.facts = r->facts;
	r->rep.n = 0;
	const cJSON *f;
	cJSON_ArrayForEach(f, facts)
	{
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(f, CL_POLICY_F_WEIGHT);
		const char *kind = cl_json_str(f, CL_POLICY_F_KIND, NULL),
			   *name = cl_json_str(f, CL_POLICY_F_NAME, NULL);
		if (!cJSON_IsNumber(w) || !kind || !name || r->rep.n >= CL_POLICY_REP_MAX_FACTS)
			continue;
		struct cl_policy_rep_fact *d = &r->facts[r->rep.n++];
		d->kind = kind;
		/* names longer than the struct holds are cut (a DNS name is at most 253) */
		cl_strlcpy(d->name, name, sizeof d->name);
		cl_strlcpy(d->answer, cl_json_str(f, CL_POLICY_F_ANSWER, ""), sizeof d->answer);
		double wv = w->valuedouble;
		d->weight = wv > CL_POLICY_REP_WEIGHT_MAX    ? CL_POLICY_REP_WEIGHT_MAX
			    : wv < -CL_POLICY_REP_WEIGHT_MAX ? -CL_POLICY_REP_WEIGHT_MAX
							     : (int)wv;
	}
	return 1;
}

/* number - a number field into *out; 1 when present. */
static int number(const cJSON *n, double *out)
{
	*out = cJSON_IsNumber(n) ? n->valuedouble : 0;
	return cJSON_IsNumber(n);
}

/* The fields of a request, found in one pass (cl_json_fields). */
enum req_field {
	RF_SID,
	RF_IP,
	RF_PORT,
	RF_LISTENER,
	RF_HELO,
	RF_TLS,
	RF_AUTH_USER,
	RF_REP,
	RF_SENDER,
	RF_RCPT,
	RF_USER,
	RF_PASSWORD,
	RF_SIZE,
	RF_SMTPUTF8,
	RF_STARTED_AT,
	RF_ENDED_AT,
	RF_OUTCOME,
	RF_TRANSCRIPT,
	RF_PREGREET,
	RF_PROTOCOL_ERRORS,
	RF_MESSAGES,
	RF_MSGID,
	RF_SUBJECT,
	RF_MORE,
	RF_N
};
static const char *const req_fields[RF_N] = {
    [RF_SID] = CL_POLICY_F_SID,
    [RF_IP] = CL_POLICY_F_IP,
    [RF_PORT] = CL_POLICY_F_PORT,
    [RF_LISTENER] = CL_POLICY_F_LISTENER,
    [RF_HELO] = CL_POLICY_F_HELO,
    [RF_TLS] = CL_POLICY_F_TLS,
    [RF_AUTH_USER] = CL_POLICY_F_AUTH_USER,
    [RF_REP] = CL_POLICY_F_REP,
    [RF_SENDER] = CL_POLICY_F_SENDER,
    [RF_RCPT] = CL_POLICY_F_RCPT,
    [RF_USER] = CL_POLICY_F_USER,
    [RF_PASSWORD] = CL_POLICY_F_PASSWORD,
    [RF_SIZE] = CL_POLICY_F_SIZE,
    [RF_SMTPUTF8] = CL_POLICY_F_SMTPUTF8,
    [RF_STARTED_AT] = CL_POLICY_F_STARTED_AT,
    [RF_ENDED_AT] = CL_POLICY_F_ENDED_AT,
    [RF_OUTCOME] = CL_POLICY_F_OUTCOME,
    [RF_TRANSCRIPT] = CL_POLICY_F_TRANSCRIPT,
    [RF_PREGREET] = CL_POLICY_F_PREGREET,
    [RF_PROTOCOL_ERRORS] = CL_POLICY_F_PROTOCOL_ERRORS,
    [RF_MESSAGES] = CL_POLICY_F_MESSAGES,
    [RF_MSGID] = CL_POLICY_F_MSGID,
    [RF_SUBJECT] = CL_POLICY_F_SUBJECT,
    [RF_MORE] = CL_POLICY_F_MORE,
};

void cl_policy_req_decode(const cJSON *j, struct cl_policy_request *r)
{
	memset(r, 0, sizeof *r);
	const cJSON *f[RF_N];
	cl_json_fields(j, req_fields, RF_N, f);
	struct cl_policy_session *s = &r->s;
	s->sid = cl_json_as_str(f[RF_SID], "");
	s->ip = cl_json_as_str(f[RF_IP], "");
	long long port = cl_json_as_int(f[RF_PORT], 0);
	s->port = port > 0 && port < 65536 ? (int)port : 0;
	s->listener = cl_json_as_str(f[RF_LISTENER], "smtp");
	s->helo = cl_json_as_str(f[RF_HELO], "");
	s->tls = cl_json_as_str(f[RF_TLS], NULL);
	s->auth_user = cl_json_as_str(f[RF_AUTH_USER], "");
	s->rep = rep_decode(f[RF_REP], r) ? &r->rep : NULL;
	r->sender = cl_json_as_str(f[RF_SENDER], "");
	r->rcpt = cl_json_as_str(f[RF_RCPT], "");
	r->user = cl_json_as_str(f[RF_USER], "");
	r->password = cl_json_as_str(f[RF_PASSWORD], "");
	r->size = cl_json_as_int(f[RF_SIZE], 0);
	r->smtputf8 = cl_json_as_bool(f[RF_SMTPUTF8], 0);
	r->has_smtputf8 = cJSON_IsBool(f[RF_SMTPUTF8]);
	r->has_started_at = number(f[RF_STARTED_AT], &r->started_at);
	r->has_ended_at = number(f[RF_ENDED_AT], &r->ended_at);
	r->outcome = cl_json_as_str(f[RF_OUTCOME], NULL);
	r->transcript = cl_json_as_str(f[RF_TRANSCRIPT], NULL);
	r->pregreet = cl_json_as_bool(f[RF_PREGREET], 0);
	r->protocol_errors = cl_json_as_int(f[RF_PROTOCOL_ERRORS], 0);
	r->messages = cl_json_as_int(f[RF_MESSAGES], 0);
	r->msgid = cl_json_as_str(f[RF_MSGID], NULL);
	r->subject = cl_json_as_str(f[RF_SUBJECT], NULL);
	r->more = f[RF_MORE];
}

int cl_policy_rcpts_decode(const cJSON *req, size_t max, struct cl_policy_rcpt_entry **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(req, CL_POLICY_F_RCPTS);
	int k = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
	if (k < 1 || (size_t)k > max)
		return -1;
	struct cl_policy_rcpt_entry *es = calloc((size_t)k, sizeof *es);
	if (!es)
		return -2;
	const cJSON *e;
	cJSON_ArrayForEach(e, arr)
	{
		struct cl_policy_rcpt_entry *d = &es[(*n)++];
		d->rcpt = cl_json_str(e, CL_POLICY_F_RCPT, NULL);
		d->status = cl_json_str(e, CL_POLICY_F_STATUS, NULL);
		d->enh = cl_json_str(e, CL_POLICY_F_ENH, NULL);
		d->reason = cl_json_str(e, CL_POLICY_F_REASON, NULL);
		d->reason_class = cl_json_str(e, CL_POLICY_F_REASON_CLASS, NULL);
		d->virus = cl_json_str(e, CL_POLICY_F_VIRUS, NULL);
		d->code = cl_json_int(e, CL_POLICY_F_CODE, 0);
		d->has_route = cl_route_from_json(e, &d->route) == 0;
	}
	*out = es;
	return 0;
}

cJSON *cl_policy_verdict_encode(const struct cl_verdict *v, const struct cl_route *route, const char *user)
{
	cJSON *o = cJSON_CreateObject();
	return done(o, o && cJSON_AddNumberToObject(o, "v", CL_FRAME_VERSION) && cl_verdict_to_json(v, o) == 0 &&
			   (!route || cl_route_to_json(route, o) == 0) &&
			   (!user || !user[0] || cJSON_AddStringToObject(o, CL_POLICY_F_USER, user)));
}

cJSON *cl_policy_ok_encode(void)
{
	cJSON *o = cJSON_CreateObject();
	return done(o, o && cJSON_AddNumberToObject(o, "v", CL_FRAME_VERSION) &&
			   cJSON_AddBoolToObject(o, CL_POLICY_F_OK, 1));
}

int cl_policy_verdict_decode(const cJSON *h, struct cl_verdict *v, struct cl_route *route, char *user, size_t userlen)
{
	if (route)
		memset(route, 0, sizeof *route);
	if (user && userlen)
		user[0] = '\0';
	if (!h) {
		cl_verdict_tempfail(v, NULL);
		return -1;
	}
	int rc = cl_verdict_from_json(h, v);
	if (rc == 0 && route && v->action == CL_ACCEPT && cJSON_GetObjectItemCaseSensitive(h, CL_POLICY_F_ROUTE) &&
	    cl_route_from_json(h, route) < 0) {
		cl_verdict_tempfail(v, NULL);
		rc = -1;
	}
	if (rc == 0 && user && v->action == CL_ACCEPT &&
	    cl_strlcpy(user, cl_json_str(h, CL_POLICY_F_USER, ""), userlen) < 0) {
		cl_verdict_tempfail(v, NULL);
		rc = -1;
	}
	return rc;
}

int cl_policy_connect_req(nng_msg **out, const struct cl_policy_session *s)
{
	return cl_frame_build_owned(out, cl_policy_connect_req_encode(s), NULL, 0);
}

int cl_policy_mail_req(nng_msg **out, const struct cl_policy_session *s, const char *sender, long long size,
		       int smtputf8)
{
	return cl_frame_build_owned(out, cl_policy_mail_req_encode(s, sender, size, smtputf8), NULL, 0);
}

int cl_policy_rcpt_req(nng_msg **out, const struct cl_policy_session *s, const char *sender, const char *rcpt,
		       const char *const *more, size_t nmore, int smtputf8)
{
	return cl_frame_build_owned(out, cl_policy_rcpt_req_encode(s, sender, rcpt, more, nmore, smtputf8), NULL, 0);
}

int cl_policy_auth_req(nng_msg **out, const struct cl_policy_session *s, const char *user, const char *password)
{
	return cl_frame_build_owned(out, cl_policy_auth_req_encode(s, user, password), NULL, 0);
}

int cl_policy_log_session_req(nng_msg **out, const struct cl_policy_session *s, const struct cl_policy_session_log *l,
			      cJSON *message)
{
	return cl_frame_build_owned(out, cl_policy_log_session_req_encode(s, l, message), NULL, 0);
}

int cl_policy_verdict_reply(nng_msg *reply, struct cl_verdict *v, struct cl_route *route, char *user, size_t userlen)
{
	cJSON *h = cl_frame_header(reply);
	int rc = cl_policy_verdict_decode(h, v, route, user, userlen);
	cJSON_Delete(h);
	return rc;
}

int cl_policy_rcpt_reply(nng_msg *reply, struct cl_verdict *v, struct cl_route *route,
			 struct cl_policy_rcpt_answer *more, size_t max, size_t *nmore)
{
	*nmore = 0;
	cJSON *h = cl_frame_header(reply);
	int rc = cl_policy_verdict_decode(h, v, route, NULL, 0);
	const cJSON *arr = rc == 0 ? cJSON_GetObjectItemCaseSensitive(h, CL_POLICY_F_MORE) : NULL;
	const cJSON *list = cJSON_IsArray(arr) ? arr : NULL, *e;
	cJSON_ArrayForEach(e, list)
	{
		/* a malformed answer ends the list: its recipient is asked again on its own */
		if (*nmore == max || !cJSON_IsObject(e) ||
		    cl_policy_verdict_decode(e, &more[*nmore].v, &more[*nmore].route, NULL, 0) < 0)
			break;
		(*nmore)++;
	}
	cJSON_Delete(h);
	return rc;
}
