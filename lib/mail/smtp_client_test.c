/* smtp_client_test.c - the one SMTP reply reader (cl_smtp_reply_code, cl_smtpc_take_line,
 * cl_smtpc_reply_line) on complete, incomplete and malformed replies, table-driven; then the
 * blocking client against a local listener: a multi-line greeting, EHLO keywords, a peer
 * that answers with a changed code mid-reply, and a silent peer bounded by the deadline. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mail/smtp_client.h"
#include "util/buf.h"
#include "util/metrics.h"
#include "util/net.h"
#include "util/test.h"

/* read_one - the replies in in, as cl_smtpc_cmd reads them: the code of the first complete
 * reply (0 when more bytes are needed, -1 when malformed) and its final line. */
static int read_one(const char *in, char *last, size_t lastlen)
{
	static struct cl_smtpc c;
	memset(&c, 0, sizeof c);
	size_t n = strlen(in);
	memcpy(c.in, in, n);
	c.inlen = n;
	struct cl_buf text;
	cl_buf_init(&text, sizeof c.text - 1);
	char line[CL_SMTPC_LINE_MAX + 1];
	int rc = 0;
	for (;;) {
		int r = cl_smtpc_take_line(&c, line, sizeof line);
		if (r <= 0) {
			rc = r;
			break;
		}
		r = cl_smtpc_reply_line(&c, &text, line);
		if (r != 0) {
			rc = r < 0 ? -1 : c.code;
			break;
		}
	}
	cl_strlcpy(last, c.last, lastlen);
	cl_buf_free(&text);
	return rc;
}

static void test_reader(void)
{
	static const struct {
		const char *in;
		int code;
		const char *last;
	} cases[] = {
	    {"", 0, ""},
	    {"250 ok", 0, ""},
	    {"250 ok\r\n", 250, "250 ok"},
	    {"250\n", 250, "250"},
	    {"220-mx.test\r\n220 ready\r\n", 220, "220 ready"},
	    {"220-mx.test\r\n", 0, ""},
	    {"550 5.1.1 no such user\r\n221 bye\r\n", 550, "550 5.1.1 no such user"},
	    {"hello\r\n", -1, ""},
	    {"25\r\n", -1, ""},
	    {"650 x\r\n", -1, ""},
	    {"250x\r\n", -1, ""},
	    {"2x0 ok\r\n", -1, ""},
	    /* every line of a reply has the first line's code (RFC 5321 4.2.1): a peer that
	     * changes it mid-reply is broken, and its final 550 must not be taken (and cached by
	     * the probe) as an answer */
	    {"250-mx.test\r\n550 no\r\n", -1, ""},
	    {"250-mx.test\r\n251-x\r\n", -1, ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char last[CL_SMTPC_LINE_MAX + 1];
		int code = read_one(cases[i].in, last, sizeof last);
		CL_CHECK(code == cases[i].code && !strcmp(last, cases[i].last), "case %zu: %d \"%s\"", i, code, last);
	}
	/* a line longer than the bound is refused, complete or not */
	char big[CL_SMTPC_LINE_MAX + 10], last[10];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	memcpy(big, "250 ", 4);
	CL_CHECK(read_one(big, last, sizeof last) == -1, "an endless line is refused");
	int more = 0;
	CL_CHECK(cl_smtp_reply_code("451-4.3.0 x", 11, &more) == 451 && more == 1, "continuation");
	CL_CHECK(cl_smtp_reply_code("354", 3, &more) == 354 && more == 0, "bare code");
	CL_CHECK(cl_smtp_reply_code("1234", 4, &more) == -1, "no separator");
}

struct peer {
	int lfd;
	const char *script; /* what the peer sends after each line it reads; "" stays silent */
};

/* peer_main - accept one connection, send the greeting, then one canned reply per line read. */
static void *peer_main(void *arg)
{
	struct peer *p = arg;
	int fd = accept(p->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	const char *s = p->script;
	char buf[1024];
	for (;;) {
		const char *end = strchr(s, '|');
		size_t n = end ? (size_t)(end - s) : strlen(s);
		if (n && send(fd, s, n, MSG_NOSIGNAL) < 0)
			break;
		if (!end)
			break;
		s = end + 1;
		if (recv(fd, buf, sizeof buf, 0) <= 0)
			break;
	}
	/* hold the connection open until the client goes away */
	while (recv(fd, buf, sizeof buf, 0) > 0)
		;
	close(fd);
	return NULL;
}

static void test_live(void)
{
	char err[200];
	int lfd = cl_net_listen("127.0.0.1:0", 4, err, sizeof err);
	CL_CHECK(lfd >= 0, "listen: %s", err);
	fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) & ~O_NONBLOCK); /* the peer thread blocks in accept */
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	getsockname(lfd, (struct sockaddr *)&ss, &sl);
	int port = ntohs(((struct sockaddr_in *)&ss)->sin_port);

	struct peer p = {lfd, "220-mx.test hello\r\n220 ready\r\n|250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n|"
			      "250-a\r\n550 b\r\n|"};
	pthread_t t;
	pthread_create(&t, NULL, peer_main, &p);
	struct cl_smtpc c;
	CL_CHECK(cl_smtpc_connect(&c, NULL, "127.0.0.1", port, 2000, 0, err, sizeof err) == 0, "connect: %s", err);
	CL_CHECK(cl_smtpc_cmd(&c, NULL, err, sizeof err) == 0 && c.code == 220 && !strcmp(c.last, "220 ready"),
		 "greeting %d %s", c.code, c.last);
	CL_CHECK(cl_smtpc_cmd(&c, "EHLO me.test", err, sizeof err) == 0 && c.code == 250, "EHLO %d", c.code);
	CL_CHECK(cl_smtpc_has_ext(&c, "starttls") && cl_smtpc_has_ext(&c, "PIPELINING") &&
		     !cl_smtpc_has_ext(&c, "mx.test"),
		 "keywords: %s", c.text);
	CL_CHECK(cl_smtpc_cmd(&c, "MAIL FROM:<>", err, sizeof err) < 0 && c.code == 0 && strstr(err, "malformed"),
		 "changed code mid-reply: %s", err);
	cl_smtpc_close(&c);
	pthread_join(t, NULL);

	/* a silent peer: the deadline (300 ms) ends the wait, not the 5 s per-read timeout */
	struct peer q = {lfd, ""};
	pthread_create(&t, NULL, peer_main, &q);
	double t0 = cl_now_seconds();
	CL_CHECK(cl_smtpc_connect(&c, NULL, "127.0.0.1", port, 5000, 300, err, sizeof err) == 0, "connect: %s", err);
	CL_CHECK(cl_smtpc_cmd(&c, NULL, err, sizeof err) < 0, "no greeting");
	double took = cl_now_seconds() - t0;
	CL_CHECK(took > 0.2 && took < 2.0, "deadline bounded the wait: %.2f s", took);
	cl_smtpc_close(&c);
	pthread_join(t, NULL);
	close(lfd);
}

int main(void)
{
	test_reader();
	test_live();
	return CL_TEST_END();
}
