/* bulk_test.c - body fingerprints (what counts as the same text) and the count of distinct
 * clients per text within the window (bulk.c), without a socket. */
#include <string.h>

#include "bulk.h"
#include "util/test.h"

#define TEXT "Congratulations! You have been selected for an exclusive offer on premium watches.\r\n"

static uint64_t fp(const char *m)
{
	return bulk_fingerprint((const unsigned char *)m, strlen(m));
}

static void test_fingerprint(void)
{
	uint64_t a = fp("Subject: a\r\nMessage-ID: <1@x>\r\n\r\n" TEXT "Ref SW-001-abc\r\n");
	uint64_t b = fp("Subject: b\r\nX-Other: 2\r\n\r\n" TEXT "Ref SW-002-def\r\n");
	CL_CHECK(a && a == b, "headers and words with digits do not count: %llx %llx", (unsigned long long)a,
		 (unsigned long long)b);
	CL_CHECK(fp("S: a\r\n\r\n" TEXT) == fp("S: a\r\n\r\n"
					       "CONGRATULATIONS!   you have been\r\n selected for an exclusive "
					       "offer on premium watches.\r\n"),
		 "case and white space do not count");
	CL_CHECK(fp("S: a\r\n\r\n" TEXT) != fp("S: a\r\n\r\n" TEXT "Another line.\r\n"), "another word counts");
	CL_CHECK(fp("S: a\r\n\r\nThanks, see you on Monday 10:00!\r\n") == 0, "a short text is not counted");
	CL_CHECK(fp("S: a\r\nT: b\r\n") == 0, "no body: not counted");
	CL_CHECK(fp("S: a\n\n" TEXT) == fp("S: a\r\n\r\n" TEXT), "bare LF ends the header too");
}

static void test_note(void)
{
	struct bulk_table t;
	CL_CHECK(bulk_init(&t, 3600) == 0, "init");
	uint64_t f = fp("S: a\r\n\r\n" TEXT);
	CL_CHECK(bulk_note(&t, f, "192.0.2.1", 1000, NULL) == 0, "first client");
	CL_CHECK(bulk_note(&t, f, "192.0.2.1", 1001, NULL) == 0, "the same client again is not another");
	CL_CHECK(bulk_note(&t, f, "192.0.2.2", 1002, NULL) == 1, "second client");
	CL_CHECK(bulk_note(&t, f, "192.0.2.3", 1003, NULL) == 2, "third client");
	CL_CHECK(bulk_note(&t, f, "192.0.2.1", 1004, NULL) == 2, "the first again sees two others");
	CL_CHECK(bulk_note(&t, f, "192.0.2.4", 1004 + 3601, NULL) == 0, "after the window nobody counts");
	CL_CHECK(bulk_note(&t, 0, "192.0.2.5", 9000, NULL) == 0, "fingerprint 0 is never counted");
	/* More clients than the slot holds: the count stops at BULK_CLIENTS_MAX others. */
	char ip[32];
	int last = 0;
	for (int i = 0; i < BULK_CLIENTS_MAX + 10; i++) {
		snprintf(ip, sizeof ip, "198.51.100.%d", i);
		last = bulk_note(&t, f + 1, ip, 20000 + i, NULL);
	}
	CL_CHECK(last == BULK_CLIENTS_MAX, "bounded count %d", last);
	/* Many texts: the table stays bounded and every note answers. */
	for (uint64_t k = 1; k < 3 * BULK_SLOTS; k++)
		(void)bulk_note(&t, k * 7919, "203.0.113.1", 30000, NULL);
	CL_CHECK(bulk_note(&t, 424242, "203.0.113.2", 30001, NULL) == 0, "a new text in a full table");
	bulk_fini(&t);
}

/* test_defer - a deferred client is told so on its retry; nobody else is, and a new client in
 * a reused place of the slot starts undeferred. */
static void test_defer(void)
{
	struct bulk_table t;
	CL_CHECK(bulk_init(&t, 3600) == 0, "init");
	uint64_t f = fp("S: a\r\n\r\n" TEXT);
	int d = -1;
	CL_CHECK(bulk_note(&t, f, "192.0.2.1", 1000, &d) == 0 && d == 0, "first: not deferred");
	CL_CHECK(bulk_note(&t, f, "192.0.2.2", 1001, &d) == 1 && d == 0, "second: not deferred");
	bulk_defer(&t, f, "192.0.2.2", 1001);
	CL_CHECK(bulk_note(&t, f, "192.0.2.2", 1300, &d) == 1 && d == 1, "the retry knows it was deferred");
	CL_CHECK(bulk_note(&t, f, "192.0.2.1", 1301, &d) == 1 && d == 0, "the other client was not");
	bulk_defer(&t, f, "192.0.2.9", 1302); /* not in the slot: nothing */
	CL_CHECK(bulk_note(&t, f, "192.0.2.9", 1303, &d) == 2 && d == 0, "a client never deferred");
	bulk_defer(&t, 0, "192.0.2.1", 1304);
	CL_CHECK(bulk_note(&t, 0, "192.0.2.1", 1305, &d) == 0 && d == 0, "fingerprint 0: never");
	bulk_fini(&t);
}

int main(void)
{
	test_fingerprint();
	test_note();
	test_defer();
	return CL_TEST_END();
}
