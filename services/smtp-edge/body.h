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
 * more than they are given. Pure functions of their input, fuzzed by body_fuzz.c. */
#ifndef CLEMENT_EDGE_BODY_H
#define CLEMENT_EDGE_BODY_H

#include <stddef.h>

#include "util/buf.h"

#define BODY_MAX_LINE 1000 /* RFC 5321 4.5.3.1.6, including CRLF */

enum body_flag {
	BODY_BARE_LF = 1,
	BODY_BARE_CR = 2,
	BODY_NUL = 4,
	BODY_LONG_LINE = 8,
	BODY_TOO_BIG = 16,
};

struct body {
	struct cl_buf msg; /* what we store (owned; body_free releases it) */
	size_t max_size;   /* message size limit in octets */
	size_t size;       /* octets of message read so far (after unstuffing) */
	unsigned flags;
	int line_start_crlf; /* DATA: the current line began after a CRLF */
	int skipping;        /* DATA: inside an over-long line, discarding to its LF */
	int prev_cr;         /* the last byte read was CR */
	size_t line_len;     /* BDAT: octets of the current line so far */
};

/* body_init - ready to read a message of at most max_size octets; the stored copy may
 * hold max_size + extra octets (room for our Received: header, stored first). */
void body_init(struct body *b, size_t max_size, size_t extra);
void body_free(struct body *b);

/* body_data_feed - read DATA bytes p[0..n). Returns how many were consumed: whole lines
 * only (a partial line waits for more input), except inside an over-long line, which is
 * consumed and discarded. *done becomes 1 when CRLF.CRLF was consumed. */
size_t body_data_feed(struct body *b, const char *p, size_t n, int *done);

/* body_chunk_feed - read n BDAT octets (all consumed). body_chunk_last - the LAST chunk
 * ended: a trailing lone CR is a bare CR. */
void body_chunk_feed(struct body *b, const char *p, size_t n);
void body_chunk_last(struct body *b);

/* body_verdict - the SMTP reply for a refused message ("552 5.3.4 ..."), or NULL when
 * the message may go on to the scanner. */
const char *body_verdict(const struct body *b);

#endif
