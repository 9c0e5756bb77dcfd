/* smtp_test.c - smtp.c's verb table and the dialogue state, in memory: each case is
 * {listener, start state, command line, policy's answer} -> {first reply line, state after,
 * errors counted}. It covers every verb's out-of-order refusals (503, 530, 538), the
 * submission port's AUTH requirement, the order of the checks where it decides the reply,
 * RSET and HELO/EHLO ending the transaction, STARTTLS forgetting HELO and AUTH, and which
 * verbs ask policy at all: HELO/EHLO and MAIL before AUTH are answered by the edge (policy
 * judges them with RCPT), MAIL after AUTH asks (RPC_MAIL).
 *
 * No sockets to a client and no services: the session is made by session_new on one end of a
 * socketpair and put in the case's state through session_flags; the test plays the loop. The
 * clients point at an address nobody listens on, so a call goes nowhere: decide.c queues its
 * completion at once (unreachable), and the test answers it with the case's policy answer
 * before handing it to decide_completion, as the loop would. The replies are read from the
 * session's transcript. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "edge.h"
#include "mail/mesh_record.h"
#include "util/log.h"
#include "util/test.h"

#define HOST "mx.test"

/* policy's answers */
#define OK_MAIL "{\"v\":1,\"action\":\"accept\",\"code\":250,\"enh\":\"2.1.0\",\"text\":\"Ok\"}"
#define REFUSED "{\"v\":1,\"action\":\"reject\",\"code\":550,\"enh\":\"5.7.1\",\"text\":\"Refused\"}"
#define FAILED  "" /* the call fails (timeout) */
#define OK_RCPT                                                                                                        \
	"{\"v\":1,\"action\":\"accept\",\"code\":250,\"enh\":\"2.1.5\",\"text\":\"Ok\",\"route\":{\"mode\":\"local\"," \
	"\"group_id\":1,\"domain_id\":1,\"user_id\":1,\"quarantine\":false}}"
#define OK_AUTH                                                                                                        \
	"{\"v\":1,\"action\":\"accept\",\"code\":235,\"enh\":\"2.7.0\",\"text\":\"Authentication "                     \
	"successful\",\"user\":\"u@example.org\"}"

#define H SF_HELO
#define E (SF_HELO | SF_EHLO)
#define T SF_TLS
#define A SF_AUTH
#define X SF_TX
#define B SF_BDAT
#define M SF_MESH_PEER

