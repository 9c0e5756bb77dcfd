/* verdict.c - verdicts and routes to and from JSON. See verdict.h. */
#include "mail/verdict.h"

#include <string.h>

#include "rpc/frame.h"
#include "util/buf.h"

void cl_verdict_set(struct cl_verdict *v, enum cl_action a, int code, const char *enh, const char *text)
{
	v->action = a;
	v->code = code;
	cl_strlcpy(v->enh, enh ? enh : "", sizeof v->enh);
	cl_strlcpy(v->text, text ? text : "", sizeof v->text);
	for (char *p = v->text; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
}

void cl_verdict_tempfail(struct cl_verdict *v, const char *text)
{
	cl_verdict_set(v, CL_DEFER, 451, "4.3.0", text ? text : "Temporary failure, try again later");
}

static const char *action_names[] = {"accept", "reject", "defer"};

/* add - item into o under key, a string literal that cJSON keeps without copying (every key
 * written here is one): one malloc and free fewer per field of every verdict, route and
 * content policy (policy answers one per rcpt). item (may be NULL) is freed on failure. */
static cJSON *add(cJSON *o, const char *key, cJSON *item)
{
	if (item && cJSON_AddItemToObjectCS(o, key, item))
		return item;
	cJSON_Delete(item);
	return NULL;
}

/* enh_ok - "c.s.d" with class matching the code's first digit (RFC 3463). */
static int enh_ok(const char *enh, int code)
{
	if (!enh[0])
		return 1; /* 220/221 greetings carry none */
	if (enh[0] - '0' != code / 100 || enh[1] != '.')
		return 0;
	int dots = 0;
	for (const char *p = enh; *p; p++) {
		if (*p == '.')
			dots++;
		else if (*p < '0' || *p > '9')
			return 0;
	}
	return dots == 2;
}

int cl_verdict_from_json(const cJSON *r, struct cl_verdict *v)
{
	const char *a = cl_json_str(r, "action", NULL);
	long long code = cl_json_int(r, "code", -1);
	const char *enh = cl_json_str(r, "enh", "");
	const char *text = cl_json_str(r, "text", NULL);
	int act = -1;
	for (int i = 0; a && i < 3; i++)
		if (strcmp(a, action_names[i]) == 0)
			act = i;
	int klass = (int)(code / 100);
	int consistent = (act == CL_ACCEPT && (klass == 2 || klass == 3)) || (act == CL_REJECT && klass == 5) ||
			 (act == CL_DEFER && klass == 4);
	if (act < 0 || code < 200 || code > 599 || !text || !consistent || strlen(enh) >= 16 ||
	    !enh_ok(enh, (int)code)) {
		cl_verdict_tempfail(v, NULL);
		return -1;
	}
	cl_verdict_set(v, (enum cl_action)act, (int)code, enh, text);
	return 0;
}

int cl_verdict_to_json(const struct cl_verdict *v, cJSON *o)
{
	if (!add(o, "action", cJSON_CreateString(action_names[v->action])) ||
	    !add(o, "code", cJSON_CreateNumber(v->code)) || !add(o, "enh", cJSON_CreateString(v->enh)) ||
	    !add(o, "text", cJSON_CreateString(v->text)))
		return -1;
	return 0;
}

static const char *mode_names[] = {"none", "local", "relay", "outbound"};

const char *cl_route_mode_str(enum cl_route_mode m)
{
	return (unsigned)m < 4 ? mode_names[m] : "none";
}

int cl_route_from_json(const cJSON *r, struct cl_route *rt)
{
	memset(rt, 0, sizeof *rt);
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(r, "route");
	if (!cJSON_IsObject(o))
		return -1;
	const char *m = cl_json_str(o, "mode", "");
	for (int i = 1; i < 4; i++)
		if (strcmp(m, mode_names[i]) == 0)
			rt->mode = (enum cl_route_mode)i;
	if (rt->mode == CL_ROUTE_NONE)
		return -1;
	const char *held_by = cl_json_str(o, "held_by", "");
	rt->group_id = cl_json_int(o, "group_id", 0);
	rt->domain_id = cl_json_int(o, "domain_id", 0);
	rt->user_id = cl_json_int(o, "user_id", 0);
	rt->quarantine = cl_json_bool(o, "quarantine", 0);
	for (int h = CL_HOLD_USER_RULE; rt->quarantine && held_by[0] && h <= CL_HOLD_DOMAIN_DEFAULT; h++)
		if (strcmp(held_by, cl_hold_str(h)) == 0)
			rt->quarantine = h;
	cl_content_policy_from_json(cJSON_GetObjectItemCaseSensitive(o, "content"), &rt->content);
	/* Only a whole number from 0 up is a quota; anything else leaves it to delivery's lookup. */
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(o, "quota_bytes");
	if (cJSON_IsNumber(q) && q->valuedouble >= 0 && q->valuedouble <= 9007199254740992.0 &&
	    q->valuedouble == (double)(long long)q->valuedouble) {
		rt->quota_known = 1;
		rt->quota_bytes = (long long)q->valuedouble;
	}
	return 0;
}

int cl_route_to_json(const struct cl_route *rt, cJSON *o)
{
	cJSON *r = add(o, "route", cJSON_CreateObject());
	if (!r || !add(r, "mode", cJSON_CreateString(cl_route_mode_str(rt->mode))) ||
	    !add(r, "group_id", cJSON_CreateNumber((double)rt->group_id)) ||
	    !add(r, "domain_id", cJSON_CreateNumber((double)rt->domain_id)) ||
	    !add(r, "user_id", cJSON_CreateNumber((double)rt->user_id)) ||
	    !add(r, "quarantine", cJSON_CreateBool(rt->quarantine)) ||
	    (cl_hold_str(rt->quarantine)[0] && !add(r, "held_by", cJSON_CreateString(cl_hold_str(rt->quarantine)))) ||
	    (rt->quota_known && !add(r, "quota_bytes", cJSON_CreateNumber((double)rt->quota_bytes))))
		return -1;
	const struct cl_content_policy *p = &rt->content;
	if (p->has_reject || p->has_quarantine || p->has_tag || p->dmarc_reject) {
		cJSON *c = add(r, "content", cJSON_CreateObject());
		if (!c || cl_content_policy_to_json(p, c) < 0)
			return -1;
	}
	return 0;
}

const char *cl_hold_str(int hold)
{
	static const char *const names[] = {"", "", "user_rule", "domain_rule", "group_rule", "domain_default"};
	return hold >= 0 && hold <= CL_HOLD_DOMAIN_DEFAULT ? names[hold] : "";
}

int cl_content_policy_to_json(const struct cl_content_policy *p, cJSON *o)
{
	if ((p->has_reject && !add(o, "reject", cJSON_CreateNumber(p->reject))) ||
	    (p->has_quarantine && !add(o, "quarantine", cJSON_CreateNumber(p->quarantine))) ||
	    (p->has_tag && !add(o, "tag", cJSON_CreateNumber(p->tag))) ||
	    !add(o, "dmarc_reject", cJSON_CreateBool(p->dmarc_reject)))
		return -1;
	return 0;
}

/* score - a finite score within what a group may set (-1000, 1000). */
static int score(const cJSON *o, const char *key, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsNumber(v) || !(v->valuedouble > -1000 && v->valuedouble < 1000))
		return 0;
	*out = v->valuedouble;
	return 1;
}

void cl_content_policy_from_json(const cJSON *o, struct cl_content_policy *p)
{
	memset(p, 0, sizeof *p);
	if (!cJSON_IsObject(o))
		return;
	p->has_reject = score(o, "reject", &p->reject);
	p->has_quarantine = score(o, "quarantine", &p->quarantine);
	p->has_tag = score(o, "tag", &p->tag);
	p->dmarc_reject = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "dmarc_reject"));
}
