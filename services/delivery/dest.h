/* dest.h - deliver one message to the recipients of one destination: a group's Maildirs
 * (local), its downstream MTA (relay), or the sender's downstream / CLEMENT_SMARTHOST
 * (outbound). Shared by the deliver op, quarantine release and digests.
 *
 * The caller lends a database connection (for the group's downstream and the users'
 * quotas); nothing is retained after the call. */
#ifndef CLEMENT_DELIVERY_DEST_H
#define CLEMENT_DELIVERY_DEST_H

#include <stddef.h>

#include "dconf.h"
#include "mail/verdict.h"

struct dl_dest_rcpt {
	const char *addr;
	long long user_id; /* 0 when unknown */
	/* The user's quota as the route brought it (0 = none); quota_known = 0: looked up in
	 * PostgreSQL (a release, a digest, or a request from a client that did not send it). */
	int quota_known;
	long long quota_bytes;
};

/* dl_dest_deliver - all-or-nothing delivery; fills v (250 only when every copy is durable
 * or the downstream said 250) and counts the outcome and latency under mode. smtputf8: the
 * message came with SMTPUTF8 (dl_relay_send). Returns 0 on 250, -1 otherwise. */
int dl_dest_deliver(struct dl_ctx *c, struct cl_pg *pg, enum cl_route_mode mode, long long group_id, const char *sender,
		    int smtputf8, const struct dl_dest_rcpt *r, size_t n, const void *msg, size_t len,
		    struct cl_verdict *v);

/* dl_group_mode - the mode of group_id ("local" -> CL_ROUTE_LOCAL, "relay" -> CL_ROUTE_RELAY),
 * or CL_ROUTE_NONE with err on failure. */
enum cl_route_mode dl_group_mode(struct cl_pg *pg, long long group_id, char *err, size_t errlen);

#endif