static const struct {
	const char *name;
	enum listener_kind lk;
	unsigned flags; /* the state before (phase PH_COMMAND) */
	int nrcpt;      /* recipients already accepted */
	const char *line;
	enum rpc_kind kind;  /* the call the command makes (RPC_NONE: none) */
	const char *answer;  /* policy's answer to it */
	const char *reply;   /* the first reply line starts with this (NULL: no reply) */
	unsigned set, clear; /* flags set / clear after */
	enum phase phase;    /* after; PH_PROXY (0) stands for PH_COMMAND */
	int errors;          /* protocol errors counted */
} CASES[] = {
    /* MAIL: HELO first, no nested MAIL, AUTH first on the submission port, in that order */
    {"mail before helo", LST_SMTP, 0, 0, "MAIL FROM:<s@example.org>", RPC_NONE, NULL,
     "503 5.5.1 Error: send HELO/EHLO first", 0, X, 0, 1},
    /* a session without HELO in a transaction (none reaches it now): HELO is checked first */
    {"mail in a transaction before helo", LST_SMTP, X, 0, "MAIL FROM:<s@example.org>", RPC_NONE, NULL,
     "503 5.5.1 Error: send HELO/EHLO first", X, 0, 0, 1},
    {"nested mail", LST_SMTP, H | X, 0, "MAIL FROM:<s@example.org>", RPC_NONE, NULL,
     "503 5.5.1 Error: nested MAIL command", X, 0, 0, 1},
    {"mail on submission unauthenticated", LST_SUBMISSION, E | T, 0, "MAIL FROM:<s@example.org>", RPC_NONE, NULL,
     "530 5.7.0 Authentication required", 0, X, 0, 1},
    {"mail on submission before ehlo", LST_SUBMISSION, T, 0, "MAIL FROM:<s@example.org>", RPC_NONE, NULL,
     "503 5.5.1 Error: send HELO/EHLO first", 0, X, 0, 1},
    {"nested mail on submission", LST_SUBMISSION, E | T | X, 0, "MAIL FROM:<s@example.org>", RPC_NONE, NULL,
     "503 5.5.1 Error: nested MAIL command", X, 0, 0, 1},
    /* after AUTH policy judges the sender at MAIL (553 5.7.1 for someone else's: RFC 6409 6.1) */
    {"mail on submission authenticated", LST_SUBMISSION, E | T | A, 0, "MAIL FROM:<s@example.org>", RPC_MAIL, OK_MAIL,
     "250 2.1.0 Ok", X, 0, 0, 0},
    {"authenticated mail refused", LST_SUBMISSION, E | T | A, 0, "MAIL FROM:<s@example.org>", RPC_MAIL, REFUSED,
     "550 5.7.1 Refused", 0, X, 0, 0},
    {"authenticated mail, policy down", LST_SUBMISSION, E | T | A, 0, "MAIL FROM:<s@example.org>", RPC_MAIL, FAILED,
     "451 4.3.0", 0, X, 0, 0},
    {"authenticated mail on 465", LST_SMTPS, E | T | A, 0, "MAIL FROM:<s@example.org>", RPC_MAIL, OK_MAIL,
     "250 2.1.0 Ok", X, 0, 0, 0},
    /* before AUTH the edge answers MAIL: policy judges the sender with the first RCPT */
    {"mail after helo", LST_SMTP, H, 0, "MAIL FROM:<s@example.org>", RPC_NONE, NULL, "250 2.1.0 Ok", X, 0, 0, 0},
    {"mail after ehlo, policy down", LST_SMTP, E, 0, "MAIL FROM:<s@example.org>", RPC_NONE, NULL, "250 2.1.0 Ok", X, 0,
     0, 0},
    {"null sender", LST_SMTP, E, 0, "MAIL FROM:<>", RPC_NONE, NULL, "250 2.1.0 Ok", X, 0, 0, 0},
    {"mail on 465 unauthenticated", LST_SMTPS, E | T, 0, "MAIL FROM:<s@example.org>", RPC_NONE, NULL, "250 2.1.0 Ok", X,
     0, 0, 0},
    /* the edge's own checks stay: path syntax, parameters, SIZE */
    {"mail path syntax", LST_SMTP, E, 0, "MAIL FROM:<a b@example.org>", RPC_NONE, NULL, "501 5.1.7", 0, X, 0, 1},
    {"mail unknown parameter", LST_SMTP, E, 0, "MAIL FROM:<s@example.org> FOO=1", RPC_NONE, NULL, "555 5.5.4", 0, X, 0,
     1},
    {"mail too big", LST_SMTP, E, 0, "MAIL FROM:<s@example.org> SIZE=20000", RPC_NONE, NULL,
     "552 5.3.4 Message size exceeds fixed maximum message size", 0, X, 0, 0},
    {"mail syntax after the state", LST_SMTP, H, 0, "MAIL TO:<s@example.org>", RPC_NONE, NULL,
     "501 5.5.4 Syntax: MAIL FROM:<address>", 0, X, 0, 1},
    {"mail syntax before helo", LST_SMTP, 0, 0, "MAIL TO:<s@example.org>", RPC_NONE, NULL,
     "503 5.5.1 Error: send HELO/EHLO first", 0, X, 0, 1},
    /* RCPT: inside a transaction, not after BDAT */
    {"rcpt without mail", LST_SMTP, H, 0, "RCPT TO:<r@example.org>", RPC_NONE, NULL,
     "503 5.5.1 Error: need MAIL command", 0, X, 0, 1},
    {"rcpt before helo", LST_SMTP, 0, 0, "RCPT TO:<r@example.org>", RPC_NONE, NULL,
     "503 5.5.1 Error: need MAIL command", 0, X, 0, 1},
    {"rcpt during bdat", LST_SMTP, H | X | B, 1, "RCPT TO:<r@example.org>", RPC_NONE, NULL,
     "503 5.5.1 Error: RCPT during BDAT", X | B, 0, 0, 1},
    {"rcpt", LST_SMTP, H | X, 0, "RCPT TO:<r@example.org>", RPC_RCPT, OK_RCPT, "250 2.1.5 Ok", X, 0, 0, 0},
    {"rcpt, policy down", LST_SMTP, H | X, 0, "RCPT TO:<r@example.org>", RPC_RCPT, FAILED, "451 4.3.0", X, 0, 0, 0},
    /* DATA: no argument (checked first), a transaction without BDAT, a recipient */
    {"data with an argument", LST_SMTP, 0, 0, "DATA x", RPC_NONE, NULL, "501 5.5.4 Syntax: DATA", 0, 0, 0, 1},
    {"data without mail", LST_SMTP, H, 0, "DATA", RPC_NONE, NULL, "503 5.5.1 Error: need MAIL command", 0, 0, 0, 1},
    {"data after bdat", LST_SMTP, H | X | B, 1, "DATA", RPC_NONE, NULL, "503 5.5.1 Error: need MAIL command", X | B, 0,
     0, 1},
    {"data without recipients", LST_SMTP, H | X, 0, "DATA", RPC_NONE, NULL, "554 5.5.1 Error: no valid recipients", X,
     0, 0, 1},
    {"data", LST_SMTP, H | X, 1, "DATA", RPC_NONE, NULL, "354 End data with <CR><LF>.<CR><LF>", X, 0, PH_DATA, 0},
    /* BDAT: its chunk is read either way; refused only after it (smtp_data_done) */
    {"bdat without mail", LST_SMTP, H, 0, "BDAT 3", RPC_NONE, NULL, NULL, SF_BDAT_DISCARD, B, PH_BDAT, 0},
    {"bdat without recipients", LST_SMTP, H | X, 0, "BDAT 3 LAST", RPC_NONE, NULL, NULL, SF_BDAT_DISCARD, B, PH_BDAT,
     0},
    {"bdat", LST_SMTP, H | X, 1, "BDAT 3 LAST", RPC_NONE, NULL, NULL, X | B | SF_BDAT_LAST, SF_BDAT_DISCARD, PH_BDAT,
     0},
    {"bdat syntax", LST_SMTP, H | X, 1, "BDAT x", RPC_NONE, NULL, "554 5.5.4 Syntax: BDAT size [LAST]; closing", 0, 0,
     PH_CLOSING, 0},
    /* RSET and HELO/EHLO end the transaction (RFC 5321 4.1.4) */
    {"rset with an argument", LST_SMTP, H | X, 0, "RSET x", RPC_NONE, NULL, "501 5.5.4 Syntax: RSET", X, 0, 0, 1},
    {"rset", LST_SMTP, E | X | B, 1, "RSET", RPC_NONE, NULL, "250 2.0.0 Ok", E, SF_TX_ALL, 0, 0},
    /* HELO/EHLO: answered by the edge, no call to policy (it judges the name with RCPT) */
    {"helo ends the transaction", LST_SMTP, E | X, 1, "HELO client.example", RPC_NONE, NULL, "250 " HOST, H,
     SF_EHLO | SF_TX_ALL, 0, 0},
    {"ehlo ends the transaction", LST_SMTP, H | X | B, 1, "EHLO client.example", RPC_NONE, NULL,
     "250-" HOST " Hello client.example", E, SF_TX_ALL, 0, 0},
    {"ehlo", LST_SMTP, 0, 0, "EHLO client.example", RPC_NONE, NULL, "250-" HOST " Hello client.example", E, 0, 0, 0},
    {"helo, policy down", LST_SMTP, 0, 0, "HELO client.example", RPC_NONE, NULL, "250 " HOST, H, SF_EHLO, 0, 0},
    /* a name policy will refuse at RCPT passes here: only what our Received: header cannot hold is refused */
    {"helo that policy refuses later", LST_SMTP, 0, 0, "EHLO bad_host", RPC_NONE, NULL, "250-" HOST " Hello bad_host",
     E, 0, 0, 0},
    {"ehlo on submission", LST_SUBMISSION, T, 0, "EHLO client.example", RPC_NONE, NULL,
     "250-" HOST " Hello client.example", E | T, 0, 0, 0},
    {"helo syntax", LST_SMTP, 0, 0, "HELO bad/name", RPC_NONE, NULL, "501 5.5.4 Syntax: HELO hostname", 0, SF_GREETED,
     0, 1},
    {"ehlo syntax", LST_SMTP, 0, 0, "EHLO bad!", RPC_NONE, NULL, "501 5.5.4 Syntax: EHLO hostname", 0, SF_GREETED, 0,
     1},
    /* STARTTLS: no argument, not twice; it forgets HELO, AUTH and the transaction */
    {"starttls with an argument", LST_SMTP, E | T, 0, "STARTTLS x", RPC_NONE, NULL, "501 5.5.4 Syntax: STARTTLS", E | T,
     0, 0, 1},
    {"starttls twice", LST_SMTP, E | T, 0, "STARTTLS", RPC_NONE, NULL, "554 5.5.1 Error: TLS already active", E | T, 0,
     0, 1},
    {"starttls forgets helo, auth and the transaction", LST_SMTP, E | A | X, 1, "STARTTLS", RPC_NONE, NULL,
     "220 2.0.0 Ready to start TLS", 0, SF_GREETED | A | SF_TX_ALL, PH_HANDSHAKE, 0},
    {"starttls before helo", LST_SUBMISSION, 0, 0, "STARTTLS", RPC_NONE, NULL, "220 2.0.0 Ready to start TLS", 0,
     SF_GREETED, PH_HANDSHAKE, 0},
    /* AUTH: under TLS (checked first), after EHLO, once, outside a transaction */
    {"auth in plaintext", LST_SUBMISSION, E, 0, "AUTH PLAIN AHVAcHc=", RPC_NONE, NULL,
     "538 5.7.11 Encryption required for requested authentication mechanism", 0, A, 0, 1},
    {"auth in plaintext before ehlo", LST_SMTP, 0, 0, "AUTH PLAIN", RPC_NONE, NULL,
     "538 5.7.11 Encryption required for requested authentication mechanism", 0, A, 0, 1},
    {"auth before ehlo", LST_SUBMISSION, T, 0, "AUTH PLAIN", RPC_NONE, NULL, "503 5.5.1 Error: send EHLO first", 0, A,
     0, 1},
    {"auth after helo", LST_SUBMISSION, H | T, 0, "AUTH PLAIN", RPC_NONE, NULL, "503 5.5.1 Error: send EHLO first", 0,
     A, 0, 1},
    {"auth twice", LST_SUBMISSION, E | T | A, 0, "AUTH PLAIN", RPC_NONE, NULL, "503 5.5.1 Error: already authenticated",
     A, 0, 0, 1},
    {"auth in a transaction", LST_SMTP, E | T | X, 0, "AUTH PLAIN", RPC_NONE, NULL,
     "503 5.5.1 Error: MAIL transaction in progress", X, A, 0, 1},
    {"auth plain", LST_SUBMISSION, E | T, 0, "AUTH PLAIN AHVAZXhhbXBsZS5vcmcAcHc=", RPC_AUTH, OK_AUTH,
     "235 2.7.0 Authentication successful", E | T | A, 0, 0, 0},
    {"auth refused", LST_SUBMISSION, E | T, 0, "AUTH PLAIN AHVAZXhhbXBsZS5vcmcAcHc=", RPC_AUTH, REFUSED,
     "550 5.7.1 Refused", E | T, A, 0, 1},
    {"auth, policy down", LST_SUBMISSION, E | T, 0, "AUTH PLAIN AHVAZXhhbXBsZS5vcmcAcHc=", RPC_AUTH, FAILED,
     "454 4.7.0 Temporary authentication failure", E | T, A, 0, 1},
    {"auth login", LST_SUBMISSION, E | T, 0, "AUTH LOGIN", RPC_NONE, NULL, "334 VXNlcm5hbWU6", E | T, A, PH_AUTH, 0},
    {"auth unknown mechanism", LST_SUBMISSION, E | T, 0, "AUTH CRAM-MD5", RPC_NONE, NULL,
     "504 5.5.4 Unrecognized authentication type", E | T, A, 0, 1},
    /* XMESH: unknown to all but a mesh peer; after EHLO, outside a transaction */
    {"xmesh from a stranger", LST_SMTP, E | T, 0, CL_MESH_VERB " x", RPC_NONE, NULL,
     "500 5.5.1 Error: command not recognized", 0, 0, 0, 1},
    {"xmesh before ehlo", LST_SMTP, T | M, 0, CL_MESH_VERB " x", RPC_NONE, NULL,
     "503 5.5.1 Bad sequence of commands: send EHLO first", 0, 0, 0, 1},
    {"xmesh in a transaction", LST_SMTP, E | T | M | X, 0, CL_MESH_VERB " x", RPC_NONE, NULL,
     "503 5.5.1 Bad sequence of commands: XMESH inside a mail transaction", X, 0, 0, 1},
    {"xmesh malformed record", LST_SMTP, E | T | M, 0, CL_MESH_VERB " x", RPC_NONE, NULL,
     "501 5.5.4 Malformed mesh record 1:", E | T | M, 0, 0, 0},
    /* the verbs that need nothing */
    {"noop", LST_SMTP, 0, 0, "NOOP", RPC_NONE, NULL, "250 2.0.0 Ok", 0, 0, 0, 0},
    {"vrfy", LST_SMTP, 0, 0, "VRFY u", RPC_NONE, NULL, "252 2.5.0", 0, 0, 0, 0},
    {"expn", LST_SMTP, H | X, 0, "EXPN u", RPC_NONE, NULL, "502 5.5.1 EXPN not available", X, 0, 0, 0},
    {"help", LST_SMTP, 0, 0, "help", RPC_NONE, NULL, "214 2.0.0 Commands:", 0, 0, 0, 0},
    {"unknown verb", LST_SMTP, E, 0, "FOO bar", RPC_NONE, NULL, "500 5.5.1 Error: command not recognized", E, 0, 0, 1},
    {"quit", LST_SMTP, E | X, 0, "QUIT", RPC_NONE, NULL, "221 2.0.0 Bye", 0, 0, PH_CLOSING, 0},
};

