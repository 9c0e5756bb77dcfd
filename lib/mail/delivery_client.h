/* delivery_client.h - the client stub of the delivery service (docs/RPC.md, "delivery").
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

struct cl_delivery_rcpt {
	const char *rcpt;
	struct cl_route route;
};

/* Why the content verdict held or tagged a message (issue 18): kept with a quarantined copy. */
struct cl_delivery_content {
	double score;
	const char *reason;
};

/* cl_delivery_deliver_req - one transaction (one destination); body is the message as
 * received, CRLF, dot-unstuffed, with our Received: header. auth_user and content may be NULL. */
int cl_delivery_deliver_req(nng_msg **out, const char *sid, const char *msgid, const char *ip, const char *sender,
			    const char *auth_user, const struct cl_delivery_rcpt *rcpts, size_t n,
			    const struct cl_delivery_content *content, const void *body, size_t blen);
/* Quarantine actions for admin-api. */
int cl_delivery_release_req(nng_msg **out, long long quarantine_id, long long by_user_id);
int cl_delivery_delete_req(nng_msg **out, long long quarantine_id, long long by_user_id);

/* cl_delivery_verdict_reply - the verdict of deliver/release/delete. When status is not
 * NULL and the reply lists "rcpts", status[i] receives the status word of the i-th
 * recipient of the reply (up to n, each at most 16 bytes; "" when absent). 0 or -1
 * (v is then 451 4.3.0). */
int cl_delivery_verdict_reply(nng_msg *reply, struct cl_verdict *v, char (*status)[16], size_t n);

#endif
