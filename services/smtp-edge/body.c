/* body.c - strict DATA and BDAT readers. See body.h. */
#include "body.h"

#include <string.h>

int body_budget_room(struct body_budget *bb, size_t size)
{
	size_t used = atomic_load(&bb->used);
	return used < bb->max && size <= bb->max - used;
}

void body_init(struct body *b, size_t max_size, size_t extra, struct body_budget *budget, void *owner)
{
	memset(b, 0, sizeof *b);
	cl_buf_init(&b->msg, max_size + extra);
	b->max_size = max_size;
	b->line_start_crlf = 1; /* the DATA command's own CRLF */
	b->budget = budget;
	b->owner = owner;
}

/* owner_charge - delta octets to the body's owner, when the budget has owners. */
static int owner_charge(struct body *b, long long delta)
{
	return b->budget->owner_charge && b->owner ? b->budget->owner_charge(b->owner, delta) : 0;
}

/* uncharge - give the body's bytes back to its budget. */
static void uncharge(struct body *b)
{
	if (b->budget && b->charged) {
		atomic_fetch_sub(&b->budget->used, b->charged);
		cl_metric_add(b->budget->held, -(int64_t)b->charged);
		owner_charge(b, -(long long)b->charged);
	}
	b->charged = 0;
}

void body_free(struct body *b)
{
	uncharge(b);
	cl_buf_free(&b->msg);
	memset(b, 0, sizeof *b);
}

/* charge - before msg grows to hold n more octets, charge the capacity it will grow to (cl_buf
 * doubles from 256) to the owner's share, then to the budget. -1 when either has no room. */
static int charge(struct body *b, size_t n)
{
	size_t need = b->msg.len + n + 1;
	if (!b->budget || need <= b->msg.cap)
		return 0;
	size_t cap = b->msg.cap ? b->msg.cap : 256;
	while (cap < need)
		cap *= 2;
	size_t add = cap - b->charged;
	if (owner_charge(b, (long long)add) < 0)
		return -1;
	size_t used = atomic_fetch_add(&b->budget->used, add) + add;
	if (used > b->budget->max) {
		atomic_fetch_sub(&b->budget->used, add);
		owner_charge(b, -(long long)add);
		return -1;
	}
	cl_metric_add(b->budget->held, (int64_t)add);
	b->charged = cap;
	return 0;
}

/* store - keep n octets unless the message is already refused or too big. */
static void store(struct body *b, const char *p, size_t n)
{
	b->size += n;
	if (b->size > b->max_size)
		b->flags |= BODY_TOO_BIG;
	if (b->flags)
		return;
	if (charge(b, n) < 0) {
		/* what was stored is of no use now: give it back at once */
		b->flags |= BODY_NO_MEMORY;
		uncharge(b);
		cl_buf_free(&b->msg);
		return;
	}
	if (cl_buf_append(&b->msg, p, n) < 0)
		b->flags |= BODY_TOO_BIG;
}

/* data_line - one whole DATA line p[0..len) ending in LF. Returns 1 at end of data. */
static int data_line(struct body *b, const char *p, size_t len)
{
	int crlf = len >= 2 && p[len - 2] == '\r';
	size_t clen = len - (crlf ? 2 : 1);
	if (!crlf)
		b->flags |= BODY_BARE_LF;
	if (memchr(p, '\r', clen))
		b->flags |= BODY_BARE_CR;
	if (memchr(p, '\0', clen))
		b->flags |= BODY_NUL;
	if (len > BODY_MAX_LINE)
		b->flags |= BODY_LONG_LINE;
	/* RFC 5321 4.1.1.4: the end is CRLF "." CRLF; only a line that began after a real
	 * CRLF and ends in one can end the data (no smuggling through "\n.\n" variants). */
	if (crlf && b->line_start_crlf && clen == 1 && p[0] == '.')
		return 1;
	b->line_start_crlf = crlf;
	if (clen > 0 && p[0] == '.') { /* 4.5.2 transparency */
		p++;
		clen--;
	}
	store(b, p, clen);
	store(b, "\r\n", 2);
	return 0;
}

size_t body_data_feed(struct body *b, const char *p, size_t n, int *done)
{
	size_t i = 0;
	*done = 0;
	while (i < n) {
		const char *lf = memchr(p + i, '\n', n - i);
		if (b->skipping) {
			size_t end = lf ? (size_t)(lf - p) : n;
			if (memchr(p + i, '\0', end - i))
				b->flags |= BODY_NUL;
			if (!lf) {
				b->prev_cr = p[n - 1] == '\r';
				return n;
			}
			/* the over-long line ends; the next begins after CRLF only if CR preceded */
			b->line_start_crlf = end > i ? p[end - 1] == '\r' : b->prev_cr;
			b->skipping = 0;
			i = end + 1;
			continue;
		}
		if (!lf) {
			if (n - i > BODY_MAX_LINE) {
				b->flags |= BODY_LONG_LINE;
				b->skipping = 1;
				if (memchr(p + i, '\0', n - i))
					b->flags |= BODY_NUL;
				b->prev_cr = p[n - 1] == '\r';
				return n;
			}
			return i; /* wait for the rest of the line */
		}
		size_t len = (size_t)(lf - (p + i)) + 1;
		if (data_line(b, p + i, len)) {
			*done = 1;
			return i + len;
		}
		i += len;
	}
	return i;
}

void body_chunk_feed(struct body *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '\n') {
			if (!b->prev_cr)
				b->flags |= BODY_BARE_LF;
			b->line_len = 0;
		} else {
			if (b->prev_cr)
				b->flags |= BODY_BARE_CR;
			if (c == '\0')
				b->flags |= BODY_NUL;
			if (c != '\r' && ++b->line_len > BODY_MAX_LINE - 2)
				b->flags |= BODY_LONG_LINE;
		}
		b->prev_cr = c == '\r';
	}
	store(b, p, n);
}

void body_chunk_last(struct body *b)
{
	if (b->prev_cr)
		b->flags |= BODY_BARE_CR;
}

const char *body_verdict(const struct body *b)
{
	if (b->flags & BODY_TOO_BIG)
		return "552 5.3.4 Message size exceeds fixed maximum message size";
	if (b->flags & (BODY_BARE_LF | BODY_BARE_CR))
		return "554 5.6.0 Message refused: bare CR or LF; lines must end with CRLF";
	if (b->flags & BODY_NUL)
		return "554 5.6.0 Message refused: NUL bytes are not allowed";
	if (b->flags & BODY_LONG_LINE)
		return "500 5.5.2 Message refused: line longer than 1000 octets";
	if (b->flags & BODY_NO_MEMORY) /* RFC 5321 452, RFC 3463 X.3.1 */
		return "452 4.3.1 Insufficient system storage, try again later";
	return NULL;
}