static struct edge e;
static struct edge_shared sh;
static struct listener lst[LST_COUNT];

static void edge_init(void)
{
	struct edge_config *c = &e.cfg;
	static char host[] = HOST;
	c->hostname = host;
	c->max_rcpt = 5;
	c->max_message_size = 10000;
	c->max_errors = 10;
	c->greet_timeout_s = c->mail_timeout_s = c->rcpt_timeout_s = c->cmd_timeout_s = 300;
	c->data_init_timeout_s = c->data_timeout_s = 120;
	c->policy_timeout_ms = c->scanner_timeout_ms = c->delivery_timeout_ms = 1000;
	e.epfd = e.evfd = -1;
	e.sh = &sh;
	sh.main = &e;
	sh.data_budget.max = 1 << 20;
	if (loop_tables_init(&sh) < 0)
		abort();
	pthread_mutex_init(&sh.tls_lock, NULL);
	pthread_mutex_init(&e.qlock, NULL);
	e.tls = SSL_CTX_new(TLS_server_method());
	char err[200];
	e.policy = cl_rpc_client_new("ipc:///nonexistent/clement-smtp-test", err, sizeof err);
	e.reg = cl_metrics_new();
	for (int i = 0; i < LST_COUNT; i++)
		lst[i].kind = (enum listener_kind)i;
}

