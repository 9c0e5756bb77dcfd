/* smtp.c - the SMTP command table (RFC 5321 4.1, with RFC 1870 SIZE, RFC 2920
 * PIPELINING, RFC 3030 CHUNKING, RFC 3207 STARTTLS, RFC 4954 AUTH, RFC 6531 SMTPUTF8).
 *
 * SMTP as data: each verb is a row of verbs[] (at the end) with the dialogue state it needs
 * (HELO/EHLO answered, in or out of a transaction, TLS, AUTH on the submission port...) and
 * the refusal each unmet requirement gets (503/530/538, a 501 for a verb that takes no
 * argument), checked in the row's order before its handler runs. The state is the
 * session's phase and flag word (edge.h, enum session_flag), changed only through
 * session_enter() and session_flags(). A handler checks only the syntax (501) and does the
 * work: it answers at once or asks policy (decide_call, decide.c's table of RPC steps),
 * whose answer is handled beside the verb (smtp_on_mail, smtp_on_rcpt, smtp_on_auth).
 * HELO/EHLO, and MAIL before AUTH, are answered here: policy's verdicts on them come with
 * the first RCPT (Postfix's smtpd_delay_reject). Every reply carries an RFC 3463 enhanced
 * status code. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "edge.h"
#include "mail/mesh_record.h"
#include "util/log.h"

/* fail - a protocol error reply, counted towards the error limit. */
#define fail(s, ...)                                                                                                   \
	do {                                                                                                           \
		(s)->errors++;                                                                                         \
		session_reply((s), __VA_ARGS__);                                                                       \
	} while (0)

#define UNKNOWN_REPLY "500 5.5.1 Error: command not recognized"

/* policy_answer - policy's answer to a verb's question (decide_verdict). */
struct policy_answer {
	struct cl_verdict v;
	struct cl_route rt;
	char user[CL_ADDR_MAX + 1];
};

static int answer_of(struct session *s, const struct completion *c, struct policy_answer *a)
{
	return decide_verdict(s, c, &a->v, &a->rt, a->user, sizeof a->user);
}

/* tempfail - an RPC could not even be started: fail closed. */
static void tempfail(struct session *s)
{
	session_reply(s, "451 4.3.0 Temporary failure, try again later");
}

/* helo_ok - a HELO/EHLO argument: a domain or address literal, printable, bounded. It
 * goes into our Received: header, so nothing else passes. */
static int helo_ok(const char *a)
{
	size_t n = strlen(a);
	if (n == 0 || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];
		if (!(isalnum(c) || c == '.' || c == '-' || c == '_' || c == '[' || c == ']' || c == ':'))
			return 0;
	}
	return 1;
}

/* do_helo_common - HELO/EHLO answered here, without asking policy: the edge's own check
 * (helo_ok) guards our Received: header, and policy's verdict on the name comes with the
 * first RCPT (docs/ARCHITECTURE.md, "Verdicts at RCPT"), as Postfix's smtpd_delay_reject
 * does. It ends any transaction (RFC 5321 4.1.4); EHLO lists our extensions. */
static void do_helo_common(struct session *s, char *args, int esmtp)
{
	if (!helo_ok(args)) {
		fail(s, "501 5.5.4 Syntax: %s hostname", esmtp ? "EHLO" : "HELO");
		return;
	}
	cl_strlcpy(s->helo, args, sizeof s->helo);
	rep_helo(s);
	session_reset_tx(s);
	session_flags(s, SF_HELO | (esmtp ? SF_EHLO : 0), SF_EHLO);
	if (esmtp)
		smtp_ehlo_reply(s);
	else
		session_reply(s, "250 %s", s->e->cfg.hostname);
}

static void do_ehlo(struct session *s, char *args)
{
	do_helo_common(s, args, 1);
}

static void do_helo(struct session *s, char *args)
{
	do_helo_common(s, args, 0);
}

