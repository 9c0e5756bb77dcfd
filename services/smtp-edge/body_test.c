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
		body_init(&b, 1000, 0, NULL, NULL);
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
	body_init(&b, 100000, 0, NULL, NULL);
	size_t used = body_data_feed(&b, line, sizeof line, &done);
	CL_CHECK(used == sizeof line && (b.flags & BODY_LONG_LINE), "over-long partial line is consumed and refused");
	used = body_data_feed(&b, "\r\n.\r\n", 5, &done);
	CL_CHECK(done && body_verdict(&b) && strncmp(body_verdict(&b), "500 5.5.2", 9) == 0, "long line verdict");
	body_free(&b);
	body_init(&b, 10, 0, NULL, NULL);
	body_data_feed(&b, "0123456789abc\r\n.\r\n", 18, &done);
	CL_CHECK(done && strncmp(body_verdict(&b), "552 5.3.4", 9) == 0, "size limit");
	body_free(&b);
}

static void test_bdat(void)
{
	struct body b;
	body_init(&b, 1000, 0, NULL, NULL);
	body_chunk_feed(&b, "a\r", 2);
	body_chunk_feed(&b, "\nb\r\n", 4);
	body_chunk_last(&b);
	CL_CHECK(b.flags == 0 && b.msg.len == 6, "CRLF split across chunks is fine");
	body_free(&b);
	const char *bad[] = {"a\nb", "a\rb", "a\r", "a\0b"};
	size_t lens[] = {3, 3, 2, 3};
	for (size_t i = 0; i < 4; i++) {
		body_init(&b, 1000, 0, NULL, NULL);
		body_chunk_feed(&b, bad[i], lens[i]);
		body_chunk_last(&b);
		CL_CHECK(body_verdict(&b) != NULL, "bdat bad %zu", i);
		body_free(&b);
	}
}

/* feed_lines - n lines of 100 octets (98 'x' and CRLF) as DATA, without the end. */
static void feed_lines(struct body *b, int n)
{
	char line[100];
	memset(line, 'x', 98);
	line[98] = '\r';
	line[99] = '\n';
	int done = 0;
	for (int i = 0; i < n; i++)
		body_data_feed(b, line, sizeof line, &done);
}

static void test_budget(void)
{
	struct body_budget bb = {.max = 8192};
	struct body a, b;
	int done = 0;
	body_init(&a, 100000, 0, &bb, NULL);
	body_init(&b, 100000, 0, &bb, NULL);
	feed_lines(&a, 30); /* 3000 octets: a 4096-octet buffer */
	CL_CHECK(a.charged == a.msg.cap && a.msg.cap == 4096 && atomic_load(&bb.used) == 4096,
		 "a's buffer is charged as it grows: %zu of cap %zu, used %zu", a.charged, a.msg.cap,
		 atomic_load(&bb.used));
	CL_CHECK(body_budget_room(&bb, 0) && body_budget_room(&bb, 4096) && !body_budget_room(&bb, 4097),
		 "room for a MAIL: up to the budget, SIZE= included");
	feed_lines(&b, 50); /* 5000 octets would need 8192 more: over the budget */
	body_data_feed(&b, ".\r\n", 3, &done);
	CL_CHECK(done && b.flags == BODY_NO_MEMORY && b.msg.len == 0 && b.charged == 0,
		 "b stops storing and gives its bytes back (flags %u, len %zu)", b.flags, b.msg.len);
	CL_CHECK(body_verdict(&b) &&
		     strcmp(body_verdict(&b), "452 4.3.1 Insufficient system storage, try again later") == 0,
		 "a temporary refusal at the end: %s", body_verdict(&b) ? body_verdict(&b) : "(none)");
	CL_CHECK(atomic_load(&bb.used) == 4096, "only a's bytes are held: %zu", atomic_load(&bb.used));
	body_data_feed(&a, ".\r\n", 3, &done);
	CL_CHECK(done && body_verdict(&a) == NULL && a.msg.len == 3000, "a is whole: %zu", a.msg.len);
	body_free(&b);
	body_free(&a);
	CL_CHECK(atomic_load(&bb.used) == 0, "every body gave its bytes back: %zu", atomic_load(&bb.used));
	/* A permanent reason is said before the lack of memory: the retry would fail anyway. */
	bb.used = bb.max;
	body_init(&a, 100000, 0, &bb, NULL);
	body_data_feed(&a, "y\r\nx\n", 5, &done);
	body_data_feed(&a, ".\r\n", 3, &done);
	CL_CHECK(a.flags == (BODY_NO_MEMORY | BODY_BARE_LF) && strncmp(body_verdict(&a), "554 5.6.0", 9) == 0,
		 "bare LF over the budget: %s", body_verdict(&a));
	body_free(&a);
	CL_CHECK(atomic_load(&bb.used) == bb.max, "nothing was charged: %zu", atomic_load(&bb.used));
}

/* An owner's share for test_owner_share: 4096 octets each. */
static long long share[2];
static int share_charge(void *owner, long long delta)
{
	long long *o = owner;
	if (delta > 0 && *o + delta > 4096)
		return -1;
	*o += delta;
	return 0;
}

static void test_owner_share(void)
{
	struct body_budget bb = {.max = 1 << 20, .owner_charge = share_charge};
	struct body a, b, c;
	int done = 0;
	body_init(&a, 100000, 0, &bb, &share[0]);
	body_init(&b, 100000, 0, &bb, &share[0]);
	body_init(&c, 100000, 0, &bb, &share[1]);
	feed_lines(&a, 30); /* 4096 octets: owner 0's whole share */
	feed_lines(&b, 1);  /* 256 more would pass it */
	feed_lines(&c, 30); /* another owner: its own share */
	CL_CHECK(share[0] == 4096 && share[1] == 4096 && atomic_load(&bb.used) == 8192,
		 "shares %lld and %lld, budget %zu", share[0], share[1], atomic_load(&bb.used));
	body_data_feed(&b, ".\r\n", 3, &done);
	CL_CHECK(done && b.flags == BODY_NO_MEMORY && b.charged == 0, "b over its owner's share: flags %u", b.flags);
	body_free(&a);
	body_free(&b);
	body_free(&c);
	CL_CHECK(share[0] == 0 && share[1] == 0 && atomic_load(&bb.used) == 0, "all given back: %lld %lld %zu",
		 share[0], share[1], atomic_load(&bb.used));
	/* the budget refuses after the owner agreed: the owner's charge is given back */
	bb.max = 1024;
	body_init(&a, 100000, 0, &bb, &share[0]);
	feed_lines(&a, 20);
	CL_CHECK(a.flags == BODY_NO_MEMORY && share[0] == 0 && atomic_load(&bb.used) == 0,
		 "over the budget: flags %u, share %lld, budget %zu", a.flags, share[0], atomic_load(&bb.used));
	body_free(&a);
}

int main(void)
{
	test_data();
	test_limits();
	test_bdat();
	test_budget();
	test_owner_share();
	return CL_TEST_END();
}
