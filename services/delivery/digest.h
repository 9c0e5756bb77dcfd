/* digest.h - quarantine digests: claim due schedules and mail each covered user a list of
 * their newly held messages with signed one-click links (lib/mail/digest_token.h).
 *
 * Exactly once across replicas: a schedule is claimed with SELECT ... FOR UPDATE SKIP
 * LOCKED inside the transaction that also marks the listed quarantine rows digested and
 * moves next_run_at, so another instance either skips the locked schedule or, once it is
 * committed, no longer sees it as due. A digest whose delivery succeeded but whose
 * transaction then failed is sent again (at least once, never lost). */
#ifndef CLEMENT_DELIVERY_DIGEST_H
#define CLEMENT_DELIVERY_DIGEST_H

#include "dconf.h"

/* dl_digest_run - process due schedules (at most max_schedules). Returns the number of
 * digests sent, or -1 when the database is unavailable. */
int dl_digest_run(struct dl_ctx *c, int max_schedules);

#endif
