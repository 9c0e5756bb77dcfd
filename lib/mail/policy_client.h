/* policy_client.h - the codec of the policy service (docs/RPC.md, "policy"), used by both
 * ends: smtp-edge encodes requests and decodes replies, policy decodes requests and encodes
 * replies through it. Op and field names exist only here.
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

#define CL_POLICY_F_SID             "sid"
#define CL_POLICY_F_IP              "ip"
#define CL_POLICY_F_PORT            "port"
#define CL_POLICY_F_LISTENER        "listener"
#define CL_POLICY_F_HELO            "helo"
#define CL_POLICY_F_TLS             "tls"
#define CL_POLICY_F_AUTH_USER       "auth_user"
#define CL_POLICY_F_REP             "rep"
#define CL_POLICY_F_PTR             "ptr"
#define CL_POLICY_F_FACTS           "facts"
#define CL_POLICY_F_KIND            "kind"
#define CL_POLICY_F_NAME            "name"
#define CL_POLICY_F_ANSWER          "answer"
#define CL_POLICY_F_WEIGHT          "weight"
#define CL_POLICY_F_SENDER          "sender"
#define CL_POLICY_F_SIZE            "size"
#define CL_POLICY_F_SMTPUTF8        "smtputf8"
#define CL_POLICY_F_RCPT            "rcpt"
#define CL_POLICY_F_USER            "user" /* auth request; the canonical user in its reply */
#define CL_POLICY_F_PASSWORD        "password"
#define CL_POLICY_F_STARTED_AT      "started_at"
#define CL_POLICY_F_ENDED_AT        "ended_at"
#define CL_POLICY_F_OUTCOME         "outcome"
#define CL_POLICY_F_PREGREET        "pregreet"
#define CL_POLICY_F_PROTOCOL_ERRORS "protocol_errors"
#define CL_POLICY_F_MESSAGES        "messages"
#define CL_POLICY_F_TRANSCRIPT      "transcript"
#define CL_POLICY_F_MSGID           "msgid"
#define CL_POLICY_F_SUBJECT         "subject"
#define CL_POLICY_F_RCPTS           "rcpts"
#define CL_POLICY_F_MESSAGE         "message" /* log_session: a log_message request carried whole */
#define CL_POLICY_F_STATUS          "status"
#define CL_POLICY_F_CODE            "code"
#define CL_POLICY_F_ENH             "enh"
#define CL_POLICY_F_REASON          "reason"
#define CL_POLICY_F_REASON_CLASS    "reason_class"
#define CL_POLICY_F_VIRUS           "virus"
#define CL_POLICY_F_ROUTE           "route"
#define CL_POLICY_F_OK              "ok"
#define CL_POLICY_F_MORE            "more" /* rcpt: the recipients a pipelined client sent next */

/* rcpt's "more": at most this many further recipients in one call (docs/RPC.md) */
#define CL_POLICY_RCPT_MORE_MAX 32

#define CL_POLICY_REP_WEIGHT_MAX 1000 /* a fact's weight is clamped to +-this when decoded */

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
	const char *ptr;   /* the client's PTR name, "" when none */
	int weighted_only; /* encode only the facts of weight != 0 and no ptr: what a decision reads */
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
/* mail: smtp-edge asks it only after AUTH; rcpt carries the sender and its SMTPUTF8 flag
 * (and the session's helo) so that policy judges HELO and MAIL there (docs/RPC.md). helo
 * has no builder: no smtp-edge of this version asks it, policy still answers older ones. */
int cl_policy_mail_req(nng_msg **out, const struct cl_policy_session *s, const char *sender, long long size,
		       int smtputf8);
/* more (nmore <= CL_POLICY_RCPT_MORE_MAX, NULL when 0): the recipients of the RCPT commands a
 * pipelined client sent right after this one, answered in the same call (docs/RPC.md). */
int cl_policy_rcpt_req(nng_msg **out, const struct cl_policy_session *s, const char *sender, const char *rcpt,
		       const char *const *more, size_t nmore, int smtputf8);
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
/* message (may be NULL): a log_message request header (cl_policy_log_message_req_encode) not
 * sent yet, which the session's record carries as "message" (docs/RPC.md); taken over, attached
 * or freed, whatever happens. */
int cl_policy_log_session_req(nng_msg **out, const struct cl_policy_session *s, const struct cl_policy_session_log *l,
			      cJSON *message);

struct cl_policy_rcpt_log {
	const char *rcpt;
	const char *status; /* received | quarantined | relayed | sent | rejected | failed */
	const struct cl_verdict *v;
	const char *reason_class; /* may be NULL */
	const char *virus;        /* may be NULL */
	const struct cl_route *route;
};
/* log_message: smtp-edge holds the header (cl_policy_log_message_req_encode) and sends it
 * at the next MAIL, or inside log_session (cl_policy_log_session_req's message). */

