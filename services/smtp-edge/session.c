/* session.c - one SMTP session: its lifecycle (new, close, deferred free), its dialogue
 * state (the phase and the flag word, edge.h: set only through session_enter() and
 * session_flags(), which log each change at debug level), replies, timers, and the input
 * loop that feeds commands and bodies to smtp.c.
 *
 * Pipelining (RFC 2920): commands are taken one at a time from the input buffer; while a
 * command waits for an RPC (s->busy) the rest stays buffered, so replies go out in order.
 * Replies are collected and flushed once the buffered input is used up. */
#include <errno.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge.h"
#include "mail/mesh_record.h"
#include "util/log.h"
#include "util/random.h"

#define IN_MAX         (64 * 1024)  /* pipelined commands, or a DATA line in progress */
#define OUT_MAX        (256 * 1024) /* our own replies */
#define TRANSCRIPT_MAX (16 * 1024)
#define AUTH_LINE_MAX  12288 /* RFC 4954 4 */
#define LINGER_S       2.0   /* reading on after our last reply (linger_start) */
#define PROXY_POLL_S   0.1   /* how often a partial PROXY header is peeked at again */
_Static_assert(AUTH_LINE_MAX >= CL_MESH_LINE_MAX, "command_input's line buffer holds an XMESH line");

static const char *phase_names[] = {"proxy", "handshake", "greeting", "command", "auth", "data", "bdat", "closing"};

struct session *session_new(struct edge *e, struct listener *l, int fd, const char *ip, int port)
{
	struct session *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->e = e;
	s->lst = l;
	s->fd = fd;
	s->port = port;
	cl_strlcpy(s->ip, ip, sizeof s->ip);
	/* 72 random bits: ids key log rows written by every replica into one database, so they
	 * must differ between processes started alike (same second, pid 1 of a container). */
	if (cl_random_hex(s->id, sizeof s->id, 9) < 0) {
		cl_log(CL_LOG_ERROR, NULL, "session_id", "error=\"getrandom failed\"");
		free(s);
		return NULL;
	}
	cl_buf_init(&s->in, IN_MAX);
	cl_buf_init(&s->out, OUT_MAX);
	cl_buf_init(&s->transcript, TRANSCRIPT_MAX);
	s->started = now_mono();
	s->next = e->sessions;
	if (e->sessions)
		e->sessions->prev = s;
	e->sessions = s;
	e->nsessions++;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
	epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev);
	s->ev_mask = EPOLLIN;
	cl_metric_inc(e->m.total);
	cl_metric_set(e->m.open, (int64_t)e->nsessions);
	cl_strlcpy(s->outcome, "disconnected", sizeof s->outcome);
	return s;
}

void session_enter(struct session *s, enum phase p)
{
	if (s->phase != p)
		cl_log(CL_LOG_DEBUG, s->id, "phase", "from=%s to=%s", phase_names[s->phase], phase_names[p]);
	s->phase = p;
}

/* flag_names - the names of the bits of f, comma-separated ("-" when none). */
static const char *flag_names(unsigned f, char *buf, size_t len)
{
	static const char *names[] = {"proxy_done", "pregreet",  "pregreet_fail", "greet_ready", "tls",
				      "mesh_peer",  "helo",      "ehlo",          "auth",        "tx",
				      "bdat",       "bdat_last", "bdat_discard",  "skip_line"};
	size_t n = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
		if (f & (1u << i)) {
			int k = snprintf(buf + n, len - n, "%s%s", n ? "," : "", names[i]);
			if (k < 0 || (size_t)k >= len - n)
				break;
			n += (size_t)k;
		}
	return n ? buf : "-";
}

void session_flags(struct session *s, unsigned set, unsigned clear)
{
	unsigned was = s->flags;
	s->flags = (was & ~clear) | set;
	if (s->flags != was) {
		char on[160], off[160];
		cl_log(CL_LOG_DEBUG, s->id, "state", "set=%s cleared=%s", flag_names(s->flags & ~was, on, sizeof on),
		       flag_names(was & ~s->flags, off, sizeof off));
	}
}

static void proxy_step(struct session *s);

