/* policy_client.h - the client stub of the policy service: the only code that knows
 * policy's wire format (docs/RPC.md, "policy").
 *
 * Request builders return a new nng message for cl_rpc_call_async() (0 and *out, which the
 * caller owns until the call takes it over), or -1. Reply parsers read a reply message
 * (still the caller's) and never fail open: anything malformed becomes the temporary
 * failure 451 4.3.0 and -1. */
#ifndef CLEMENT_MAIL_POLICY_CLIENT_H
#define CLEMENT_MAIL_POLICY_CLIENT_H

#include <nng/nng.h>
#include <stddef.h>

#include "mail/verdict.h"

/* The ops (docs/RPC.md's table; policy's op table names them too). */
#define CL_POLICY_OP_CONNECT     "connect"
#define CL_POLICY_OP_HELO        "helo"
#define CL_POLICY_OP_MAIL        "mail"
#define CL_POLICY_OP_RCPT        "rcpt"
#define CL_POLICY_OP_AUTH        "auth"
#define CL_POLICY_OP_LOG_SESSION "log_session"
#define CL_POLICY_OP_LOG_MESSAGE "log_message"

/* Reputation facts the edge gathered (docs/RPC.md, "rep"): DNSBL/DNSWL listings with
 * their answer and weight, the FCrDNS and HELO findings. Zone names are the shown ones,
 * never with an access key. */
#define CL_POLICY_REP_MAX_FACTS 40
struct cl_policy_rep_fact {
	const char *kind; /* "dnsbl" | "dnswl" | "ptr" | "helo" */
	char name[254];   /* the list; for ptr and helo the finding ("none", "bare_ip", ...) */
	char answer[64];  /* the list's answer; for ptr the PTR name; "" otherwise */
	int weight;
};
struct cl_policy_rep {
	const struct cl_policy_rep_fact *facts;
	size_t n;
	const char *ptr; /* the client's PTR name, "" when none */
};

/* What policy knows of a session; every request carries it. Strings are borrowed; NULL
 * or "" fields (helo, tls, auth_user) are left out. */
struct cl_policy_session {
	const char *sid;
	const char *ip;
	int port;
	const char *listener; /* "smtp" | "smtps" | "submission" */
	const char *helo;
	const char *tls;
	const char *auth_user;
	const struct cl_policy_rep *rep; /* NULL: not sent (connect, rcpt, log_session only) */
};

int cl_policy_connect_req(nng_msg **out, const struct cl_policy_session *s);
int cl_policy_helo_req(nng_msg **out, const struct cl_policy_session *s);
int cl_policy_mail_req(nng_msg **out, const struct cl_policy_session *s, const char *sender, long long size,
		       int smtputf8);
int cl_policy_rcpt_req(nng_msg **out, const struct cl_policy_session *s, const char *sender, const char *rcpt);
/* The password travels to policy only; it is never logged by either side. */
int cl_policy_auth_req(nng_msg **out, const struct cl_policy_session *s, const char *user, const char *password);

struct cl_policy_session_log {
	double started_at, ended_at; /* unix seconds */
	const char *outcome;
	int pregreet;
	int protocol_errors;
	int messages;
	const char *transcript; /* secrets already masked */
};
int cl_policy_log_session_req(nng_msg **out, const struct cl_policy_session *s, const struct cl_policy_session_log *l);

struct cl_policy_rcpt_log {
	const char *rcpt;
	const char *status; /* received | quarantined | relayed | sent | rejected | failed */
	const struct cl_verdict *v;
	const char *reason_class; /* may be NULL */
	const char *virus;        /* may be NULL */
	const struct cl_route *route;
};
int cl_policy_log_message_req(nng_msg **out, const struct cl_policy_session *s, const char *msgid, const char *sender,
			      long long size, const char *subject, const struct cl_policy_rcpt_log *rcpts, size_t n);

/* cl_policy_verdict_reply - the verdict of connect/helo/mail/rcpt/auth. route (may be
 * NULL) receives a rcpt's route on accept (CL_ROUTE_NONE when absent); user (may be NULL)
 * the canonical user of a successful auth. Returns 0 or -1 (v is then 451 4.3.0). */
int cl_policy_verdict_reply(nng_msg *reply, struct cl_verdict *v, struct cl_route *route, char *user, size_t userlen);

#endif