/* session_in - a session on listener k in the state flags, with nrcpt recipients. */
static struct session *session_in(enum listener_kind k, unsigned flags, int nrcpt, int *peer)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return NULL;
	struct session *s = session_new(&e, &lst[k], sv[0], "192.0.2.7", 40000);
	*peer = sv[1];
	if (!s)
		return NULL;
	session_enter(s, PH_COMMAND);
	if (flags & SF_HELO)
		cl_strlcpy(s->helo, "client.example", sizeof s->helo);
	if (flags & SF_AUTH)
		cl_strlcpy(s->auth_user, "u@example.org", sizeof s->auth_user);
	if (flags & SF_TX)
		cl_strlcpy(s->mail.addr, "s@example.org", sizeof s->mail.addr);
	if (flags & SF_BDAT)
		body_init(&s->body, 10000, 2048, NULL, NULL);
	if (nrcpt > 0) {
		s->rcpts = calloc((size_t)nrcpt, sizeof *s->rcpts);
		s->rcpt_cap = s->nrcpt = (size_t)nrcpt;
		for (int i = 0; i < nrcpt; i++) {
			cl_strlcpy(s->rcpts[i].addr, "r@example.org", sizeof s->rcpts[i].addr);
			s->rcpts[i].route.mode = CL_ROUTE_LOCAL;
			s->rcpts[i].route.group_id = 1;
		}
	}
	session_flags(s, flags, 0);
	return s;
}

