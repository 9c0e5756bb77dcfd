/* delivery_client.h - the codec of the delivery service (docs/RPC.md, "delivery"), used by
 * both ends: smtp-edge and admin-api encode requests and decode replies, delivery decodes
 * requests and encodes replies through it. Op and field names exist only here.
 *
 * Builders return a new message the caller owns (0), or -1; parsers never fail open. */
#ifndef CLEMENT_MAIL_DELIVERY_CLIENT_H
#define CLEMENT_MAIL_DELIVERY_CLIENT_H

#include <nng/nng.h>
#include <stddef.h>

#include "mail/verdict.h"

/* The ops (docs/RPC.md's table; delivery's op table names them too). */
#define CL_DELIVERY_OP_DELIVER "deliver"
#define CL_DELIVERY_OP_RELEASE "release"
#define CL_DELIVERY_OP_DELETE  "delete"

#define CL_DELIVERY_F_SID           "sid"
#define CL_DELIVERY_F_MSGID         "msgid"
#define CL_DELIVERY_F_IP            "ip"
#define CL_DELIVERY_F_SENDER        "sender"
#define CL_DELIVERY_F_AUTH_USER     "auth_user"
#define CL_DELIVERY_F_SMTPUTF8      "smtputf8"
#define CL_DELIVERY_F_RCPTS         "rcpts"
#define CL_DELIVERY_F_RCPT          "rcpt"
#define CL_DELIVERY_F_CONTENT       "content"
#define CL_DELIVERY_F_SCORE         "score"
#define CL_DELIVERY_F_REASON        "reason"
#define CL_DELIVERY_F_QUARANTINE_ID "quarantine_id"
#define CL_DELIVERY_F_BY_USER_ID    "by_user_id"
#define CL_DELIVERY_F_STATUS        "status"

struct cl_delivery_rcpt {
	const char *rcpt;
	struct cl_route route;
};

/* Why the content verdict held or tagged a message (issue 18): kept with a quarantined copy. */
struct cl_delivery_content {
	double score;
	const char *reason;
};

/* The transaction a deliver request carries, as smtp-edge received it. */
struct cl_delivery_envelope {
	const char *sid, *msgid, *ip;
	const char *sender;    /* "" for <> */
	const char *auth_user; /* NULL or "" when not authenticated */
	int smtputf8;          /* the client's MAIL had SMTPUTF8 (RFC 6531) */
};

/* A decoded deliver request; strings point into the request header (valid while it lives). */
struct cl_delivery_deliver_request {
	const char *sid, *msgid, *ip;   /* NULL when absent */
	const char *sender;             /* NULL when absent; "" for <> */
	const char *auth_user;          /* NULL when absent */
	int smtputf8;                   /* "smtputf8": true */
	struct cl_delivery_rcpt *rcpts; /* n, malloc'd by the decoder: the caller frees it */
	size_t n;
	int has_score; /* content.score was a number */
	double score;
	const char *reason; /* content.reason, "" when absent */
};

struct cl_delivery_quarantine_request {
	long long quarantine_id, by_user_id; /* 0 when absent */
};

/* A recipient's line in the deliver reply. */
struct cl_delivery_rcpt_status {
	const char *rcpt;
	const char *status; /* "received|quarantined|relayed|sent|failed" */
};

/* cl_delivery_deliver_req - one transaction (one destination); body is the message as
 * received, CRLF, dot-unstuffed, with our Received: header. content may be NULL. */
int cl_delivery_deliver_req(nng_msg **out, const struct cl_delivery_envelope *env, const struct cl_delivery_rcpt *rcpts,
			    size_t n, const struct cl_delivery_content *content, const void *body, size_t blen);
/* Quarantine actions for admin-api. */
int cl_delivery_release_req(nng_msg **out, long long quarantine_id, long long by_user_id);
int cl_delivery_delete_req(nng_msg **out, long long quarantine_id, long long by_user_id);

/* cl_delivery_verdict_reply - the verdict of deliver/release/delete. When status is not
 * NULL and the reply lists "rcpts", status[i] receives the status word of the i-th
 * recipient of the reply (up to n, each at most 16 bytes; "" when absent). 0 or -1
 * (v is then 451 4.3.0). */
int cl_delivery_verdict_reply(nng_msg *reply, struct cl_verdict *v, char (*status)[16], size_t n);

/* Encode and decode, both directions. Encoders return a new header (caller owns it) or NULL
 * when out of memory. */
cJSON *cl_delivery_deliver_req_encode(const struct cl_delivery_envelope *env, const struct cl_delivery_rcpt *rcpts,
				      size_t n, const struct cl_delivery_content *content);
/* cl_delivery_deliver_req_decode - 0, or -1 when "rcpts" is not an array of 1..max objects,
 * each with a string "rcpt" and a valid "route" (the server checks the addresses). */
int cl_delivery_deliver_req_decode(const cJSON *req, size_t max, struct cl_delivery_deliver_request *r);
/* op is CL_DELIVERY_OP_RELEASE or CL_DELIVERY_OP_DELETE. */
cJSON *cl_delivery_quarantine_req_encode(const char *op, const struct cl_delivery_quarantine_request *q);
void cl_delivery_quarantine_req_decode(const cJSON *req, struct cl_delivery_quarantine_request *q);
/* cl_delivery_verdict_encode - the reply of every op: the verdict, and for deliver (st not
 * NULL) one line per recipient carrying the verdict's code, enh and text. */
cJSON *cl_delivery_verdict_encode(const struct cl_verdict *v, const struct cl_delivery_rcpt_status *st, size_t n);
/* cl_delivery_verdict_decode - as cl_delivery_verdict_reply, from a parsed header (NULL: 451). */
int cl_delivery_verdict_decode(const cJSON *h, struct cl_verdict *v, char (*status)[16], size_t n);

#endif
