/* decide.c - connect, HELO, MAIL, RCPT and AUTH decisions from a cache snapshot.
 *
 * Every verdict carries the exact reply smtp-edge sends. A decision that needs the cache
 * while it cannot be trusted defers (4xx): never a guess, never an acceptance.
 *
 * HELO and (before AUTH) MAIL are judged at RCPT: smtp-edge answers both itself and sends
 * the HELO name, the sender and its SMTPUTF8 flag with each rcpt, as Postfix does with
 * smtpd_delay_reject (docs/ARCHITECTURE.md, "Verdicts at RCPT"). The helo and mail ops
 * apply the same rules, for an older smtp-edge that still asks them. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "auth/password.h"
#include "policy.h"
#include "util/buf.h"
#include "util/log.h"

int pol_cache_usable(struct policy *p, const struct pc_snap *snap)
{
	if (!snap)
		return 0;
	if (atomic_load(&p->cache.connected))
		return 1;
	/* While we cannot LISTEN, nobody may have changed anything, or an admin may have: after
	 * max_stale_s we stop trusting an image we cannot refresh. */
	double down = atomic_load(&p->cache.disconnected_at);
	return down == 0.0 || cl_now_seconds() - down <= (double)p->cfg->max_stale_s;
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* printable - copy admin or peer text into a reply: ASCII printable only. */
static void printable(char *dst, size_t n, const char *src)
{
	size_t i = 0;
	for (; src && *src && i + 1 < n; src++)
		dst[i++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
	dst[i] = '\0';
}

/* rep_applies - the reputation facts reach CLEMENT_DNSBL_THRESHOLD (or the recipient's group's
 * stricter one, group_threshold > 0) and the action applies at this step (drop: connect;
 * enforce: rcpt, except postmaster@ and abuse@): 1. Otherwise 0 (ignore: logged at connect).
 * Only the score is computed until a refusal or a log line needs the explanation; at RCPT
 * nothing else happens, so the caller may still check the directives before refusing. */
static int rep_applies(struct policy *p, const struct cl_policy_request *r, int op, int group_threshold)
{
	long long threshold = p->cfg->rep_threshold;
	if (group_threshold > 0 && group_threshold < threshold)
		threshold = group_threshold; /* a group may only be stricter */
	if (!r->s.rep || pol_rep_score(r->s.rep) < threshold)
		return 0;
	int act = p->cfg->rep_action;
	if (act == REP_IGNORE || (act == REP_DROP) != (op == OP_CONNECT)) {
		if (act == REP_IGNORE && op == OP_CONNECT) {
			struct pol_rep rep;
			pol_rep_read(r->s.rep, r->s.ip, &rep);
			cl_log(CL_LOG_INFO, r->s.sid, "reputation", "score=%d action=ignore would_refuse=\"%s\"",
			       rep.score, rep.why);
		}
		return 0;
	}
	return !(op == OP_RCPT && pol_rep_is_role(r->rcpt));
}

const char *const pol_refusal_names[PR_NREFUSAL] = {
    [PR_ADDRESS] = "address",
    [PR_LOOPBACK] = "loopback",
    [PR_BANNED] = "banned",
    [PR_REPUTATION] = "reputation",
    [PR_HELO] = "helo",
    [PR_SENDER_SYNTAX] = "sender_syntax",
    [PR_NOT_YOUR_SENDER] = "not_your_sender",
    [PR_RELAY_DENIED] = "relay_denied",
    [PR_MAILBOX_DISABLED] = "mailbox_disabled",
    [PR_UNKNOWN_RCPT] = "unknown_rcpt",
    [PR_RCPT_SYNTAX] = "rcpt_syntax",
    [PR_DIRECTIVE] = "directive",
    [PR_AUTH] = "auth",
};

/* refuse - v gets the refusal, counted by why (clement_policy_refusals_total). */
static void refuse(struct policy *p, struct cl_verdict *v, enum pol_refusal why, int code, const char *enh,
		   const char *text)
{
	cl_verdict_set(v, CL_REJECT, code, enh, text);
	cl_metric_inc(p->m.refusals[why]);
}

/* defer_while_loading - a recipient whose domain or user is unknown gets 450 instead of a final
 * refusal while a notified change is not in the cache yet: the change may be what makes it
 * real. noun: what is not known ("domain", "recipient"); list: the list being updated. 1 when
 * v is that deferral. */
static int defer_while_loading(struct policy *p, const struct cl_policy_request *r, struct cl_verdict *v,
			       const char *noun, const char *list, const char *enh)
{
	if (!atomic_load(&p->cache.changes_pending))
		return 0;
	char text[400];
	cl_snprintf(text, sizeof text, "<%s>: %s not known yet, the %s list is being updated; try again later", r->rcpt,
		    noun, list);
	cl_verdict_set(v, CL_DEFER, 450, enh, text);
	return 1;
}

/* rep_refuse - v gets the refusal naming the lists (after rep_applies said 1). */
static void rep_refuse(struct policy *p, const struct cl_policy_request *r, int op, struct cl_verdict *v)
{
	struct pol_rep rep;
	pol_rep_read(r->s.rep, r->s.ip, &rep);
	char text[400];
	cl_snprintf(text, sizeof text, "Service unavailable; refused because %s", rep.why);
	refuse(p, v, PR_REPUTATION, op == OP_CONNECT ? 554 : 550, "5.7.1", text);
	cl_metric_inc(p->m.rep_refused[p->cfg->rep_action]);
}

void pol_connect(struct policy *p, struct pc_snap *snap, const struct cl_policy_request *r, struct cl_verdict *v)
{
	struct cl_ip a;
	if (cl_ip_parse(r->s.ip, &a) < 0) {
		refuse(p, v, PR_ADDRESS, 554, "5.7.1", "Client address not understood");
		return;
	}
	/* Never-ban networks pass before anything else: an admin's own networks must never
	 * be locked out by an automatic ban. */
	if (cl_netset_find(&p->never_ban_cfg, &a, NULL, NULL) >= 0 ||
	    (snap && cl_netset_find(&snap->never_ban, &a, NULL, NULL) >= 0)) {
		cl_verdict_set(v, CL_ACCEPT, 220, "", "Ok");
		return;
	}
	/* Behind a proxy or a misconfigured port mapping every client looks local; refusing
	 * loopback unless configured makes that mistake loud instead of silent. */
	if (cl_ip_is_loopback(&a) && !p->cfg->allow_loopback) {
		refuse(p, v, PR_LOOPBACK, 554, "5.7.1", "Connections from loopback are not accepted");
		return;
	}
	if (!pol_cache_usable(p, snap)) {
		cl_verdict_set(v, CL_DEFER, 421, "4.3.0", "Temporary failure, try again later");
		return;
	}
	const struct pc_ban *b = pc_ban_find(snap, &a, wall_now());
	if (b) {
		char reason[220], text[300];
		printable(reason, sizeof reason, b->reason);
		cl_snprintf(text, sizeof text, "Client address banned: %s", reason);
		refuse(p, v, PR_BANNED, 554, "5.7.1", text);
		return;
	}
	if (rep_applies(p, r, OP_CONNECT, 0)) {
		rep_refuse(p, r, OP_CONNECT, v);
		return;
	}
	cl_verdict_set(v, CL_ACCEPT, 220, "", "Ok");
}

void pol_helo(const struct cl_policy_request *r, struct cl_verdict *v)
{
	if (!r->s.helo[0])
		cl_verdict_set(v, CL_REJECT, 501, "5.5.4", "HELO/EHLO requires a domain name or address literal");
	else if (!pa_helo_ok(r->s.helo))
		cl_verdict_set(v, CL_REJECT, 501, "5.5.2",
			       "Invalid HELO/EHLO argument: not a domain name or address literal");
	else
		cl_verdict_set(v, CL_ACCEPT, 250, "2.0.0", "Ok");
}

/* sender_split - the sender's syntax, one rule for MAIL and RCPT: 0 and its parts (both ""
 * for the null reverse-path, which must pass: RFC 5321 section 4.5.5, how bounces arrive),
 * or -1. utf8: SMTPUTF8 was given with MAIL (RFC 6531 3.3). */
static int sender_split(const char *sender, int utf8, char *local, size_t llen, char *domain, size_t dlen)
{
	if (!sender[0]) {
		local[0] = domain[0] = '\0';
		return 0;
	}
	return pa_split(sender, utf8, local, llen, domain, dlen);
}

/* sender_refuse - v gets the refusal of a sender that sender_split refused. */
static void sender_refuse(struct policy *p, struct cl_verdict *v)
{
	refuse(p, v, PR_SENDER_SYNTAX, 553, "5.1.7", "Bad sender address syntax");
}

/* mail_authed - after AUTH the sender is the login's own address or an alias an admin
 * granted the login (sender_aliases); anything else is someone else's name (issue 15):
 * 553 5.7.1, as RFC 5321 section 3.3 allows for a reverse-path the server refuses. */
static void mail_authed(struct policy *p, const struct pc_snap *snap, const struct cl_policy_request *r,
			const char *sender, struct cl_verdict *v)
{
	if (strcmp(sender, r->s.auth_user) == 0) {
		cl_verdict_set(v, CL_ACCEPT, 250, "2.1.0", "Ok");
		return;
	}
	if (!pol_cache_usable(p, snap)) {
		cl_verdict_set(v, CL_DEFER, 451, "4.3.0", "Temporary failure, try again later");
		return;
	}
	char local[PA_LOCAL_MAX + 1], domain[PA_DOMAIN_MAX + 1];
	const struct pc_domain *d = NULL;
	if (pa_split(r->s.auth_user, 1, local, sizeof local, domain, sizeof domain) == 0)
		d = pc_domain_find(snap, domain);
	const struct pc_user *u = d ? pc_user_find(snap, d->id, local) : NULL;
	if (u && u->enabled && pc_alias_granted(snap, u->id, sender)) {
		cl_verdict_set(v, CL_ACCEPT, 250, "2.1.0", "Ok");
		return;
	}
	char text[400];
	cl_snprintf(text, sizeof text,
		    "<%.*s> is not your address: logged in as <%.*s>, which may send as itself or as "
		    "an alias an admin granted it",
		    150, sender, 150, r->s.auth_user);
	refuse(p, v, PR_NOT_YOUR_SENDER, 553, "5.7.1", text);
}

void pol_mail(struct policy *p, struct pc_snap *snap, const struct cl_policy_request *r, struct cl_verdict *v)
{
	char local[PA_LOCAL_MAX + 1], domain[PA_DOMAIN_MAX + 1], sender[PA_LOCAL_MAX + PA_DOMAIN_MAX + 2];
	/* The null reverse-path passes also after AUTH (a client's own non-delivery or read
	 * receipts). */
	if (sender_split(r->sender, r->smtputf8, local, sizeof local, domain, sizeof domain) < 0)
		sender_refuse(p, v);
	else if (r->sender[0] && r->s.auth_user[0] && cl_snprintf(sender, sizeof sender, "%s@%s", local, domain) == 0)
		mail_authed(p, snap, r, sender, v);
	else
		cl_verdict_set(v, CL_ACCEPT, 250, "2.1.0", "Ok");
}

/* log_refusal - a refused recipient goes to message_log (docs/RPC.md: policy logs its own
 * rcpt refusals). */
static void log_refusal(struct policy *p, const struct cl_policy_request *r, const struct cl_verdict *v,
			const char *klass, long long uid, long long did, long long gid)
{
	struct pl_row *row = pl_row_new(PL_MESSAGE);
	if (!row)
		return;
	char ts[48], u[24], d[24], g[24], code[8];
	pl_ts_text(wall_now(), ts, sizeof ts);
	snprintf(u, sizeof u, "%lld", uid);
	snprintf(d, sizeof d, "%lld", did);
	snprintf(g, sizeof g, "%lld", gid);
	snprintf(code, sizeof code, "%d", v->code);
	struct cl_ip a;
	const char *vals[PL_MAX_COLS] = {ts,
					 r->s.sid[0] ? r->s.sid : NULL,
					 NULL,
					 "in",
					 cl_ip_parse(r->s.ip, &a) == 0 ? r->s.ip : NULL,
					 r->sender,
					 r->rcpt,
					 uid ? u : NULL,
					 did ? d : NULL,
					 gid ? g : NULL,
					 "rejected",
					 klass,
					 code,
					 v->enh,
					 v->text,
					 NULL,
					 NULL,
					 NULL};
	int bad = 0;
	for (int i = 0; i < PL_MAX_COLS; i++)
		bad |= pl_row_set(row, i, vals[i]);
	if (bad) {
		pl_row_free(row);
		return;
	}
	pl_queue_push(&p->logq, row);
}

/* envelope_refused - the verdicts smtp-edge leaves to RCPT (smtpd_delay_reject): the HELO
 * name, then the sender's syntax. 1 with v the refusal (counted, and logged for the
 * recipient's domain and user when the cache knows them, so that they see who was refused),
 * or 0. Neither rule needs the cache: a client with a bad HELO hears 501 even while the
 * database is away, as it did from the helo op. */
static int envelope_refused(struct policy *p, const struct pc_snap *snap, const struct cl_policy_request *r,
			    struct cl_verdict *v)
{
	char local[PA_LOCAL_MAX + 1], domain[PA_DOMAIN_MAX + 1];
	enum pol_refusal why = PR_HELO;
	/* An older smtp-edge sends no smtputf8 with rcpt; it asked mail, which judged the sender
	 * with the flag, so the flag it cannot send is not held against its sender here. */
	int utf8 = r->has_smtputf8 ? r->smtputf8 : 1;
	if (!r->s.helo[0]) {
		/* smtp-edge asks nothing before HELO/EHLO; a request without one is out of order */
		refuse(p, v, why, 503, "5.5.1", "Error: send HELO/EHLO first");
	} else if (!pa_helo_ok(r->s.helo)) {
		char name[PA_DOMAIN_MAX + 1], text[400];
		printable(name, sizeof name, r->s.helo);
		cl_snprintf(text, sizeof text, "<%s>: Helo command rejected: not a domain name or address literal",
			    name);
		refuse(p, v, why, 501, "5.5.2", text);
	} else if (sender_split(r->sender, utf8, local, sizeof local, domain, sizeof domain) < 0) {
		why = PR_SENDER_SYNTAX;
		sender_refuse(p, v);
	} else {
		return 0;
	}
	const struct pc_domain *d = NULL;
	const struct pc_user *u = NULL;
	if (pol_cache_usable(p, snap) && pa_split(r->rcpt, utf8, local, sizeof local, domain, sizeof domain) == 0 &&
	    (d = pc_domain_find(snap, domain)))
		u = pc_user_find(snap, d->id, local);
	log_refusal(p, r, v, pol_refusal_names[why], u ? u->id : 0, d ? d->id : 0, d ? d->group->id : 0);
	return 1;
}

/* directive_action - user over domain over group; within one owner exact over @domain over
 * *.suffix (pc_directive_match); the domain's default for senders no rule names. *by: which
 * of them decided (enum cl_hold), kept with a held message. */
static int directive_action(const struct pc_snap *s, const struct pc_domain *d, const struct pc_user *u,
			    const char *sender, int *by)
{
	int a = u ? pc_directive_match(s, PC_LEVEL_USER, u->id, sender) : -1;
	*by = CL_HOLD_USER_RULE;
	if (a < 0) {
		a = pc_directive_match(s, PC_LEVEL_DOMAIN, d->id, sender);
		*by = CL_HOLD_DOMAIN_RULE;
	}
	if (a < 0) {
		a = pc_directive_match(s, PC_LEVEL_GROUP, d->group->id, sender);
		*by = CL_HOLD_GROUP_RULE;
	}
	if (a < 0) {
		a = d->default_quarantine ? PC_QUARANTINE : PC_ACCEPT;
		*by = CL_HOLD_DOMAIN_DEFAULT;
	}
	return a;
}

/* explicitly_accepted - a user, domain or group rule (not the domain's default) accepts this
 * sender for this recipient. The null sender matches no rule. */
static int explicitly_accepted(const struct pc_snap *s, const struct pc_domain *d, const char *local,
			       const char *sender)
{
	if (!sender[0])
		return 0;
	int by;
	int a = directive_action(s, d, pc_user_find(s, d->id, local), sender, &by);
	return a == PC_ACCEPT && by != CL_HOLD_DOMAIN_DEFAULT;
}

/* rcpt_outbound - an authenticated submission to a domain we do not serve. */
static void rcpt_outbound(struct policy *p, struct pc_snap *snap, const struct cl_policy_request *r,
			  struct cl_verdict *v, struct cl_route *rt)
{
	char local[PA_LOCAL_MAX + 1], domain[PA_DOMAIN_MAX + 1];
	const struct pc_domain *d = NULL;
	if (pa_split(r->s.auth_user, 1, local, sizeof local, domain, sizeof domain) == 0)
		d = pc_domain_find(snap, domain);
	if (!d) {
		/* The login was ours, so its domain should be too; it was removed since. */
		refuse(p, v, PR_RELAY_DENIED, 554, "5.7.1", "relay access denied");
		return;
	}
	const struct pc_user *u = pc_user_find(snap, d->id, local);
	*rt = (struct cl_route){
	    .mode = CL_ROUTE_OUTBOUND, .group_id = d->group->id, .domain_id = d->id, .user_id = u ? u->id : 0};
	cl_verdict_set(v, CL_ACCEPT, 250, "2.1.5", "Ok");
}

/* rcpt_exists - is the recipient real? 0 yes (*u set when a users row names it), or a
 * refusal / deferral verdict filled in and -1. */
static int rcpt_exists(struct policy *p, const struct pc_snap *snap, const struct pc_domain *d, const char *local,
		       const struct cl_policy_request *r, const struct pc_user **u, struct cl_verdict *v)
{
	char text[400];
	*u = pc_user_find(snap, d->id, local);
	if (*u && !(*u)->enabled) {
		cl_snprintf(text, sizeof text, "<%s>: mailbox disabled", r->rcpt);
		refuse(p, v, PR_MAILBOX_DISABLED, 550, "5.2.1", text);
		return -1;
	}
	const struct pc_group *g = d->group;
	if (*u || !(g->relay && g->verify_probe)) {
		if (*u)
			return 0;
		if (defer_while_loading(p, r, v, "recipient", "user", "4.1.1")) /* a user added a moment ago */
			return -1;
		char t[210];
		printable(t, sizeof t, d->unknown_user_text ? d->unknown_user_text : "no such user");
		cl_snprintf(text, sizeof text, "<%s>: %s", r->rcpt, t);
		refuse(p, v, PR_UNKNOWN_RCPT, 550, "5.1.1", text);
		return -1;
	}
	char reply[256] = "";
	enum pp_result pr =
	    pp_verify(&p->probe, g->relay_host, g->relay_port, r->rcpt, g->verify_ttl_s, reply, sizeof reply);
	if (pr == PP_EXISTS)
		return 0;
	if (pr == PP_NO_SUCH_USER) {
		char t[210];
		printable(t, sizeof t, d->unknown_user_text ? d->unknown_user_text : "no such user");
		cl_snprintf(text, sizeof text, "<%s>: %s", r->rcpt, t);
		refuse(p, v, PR_UNKNOWN_RCPT, 550, "5.1.1", text);
		return -1;
	}
	char q[300];
	cl_log(CL_LOG_WARN, r->s.sid, "probe_failed", "host=%s port=%d reply=%s", g->relay_host, g->relay_port,
	       cl_log_escape(q, sizeof q, reply, strlen(reply)));
	cl_verdict_set(v, CL_DEFER, 451, "4.4.3", "Recipient verification unavailable, try again later");
	return -1;
}

/* route_content - the content policy for d's recipients: each value the domain sets, else
 * its group's (issue 18). */
static void route_content(const struct pc_domain *d, struct cl_content_policy *out)
{
	const struct cl_content_policy *g = &d->group->content, *o = &d->content;
	*out = *g;
	const double *ov[] = {&o->reject, &o->quarantine, &o->tag};
	const int *oh[] = {&o->has_reject, &o->has_quarantine, &o->has_tag};
	double *v[] = {&out->reject, &out->quarantine, &out->tag};
	int *h[] = {&out->has_reject, &out->has_quarantine, &out->has_tag};
	for (int k = 0; k < 3; k++)
		if (*oh[k]) {
			*v[k] = *ov[k];
			*h[k] = 1;
		}
	if (d->dmarc_set)
		out->dmarc_reject = o->dmarc_reject;
}

void pol_rcpt(struct policy *p, struct pc_snap *snap, const struct cl_policy_request *r, struct cl_verdict *v,
	      struct cl_route *rt)
{
	memset(rt, 0, sizeof *rt);
	char local[PA_LOCAL_MAX + 1], domain[PA_DOMAIN_MAX + 1];
	if (envelope_refused(p, snap, r, v))
		return;
	if (!pol_cache_usable(p, snap)) {
		cl_verdict_tempfail(v, NULL);
		return;
	}
	if (pa_split(r->rcpt, r->smtputf8, local, sizeof local, domain, sizeof domain) < 0) {
		refuse(p, v, PR_RCPT_SYNTAX, 501, "5.1.3", "Bad recipient address syntax");
		return;
	}
	const struct pc_domain *d = pc_domain_find(snap, domain);
	int authed =
	    r->s.auth_user[0] && (strcmp(r->s.listener, "submission") == 0 || strcmp(r->s.listener, "smtps") == 0);
	if (!d) {
		if (authed) {
			rcpt_outbound(p, snap, r, v, rt);
			return;
		}
		/* No open relay: whoever the sender claims to be, a domain we do not serve is
		 * refused unless the client authenticated on submission. A domain added a moment
		 * ago is not refused for good while the reload that brings it is under way. */
		if (defer_while_loading(p, r, v, "domain", "domain", "4.1.2"))
			return;
		refuse(p, v, PR_RELAY_DENIED, 554, "5.7.1", "relay access denied");
		log_refusal(p, r, v, "relay_denied", 0, 0, 0);
		return;
	}
	/* A client with a bad reputation is refused here, at RCPT, so the log shows who it wrote
	 * to; an authenticated user on a listed (dynamic) address is not a stranger, and neither
	 * is a sender the recipient (or its domain's or group's admin) wrote into "always accept":
	 * a friend's mail server on a listed address is that user's call (bench/spamworld). The
	 * score comes first: a listed client below the threshold (the usual one) costs no
	 * directive lookup here, only the one every recipient gets below. */
	if (!authed && rep_applies(p, r, OP_RCPT, d->group->dnsbl_threshold) &&
	    !explicitly_accepted(snap, d, local, r->sender)) {
		rep_refuse(p, r, OP_RCPT, v);
		log_refusal(p, r, v, "policy", 0, d->id, d->group->id);
		return;
	}
	const struct pc_user *u = NULL;
	if (rcpt_exists(p, snap, d, local, r, &u, v) < 0) {
		if (v->action == CL_REJECT)
			log_refusal(p, r, v, "unknown_rcpt", 0, d->id, d->group->id);
		return;
	}
	/* An authenticated local user writing to a colleague is not a stranger: no directive. */
	int held_by = CL_HOLD_YES;
	int act = authed ? PC_ACCEPT : directive_action(snap, d, u, r->sender, &held_by);
	if (act == PC_REJECT) {
		char t[210], text[400];
		printable(t, sizeof t, d->reject_text ? d->reject_text : "does not accept mail from");
		cl_snprintf(text, sizeof text, "<%s> %s <%s>", r->rcpt, t, r->sender);
		refuse(p, v, PR_DIRECTIVE, 550, "5.7.1", text);
		log_refusal(p, r, v, "directive", u ? u->id : 0, d->id, d->group->id);
		return;
	}
	*rt = (struct cl_route){.mode = d->group->relay ? CL_ROUTE_RELAY : CL_ROUTE_LOCAL,
				.group_id = d->group->id,
				.domain_id = d->id,
				.user_id = u ? u->id : 0,
				.quarantine = act == PC_QUARANTINE,
				/* A local copy's quota, from the same snapshot as the user: delivery then
				 * needs no query per copy (it looks the quota up when this is absent). */
				.quota_known = u && !d->group->relay,
				.quota_bytes = u ? u->quota_bytes : 0};
	route_content(d, &rt->content);
	cl_verdict_set(v, CL_ACCEPT, 250, "2.1.5", "Ok");
	if (rt->quarantine)
		rt->quarantine = held_by;
}

/* auth_local - argon2id check against the cached hash. */
static void auth_local(const struct pc_user *u, const char *password, struct cl_verdict *v)
{
	int ok = 0;
	if (u && u->enabled && u->password_hash)
		ok = cl_password_verify(password, u->password_hash) == 1;
	else
		cl_password_dummy_verify(password); /* same time for "no such user" */
	if (ok)
		cl_verdict_set(v, CL_ACCEPT, 235, "2.7.0", "Authentication successful");
	else
		cl_verdict_set(v, CL_REJECT, 535, "5.7.8", "Authentication credentials invalid");
}

void pol_auth(struct policy *p, struct pc_snap *snap, const struct cl_policy_request *r, struct cl_verdict *v,
	      char *canon, size_t canonlen)
{
	char local[PA_LOCAL_MAX + 1], domain[PA_DOMAIN_MAX + 1];
	canon[0] = '\0';
	if (!pol_cache_usable(p, snap)) {
		cl_verdict_set(v, CL_DEFER, 454, "4.7.0", "Temporary authentication failure");
		return;
	}
	const struct pc_domain *d = NULL;
	if (strlen(r->password) <= CL_PASSWORD_MAX &&
	    pa_split(r->user, 1, local, sizeof local, domain, sizeof domain) == 0)
		d = pc_domain_find(snap, domain);
	const struct pc_user *u = d ? pc_user_find(snap, d->id, local) : NULL;
	/* One rule with web login (cl_imap_login_applies): a local password wins, and admins
	 * never log in through their group's IMAP server. */
	if (d &&
	    cl_imap_login_applies(d->group->relay && d->group->imap_host, u != NULL, u && u->password_hash,
				  u ? u->role : NULL) &&
	    (!u || u->enabled)) {
		char why[256] = "";
		struct cl_imap_server srv = {d->group->imap_host, d->group->imap_port,
					     (enum cl_imap_tls)d->group->imap_tls};
		enum cl_imap_result a = cl_imap_login(&p->imap, &srv, r->user, r->password, why, sizeof why);
		if (p->m.imap_logins[a])
			cl_metric_inc(p->m.imap_logins[a]);
		if (a == CL_IMAP_OK)
			cl_verdict_set(v, CL_ACCEPT, 235, "2.7.0", "Authentication successful");
		else if (a == CL_IMAP_DENIED)
			cl_verdict_set(v, CL_REJECT, 535, "5.7.8", "Authentication credentials invalid");
		else
			cl_verdict_set(v, CL_DEFER, 454, "4.7.0", "Temporary authentication failure");
		if (a != CL_IMAP_OK) {
			char q[300];
			cl_log(CL_LOG_INFO, r->s.sid, "imap_login_failed", "host=%s result=%s why=%s",
			       d->group->imap_host, cl_imap_result_name(a),
			       cl_log_escape(q, sizeof q, why, strlen(why)));
		}
	} else {
		auth_local(u, r->password, v);
	}
	if (v->action == CL_ACCEPT)
		cl_snprintf(canon, canonlen, "%s@%s", local, domain);
}