/* cl_policy_verdict_reply - the verdict of connect/helo/mail/rcpt/auth. route (may be
 * NULL) receives a rcpt's route on accept (CL_ROUTE_NONE when absent); user (may be NULL)
 * the canonical user of a successful auth. Returns 0 or -1 (v is then 451 4.3.0). */
int cl_policy_verdict_reply(nng_msg *reply, struct cl_verdict *v, struct cl_route *route, char *user, size_t userlen);

/* One verdict of rcpt's "more" (policy's answers to the further recipients, in their order). */
struct cl_policy_rcpt_answer {
	struct cl_verdict v;
	struct cl_route route;
};
/* cl_policy_rcpt_reply - a rcpt reply: the first recipient's verdict and route as
 * cl_policy_verdict_reply, and up to max answers of "more" into more[] (*nmore of them, the
 * leading well-formed ones: an older policy sends none, and the recipients without an answer
 * are asked again one by one). Returns what cl_policy_verdict_reply returns. */
int cl_policy_rcpt_reply(nng_msg *reply, struct cl_verdict *v, struct cl_route *route,
			 struct cl_policy_rcpt_answer *more, size_t max, size_t *nmore);

/* A decoded request (every op). Strings point into the request header (valid while it lives)
 * and are "" when absent (s.listener: "smtp"), except those marked NULL. */
struct cl_policy_request {
	struct cl_policy_session s; /* s.tls NULL when absent; s.rep points at rep, or is NULL
				     * when the request has no "rep" with a "facts" array */
	struct cl_policy_rep rep;
	struct cl_policy_rep_fact facts[CL_POLICY_REP_MAX_FACTS]; /* rep.facts: the well-formed ones */
	const char *sender, *rcpt, *user, *password;
	const cJSON *more; /* rcpt: the "more" field (an array when well-formed), NULL when absent */
	long long size;
	int smtputf8, has_smtputf8; /* has_: the field was sent (an older smtp-edge's rcpt has none) */
	/* log_session */
	int has_started_at, has_ended_at;
	double started_at, ended_at;
	const char *outcome, *transcript; /* NULL when absent */
	int pregreet;
	long long protocol_errors, messages;
	/* log_message ("rcpts": cl_policy_rcpts_decode) */
	const char *msgid, *subject; /* NULL when absent */
};

/* One recipient of a decoded log_message; strings NULL when absent. */
struct cl_policy_rcpt_entry {
	const char *rcpt, *status, *enh, *reason, *reason_class, *virus;
	long long code;
	int has_route;
	struct cl_route route;
};

/* Encode and decode, both directions. Encoders return a new header (caller owns it) or NULL
 * when out of memory. */
cJSON *cl_policy_connect_req_encode(const struct cl_policy_session *s);
cJSON *cl_policy_helo_req_encode(const struct cl_policy_session *s);
cJSON *cl_policy_mail_req_encode(const struct cl_policy_session *s, const char *sender, long long size, int smtputf8);
cJSON *cl_policy_rcpt_req_encode(const struct cl_policy_session *s, const char *sender, const char *rcpt,
				 const char *const *more, size_t nmore, int smtputf8);
cJSON *cl_policy_auth_req_encode(const struct cl_policy_session *s, const char *user, const char *password);
cJSON *cl_policy_log_session_req_encode(const struct cl_policy_session *s, const struct cl_policy_session_log *l,
					cJSON *message);
cJSON *cl_policy_log_message_req_encode(const struct cl_policy_session *s, const char *msgid, const char *sender,
					long long size, const char *subject, const struct cl_policy_rcpt_log *rcpts,
					size_t n);
/* cl_policy_rep_encode - the "rep" object alone ({"ptr","facts"}), as requests carry it. */
cJSON *cl_policy_rep_encode(const struct cl_policy_rep *r);

/* cl_policy_req_decode - the fields of any op into r (never fails: absent is "" or NULL). */
void cl_policy_req_decode(const cJSON *req, struct cl_policy_request *r);
/* cl_policy_rcpts_decode - log_message's "rcpts" into *out (n entries, malloc'd: the caller
 * frees it). 0; -1 when it is not an array of 1..max; -2 when out of memory. An entry that
 * is not an object decodes with every field absent. */
int cl_policy_rcpts_decode(const cJSON *req, size_t max, struct cl_policy_rcpt_entry **out, size_t *n);

/* cl_policy_verdict_encode - a decision's reply: the verdict, the route when route is not NULL,
 * the canonical "user" when user is not NULL or "". */
cJSON *cl_policy_verdict_encode(const struct cl_verdict *v, const struct cl_route *route, const char *user);
/* cl_policy_verdict_decode - as cl_policy_verdict_reply, from a parsed header (NULL: 451). */
int cl_policy_verdict_decode(const cJSON *h, struct cl_verdict *v, struct cl_route *route, char *user, size_t userlen);
/* cl_policy_ok_encode - the reply of log_session and log_message, {"v":1,"ok":true}. */
cJSON *cl_policy_ok_encode(void);

#endif