/* session_start - after accept: PROXY header, TLS handshake (465), or the greeting. */
void session_start(struct session *s)
{
	session_arm_timer(s);
	if (s->lst->proxy && s->phase == PH_PROXY && !session_has(s, SF_PROXY_DONE)) {
		loop_update_events(s);
		return; /* proxy_step() comes back here once the header is read */
	}
	cl_log(CL_LOG_INFO, s->id, "connect", "ip=%s port=%d listener=%d", s->ip, s->port, (int)s->lst->kind);
	rep_start(s); /* answered during the pregreet wait (and the TLS handshake on 465) */
	if (s->lst->kind == LST_SMTPS) {
		if (conn_start_tls(s) < 0) {
			session_close(s, "tls_error");
			return;
		}
		session_enter(s, PH_HANDSHAKE);
		return;
	}
	session_send_greeting(s);
}

/* session_send_greeting - ask policy about the connection; on port 25 also run the
 * pregreet test (postscreen's): "220-" now, the final "220 " after the wait. */
void session_send_greeting(struct session *s)
{
	struct edge *e = s->e;
	session_enter(s, PH_GREETING);
	if (s->lst->kind == LST_SMTP && e->cfg.pregreet_wait_ms > 0 && !ip_passed_pregreet(e, s->ip)) {
		session_flags(s, SF_PREGREET, 0);
		s->greet_at = now_mono() + (double)e->cfg.pregreet_wait_ms / 1000.0;
		session_reply(s, "220-%s ESMTP Clement", e->cfg.hostname);
	}
	if (!rep_waiting(s))
		session_connect_call(s);
	session_process(s);
}

/* session_connect_call - ask policy about the connection, with the reputation facts. */
void session_connect_call(struct session *s)
{
	if (s->dead)
		return;
	if (decide_call(s, RPC_CONNECT) < 0) {
		session_reply(s, "421 4.3.0 Service temporarily unavailable, try again later");
		session_close(s, "rpc_error");
	}
}

/* greeting_finish - the connect verdict is in and the pregreet wait is over. */
static void greeting_finish(struct session *s)
{
	struct cl_verdict *v = &s->greet_verdict;
	if (s->in.len > 0) { /* RFC 5321 4.3.1: the client waits for the greeting */
		session_sync_error(s, session_has(s, SF_PREGREET));
		return;
	}
	if (session_has(s, SF_PREGREET))
		ip_remember_pregreet(s->e, s->ip);
	session_flags(s, 0, SF_PREGREET);
	if (v->action != CL_ACCEPT) {
		session_reply(s, "%d %s%s%s", v->code == 421 || v->code / 100 != 4 ? v->code : 421, v->enh,
			      v->enh[0] ? " " : "", v->text);
		cl_metric_inc(s->e->m.refused_policy);
		session_close(s, "refused_connect");
		return;
	}
	session_reply(s, "220 %s ESMTP Clement ready", s->e->cfg.hostname);
	session_enter(s, PH_COMMAND);
	session_arm_timer(s);
}

void session_greet_verdict(struct session *s, const struct cl_verdict *v)
{
	s->greet_verdict = *v;
	session_flags(s, SF_GREET_READY, 0);
	if (!session_has(s, SF_PREGREET) || now_mono() >= s->greet_at)
		greeting_finish(s);
}

void session_log_line(struct session *s, const char *dir, const char *line, size_t n)
{
	/* the transcript is bounded; once full, later lines are dropped */
	if (s->transcript.len + n + 8 > s->transcript.max)
		return;
	cl_buf_append_str(&s->transcript, dir);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)line[i];
		char ch = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
		cl_buf_append(&s->transcript, &ch, 1);
	}
	cl_buf_append_str(&s->transcript, "\n");
}

void session_reply(struct session *s, const char *fmt, ...)
{
	if (s->dead || s->phase == PH_CLOSING)
		return;
	char line[600];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 3)
		n = (int)sizeof line - 3;
	session_log_line(s, "S: ", line, (size_t)n);
	if (line[0] == '5' || (line[0] == '4' && strncmp(line, "421", 3) != 0))
		cl_log(CL_LOG_DEBUG, s->id, "reply", "code=%.3s", line);
	memcpy(line + n, "\r\n", 2);
	if (cl_buf_append(&s->out, line, (size_t)n + 2) < 0)
		session_close(s, "output_overflow");
}

