/* probe_reply_fuzz.c - libFuzzer target for the recipient probe's reply reader (probe.c,
 * pp_reply_scan): a downstream's answer to the greeting, EHLO, MAIL and RCPT decides whether
 * an address exists.
 *
 * fuzz-sources: services/policy/probe.c lib/util/buf.c lib/util/metrics.c lib/util/net.c lib/util/config.c lib/util/log.c
 *
 * Input: byte 0 is the size of the network reads (1..64 octets); the rest is what the
 * downstream sends, one reply after another, read into a buffer of the probe's bound the way
 * read_reply reads it. Invariants: no read past what has arrived; a reply's code is 200..599
 * and its final line lies inside the buffer, ends at a '\n' and starts with that code, as
 * every line before it does (RFC 5321 4.2.1); the answer never changes once given, however
 * many more octets arrive (a reply is never judged on a piece of it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

#define BUF_MAX 4096 /* PP_REPLY_MAX */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (size_t)(data[0] % 64) + 1;
	const uint8_t *p = data + 1, *end = data + size;
	while (p < end) {
		/* one reply: grow what has arrived by step octets until an answer comes */
		size_t have = 0, last = 0, ll = 0;
		int code = 0;
		char *buf = NULL;
		while (code == 0 && have < BUF_MAX && p + have < end) {
			have += step;
			if (have > (size_t)(end - p))
				have = (size_t)(end - p);
			if (have > BUF_MAX)
				have = BUF_MAX;
			free(buf);
			buf = malloc(have); /* exactly what has arrived: ASan sees any read past it */
			if (!buf)
				return 0;
			memcpy(buf, p, have);
			code = pp_reply_scan(buf, have, &last, &ll);
		}
		if (code == 0) {
			free(buf);
			break; /* the downstream stopped or sent too much: the probe fails */
		}
		if (code > 0 || code == -2) {
			if (last + ll >= have || buf[last + ll] != '\n')
				abort();
			if (code > 0 && (code < 200 || code > 599 || buf[last] != '0' + code / 100 ||
					 buf[last + 1] != '0' + code / 10 % 10 || buf[last + 2] != '0' + code % 10))
				abort();
			for (size_t i = 0; code > 0 && i < last; i++) /* every line carries that code */
				if ((i == 0 || buf[i - 1] == '\n') && memcmp(buf + i, buf + last, 3) != 0)
					abort();
		}
		/* the same answer from everything that arrived, not only the piece that gave it */
		size_t all = (size_t)(end - p) < BUF_MAX ? (size_t)(end - p) : BUF_MAX, l2 = 0, ll2 = 0;
		char *whole = malloc(all);
		if (!whole)
			abort();
		memcpy(whole, p, all);
		int again = pp_reply_scan(whole, all, &l2, &ll2);
		if (again != code || ((code > 0 || code == -2) && (l2 != last || ll2 != ll)))
			abort();
		free(whole);
		free(buf);
		if (code < 0)
			break;
		p += last + ll + 1; /* the next command's reply starts after this one */
	}
	return 0;
}
