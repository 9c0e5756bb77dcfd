/* store.h - delivery's rows in PostgreSQL: the quarantine (store, release, delete, purge)
 * and message_log lines for what delivery itself decides (released, deleted, outbound sent
 * or failed). */
#ifndef CLEMENT_DELIVERY_STORE_H
#define CLEMENT_DELIVERY_STORE_H

#include <stddef.h>

#include "dconf.h"
#include "mail/verdict.h"

/* One message_log row; text fields may be NULL (stored as NULL), ids 0 = NULL. */
struct dl_logrow {
	const char *sid, *msgid, *direction, *client_ip, *sender, *rcpt, *status, *reason, *subject;
	long long user_id, domain_id, group_id, size;
	const struct cl_verdict *v; /* code/enh, may be NULL */
};

/* dl_log_row - insert one message_log row. 0 or -1 with err. */
int dl_log_row(struct cl_pg *pg, const struct dl_logrow *r, char *err, size_t errlen);

/* A message to quarantine: the envelope and the whole message (the caller's). */
struct dl_qmsg {
	const char *sid, *msgid, *client_ip, *sender, *subject;
	const char *score, *reason; /* the content verdict's (issue 18), "" when none */
	int smtputf8;               /* the client's MAIL had SMTPUTF8 */
	const unsigned char *msg;
	size_t len;
};

struct dl_qrcpt {
	const char *rcpt;
	long long user_id, domain_id;
	int held_by; /* enum cl_hold: why it is held, stored as quarantine.reason_class */
};

/* dl_quarantine_store_rows - one row per recipient, expiring after the retention, inside
 * the caller's open transaction (the caller commits or rolls back). 0 or -1 with err. */
int dl_quarantine_store_rows(struct dl_ctx *c, struct cl_pg *pg, const struct dl_qmsg *m, const struct dl_qrcpt *r,
			     size_t n, char *err, size_t errlen);

/* dl_quarantine_release - deliver the held copy to its recipient's normal destination and
 * mark it released (logged). v: 250 on success; 550 when no held row has that id; else the
 * destination's 4xx/5xx (the row stays held). */
void dl_quarantine_release(struct dl_ctx *c, struct cl_pg *pg, long long qid, long long by_user, struct cl_verdict *v);

/* dl_quarantine_delete - mark a held row deleted, drop its bytes, log it. */
void dl_quarantine_delete(struct dl_ctx *c, struct cl_pg *pg, long long qid, long long by_user, struct cl_verdict *v);

/* dl_quarantine_purge - delete rows past expires_at. Returns the count or -1. */
long long dl_quarantine_purge(struct cl_pg *pg, char *err, size_t errlen);

#endif