/* smtp_ehlo_reply - the EHLO keywords we offer in this session's state. */
void smtp_ehlo_reply(struct session *s)
{
	struct edge *e = s->e;
	char size[40];
	snprintf(size, sizeof size, "SIZE %lld", e->cfg.max_message_size);
	const char *kw[12];
	size_t n = 0;
	kw[n++] = "PIPELINING";
	kw[n++] = size;
	kw[n++] = "8BITMIME";
	kw[n++] = "ENHANCEDSTATUSCODES";
	if (e->tls && !session_has(s, SF_TLS))
		kw[n++] = "STARTTLS";
	if (session_has(s, SF_TLS)) /* RFC 4954 4 and RFC 8314: no passwords over plaintext */
		kw[n++] = "AUTH PLAIN LOGIN";
	kw[n++] = "SMTPUTF8";
	kw[n++] = "CHUNKING";
	if (session_has(s, SF_MESH_PEER)) /* docs/MESH.md section 3: only to a trusted peer, under TLS */
		kw[n++] = CL_MESH_VERB " " CL_MESH_VERSION_STR;
	session_reply(s, "250-%s Hello %s", e->cfg.hostname, s->helo);
	for (size_t i = 0; i < n; i++)
		session_reply(s, "250%c%s", i + 1 == n ? ' ' : '-', kw[i]);
}

/* path_refused - answer a MAIL (is_mail) or RCPT path the parser refused: 5.1.7 is the sender's
 * enhanced code, 5.1.3 the recipient's (RFC 3463); BODY= belongs to MAIL only (RFC 6152).
 * Returns 1 when it replied, 0 when the path was good. */
static int path_refused(struct session *s, enum cl_addr_err r, int is_mail)
{
	const char *enh = is_mail ? "5.1.7" : "5.1.3";
	const char *why = cl_addr_err_str(r);
	switch (r) {
	case CL_ADDR_OK:
		return 0;
	case CL_ADDR_NOT_FQDN:
		fail(s, "553 %s %s address rejected: %s", enh, is_mail ? "Sender" : "Recipient", why);
		return 1;
	case CL_ADDR_UTF8:
		fail(s, "553 5.6.7 %s", why);
		return 1;
	case CL_ADDR_PARAM_UNKNOWN:
		fail(s, "555 5.5.4 %s", why);
		return 1;
	case CL_ADDR_PARAM_SYNTAX:
		fail(s, "501 5.5.4 %s", why);
		return 1;
	case CL_ADDR_BAD_BODY:
		if (is_mail) {
			fail(s, "501 5.5.4 %s", why);
			return 1;
		}
		break;
	default:
		break;
	}
	fail(s, "501 %s Bad %s address syntax: %s", enh, is_mail ? "sender" : "recipient", why);
	return 1;
}

/* do_mail - the path and its parameters are checked here; a session that has not
 * authenticated gets 250 at once: policy judges the sender's syntax with the first RCPT
 * (docs/ARCHITECTURE.md, "Verdicts at RCPT"). After AUTH policy is asked now, because a
 * submission server refuses someone else's sender at MAIL (553 5.7.1, RFC 6409 6.1). */
