/* verdict.h - what a Clement service decides about one SMTP step, and where an accepted
 * recipient goes.
 *
 * A verdict carries the exact reply smtp-edge sends: code, RFC 3463 enhanced code and text.
 * The route says which group's destination serves a recipient; smtp-edge keeps each
 * transaction to one destination (see docs/RPC.md). */
#ifndef CLEMENT_MAIL_VERDICT_H
#define CLEMENT_MAIL_VERDICT_H

#include <cjson/cJSON.h>

enum cl_action { CL_ACCEPT = 0, CL_REJECT, CL_DEFER };

struct cl_verdict {
	enum cl_action action;
	int code;       /* 250, 550, 451, ... */
	char enh[16];   /* "5.1.1" */
	char text[400]; /* human reason, no CR/LF */
};

enum cl_route_mode { CL_ROUTE_NONE = 0, CL_ROUTE_LOCAL, CL_ROUTE_RELAY, CL_ROUTE_OUTBOUND };

/* The content actions of a group (a domain may override; issue 18): Rspamd scores at which a
 * message is refused, held or tagged, and "enforce DMARC p=reject". has_* = 0: not set. */
struct cl_content_policy {
	double reject, quarantine, tag;
	int has_reject, has_quarantine, has_tag;
	int dmarc_reject;
};

struct cl_route {
	enum cl_route_mode mode;
	long long group_id; /* the destination: one group's Maildirs or downstream MTA */
	long long domain_id;
	long long user_id; /* 0 when unknown (relay verified by probe, outbound) */
	int quarantine;    /* a directive or the domain default said "quarantine": enum cl_hold */
	struct cl_content_policy content;
	/* The user's Maildir quota as policy's cache has it (users.quota_bytes, 0 = none), so
	 * that delivery need not ask PostgreSQL for every copy; quota_known = 0 (absent from
	 * the JSON): delivery looks it up itself. */
	int quota_known;
	long long quota_bytes;
};

/* Why a recipient's copy is held (cl_route.quarantine): 0 not held, 1 held (no reason given),
 * else the rule that said so, kept with the held message ("held_by" in the route's JSON). */
enum cl_hold {
	CL_HOLD_NO = 0,
	CL_HOLD_YES,
	CL_HOLD_USER_RULE,
	CL_HOLD_DOMAIN_RULE,
	CL_HOLD_GROUP_RULE,
	CL_HOLD_DOMAIN_DEFAULT
};
/* cl_hold_str - "user_rule", "domain_rule", "group_rule", "domain_default"; "" otherwise. */
const char *cl_hold_str(int hold);

/* cl_verdict_set - fill a verdict; text is copied (truncated to fit, CR/LF replaced). */
void cl_verdict_set(struct cl_verdict *v, enum cl_action a, int code, const char *enh, const char *text);
/* cl_verdict_tempfail - the fail-closed answer: 451 4.3.0 with a reason. */
void cl_verdict_tempfail(struct cl_verdict *v, const char *text);
/* cl_verdict_from_json - read "action","code","enh","text" from a reply header.
 * Returns 0, or -1 when a field is missing or inconsistent (action vs code class), in
 * which case v is set to the temporary failure. */
int cl_verdict_from_json(const cJSON *r, struct cl_verdict *v);
/* cl_verdict_to_json - add the verdict's fields to an object. 0 or -1. */
int cl_verdict_to_json(const struct cl_verdict *v, cJSON *o);
/* cl_route_from_json / cl_route_to_json - the "route" object of a rcpt verdict. */
int cl_route_from_json(const cJSON *r, struct cl_route *rt);
int cl_route_to_json(const struct cl_route *rt, cJSON *o);
const char *cl_route_mode_str(enum cl_route_mode m);
/* cl_content_policy_to_json / _from_json - {"reject":15,"quarantine":8,"tag":5,"dmarc_reject":true}
 * (unset scores absent). from_json leaves p zeroed when o is not an object. */
int cl_content_policy_to_json(const struct cl_content_policy *p, cJSON *o);
void cl_content_policy_from_json(const cJSON *o, struct cl_content_policy *p);

#endif
