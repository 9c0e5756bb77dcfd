/* sign.h - DKIM-sign outbound mail before it is relayed (issue 18). The key is the active
 * one of dkim_keys for the domain of the message's From: (one of ours; keys are made and
 * rotated through admin-api's /api/domains/{id}/dkim). No such key: the message goes
 * unsigned. A key that fails to sign is logged (never the key) and counted, and the message
 * goes unsigned rather than not at all. */
#ifndef CLEMENT_DELIVERY_SIGN_H
#define CLEMENT_DELIVERY_SIGN_H

#include <stddef.h>

#include "dbpool.h"
#include "dconf.h"

/* dl_dkim_sign - the DKIM-Signature header field for msg (malloc'd, with its CRLF), or NULL
 * when it goes unsigned. */
char *dl_dkim_sign(struct dl_ctx *c, struct cl_pg *pg, const void *msg, size_t len);

#endif
