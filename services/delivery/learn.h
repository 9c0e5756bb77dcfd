/* learn.h - teach Rspamd from the quarantine decisions (issue 18) of groups that enabled it
 * (groups.learn_quarantine, checked by the callers in store.c): a message that the content
 * verdict held (reason_class 'spam') and that a user releases is ham, one they delete is spam.
 * Rspamd's controller (CLEMENT_RSPAMD_CONTROLLER_URL) takes it as POST /learnham or /learnspam.
 * A failed lesson never changes the release or the delete: it is logged and counted. */
#ifndef CLEMENT_DELIVERY_LEARN_H
#define CLEMENT_DELIVERY_LEARN_H

#include <stddef.h>

#include "dconf.h"

/* dl_learn - one lesson, when a controller is configured (else nothing). Blocks for at most
 * 5 s. 0 learned (or already known), -1 failed or off. */
int dl_learn(struct dl_ctx *c, const char *sid, int spam, const void *msg, size_t len);

#endif
