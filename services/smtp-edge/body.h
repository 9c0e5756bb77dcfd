/* body.h - the message body readers of smtp-edge: DATA (RFC 5321 4.1.1.4, with
 * dot-unstuffing, 4.5.2) and BDAT chunks (RFC 3030).
 *
 * Both are strict where lenient parsing enables SMTP smuggling: a line must end in CRLF,
 * a bare CR or bare LF anywhere refuses the message, the end of DATA is CRLF "." CRLF and
 * nothing else (a "." line after a bare LF is body, not the end), NUL bytes refuse the
 * message, a line over 1000 octets refuses it (never truncates it), and the size limit is
 * enforced while reading (RFC 1870). A refused message is still read to its end, so the
 * session stays in sync, but its bytes are not stored.
 *
 * Memory: the stored message is a cl_buf bounded by the caller; the readers never buffer
 * more than they are given. Every body of a process can share a budget (struct body_budget,
 * CLEMENT_MAX_DATA_MEMORY), and each body's owner (smtp-edge: its client's address,
 * CLEMENT_MAX_DATA_MEMORY_PER_IP) a share of it: a buffer's growth is charged to both first,
 * and a body that would pass either stops storing, gives its bytes back and is refused with
 * 452 4.3.1 at its end. Pure functions of their input and the budget, fuzzed by body_fuzz.c. */
#ifndef CLEMENT_EDGE_BODY_H
#define CLEMENT_EDGE_BODY_H

#include <stdatomic.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/metrics.h"

#define BODY_MAX_LINE 1000 /* RFC 5321 4.5.3.1.6, including CRLF */

enum body_flag {
	BODY_BARE_LF = 1,
	BODY_BARE_CR = 2,
	BODY_NUL = 4,
	BODY_LONG_LINE = 8,
	BODY_TOO_BIG = 16,
	BODY_NO_MEMORY = 32, /* the shared budget had no room: a temporary refusal */
};

/* The bytes every stored message of a process may hold between them. */
struct body_budget {
	_Atomic size_t used; /* capacity of the stored messages' buffers */
	size_t max;
	struct cl_metric *held; /* a gauge of used (may be NULL) */
	/* the owners' shares (may be NULL): charges owner delta octets (given back when delta < 0);
	 * 0, or -1 when the owner's share has no room for a charge (nothing charged then) */
	int (*owner_charge)(void *owner, long long delta);
};

/* body_budget_room - 1 when a message of `size` octets (0: not declared) could start now. */
int body_budget_room(struct body_budget *bb, size_t size);

struct body {
	struct cl_buf msg; /* what we store (owned; body_free releases it) */
	size_t max_size;   /* message size limit in octets */
	size_t size;       /* octets of message read so far (after unstuffing) */
	unsigned flags;
	int line_start_crlf;        /* DATA: the current line began after a CRLF */
	int skipping;               /* DATA: inside an over-long line, discarding to its LF */
	int prev_cr;                /* the last byte read was CR */
	size_t line_len;            /* BDAT: octets of the current line so far */
	struct body_budget *budget; /* NULL: none */
	void *owner;                /* passed to budget->owner_charge */
	size_t charged;             /* msg's capacity charged to budget (and to owner) */
};

/* body_init - ready to read a message of at most max_size octets; the stored copy may
 * hold max_size + extra octets (room for our Received: header, stored first). budget may
 * be NULL; owner is what budget->owner_charge is called with. body_free gives the body's bytes
 * back to both. */
void body_init(struct body *b, size_t max_size, size_t extra, struct body_budget *budget, void *owner);
void body_free(struct body *b);

/* body_data_feed - read DATA bytes p[0..n). Returns how many were consumed: whole lines
 * only (a partial line waits for more input), except inside an over-long line, which is
 * consumed and discarded. *done becomes 1 when CRLF.CRLF was consumed. */
size_t body_data_feed(struct body *b, const char *p, size_t n, int *done);

/* body_chunk_feed - read n BDAT octets (all consumed). body_chunk_last - the LAST chunk
 * ended: a trailing lone CR is a bare CR. */
void body_chunk_feed(struct body *b, const char *p, size_t n);
void body_chunk_last(struct body *b);

/* body_verdict - the SMTP reply for a refused message ("552 5.3.4 ..."; a permanent reason
 * before a lack of memory), or NULL when the message may go on to the scanner. */
const char *body_verdict(const struct body *b);

#endif