/* answer - play the loop: hand back the call s made, answered with json ("" = it failed).
 * Returns the call's kind (RPC_NONE when s made none). */
static enum rpc_kind answer(const char *json)
{
	pthread_mutex_lock(&e.qlock);
	struct completion *c = e.qhead;
	if (c)
		e.qhead = c->next;
	if (!e.qhead)
		e.qtail = NULL;
	pthread_mutex_unlock(&e.qlock);
	if (!c)
		return RPC_NONE;
	enum rpc_kind kind = c->kind;
	if (json && json[0]) {
		c->st = CL_RPC_OK;
		if (nng_msg_alloc(&c->reply, 0) != 0 || nng_msg_append(c->reply, json, strlen(json)) != 0)
			abort();
	} else {
		c->st = CL_RPC_TIMEOUT;
	}
	decide_completion(c);
	return kind;
}

/* first_reply - the first "S: " line of the transcript from offset from ("" when none). */
static void first_reply(const struct session *s, size_t from, char *out, size_t outlen)
{
	out[0] = '\0';
	const char *p = s->transcript.data ? strstr(s->transcript.data + from, "\nS: ") : NULL;
	if (!p)
		return;
	p += 4;
	size_t n = strcspn(p, "\n");
	snprintf(out, outlen, "%.*s", (int)n, p);
}

