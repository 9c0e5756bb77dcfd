/* probe_test.c - the recipient probe's reply reader (pp_reply_scan): complete, incomplete and
 * malformed replies, table-driven. */
#include <string.h>

#include "probe.h"
#include "util/test.h"

static const struct {
	const char *in;
	int code;
	size_t last, lastlen;
} CASES[] = {
    {"", 0, 0, 0},
    {"250 ok", 0, 0, 0},
    {"250 ok\r\n", 250, 0, 7},
    {"250\n", 250, 0, 3},
    {"220-mx.test\r\n220 ready\r\n", 220, 13, 10},
    {"220-mx.test\r\n", 0, 0, 0},
    {"550 5.1.1 no such user\r\n221 bye\r\n", 550, 0, 23},
    {"hello\r\n", -1, 0, 0},
    {"25\r\n", -2, 0, 3},
    {"650 x\r\n", -1, 0, 0},
    {"250x\r\n", -1, 0, 0},
    {"2x0 ok\r\n", -2, 0, 7},
    /* every line of a reply has the first line's code (RFC 5321 4.2.1): a peer that changes
     * it mid-reply is broken, and its final 550 must not be taken (and cached) as an answer */
    {"250-mx.test\r\n550 no\r\n", -1, 0, 0},
    {"250-mx.test\r\n251-x\r\n", -1, 0, 0},
};

int main(void)
{
	for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
		size_t last = 0, ll = 0;
		int code = pp_reply_scan(CASES[i].in, strlen(CASES[i].in), &last, &ll);
		CL_CHECK(code == CASES[i].code &&
			     (code == 0 || code == -1 || (last == CASES[i].last && ll == CASES[i].lastlen)),
			 "case %zu: %d %zu %zu", i, code, last, ll);
	}
	return CL_TEST_END();
}
