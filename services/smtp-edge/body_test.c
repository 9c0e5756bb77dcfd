/* body_test.c - table-driven tests of the DATA and BDAT readers: the end of data, dot
 * transparency, and every smuggling variant. */
#include <string.h>

#include "body.h"
#include "util/test.h"

struct data_case {
	const char *in;
	size_t len;
	int done;           /* the end was found */
	unsigned flags;     /* expected refusal flags (0 = clean) */
	const char *stored; /* on a clean end */
};

#define S(x) x, sizeof(x) - 1

static const struct data_case data_cases[] = {
    {S("a\r\n.\r\n"), 1, 0, "a\r\n"},
    {S(".\r\n"), 1, 0, ""},
    {S("..x\r\n.\r\n"), 1, 0, ".x\r\n"},
    {S("a\r\n.\r\nMAIL FROM:<x>\r\n"), 1, 0, "a\r\n"},
    {S("a\n.\nMAIL\r\n.\r\n"), 1, BODY_BARE_LF, NULL},
    {S("a\n.\r\nb\r\n.\r\n"), 1, BODY_BARE_LF, NULL},
    {S("a\r.\rb\r\n.\r\n"), 1, BODY_BARE_CR, NULL},
    {S("a\r\n.\nb\r\n.\r\n"), 1, BODY_BARE_LF, NULL},
    {S("a\r\n.\rb\r\n.\r\n"), 1, BODY_BARE_CR, NULL},
    {S("a\r\n\0.\r\n.\r\n"), 1, BODY_NUL, NULL},
    {S("a\r\n.\r"), 0, 0, NULL},
};

static void test_data(void)
{
	for (size_t i = 0; i < sizeof data_cases / sizeof data_cases[0]; i++) {
		const struct data_case *c = &data_cases[i];
		struct body b;
		body_init(&b, 1000, 0);
		int done = 0;
		size_t used = body_data_feed(&b, c->in, c->len, &done);
		CL_CHECK(done == c->done, "case %zu: done %d", i, done);
		CL_CHECK(b.flags == c->flags, "case %zu: flags %u", i, b.flags);
		if (c->stored)
			CL_CHECK(b.msg.len == strlen(c->stored) &&
				     (b.msg.len == 0 || memcmp(b.msg.data, c->stored, b.msg.len) == 0),
				 "case %zu: stored", i);
		if (c->done && i == 3)
			CL_CHECK(used == 6, "case %zu: stops after the end (used %zu)", i, used);
		body_free(&b);
	}
}

static void test_limits(void)
{
	struct body b;
	char line[1200];
	memset(line, 'x', sizeof line);
	int done;
	body_init(&b, 100000, 0);
	size_t used = body_data_feed(&b, line, sizeof line, &done);
	CL_CHECK(used == sizeof line && (b.flags & BODY_LONG_LINE), "over-long partial line is consumed and refused");
	used = body_data_feed(&b, "\r\n.\r\n", 5, &done);
	CL_CHECK(done && body_verdict(&b) && strncmp(body_verdict(&b), "500 5.5.2", 9) == 0, "long line verdict");
	body_free(&b);
	body_init(&b, 10, 0);
	body_data_feed(&b, "0123456789abc\r\n.\r\n", 18, &done);
	CL_CHECK(done && strncmp(body_verdict(&b), "552 5.3.4", 9) == 0, "size limit");
	body_free(&b);
}

static void test_bdat(void)
{
	struct body b;
	body_init(&b, 1000, 0);
	body_chunk_feed(&b, "a\r", 2);
	body_chunk_feed(&b, "\nb\r\n", 4);
	body_chunk_last(&b);
	CL_CHECK(b.flags == 0 && b.msg.len == 6, "CRLF split across chunks is fine");
	body_free(&b);
	const char *bad[] = {"a\nb", "a\rb", "a\r", "a\0b"};
	size_t lens[] = {3, 3, 2, 3};
	for (size_t i = 0; i < 4; i++) {
		body_init(&b, 1000, 0);
		body_chunk_feed(&b, bad[i], lens[i]);
		body_chunk_last(&b);
		CL_CHECK(body_verdict(&b) != NULL, "bdat bad %zu", i);
		body_free(&b);
	}
}

int main(void)
{
	test_data();
	test_limits();
	test_bdat();
	return CL_TEST_END();
}