/* accept4 - counts the calls loop_accept makes (this binary's definition comes before
 * libc's), then makes the system call. */
static int accept_calls;
static int accept_fail; /* an errno the next call fails with, once (0: none) */
int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	accept_calls++;
	if (accept_fail) {
		errno = accept_fail;
		accept_fail = 0;
		return -1;
	}
	return (int)syscall(SYS_accept4, fd, sa, len, flags);
}

/* fd_limit - accept out of descriptors (EMFILE): the listeners are paused (epoll stops
 * reporting them though a client waits), so the loop does not wake on them again and again;
 * the client stays in the queue for later. test_smtp_faults.py checks the session limit that
 * keeps a real edge from getting there. */
static void fd_limit(void)
{
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int ok = lfd >= 0 && ep >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 8) == 0 &&
		 getsockname(lfd, (struct sockaddr *)&a, &alen) == 0;
	struct epoll_event ev = {.events = EPOLLIN};
	ok = ok && epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == 0;
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ok = ok && c >= 0 && connect(c, (struct sockaddr *)&a, sizeof a) == 0;
	CL_CHECK(ok, "fd limit: no listener or client");
	struct edge saved = e;
	for (int i = 0; i < LST_COUNT; i++)
		e.lst[i].fd = -1;
	e.lst[LST_SMTP] = (struct listener){.fd = lfd, .kind = LST_SMTP};
	e.epfd = ep;
	struct epoll_event out;
	CL_CHECK(epoll_wait(ep, &out, 1, 1000) == 1, "the waiting client makes the listener readable");
	accept_fail = EMFILE;
	int n = loop_accept(&e, &e.lst[LST_SMTP]);
	CL_CHECK(n == 0 && e.accept_paused_until > 0, "out of descriptors: %d taken, paused until %.3f", n,
		 e.accept_paused_until);
	CL_CHECK(epoll_wait(ep, &out, 1, 0) == 0, "paused: the listener no longer wakes the loop");
	close(c);
	close(lfd);
	close(ep);
	e = saved;
}

