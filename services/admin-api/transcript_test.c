/* transcript_test.c - a transcript shown to a delegated admin hides the RCPT commands and
 * replies of recipients outside its scope, and their addresses everywhere else. */
#include <stdlib.h>
#include <string.h>

#include "transcript.h"
#include "util/test.h"

static const struct {
	const char *line;
	int is_rcpt;
	const char *addr;
} ADDR[] = {
    {"C: RCPT TO:<Bob@B.Test>", 1, "bob@b.test"},
    {"C: rcpt to: <bob@b.test> NOTIFY=NEVER", 1, "bob@b.test"},
    {"C: RCPT TO:bob@b.test SIZE=1", 1, "bob@b.test"},
    {"C: RCPT TO:<@relay.test,@x.test:bob@b.test>", 1, "bob@b.test"},
    {"C: RCPT TO:<bob@b.test", 1, "bob@b.test"},
    {"C: RCPT FROM:<bob@b.test>", 1, ""},
    {"C: RCPT", 1, ""},
    {"C: RCPT TO:<>", 1, ""},
    {"C: RCPTX TO:<bob@b.test>", 0, ""},
    {"C: MAIL FROM:<bob@b.test>", 0, ""},
    {"S: RCPT TO:<bob@b.test>", 0, ""},
    {"RCPT TO:<bob@b.test>", 0, ""},
};

static void test_addr(void)
{
	char out[TRANSCRIPT_ADDR_MAX + 1];
	for (size_t i = 0; i < sizeof ADDR / sizeof ADDR[0]; i++) {
		int r = transcript_rcpt_addr(ADDR[i].line, strlen(ADDR[i].line), out, sizeof out);
		CL_CHECK(r == ADDR[i].is_rcpt && strcmp(out, ADDR[i].addr) == 0, "case %zu: %d \"%s\"", i, r, out);
	}
	char small[4];
	CL_CHECK(transcript_rcpt_addr("C: RCPT TO:<bob@b.test>", 23, small, sizeof small) == 1 && !small[0],
		 "an address that does not fit is none");
}

/* visible - the caller administers a.test only. */
static int visible(const char *addr, void *arg)
{
	(void)arg;
	size_t n = strlen(addr);
	return n > 7 && strcmp(addr + n - 7, "@a.test") == 0;
}

#define H_RCPT  TRANSCRIPT_HIDDEN_RCPT "\n"
#define H_REPLY TRANSCRIPT_HIDDEN_REPLY "\n"
#define H_ADDR  TRANSCRIPT_HIDDEN_ADDR

static const struct {
	const char *in, *out;
} MASK[] = {
    {"", ""},
    {"EHLO a", "EHLO a"},
    {"C: EHLO x\nS: 250 ok\n", "C: EHLO x\nS: 250 ok\n"},
    {"C: RCPT TO:<alice@a.test>\nS: 250 2.1.5 Ok\n", "C: RCPT TO:<alice@a.test>\nS: 250 2.1.5 Ok\n"},
    {"C: MAIL FROM:<m@x.test>\nS: 250 2.1.0 Ok\nC: RCPT TO:<alice@a.test>\nS: 250 2.1.5 Ok\n"
     "C: RCPT TO:<Bob@B.test>\nS: 550 5.1.1 <bob@b.test>: no such user\nC: DATA\nS: 354 go\n"
     "S: 550 5.7.1 refused for <BOB@b.test> and <alice@a.test>\nC: QUIT\n",
     "C: MAIL FROM:<m@x.test>\nS: 250 2.1.0 Ok\nC: RCPT TO:<alice@a.test>\nS: 250 2.1.5 Ok\n" H_RCPT H_REPLY
     "C: DATA\nS: 354 go\nS: 550 5.7.1 refused for <" H_ADDR "> and <alice@a.test>\nC: QUIT\n"},
    /* a multi-line reply is hidden line by line; the last line may lack its newline */
    {"C: RCPT TO:<c@c.test>\nS: 452-4.5.3 a\nS: 452 4.5.3 b", H_RCPT H_REPLY TRANSCRIPT_HIDDEN_REPLY},
    /* an unreadable RCPT argument is hidden, and so is its reply */
    {"C: RCPT TO:junk\nS: 501 5.1.3 Bad recipient address syntax\n", H_RCPT H_REPLY},
    {"C: RCPT\nS: 501 5.5.4 Syntax\nC: NOOP\nS: 250 ok\n", H_RCPT H_REPLY "C: NOOP\nS: 250 ok\n"},
    /* the same address in another command is masked too (VRFY, a second transaction) */
    {"C: VRFY c@c.test\nS: 252 x\nC: RCPT TO:<c@c.test>\nS: 250 ok\n", "C: VRFY " H_ADDR "\nS: 252 x\n" H_RCPT H_REPLY},
    /* an argument without '@' is hidden in its own line only, not searched for elsewhere */
    {"C: RCPT TO:<a>\nS: 550 no\nC: QUIT\nS: 221 bye\n", H_RCPT H_REPLY "C: QUIT\nS: 221 bye\n"},
};

static void test_mask(void)
{
	for (size_t i = 0; i < sizeof MASK / sizeof MASK[0]; i++) {
		char *m = transcript_mask(MASK[i].in, visible, NULL);
		CL_CHECK(m && strcmp(m, MASK[i].out) == 0, "case %zu: got \"%s\"", i, m ? m : "(null)");
		free(m);
	}
}

static void test_rcpts(void)
{
	char *r = transcript_rcpts("C: RCPT TO:<a@a.test>\nS: 250\nC: RCPT TO:<A@a.test>\nC: RCPT TO:<>\n"
				   "C: RCPT TO:<b@b.test>");
	CL_CHECK(r && strcmp(r, "a@a.test\nb@b.test\n") == 0, "distinct addresses: \"%s\"", r ? r : "(null)");
	free(r);
}

int main(void)
{
	test_addr();
	test_mask();
	test_rcpts();
	return CL_TEST_END();
}
