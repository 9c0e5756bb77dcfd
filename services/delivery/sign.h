/* sign.h - DKIM-sign the outbound mail a logged-in user submitted, before it is relayed
 * (issue 18). The key is the active one of dkim_keys for the domain of the message's From:
 * (keys are made and rotated through admin-api's /api/domains/{id}/dkim), and only when that
 * domain is one the login may send as: its own domain, or the domain of a sender alias an
 * admin granted it (sender_aliases). Any other From: domain, even one of ours with a key,
 * goes unsigned: a user of domain A must not get B's signature on mail that claims to be
 * from B (docs/ARCHITECTURE.md, "Outbound DKIM"). No such key: the message goes unsigned. A
 * key that fails to sign is logged (never the key) and counted, and the message goes
 * unsigned rather than not at all. */
#ifndef CLEMENT_DELIVERY_SIGN_H
#define CLEMENT_DELIVERY_SIGN_H

#include <stddef.h>

#include "dbexec.h"
#include "dconf.h"

/* dl_dkim_sign - the DKIM-Signature header field for msg (malloc'd, with its CRLF; the
 * caller frees it), or NULL when it goes unsigned. login_domain_id and login_user_id name
 * the sender who logged in (the outbound route's domain_id and user_id; user 0 when it has
 * no users row: then only its own domain signs). sid tags the log lines (may be NULL). */
char *dl_dkim_sign(struct dl_ctx *c, struct cl_pg *pg, const char *sid, long long login_domain_id,
		   long long login_user_id, const void *msg, size_t len);

#endif