/* accept_batch - loop_accept takes the clients that wait, at most a batch of 64 per call,
 * and stops at the first accept that finds none. It used to call accept 64 times on every
 * wake-up whatever it found: 16 failed system calls per connection under load. */
static void accept_batch(void)
{
	enum { CLIENTS = 70 };
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	int ok = lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 128) == 0 &&
		 getsockname(lfd, (struct sockaddr *)&a, &alen) == 0;
	CL_CHECK(ok, "accept batch: no listener");
	int cs[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		cs[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ok = ok && cs[i] >= 0 && connect(cs[i], (struct sockaddr *)&a, sizeof a) == 0;
	}
	CL_CHECK(ok, "accept batch: clients did not connect");
	struct listener l = {.fd = lfd, .kind = LST_SMTP};
	long long max_sessions = e.cfg.max_sessions;
	e.cfg.max_sessions = 0; /* each is answered 421 and closed: taken, and no session to clean up */
	accept_calls = 0;
	int n = loop_accept(&e, &l);
	CL_CHECK(n == 64 && accept_calls == 64, "first wake-up: %d taken in %d accepts, want 64 in 64", n,
		 accept_calls);
	accept_calls = 0;
	n = loop_accept(&e, &l);
	CL_CHECK(n == CLIENTS - 64 && accept_calls == CLIENTS - 64 + 1, "second: %d taken in %d accepts, want %d in %d",
		 n, accept_calls, CLIENTS - 64, CLIENTS - 64 + 1);
	accept_calls = 0;
	n = loop_accept(&e, &l);
	CL_CHECK(n == 0 && accept_calls == 1, "none waiting: %d taken in %d accepts, want 0 in 1", n, accept_calls);
	char buf[80];
	ssize_t got = read(cs[0], buf, sizeof buf - 1);
	buf[got > 0 ? got : 0] = '\0';
	CL_CHECK(strncmp(buf, "421 4.7.0 Too many connections", 30) == 0, "a taken client read \"%s\"", buf);
	e.cfg.max_sessions = max_sessions;
	for (int i = 0; i < CLIENTS; i++)
		close(cs[i]);
	close(lfd);
}

/* data_memory - with every octet of CLEMENT_MAX_DATA_MEMORY held by other messages a MAIL is
 * told 452 4.3.1 (not a client error; the transaction does not start), and with room it is
 * accepted; a SIZE= the budget cannot hold is refused the same way. */