static void do_mail(struct session *s, char *args)
{
	decide_log_flush(s); /* the last transaction's log goes now, not at the end of the session */
	if (strncasecmp(args, "FROM:", 5) != 0) {
		fail(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	if (path_refused(s, cl_addr_parse(args + 5, strlen(args + 5), CL_ADDR_MAIL, 0, &s->mail), 1))
		return;
	if (s->mail.size > s->e->cfg.max_message_size) { /* RFC 1870 6.2 */
		session_reply(s, "552 5.3.4 Message size exceeds fixed maximum message size");
		memset(&s->mail, 0, sizeof s->mail);
		return;
	}
	/* RFC 1870 6.3: no room for the message (its SIZE= when declared) in the data budget */
	int all = !body_budget_room(&s->e->sh->data_budget, (size_t)s->mail.size);
	if (all || !loop_ip_data_room(s, (size_t)s->mail.size)) {
		cl_metric_inc(s->e->m.refused_memory);
		cl_log(CL_LOG_WARN, s->id, "mail_refused", "reason=%s ip=%s size=%lld max=%lld",
		       all ? "memory" : "memory_per_ip", s->ip, s->mail.size,
		       all ? s->e->cfg.max_data_memory : s->e->cfg.max_data_memory_per_ip);
		session_reply(s, "452 4.3.1 %s, try again later",
			      all ? "Insufficient system storage" : "Too much mail in progress from your address");
		memset(&s->mail, 0, sizeof s->mail);
		return;
	}
	if (!session_has(s, SF_AUTH)) {
		session_flags(s, SF_TX, 0);
		session_reply(s, "250 2.1.0 Ok");
	} else if (decide_call(s, RPC_MAIL) < 0) {
		tempfail(s);
	}
}

/* smtp_on_mail - policy's answer to an authenticated MAIL: accepted, the transaction starts. */
void smtp_on_mail(struct session *s, struct completion *c)
{
	struct policy_answer a;
	answer_of(s, c, &a);
	if (a.v.action == CL_ACCEPT)
		session_flags(s, SF_TX, 0);
	else
		memset(&s->mail, 0, sizeof s->mail);
	decide_reply(s, &a.v);
}

/* postmaster_path - RFC 5321 4.1.1.3: "<Postmaster>" (any case, no domain) is a
 * recipient every server accepts; it becomes <postmaster@ our domain> (CLEMENT_POSTMASTER)
 * with the same parameters, so policy decides on it like on any address. Returns 1 and
 * fills out when path is such a path and we have a postmaster address. */
static int postmaster_path(const struct session *s, const char *path, char *out, size_t outlen)
{
	while (*path == ' ')
		path++;
	if (!s->e->postmaster[0] || strncasecmp(path, "<postmaster>", 12) != 0 || (path[12] && path[12] != ' '))
		return 0;
	return cl_snprintf(out, outlen, "<%s>%s", s->e->postmaster, path + 12) == 0;
}

/* rcpt_parse - a RCPT's path (what follows "TO:") into out, <Postmaster> made our postmaster's
 * address first: the one parse of do_rcpt and of the look-ahead (rcpt_ahead_gather). */
static enum cl_addr_err rcpt_parse(const struct session *s, const char *path, struct cl_addr *out)
{
	char pm[1024]; /* a command line is at most 512 octets */
	if (postmaster_path(s, path, pm, sizeof pm))
		path = pm;
	return cl_addr_parse(path, strlen(path), CL_ADDR_RCPT, s->mail.smtputf8, out);
}

static void rcpt_answered(struct session *s, const struct cl_verdict *v, const struct cl_route *rt);

/* rcpt_ahead_take - answer this RCPT with the verdict policy gave ahead for it (struct
 * rcpt_ahead): 1 when it did; else what is left of them is dropped (the client sent
 * something else than the commands they were asked for). */
static int rcpt_ahead_take(struct session *s)
{
	struct rcpt_ahead *ah = s->ahead;
	if (!ah || ah->used >= ah->answered)
		return 0;
	if (strcmp(ah->addr[ah->used], s->pending_rcpt.addr) != 0) {
		ah->answered = ah->used = 0;
		return 0;
	}
	const struct cl_policy_rcpt_answer *a = &ah->ans[ah->used++];
	rcpt_answered(s, &a->v, &a->route);
	return 1;
}

/* rcpt_ahead_gather - the recipients of the RCPT commands waiting right after this one in
 * the input (a pipelining client sends them together, RFC 2920): well-formed ones only, up to
 * the first other line, and no more than the transaction has room for. Policy answers them
 * with this RCPT's call (build_rcpt), which saves a round trip each. */
static void rcpt_ahead_gather(struct session *s)
{
	struct rcpt_ahead *ah = s->ahead;
	if (ah)
		ah->asked = ah->answered = ah->used = 0;
	long long room = s->e->cfg.max_rcpt - (long long)s->nrcpt - 1;
	const char *p = s->in.data;
	size_t left = s->in.len, n = 0;
	while (room-- > 0 && n < CL_POLICY_RCPT_MORE_MAX && left > 0) {
		const char *lf = memchr(p, '\n', left);
		size_t len = lf ? (size_t)(lf - p) + 1 : 0;
		if (len < 10 || len > SMTP_CMD_MAX || p[len - 2] != '\r' || strncasecmp(p, "RCPT TO:", 8) != 0)
			break;
		char path[SMTP_CMD_MAX];
		size_t plen = len - 10;
		memcpy(path, p + 8, plen);
		path[plen] = '\0';
		struct cl_addr a;
		if (memchr(path, '\0', plen) || memchr(path, '\r', plen) || rcpt_parse(s, path, &a) != CL_ADDR_OK)
			break;
		if (!ah && !(ah = s->ahead = calloc(1, sizeof *ah)))
			break;
		memcpy(ah->addr[n++], a.addr, sizeof a.addr);
		p += len;
		left -= len;
	}
	if (ah)
		ah->asked = n;
}

static void do_rcpt(struct session *s, char *args)
{
	if (strncasecmp(args, "TO:", 3) != 0) {
		fail(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if ((long long)s->nrcpt >= s->e->cfg.max_rcpt) { /* RFC 5321 4.5.3.1.10 */
		session_reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	if (path_refused(s, rcpt_parse(s, args + 3, &s->pending_rcpt), 0))
		return;
	if (rcpt_ahead_take(s))
		return;
	rcpt_ahead_gather(s);
	if (decide_call(s, RPC_RCPT) < 0)
		tempfail(s);
}

/* smtp_on_rcpt - policy's answer to RCPT, and the verdicts it gave ahead for the RCPT
 * commands that wait behind it (rcpt_ahead_gather; they take them in rcpt_ahead_take). */
void smtp_on_rcpt(struct session *s, struct completion *c)
{
	struct cl_verdict v;
	struct cl_route rt;
	struct rcpt_ahead *ah = s->ahead;
	size_t n = 0;
	if (c->st != CL_RPC_OK ||
	    cl_policy_rcpt_reply(c->reply, &v, &rt, ah ? ah->ans : NULL, ah ? ah->asked : 0, &n) < 0)
		decide_failed(s, c, &v);
	if (ah) {
		ah->answered = n;
		ah->used = 0;
	}
	rcpt_answered(s, &v, &rt);
}

/* rcpt_answered - policy's verdict on s->pending_rcpt, asked now or ahead: an accepted
 * recipient joins the transaction only if it shares the first recipient's destination (route
 * mode and group): docs/RPC.md makes a transaction one destination so that delivery is
 * all-or-nothing. A different destination gets 452 4.5.3 (RFC 5321 4.5.3.1.10 lets a client
 * retry such recipients in a new transaction, as it does for "too many recipients"). */
static void rcpt_answered(struct session *s, const struct cl_verdict *v, const struct cl_route *rt)
{
	if (v->action != CL_ACCEPT) {
		decide_reply(s, v);
		return;
	}
	if (rt->mode == CL_ROUTE_NONE) { /* an accepted recipient without destination: malformed */
		session_reply(s, "451 4.3.0 Temporary failure, try again later");
		return;
	}
	if (s->nrcpt > 0 && (rt->mode != s->rcpts[0].route.mode || rt->group_id != s->rcpts[0].route.group_id)) {
		session_reply(s, "452 4.5.3 <%s>: different destination, send it in a new transaction",
			      s->pending_rcpt.addr);
		return;
	}
	if (s->nrcpt == s->rcpt_cap) {
		size_t cap = s->rcpt_cap ? s->rcpt_cap * 2 : 4;
		struct rcpt *n = realloc(s->rcpts, cap * sizeof *n);
		if (!n) {
			session_reply(s, "452 4.3.0 Temporary failure, try again later");
			return;
		}
		s->rcpts = n;
		s->rcpt_cap = cap;
	}
	struct rcpt *r = &s->rcpts[s->nrcpt++];
	memcpy(r->addr, s->pending_rcpt.addr, sizeof r->addr);
	r->route = *rt;
	decide_reply(s, v);
}

/* received_header - RFC 5321 4.4 trace line, RFC 3848 protocol names; stored first in
 * the message. Every field in it has been validated (helo_ok, the address parser). */
static void received_header(struct session *s)
{
	char date[64];
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
	int authed = session_has(s, SF_AUTH);
	const char *proto = session_has(s, SF_TLS) ? (authed ? "ESMTPSA" : "ESMTPS")
						   : (authed ? "ESMTPA" : (s->flags & SF_EHLO ? "ESMTP" : "SMTP"));
	cl_buf_printf(&s->body.msg, "Received: from %s ([%s])\r\n\tby %s (Clement) with %s id %s", s->helo, s->ip,
		      s->e->cfg.hostname, proto, s->msgid);
	if (session_has(s, SF_TLS))
		cl_buf_printf(&s->body.msg, "\r\n\t(using %s)", s->tls_desc);
	if (s->nrcpt == 1)
		cl_buf_printf(&s->body.msg, "\r\n\tfor <%s>", s->rcpts[0].addr);
	cl_buf_printf(&s->body.msg, "; %s\r\n", date);
}

/* body_start - a new message body: the reader, the message id, our trace header. */
static void body_start(struct session *s)
{
	body_init(&s->body, (size_t)s->e->cfg.max_message_size, 2048, &s->e->sh->data_budget, s);
	snprintf(s->msgid, sizeof s->msgid, "%s%02X", s->id, (unsigned)(s->messages & 0xff));
	received_header(s);
}

/* data_timer - a body or a chunk starts: DATA initiation's timeout until its first octet,
 * and a fresh minimum-rate window from there. */
static void data_timer(struct session *s)
{
	s->rate_since = 0;
	s->rate_bytes = 0;
	session_arm_timer(s);
}

static void do_data(struct session *s, char *args)
{
	(void)args;
	/* RFC 2920 3.1: DATA ends a pipelined group; anything already sent after it came
	 * before our 354 and is a synchronization error. */
	if (s->in.len > 0) {
		session_sync_error(s, 0);
		return;
	}
	body_start(s);
	session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	session_enter(s, PH_DATA);
	data_timer(s);
}

/* do_bdat - RFC 3030 2: "BDAT size [LAST]". The chunk is read even when the command is
 * refused, so the session stays in sync. */
static void do_bdat(struct session *s, char *args)
{
	char *p = args;
	unsigned long long n = 0;
	size_t digits = 0;
	for (; *p >= '0' && *p <= '9' && digits < 19; p++, digits++)
		n = n * 10 + (unsigned long long)(*p - '0');
	int last = 0;
	if (*p == ' ' && strcasecmp(p + 1, "LAST") == 0)
		last = 1;
	else if (*p)
		digits = 0;
	if (digits == 0 || digits > 18) {
		/* we cannot tell where the chunk ends: stop here */
		session_reply(s, "554 5.5.4 Syntax: BDAT size [LAST]; closing");
		session_close(s, "bdat_syntax");
		return;
	}
	int discard = !session_has(s, SF_TX) || s->nrcpt == 0;
	session_flags(s, discard ? SF_BDAT_DISCARD : 0, SF_BDAT_DISCARD);
	if (!discard && !session_has(s, SF_BDAT)) {
		body_start(s);
		session_flags(s, SF_BDAT, 0);
	}
	s->bdat_left = (size_t)n;
	session_flags(s, last ? SF_BDAT_LAST : 0, SF_BDAT_LAST);
	if (discard) {
		/* read into a throw-away reader */
		body_free(&s->body);
		body_init(&s->body, 0, 0, NULL, NULL);
	}
	session_enter(s, PH_BDAT);
	data_timer(s);
}

/* smtp_data_done - the end of DATA, or of a BDAT chunk. */
void smtp_data_done(struct session *s)
{
	session_enter(s, PH_COMMAND);
	if (session_has(s, SF_BDAT_DISCARD)) {
		body_free(&s->body);
		session_flags(s, 0, SF_BDAT_DISCARD);
		fail(s, "503 5.5.1 Error: %s", session_has(s, SF_TX) ? "no valid recipients" : "need MAIL command");
		return;
	}
	if (session_has(s, SF_BDAT) && !session_has(s, SF_BDAT_LAST)) {
		session_reply(s, "250 2.0.0 %zu octets received", s->body.size);
		return;
	}
	if (session_has(s, SF_BDAT))
		body_chunk_last(&s->body);
	const char *refusal = body_verdict(&s->body);
	if (refusal && s->body.flags == BODY_NO_MEMORY) { /* ours, not the client's error */
		cl_metric_inc(s->e->m.refused_memory);
		cl_log(CL_LOG_WARN, s->id, "message_refused", "msgid=%s reason=memory size=%zu max=%zu", s->msgid,
		       s->body.size, s->e->sh->data_budget.max);
		session_reply(s, "%s", refusal);
		session_reset_tx(s);
		return;
	}
	if (refusal) {
		cl_metric_inc(s->e->m.refused_body);
		cl_log(CL_LOG_INFO, s->id, "message_refused", "msgid=%s reason=body flags=%u", s->msgid, s->body.flags);
		session_reply(s, "%s", refusal);
		s->errors++;
		session_reset_tx(s);
		return;
	}
	if (decide_call(s, RPC_SCAN) < 0) {
		tempfail(s);
		session_reset_tx(s);
	}
}

static void do_rset(struct session *s, char *args)
{
	(void)args;
	session_reset_tx(s);
	session_reply(s, "250 2.0.0 Ok");
}

static void do_noop(struct session *s, char *args)
{
	(void)args;
	session_reply(s, "250 2.0.0 Ok");
}

static void do_quit(struct session *s, char *args)
{
	(void)args;
	session_reply(s, "221 2.0.0 Bye");
	session_close(s, s->messages ? "ok" : "quit");
}

static void do_vrfy(struct session *s, char *args)
{
	(void)args; /* RFC 5321 3.5.3: no address disclosure */
	session_reply(s, "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery");
}

static void do_expn(struct session *s, char *args)
{
	(void)args;
	session_reply(s, "502 5.5.1 EXPN not available");
}

static void do_help(struct session *s, char *args)
{
	(void)args;
	session_reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH");
}

/* do_starttls - RFC 3207. Everything buffered after the command is discarded (4.2: a
 * client must not pipeline past STARTTLS; what it did send could be an injection) and
 * the session forgets HELO, AUTH and the transaction. */
static void do_starttls(struct session *s, char *args)
{
	(void)args;
	if (!s->e->tls) {
		session_reply(s, "454 4.7.0 TLS not available");
		return;
	}
	cl_buf_reset(&s->in);
	session_reply(s, "220 2.0.0 Ready to start TLS");
	if (conn_flush(s) < 0 || s->out.len > 0 || conn_start_tls(s) < 0) {
		session_close(s, "tls_error");
		return;
	}
	session_reset_tx(s);
	s->helo[0] = '\0';
	s->auth_user[0] = '\0';
	session_flags(s, 0, SF_GREETED | SF_AUTH);
	session_enter(s, PH_HANDSHAKE);
}

/* b64_decode - RFC 4648 base64 into out (NUL-terminated); -1 when malformed or too long. */
static int b64_decode(const char *in, char *out, size_t outlen, size_t *n)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = strlen(in), o = 0;
	if (len % 4)
		return -1;
	unsigned acc = 0;
	int bits = 0, pad = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '=') {
			if (i + 2 < len)
				return -1;
			pad++;
			continue;
		}
		const char *p = in[i] ? strchr(tbl, in[i]) : NULL;
		if (!p || pad)
			return -1;
		acc = (acc << 6) | (unsigned)(p - tbl);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	*n = o;
	return 0;
}

/* auth_plain - RFC 4616: [authzid] NUL authcid NUL passwd. */
static void auth_plain(struct session *s, const char *b64)
{
	char buf[1024];
	size_t n;
	if (b64_decode(strcmp(b64, "=") == 0 ? "" : b64, buf, sizeof buf, &n) < 0) {
		fail(s, "501 5.5.2 Cannot decode response");
		return;
	}
	char *u = memchr(buf, '\0', n);
	char *pw = u ? memchr(u + 1, '\0', n - (size_t)(u + 1 - buf)) : NULL;
	if (!u || !pw || pw == u + 1 || cl_strlcpy(s->authp->login_user, u + 1, sizeof s->authp->login_user) < 0 ||
	    cl_strlcpy(s->authp->pw, pw + 1, sizeof s->authp->pw) < 0) {
		explicit_bzero(buf, sizeof buf);
		fail(s, "501 5.5.2 Malformed AUTH PLAIN response");
		return;
	}
	explicit_bzero(buf, sizeof buf);
	if (decide_call(s, RPC_AUTH) < 0)
		session_reply(s, "454 4.7.0 Temporary authentication failure");
	explicit_bzero(s->authp->pw, sizeof s->authp->pw);
}

/* smtp_auth_line - a continuation line of AUTH (RFC 4954 4: "*" cancels). */
void smtp_auth_line(struct session *s, char *line, size_t len)
{
	(void)len;
	session_log_line(s, "C: ", "****", 4);
	session_enter(s, PH_COMMAND);
	enum auth_step step = s->auth;
	s->auth = AUTH_NONE;
	if (strcmp(line, "*") == 0) {
		fail(s, "501 5.0.0 Authentication cancelled");
		return;
	}
	if (step == AUTH_PLAIN) {
		auth_plain(s, line);
	} else if (step == AUTH_LOGIN_USER) {
		size_t n;
		if (b64_decode(line, s->authp->login_user, sizeof s->authp->login_user, &n) < 0 || n == 0) {
			fail(s, "501 5.5.2 Cannot decode response");
			return;
		}
		s->auth = AUTH_LOGIN_PASS;
		session_enter(s, PH_AUTH);
		session_reply(s, "334 UGFzc3dvcmQ6");
	} else if (step == AUTH_LOGIN_PASS) {
		size_t n;
		if (b64_decode(line, s->authp->pw, sizeof s->authp->pw, &n) < 0) {
			fail(s, "501 5.5.2 Cannot decode response");
			return;
		}
		if (decide_call(s, RPC_AUTH) < 0)
			session_reply(s, "454 4.7.0 Temporary authentication failure");
		explicit_bzero(s->authp->pw, sizeof s->authp->pw);
	}
	explicit_bzero(line, len);
}

static void do_auth(struct session *s, char *args)
{
	if (!s->authp && !(s->authp = calloc(1, sizeof *s->authp))) {
		fail(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
	char *ir = strchr(args, ' ');
	if (ir)
		*ir++ = '\0';
	if (strcasecmp(args, "PLAIN") == 0) {
		if (ir) {
			auth_plain(s, ir);
		} else {
			s->auth = AUTH_PLAIN;
			session_enter(s, PH_AUTH);
			session_reply(s, "334 ");
		}
	} else if (strcasecmp(args, "LOGIN") == 0) {
		s->auth = AUTH_LOGIN_USER;
		session_enter(s, PH_AUTH);
		if (ir) {
			smtp_auth_line(s, ir, strlen(ir));
			return;
		}
		session_reply(s, "334 VXNlcm5hbWU6");
	} else {
		fail(s, "504 5.5.4 Unrecognized authentication type");
	}
}

/* smtp_on_auth - policy's answer to AUTH: 235 authenticates the session; anything else,
 * or a failed call (454 4.7.0), counts as an error. */
void smtp_on_auth(struct session *s, struct completion *c)
{
	struct policy_answer a;
	if (answer_of(s, c, &a) < 0)
		cl_verdict_set(&a.v, CL_DEFER, 454, "4.7.0", "Temporary authentication failure");
	if (a.v.action == CL_ACCEPT && a.v.code == 235) {
		cl_strlcpy(s->auth_user, a.user[0] ? a.user : s->authp->login_user, sizeof s->auth_user);
		session_flags(s, SF_AUTH, 0);
		cl_log(CL_LOG_INFO, s->id, "auth", "ok=1");
	} else {
		if (a.v.action == CL_ACCEPT) /* an accept that is not 235 is malformed */
			cl_verdict_set(&a.v, CL_DEFER, 454, "4.7.0", "Temporary authentication failure");
		s->errors++;
	}
	decide_reply(s, &a.v);
}

/* What a verb needs of the dialogue state (need_met). */
enum need {
	NO_ARGS = 1u << 0,                   /* the verb takes no argument */
	NEEDS_HELO = 1u << 1,                /* HELO or EHLO answered */
	NEEDS_EHLO = 1u << 2,                /* EHLO answered */
	NEEDS_TX = 1u << 3,                  /* MAIL accepted */
	NO_TX = 1u << 4,                     /* outside a transaction */
	NO_BDAT = 1u << 5,                   /* no BDAT chunk sent in this transaction */
	NEEDS_RCPT = 1u << 6,                /* a recipient accepted */
	NEEDS_TLS = 1u << 7,                 /* under TLS */
	NO_TLS = 1u << 8,                    /* not under TLS yet */
	NO_AUTH = 1u << 9,                   /* not authenticated yet */
	NEEDS_AUTH_ON_SUBMISSION = 1u << 10, /* authenticated, on the submission port (RFC 6409 4.3) */
	NEEDS_MESH_PEER = 1u << 11,          /* a mesh peer's TLS session (docs/MESH.md section 3) */
};

/* need_met - does s (with the command's argument args) meet every requirement in need? */
static int need_met(const struct session *s, unsigned need, const char *args)
{
	unsigned f = s->flags;
	return !((need & NO_ARGS && args[0]) || (need & NEEDS_HELO && !(f & SF_HELO)) ||
		 (need & NEEDS_EHLO && !session_has(s, SF_HELO | SF_EHLO)) || (need & NEEDS_TX && !(f & SF_TX)) ||
		 (need & NO_TX && f & SF_TX) || (need & NO_BDAT && f & SF_BDAT) ||
		 (need & NEEDS_RCPT && s->nrcpt == 0) || (need & NEEDS_TLS && !(f & SF_TLS)) ||
		 (need & NO_TLS && f & SF_TLS) || (need & NO_AUTH && f & SF_AUTH) ||
		 (need & NEEDS_AUTH_ON_SUBMISSION && s->lst->kind == LST_SUBMISSION && !(f & SF_AUTH)) ||
		 (need & NEEDS_MESH_PEER && !(f & SF_MESH_PEER)));
}

/* A verb: its requirements in the order they are checked, each with the reply it gets when
 * unmet (counted as a protocol error); the handler runs only when all are met. */
struct verb {
	const char *name;
	struct {
		unsigned need;
		const char *refusal;
	} checks[4];
	void (*fn)(struct session *s, char *args);
};

static const struct verb verbs[] = {
    {"EHLO", {{0}}, do_ehlo},
    {"HELO", {{0}}, do_helo},
    {"MAIL",
     {{NEEDS_HELO, "503 5.5.1 Error: send HELO/EHLO first"},
      {NO_TX, "503 5.5.1 Error: nested MAIL command"},
      {NEEDS_AUTH_ON_SUBMISSION, "530 5.7.0 Authentication required"}},
     do_mail},
    {"RCPT",
     {{NEEDS_TX, "503 5.5.1 Error: need MAIL command"}, {NO_BDAT, "503 5.5.1 Error: RCPT during BDAT"}},
     do_rcpt},
    {"DATA",
     {{NO_ARGS, "501 5.5.4 Syntax: DATA"},
      {NEEDS_TX | NO_BDAT, "503 5.5.1 Error: need MAIL command"},
      {NEEDS_RCPT, "554 5.5.1 Error: no valid recipients"}},
     do_data},
    /* BDAT's chunk is read even when refused, to stay in sync: smtp_data_done refuses it */
    {"BDAT", {{0}}, do_bdat},
    {"RSET", {{NO_ARGS, "501 5.5.4 Syntax: RSET"}}, do_rset},
    {"NOOP", {{0}}, do_noop},
    {"QUIT", {{0}}, do_quit},
    {"VRFY", {{0}}, do_vrfy},
    {"EXPN", {{0}}, do_expn},
    {"HELP", {{0}}, do_help},
    {"STARTTLS",
     {{NO_ARGS, "501 5.5.4 Syntax: STARTTLS"}, {NO_TLS, "554 5.5.1 Error: TLS already active"}},
     do_starttls},
    {"AUTH",
     {{NEEDS_TLS, "538 5.7.11 Encryption required for requested authentication mechanism"},
      {NEEDS_EHLO, "503 5.5.1 Error: send EHLO first"},
      {NO_AUTH, "503 5.5.1 Error: already authenticated"},
      {NO_TX, "503 5.5.1 Error: MAIL transaction in progress"}},
     do_auth},
    /* to anyone but a mesh peer XMESH is an unknown verb (docs/MESH.md section 3); records
     * are no part of a transaction (section 5) */
    {CL_MESH_VERB,
     {{NEEDS_MESH_PEER, UNKNOWN_REPLY},
      {NO_TX, "503 5.5.1 Bad sequence of commands: XMESH inside a mail transaction"},
      {NEEDS_EHLO, "503 5.5.1 Bad sequence of commands: send EHLO first"}},
     xmesh_command},
};

/* smtp_unknown - the reply to a verb we do not know; XMESH gives exactly this to anyone who
 * is not a mesh peer, so the extension is invisible to strangers (docs/MESH.md section 3). */
void smtp_unknown(struct session *s)
{
	fail(s, "%s", UNKNOWN_REPLY);
}

/* smtp_command - dispatch one command line (CRLF removed, no NUL/CR inside). */
void smtp_command(struct session *s, char *line, size_t len)
{
	if (strncasecmp(line, "AUTH ", 5) == 0) {
		char masked[64];
		snprintf(masked, sizeof masked, "%.*s ****", (int)strcspn(line + 5, " ") + 5, line);
		session_log_line(s, "C: ", masked, strlen(masked));
	} else {
		session_log_line(s, "C: ", line, len);
	}
	size_t vlen = strcspn(line, " ");
	char *args = line + vlen;
	if (*args == ' ')
		*args++ = '\0';
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		const struct verb *v = &verbs[i];
		if (strcasecmp(line, v->name) != 0)
			continue;
		for (size_t k = 0; k < sizeof v->checks / sizeof v->checks[0] && v->checks[k].refusal; k++)
			if (!need_met(s, v->checks[k].need, args)) {
				fail(s, "%s", v->checks[k].refusal);
				return;
			}
		v->fn(s, args);
		return;
	}
	smtp_unknown(s);
}