void session_reset_tx(struct session *s)
{
	session_flags(s, 0, SF_TX_ALL);
	memset(&s->mail, 0, sizeof s->mail);
	free(s->rcpts);
	s->rcpts = NULL;
	s->nrcpt = s->rcpt_cap = 0;
	free(s->ahead);
	s->ahead = NULL;
	s->bdat_left = 0;
	body_free(&s->body);
	s->virus[0] = '\0';
	s->content_text[0] = s->content_class[0] = '\0';
}

void session_free(struct session *s)
{
	struct edge *e = s->e;
	if (s->prev)
		s->prev->next = s->next;
	else
		e->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	e->nsessions--;
	cl_metric_set(e->m.open, (int64_t)e->nsessions);
	session_reset_tx(s); /* its body gives its octets back to its address's entry, which this removes: */
	loop_session_gone(s);
	rep_free(s);
	cJSON_Delete(s->log_held); /* log_session took it, unless that could not be built */
	cl_buf_free(&s->in);
	cl_buf_free(&s->out);
	cl_buf_free(&s->transcript);
	if (s->authp) {
		explicit_bzero(s->authp, sizeof *s->authp);
		free(s->authp);
	}
	free(s);
}

/* close_fd - final flush attempt, TLS close_notify (unless sent when lingering), close. */
static void close_fd(struct session *s)
{
	if (s->fd < 0)
		return;
	conn_flush(s);
	if (s->ssl) {
		if (!s->linger && SSL_is_init_finished(s->ssl))
			SSL_shutdown(s->ssl);
		ERR_clear_error(); /* the error queue is per thread: leave nothing for the next session */
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	epoll_ctl(s->e->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
}

/* linger_start - close only our half (TLS close_notify, then a TCP FIN) and read on what
 * the client still sends until it closes too, or LINGER_S pass. Closing at once while its
 * bytes are unread makes the kernel answer with a reset, which can destroy our last reply
 * (the 421 a trickling client is meant to read) before the client reads it. 0, or -1 when
 * the socket is beyond that. */
static int linger_start(struct session *s)
{
	if (s->ssl && SSL_is_init_finished(s->ssl)) {
		SSL_shutdown(s->ssl);
		ERR_clear_error();
	}
	if (shutdown(s->fd, SHUT_WR) < 0)
		return -1;
	s->linger = 1;
	s->deadline = now_mono() + LINGER_S;
	loop_update_events(s);
	return 0;
}

/* session_close - the one teardown path. The last reply is flushed (a peer that does not
 * read gets 5 s), our half closed (linger_start), then the session is logged to policy,
 * its socket closed, and it is freed when no RPC of its own is in flight. Safe to call
 * more than once; s->linger set before the call closes at once. */
void session_close(struct session *s, const char *outcome)
{
	if (s->dead)
		return;
	if (outcome && strcmp(s->outcome, "disconnected") == 0)
		cl_strlcpy(s->outcome, outcome, sizeof s->outcome);
	if (s->fd >= 0 && !s->linger) {
		if (s->phase != PH_CLOSING) {
			session_enter(s, PH_CLOSING);
			s->deadline = now_mono() + 5.0; /* a peer that does not read cannot hold us */
		}
		if (s->out.len > 0 && conn_flush(s) == 0 && s->out.len > 0) {
			loop_update_events(s); /* EPOLLOUT comes back here */
			return;
		}
		if (s->out.len == 0 && !s->eof && linger_start(s) == 0)
			return;
	}
	s->dead = 1;
	cl_log(CL_LOG_INFO, s->id, "disconnect", "ip=%s outcome=%s messages=%d errors=%d", s->ip, s->outcome,
	       s->messages, s->errors);
	rep_cancel(s); /* what has not answered by now is not waited for */
	decide_log_session(s);
	close_fd(s);
	/* Never freed here: callers up the stack still hold s. reap_sessions() frees it from
	 * the loop once no RPC of its own is in flight. */
	s->znext = s->e->zombies;
	s->e->zombies = s;
}

void reap_sessions(struct edge *e, int all)
{
	struct session **pp = &e->zombies;
	while (*pp) {
		struct session *s = *pp;
		if (s->inflight == 0 || all) {
			*pp = s->znext;
			session_free(s);
		} else {
			pp = &s->znext;
		}
	}
}

/* sync_error - RFC 2920 3.1: input where none may be (before the greeting, after DATA
 * before our 354). */
void session_sync_error(struct session *s, int pregreet)
{
	if (pregreet) {
		session_flags(s, SF_PREGREET_FAIL, 0);
		cl_metric_inc(s->e->m.refused_pregreet);
	} else {
		cl_metric_inc(s->e->m.refused_sync);
	}
	session_reply(s, "554 5.5.0 Protocol error: %s",
		      pregreet ? "talked before the greeting" : "pipelining synchronization error");
	session_close(s, pregreet ? "pregreet" : "sync_error");
}

/* is_http - the request line of an HTTP client (a web proxy abused to reach us). */
static int is_http(const char *line, size_t len)
{
	static const char *m[] = {"GET ", "POST ", "CONNECT ", "HEAD ", "PUT "};
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
		if (len > strlen(m[i]) && strncasecmp(line, m[i], strlen(m[i])) == 0)
			return 1;
	return 0;
}

/* command_input - take one command (or AUTH continuation) line from the input. Returns 1
 * when more input may be processed. */
static int command_input(struct session *s)
{
	char *lf = memchr(s->in.data, '\n', s->in.len);
	/* A mesh peer's XMESH command may be longer (docs/MESH.md section 3, item 4). */
	size_t limit = s->phase == PH_AUTH ? AUTH_LINE_MAX
		       : xmesh_long_line_ok(s, s->in.data, lf ? (size_t)(lf - s->in.data) : s->in.len)
			   ? CL_MESH_LINE_MAX
			   : SMTP_CMD_MAX;
	if (session_has(s, SF_SKIP_LINE)) {
		if (!lf) {
			cl_buf_consume(&s->in, s->in.len);
			return 0;
		}
		cl_buf_consume(&s->in, (size_t)(lf - s->in.data) + 1);
		session_flags(s, 0, SF_SKIP_LINE);
		return 1;
	}
	if (!lf) {
		if (s->in.len >= limit) {
			/* RFC 5321 4.5.3.1.4: too long; skip the rest of it, in sync */
			session_flags(s, SF_SKIP_LINE, 0);
			cl_buf_consume(&s->in, s->in.len);
			s->errors++;
			session_reply(s, "500 5.5.2 Line too long");
			return 1;
		}
		return 0;
	}
	size_t len = (size_t)(lf - s->in.data) + 1;
	char line[AUTH_LINE_MAX + 1]; /* >= CL_MESH_LINE_MAX */
	s->commands++;
	int bad = len > limit ? 1 : (len < 2 || s->in.data[len - 2] != '\r') ? 2 : 0;
	if (!bad) {
		memcpy(line, s->in.data, len - 2);
		line[len - 2] = '\0';
		if (memchr(line, '\0', len - 2) || memchr(line, '\r', len - 2))
			bad = 3;
	}
	if (!bad && s->phase == PH_COMMAND && is_http(line, len - 2)) {
		cl_metric_inc(s->e->m.refused_http);
		cl_log(CL_LOG_INFO, s->id, "http_request", "ip=%s", s->ip);
		cl_buf_consume(&s->in, s->in.len);
		session_close(s, "http");
		return 0;
	}
	if (bad) {
		cl_buf_consume(&s->in, len);
		s->errors++;
		session_reply(s, "500 5.5.2 %s",
			      bad == 1   ? "Line too long"
			      : bad == 2 ? "Syntax error: lines must end with CRLF"
					 : "Syntax error: NUL or CR in command");
		if (s->phase == PH_AUTH) {
			s->auth = AUTH_NONE;
			session_enter(s, PH_COMMAND);
		}
		session_arm_timer(s);
		return 1;
	}
	cl_buf_consume(&s->in, len);
	if (s->phase == PH_AUTH)
		smtp_auth_line(s, line, len - 2);
	else
		smtp_command(s, line, len - 2);
	if (s->phase == PH_COMMAND || s->phase == PH_AUTH || s->phase == PH_HANDSHAKE)
		session_arm_timer(s); /* while an RPC is out the timer is not looked at */
	return 1;
}

/* data_received - n body octets arrived: the data block timeout starts again, and they
 * count towards the minimum rate, whose window opens with the first of them. Counted as
 * read, not as the body reader takes them: it takes whole lines only. */
static void data_received(struct session *s, size_t n)
{
	if (s->rate_since == 0)
		s->rate_since = now_mono();
	s->rate_bytes += n;
	session_arm_timer(s);
}

/* data_input - feed the body reader; a finished body goes to smtp_data_done(). */
static int data_input(struct session *s)
{
	int done = 0;
	size_t used;
	if (s->phase == PH_DATA) {
		used = body_data_feed(&s->body, s->in.data, s->in.len, &done);
	} else {
		used = s->in.len < s->bdat_left ? s->in.len : s->bdat_left;
		body_chunk_feed(&s->body, s->in.data, used);
		s->bdat_left -= used;
		done = s->bdat_left == 0;
	}
	cl_buf_consume(&s->in, used);
	if (used && s->rate_since == 0)
		data_received(s, used); /* a BDAT chunk that came with its command */
	if (!done)
		return 0;
	smtp_data_done(s);
	return 1;
}

void session_process(struct session *s)
{
	struct edge *e = s->e;
	while (!s->dead && !s->busy) {
		if (s->phase == PH_GREETING) {
			if (s->in.len > 0)
				session_sync_error(s, session_has(s, SF_PREGREET));
			break;
		}
		if (s->phase == PH_COMMAND && s->errors > e->cfg.max_errors) {
			cl_metric_inc(e->m.refused_errors);
			session_reply(s, "421 4.7.0 Too many errors, closing transmission channel");
			session_close(s, "too_many_errors");
			break;
		}
		if (s->phase == PH_COMMAND && e->draining && s->in.len == 0 && !session_has(s, SF_TX)) {
			session_reply(s, "421 4.3.2 Service shutting down, closing transmission channel");
			session_close(s, "shutdown");
			break;
		}
		int more = 0;
		if (s->in.len == 0 && !(s->phase == PH_BDAT && s->bdat_left == 0))
			break;
		if (s->phase == PH_COMMAND || s->phase == PH_AUTH)
			more = command_input(s);
		else if (s->phase == PH_DATA || s->phase == PH_BDAT)
			more = data_input(s);
		if (!more)
			break;
	}
	if (!s->dead && s->eof && !s->busy) {
		/* the peer is gone and nothing it sent waits for an answer any more */
		conn_flush(s);
		cl_buf_reset(&s->out);
		session_close(s, NULL);
		return;
	}
	if (!s->dead && s->fd >= 0) {
		if (conn_flush(s) < 0) {
			session_close(s, "write_error");
			return;
		}
		if (s->phase == PH_CLOSING && s->out.len == 0 && !s->linger) {
			session_close(s, NULL);
			return;
		}
		loop_update_events(s);
	}
}

/* handshake_step - drive the TLS handshake; on success the session starts over (RFC
 * 3207 4.2: nothing from before is kept). */
static void handshake_step(struct session *s)
{
	int r = conn_handshake(s);
	if (r < 0) {
		session_close(s, "tls_error");
		return;
	}
	if (r == 0) {
		loop_update_events(s);
		return;
	}
	session_flags(s, SF_TLS, 0);
	cl_log(CL_LOG_INFO, s->id, "tls", "tls=\"%s\"", s->tls_desc);
	/* A client certificate is first looked up as a mesh peer's; the session goes on when
	 * banstats has answered (session_tls_ready from xmesh.c). */
	if (xmesh_after_handshake(s) == 0)
		session_tls_ready(s);
	if (!s->dead && s->ssl && SSL_pending(s->ssl) > 0)
		session_on_event(s, EPOLLIN);
}

/* session_tls_ready - TLS is up (and the mesh lookup done): greet on the implicit-TLS port,
 * wait for the new EHLO after STARTTLS. */
void session_tls_ready(struct session *s)
{
	if (s->dead)
		return;
	if (s->lst->kind == LST_SMTPS) {
		session_send_greeting(s);
	} else {
		session_enter(s, PH_COMMAND);
		session_arm_timer(s);
		session_process(s);
	}
}

/* proxy_step - read the PROXY header (peek, then exactly its length). */
static void proxy_step(struct session *s)
{
	unsigned char buf[1100];
	ssize_t n = recv(s->fd, buf, sizeof buf, MSG_PEEK);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		session_close(s, "disconnected");
		return;
	}
	if (n < 0)
		return;
	char ip[64] = "";
	int port = s->port;
	long hl = proxy_parse(buf, (size_t)n, ip, sizeof ip, &port);
	if (hl == 0) {
		/* partial header: peeking again at once would spin on the level-triggered fd;
		 * session_tick() retries every PROXY_POLL_S until the greeting timeout */
		struct epoll_event ev = {.events = 0, .data.ptr = s};
		epoll_ctl(s->e->epfd, EPOLL_CTL_MOD, s->fd, &ev);
		s->ev_mask = 0;
		return;
	}
	if (hl < 0 || recv(s->fd, buf, (size_t)hl, 0) != hl) {
		cl_metric_inc(s->e->m.refused_proxy);
		cl_log(CL_LOG_WARN, s->id, "proxy_error", "peer=%s", s->ip);
		session_close(s, "proxy_error");
		return;
	}
	session_flags(s, SF_PROXY_DONE, 0);
	if (ip[0]) {
		cl_log(CL_LOG_INFO, s->id, "proxy", "peer=%s client=%s port=%d", s->ip, ip, port);
		s->port = port;
		if (loop_session_moved(s, ip) < 0) {
			cl_metric_inc(s->e->m.refused_limit);
			session_reply(s, "421 4.7.0 Too many connections from your address, try again later");
			session_close(s, "limit");
			return;
		}
	}
	session_start(s);
}

void session_on_event(struct session *s, unsigned events)
{
	if (s->dead)
		return;
	if (s->phase == PH_PROXY && s->lst->proxy && !session_has(s, SF_PROXY_DONE)) {
		proxy_step(s);
		return;
	}
	if (s->phase == PH_HANDSHAKE) {
		handshake_step(s);
		return;
	}
	if (events & (EPOLLOUT)) {
		if (conn_flush(s) < 0) {
			session_close(s, "write_error");
			return;
		}
		if (s->phase == PH_CLOSING && s->out.len == 0 && !s->linger) {
			session_close(s, NULL);
			return;
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (s->phase == PH_CLOSING) {
			/* closing: what the client still sends is read and dropped, raw (TLS too) */
			cl_buf_reset(&s->in);
			char junk[4096];
			ssize_t n = read(s->fd, junk, sizeof junk);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				s->eof = 1;
				session_close(s, NULL);
			}
			return;
		}
		size_t before = s->in.len;
		int rc = conn_read(s);
		if (s->in.len > before && (s->phase == PH_DATA || s->phase == PH_BDAT))
			data_received(s, s->in.len - before);
		if (rc < 0 && s->in.len == 0) {
			session_close(s, NULL);
			return;
		}
		if (rc < 0)
			s->eof = 1; /* no more reading (level-triggered EOF would spin); session_process closes */
		session_process(s);
		return;
	}
	loop_update_events(s);
}

/* wait_timeout - RFC 5321 4.5.3.2 read from the server's side: the seconds the client
 * may take for what it owes us now. 4.5.3.2.1 (initial 220) bounds the way to the first
 * command; 4.5.3.2.2/.3 (MAIL, RCPT) the wait for a command outside and inside a
 * transaction; 4.5.3.2.4 (DATA initiation) the wait for the first body octet after 354 or
 * BDAT; 4.5.3.2.5 (data block) each later read; 4.5.3.2.7 (server timeout) the rest: an
 * AUTH continuation and the handshake after STARTTLS. 4.5.3.2.6 (DATA termination, the
 * client's 10 minutes for our answer) is ours to keep: scanner plus delivery deadlines. */
static long long wait_timeout(const struct session *s)
{
	const struct edge_config *c = &s->e->cfg;
	switch (s->phase) {
	case PH_DATA:
	case PH_BDAT:
		return s->rate_since > 0 ? c->data_timeout_s : c->data_init_timeout_s;
	case PH_COMMAND:
		if (!s->commands)
			return c->greet_timeout_s;
		return session_has(s, SF_TX) ? c->rcpt_timeout_s : c->mail_timeout_s;
	case PH_AUTH:
		return c->cmd_timeout_s;
	case PH_HANDSHAKE:
		return s->commands ? c->cmd_timeout_s : c->greet_timeout_s;
	default:
		return c->greet_timeout_s;
	}
}

/* session_arm_timer - the client's turn starts (or it just sent something): its deadline
 * is the timeout of the step the session is at. */
void session_arm_timer(struct session *s)
{
	s->deadline = now_mono() + (double)wait_timeout(s);
}

/* too_slow - the minimum data rate (CLEMENT_MIN_DATA_RATE over windows of
 * CLEMENT_MIN_DATA_RATE_WINDOW_S): a client trickling a byte every few seconds never hits
 * the data block timeout, but must not hold a session for hours. Windows start at the
 * first body octet, so a client may still take DATA initiation's time to begin. */
static int too_slow(struct session *s, double now)
{
	const struct edge_config *c = &s->e->cfg;
	if (c->min_data_rate <= 0 || s->rate_since == 0 || now - s->rate_since < (double)c->min_data_rate_window_s)
		return 0;
	if ((double)s->rate_bytes < (double)c->min_data_rate * (now - s->rate_since))
		return 1;
	s->rate_since = now; /* fast enough: a new window */
	s->rate_bytes = 0;
	return 0;
}

/* session_next_due - the earliest time at which session_tick() has something to do for s,
 * or 0 when nothing: the loop files it in its timer heap and calls session_tick() then
 * (and re-files it after every callback it makes for s). It must mirror session_tick()'s
 * conditions: a deadline session_tick() would not act on at that time would make the
 * loop spin. */
double session_next_due(const struct session *s, double now)
{
	if (s->dead)
		return 0;
	if (s->phase == PH_CLOSING)
		return s->deadline;
	if (s->phase == PH_PROXY && s->lst->proxy && !session_has(s, SF_PROXY_DONE)) {
		/* the header is peeked at, not read, so epoll cannot say when more of it came */
		double poll = now + PROXY_POLL_S;
		return poll < s->deadline ? poll : s->deadline;
	}
	double due = rep_due(s);
#define EARLIER(t) (due = (due == 0 || (t) < due) ? (t) : due)
	if (s->log_held)
		EARLIER(s->log_held_at + LOG_HOLD_S);
	/* the pregreet wait: the greeting is due then, or the talker is refused then; once the
	 * wait is over and policy has not answered yet, the verdict's arrival finishes it */
	if (s->phase == PH_GREETING && session_has(s, SF_PREGREET) &&
	    (s->greet_at > now || session_has(s, SF_GREET_READY) || s->in.len > 0))
		EARLIER(s->greet_at);
	if (!s->busy) { /* a session waiting for our RPC is not timed out for the client's silence */
		EARLIER(s->deadline);
		const struct edge_config *c = &s->e->cfg;
		if ((s->phase == PH_DATA || s->phase == PH_BDAT) && c->min_data_rate > 0 && s->rate_since > 0)
			EARLIER(s->rate_since + (double)c->min_data_rate_window_s);
	}
#undef EARLIER
	return due;
}

void session_tick(struct session *s, double now)
{
	struct edge *e = s->e;
	if (s->dead)
		return;
	if (s->phase == PH_PROXY && s->lst->proxy && !session_has(s, SF_PROXY_DONE) && now < s->deadline) {
		proxy_step(s);
		return;
	}
	rep_tick(s, now);
	if (s->dead)
		return;
	if (s->log_held && s->phase != PH_CLOSING && now >= s->log_held_at + LOG_HOLD_S)
		decide_log_flush(s); /* no call came to carry it (a closing session's log_session will) */
	if (s->phase == PH_GREETING && session_has(s, SF_PREGREET) && now >= s->greet_at) {
		if (s->in.len > 0) {
			session_sync_error(s, 1);
			return;
		}
		if (session_has(s, SF_GREET_READY)) {
			greeting_finish(s);
			session_process(s);
			return;
		}
	}
	int slow = (s->phase == PH_DATA || s->phase == PH_BDAT) && !s->busy && too_slow(s, now);
	if (s->phase == PH_CLOSING) {
		if (now >= s->deadline) {
			s->linger = 1; /* the peer does not read its last reply, or does not close */
			session_close(s, NULL);
		}
		return;
	}
	if ((now >= s->deadline && !s->busy) || slow) {
		cl_metric_inc(e->m.refused_timeout);
		if (s->phase != PH_HANDSHAKE)
			session_reply(s, "421 4.4.2 %s Error: timeout exceeded", e->cfg.hostname);
		session_close(s, "timeout");
	}
}
