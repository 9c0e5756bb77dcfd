/* body_fuzz.c - libFuzzer target for smtp-edge's DATA and BDAT readers (body.c).
 *
 * fuzz-sources: services/smtp-edge/body.c lib/util/buf.c lib/util/metrics.c
 *
 * The input is fed in pieces whose sizes come from the low 6 bits of the first byte, as a
 * network delivers it; its top 2 bits pick the size limit, 512 << (0..3) octets (with a
 * fixed 4096, the limit of the longest input run-fuzz makes, no message ever grew too big
 * and the RFC 1870 refusal was never reached). Invariants: the reader never consumes more
 * than it was given, never stores more than its bound, and a message it accepts has CRLF
 * line ends only, no NUL, no line over 1000 octets and no more octets than the limit —
 * whatever the bytes and however they were split. The BDAT pass shares a memory budget of
 * 2048 octets (body.h): whatever is charged never passes it and all of it is given back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* clean_ok - the stored message of an accepted body is strict SMTP text. */
static void clean_ok(const struct body *b)
{
	if (b->msg.len > b->max_size || b->size > b->max_size)
		abort();
	const char *p = b->msg.data;
	size_t n = b->msg.len, line = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\0')
			abort();
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			abort();
		if (p[i] == '\r' && (i + 1 >= n || p[i + 1] != '\n'))
			abort();
		line = p[i] == '\n' ? 0 : line + 1;
		if (line > BODY_MAX_LINE)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (size_t)(data[0] % 64) + 1, max = (size_t)512 << (data[0] >> 6);
	const char *p = (const char *)data + 1;
	size_t n = size - 1;

	struct body b;
	body_init(&b, max, 0, NULL, NULL);
	struct cl_buf pending;
	cl_buf_init(&pending, 0);
	int done = 0;
	for (size_t off = 0; off < n && !done; off += step) {
		size_t k = n - off < step ? n - off : step;
		cl_buf_append(&pending, p + off, k);
		size_t used = body_data_feed(&b, pending.data, pending.len, &done);
		if (used > pending.len)
			abort();
		cl_buf_consume(&pending, used);
		if (pending.len > 2 * BODY_MAX_LINE + 64)
			abort(); /* a partial line is never held beyond the line bound */
	}
	if (b.msg.len > max)
		abort();
	if (done && !body_verdict(&b))
		clean_ok(&b);
	body_free(&b);
	cl_buf_free(&pending);

	struct body_budget bb = {.max = 2048};
	body_init(&b, max, 0, &bb, NULL);
	for (size_t off = 0; off < n; off += step) {
		body_chunk_feed(&b, p + off, n - off < step ? n - off : step);
		if (atomic_load(&bb.used) > bb.max || atomic_load(&bb.used) != b.charged ||
		    (b.msg.cap > b.charged && b.msg.len > 0))
			abort(); /* the budget holds what the buffer grew to, and never more than its max */
	}
	body_chunk_last(&b);
	if (!body_verdict(&b))
		clean_ok(&b);
	body_free(&b);
	if (atomic_load(&bb.used) != 0)
		abort();
	return 0;
}