static void data_memory(void)
{
	int peer = -1;
	struct session *s = session_in(LST_SMTP, SF_HELO, 0, &peer);
	CL_CHECK(s != NULL, "data memory: no session");
	if (!s)
		return;
	char got[600], line[100];
	struct {
		size_t used;
		const char *cmd, *reply;
	} steps[] = {
	    {1 << 20, "MAIL FROM:<a@b.example>", "452 4.3.1 Insufficient system storage, try again later"},
	    {(1 << 20) - 5000, "MAIL FROM:<a@b.example> SIZE=6000", "452 4.3.1 Insufficient system storage"},
	    {(1 << 20) - 5000, "MAIL FROM:<a@b.example> SIZE=4000", "250 2.1.0 Ok"},
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		sh.data_budget.used = steps[i].used;
		size_t from = s->transcript.len;
		cl_strlcpy(line, steps[i].cmd, sizeof line);
		smtp_command(s, line, strlen(line));
		first_reply(s, from ? from - 1 : 0, got, sizeof got);
		CL_CHECK(strncmp(got, steps[i].reply, strlen(steps[i].reply)) == 0, "data memory %zu: \"%s\"", i, got);
		CL_CHECK(!session_has(s, SF_TX) == (steps[i].reply[0] == '4') && s->errors == 0,
			 "data memory %zu: transaction %d, errors %d", i, session_has(s, SF_TX), s->errors);
	}
	sh.data_budget.used = 0;
	s->linger = 1;
	session_close(s, "test");
	reap_sessions(&e, 1);
	close(peer);
}

int main(void)
{
	cl_log_init("smtp-test", CL_LOG_ERROR);
	edge_init();
	accept_batch();
	fd_limit();
	data_memory();
	for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
		const char *name = CASES[i].name;
		int peer = -1;
		struct session *s = session_in(CASES[i].lk, CASES[i].flags, CASES[i].nrcpt, &peer);
		if (!s) {
			CL_CHECK(s != NULL, "%s: no session", name);
			continue;
		}
		char line[600];
		cl_strlcpy(line, CASES[i].line, sizeof line);
		size_t from = s->transcript.len;
		smtp_command(s, line, strlen(line));
		enum rpc_kind kind = answer(CASES[i].answer);
		CL_CHECK(kind == CASES[i].kind, "%s: call %d, want %d", name, (int)kind, (int)CASES[i].kind);
		CL_CHECK(e.qhead == NULL, "%s: a second call", name);
		while (answer(FAILED) != RPC_NONE) {
		}
		char got[600];
		/* the command's own line comes first, so "\nS: " finds only replies */
		first_reply(s, from ? from - 1 : 0, got, sizeof got);
		const char *want = CASES[i].reply;
		if (want)
			CL_CHECK(strncmp(got, want, strlen(want)) == 0, "%s: reply \"%s\", want \"%s...\"", name, got,
				 want);
		else
			CL_CHECK(got[0] == '\0', "%s: reply \"%s\", want none", name, got);
		CL_CHECK((s->flags & CASES[i].set) == CASES[i].set, "%s: flags %#x, want %#x set", name, s->flags,
			 CASES[i].set);
		CL_CHECK((s->flags & CASES[i].clear) == 0, "%s: flags %#x, want %#x clear", name, s->flags,
			 CASES[i].clear);
		enum phase ph = CASES[i].phase == PH_PROXY ? PH_COMMAND : CASES[i].phase;
		CL_CHECK(s->phase == ph, "%s: phase %d, want %d", name, (int)s->phase, (int)ph);
		CL_CHECK(s->errors == CASES[i].errors, "%s: errors %d, want %d", name, s->errors, CASES[i].errors);
		CL_CHECK(!(s->flags & SF_HELO) == !s->helo[0], "%s: HELO flag and name disagree", name);
		CL_CHECK(!(s->flags & SF_AUTH) == !s->auth_user[0], "%s: AUTH flag and user disagree", name);
		s->linger = 1; /* close at once */
		session_close(s, "test");
		reap_sessions(&e, 1);
		close(peer);
	}
	cl_rpc_client_free(e.policy);
	SSL_CTX_free(e.tls);
	cl_metrics_free(e.reg);
	loop_tables_fini(&sh);
	return CL_TEST_END();
}
