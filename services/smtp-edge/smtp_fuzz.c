/* smtp_fuzz.c - libFuzzer target for smtp-edge's command side (STYLE rule 12): the input
 * loop of session.c (line framing, the 512-octet bound, bare LF/CR/NUL, HTTP request
 * lines, pipelining and sync errors), the command table of smtp.c with every verb's
 * argument parser (MAIL/RCPT paths and their SIZE=, BODY=, SMTPUTF8, AUTH= parameters,
 * <Postmaster>, BDAT sizes, AUTH PLAIN/LOGIN base64, HELO names, STARTTLS), the body
 * readers, and decide.c's handling of the services' answers.
 *
 * fuzz-sources: services/smtp-edge/session.c services/smtp-edge/smtp.c services/smtp-edge/decide.c
 * fuzz-sources: services/smtp-edge/body.c services/smtp-edge/proxy.c lib/mail/address.c lib/mail/verdict.c
 * fuzz-sources: lib/mail/policy_client.c lib/mail/scanner_client.c lib/mail/delivery_client.c
 * fuzz-sources: lib/rpc/frame.c lib/util/buf.c lib/util/log.c lib/util/metrics.c lib/util/random.c lib/util/utf8.c
 * fuzz-sources: services/smtp-edge/xmesh.c lib/mail/banstats_client.c lib/mail/mesh_record.c
 * fuzz-sources: services/smtp-edge/authres.c
 * fuzz-libs: -lssl -lcrypto
 *
 * Only what needs a network is replaced: sockets and TLS (conn.c: replies are collected
 * here, the handshake after STARTTLS or on 465 succeeds at once), the loop's tables
 * (loop.c), reputation's DNS lookups (rep.c: off), and the RPC transport
 * (cl_rpc_call_async: each request is answered here with what a healthy stack says, or
 * fails as the input's first byte chooses).
 *
 * SMTP_FUZZ_TRACE=1 build/fuzz/bin/smtp_fuzz FILE prints the replies an input gets.
 *
 * Input: byte 0 picks the failing services (bit per step; bit 2: policy answers one of the
 * RCPTs asked ahead too few, so that one is asked again), byte 1 the listener and
 * whether the peer half-closes at the end; the rest is what the client sends, cut into
 * network reads at each 0xFF byte (0xFF itself never travels; other invalid UTF-8 does).
 *
 * Invariants: no crash, leak or undefined behaviour; every reply line ends in CRLF, holds
 * no other CR or LF, fits in 512 octets (RFC 5321 4.5.3.1.5) and starts with a code;
 * every 2xx/4xx/5xx reply except the greeting and the answers to HELO/EHLO (RFC 2034 3)
 * carries an enhanced status code of its own class (RFC 3463); a message handed to
 * delivery has CRLF line ends only and no NUL. */
#include <fcntl.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "edge.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HOST "mx.fuzz.test"

/* ---- the RPC transport: calls wait here until the harness answers them ---- */

struct pending {
	cl_rpc_done_fn done;
	void *arg;
	enum cl_rpc_status st;
	nng_msg *reply;
	struct pending *next;
};

static struct pending *calls;          /* cl_rpc_call_async, not answered yet */
static struct completion *completions; /* rpc_done -> loop_push_completion */
static unsigned fail_mask;

/* body_clean - a message handed to delivery is strict SMTP text. */
static void body_clean(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\0' || (p[i] == '\n' && (i == 0 || p[i - 1] != '\r')) ||
		    (p[i] == '\r' && (i + 1 >= n || p[i + 1] != '\n')))
			abort();
}

/* answer - the reply header a healthy stack gives to op; fail: the step's service is down. */
static const char *answer(const char *op, int *fail)
{
	static const struct {
		const char *op;
		unsigned bit;
		const char *json;
	} t[] = {
	    {"connect", 1, "{\"v\":1,\"action\":\"accept\",\"code\":220,\"enh\":\"\",\"text\":\"Welcome\"}"},
	    {"mail", 4, "{\"v\":1,\"action\":\"accept\",\"code\":250,\"enh\":\"2.1.0\",\"text\":\"Ok\"}"},
	    {"rcpt", 8,
	     "{\"v\":1,\"action\":\"accept\",\"code\":250,\"enh\":\"2.1.5\",\"text\":\"Ok\",\"route\":{\"mode\":"
	     "\"local\",\"group_id\":1,\"domain_id\":1,\"user_id\":1,\"quarantine\":false}}"},
	    {"auth", 16,
	     "{\"v\":1,\"action\":\"accept\",\"code\":235,\"enh\":\"2.7.0\",\"text\":\"Authentication "
	     "successful\",\"user\":\"u@example.org\"}"},
	    {"scan", 32, "{\"v\":1,\"verdict\":\"clean\"}"},
	    {"deliver", 64,
	     "{\"v\":1,\"action\":\"accept\",\"code\":250,\"enh\":\"2.0.0\",\"text\":\"Ok: delivered\",\"rcpts\":[]}"},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(op, t[i].op) == 0) {
			*fail = (fail_mask & t[i].bit) != 0;
			return t[i].json;
		}
	*fail = 0;
	return "{\"v\":1,\"ok\":true}"; /* log_session, log_message */
}

/* rcpt_with_more - the rcpt answer with verdicts for the n recipients asked ahead: accepted
 * and unknown by turns; with bit 2 of byte 0, one short (an answer missing: asked again). */
static const char *rcpt_with_more(const char *first, int n, char *buf, size_t len)
{
	size_t k = strlen(first) - 1; /* without its closing brace */
	if (n > CL_POLICY_RCPT_MORE_MAX || k + 16 > len)
		abort(); /* smtp-edge never asks for more than the contract allows */
	memcpy(buf, first, k);
	k += (size_t)snprintf(buf + k, len - k, ",\"more\":[");
	for (int i = 0; i < n - ((fail_mask & 2) != 0); i++)
		k += (size_t)snprintf(
		    buf + k, len - k, "%s%s", i ? "," : "",
		    i % 2 ? "{\"v\":1,\"action\":\"reject\",\"code\":550,\"enh\":\"5.1.1\",\"text\":\"no\"}" : first);
	snprintf(buf + k, len - k, "]}");
	return buf;
}

int cl_rpc_call_async(struct cl_rpc_client *c, nng_msg *req, int timeout_ms, cl_rpc_done_fn done, void *arg)
{
	(void)c;
	(void)timeout_ms;
	cJSON *hdr = NULL;
	const unsigned char *body;
	size_t blen;
	char err[100];
	if (cl_frame_parse(req, &hdr, &body, &blen, err, sizeof err) < 0)
		abort(); /* our own stubs build every request: it must be a frame */
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(hdr, "op");
	if (!cJSON_IsString(op))
		abort();
	if (strcmp(op->valuestring, "deliver") == 0)
		body_clean(body, blen);
	struct pending *p = calloc(1, sizeof *p);
	if (!p)
		abort();
	int fail;
	const char *json = answer(op->valuestring, &fail);
	static char with_more[16384];
	const cJSON *more = cJSON_GetObjectItemCaseSensitive(hdr, "more");
	if (strcmp(op->valuestring, "rcpt") == 0 && cJSON_IsArray(more))
		json = rcpt_with_more(json, cJSON_GetArraySize(more), with_more, sizeof with_more);
	cJSON_Delete(hdr);
	p->done = done;
	p->arg = arg;
	p->st = fail ? CL_RPC_TIMEOUT : CL_RPC_OK;
	if (!fail && (nng_msg_alloc(&p->reply, 0) != 0 || nng_msg_append(p->reply, json, strlen(json)) != 0))
		abort();
	nng_msg_free(req); /* taken over on success */
	p->next = calls;
	calls = p;
	return 0;
}

int cl_rpc_client_connected(struct cl_rpc_client *c)
{
	(void)c;
	return 1; /* failures come from the input's first byte, through the calls */
}

const char *cl_rpc_status_str(enum cl_rpc_status st)
{
	return st == CL_RPC_OK ? "ok" : "timeout";
}

/* answer_calls - complete every call made so far, then hand the completions to decide.c
 * as the loop would. Returns 1 when anything happened. */
static int answer_calls(void)
{
	int any = 0;
	while (calls) {
		struct pending *p = calls;
		calls = p->next;
		p->done(p->arg, p->st, p->reply);
		free(p);
		any = 1;
	}
	while (completions) {
		struct completion *c = completions;
		completions = c->next;
		decide_completion(c);
		any = 1;
	}
	return any;
}

/* ---- loop.c ---- */

/* rep.c asks DNS (network): here reputation is off, as with no list and no weight set. */
void rep_start(struct session *s)
{
	(void)s;
}

double rep_due(const struct session *s)
{
	(void)s;
	return 0;
}

int rep_waiting(struct session *s)
{
	(void)s;
	return 0;
}

void rep_tick(struct session *s, double now)
{
	(void)s, (void)now;
}

void rep_cancel(struct session *s)
{
	(void)s;
}

void rep_free(struct session *s)
{
	(void)s;
}

void rep_helo(struct session *s)
{
	(void)s;
}

const struct cl_policy_rep *rep_facts(struct session *s, struct cl_policy_rep *out, int decide)
{
	(void)s, (void)out, (void)decide;
	return NULL;
}

double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void loop_push_completion(struct edge *e, struct completion *c)
{
	(void)e;
	c->next = completions;
	completions = c;
}

void loop_update_events(struct session *s)
{
	(void)s;
}

void loop_session_gone(struct session *s)
{
	(void)s;
}

int loop_session_moved(struct session *s, const char *ip)
{
	cl_strlcpy(s->ip, ip, sizeof s->ip);
	return 0;
}

int loop_ip_data_room(struct session *s, size_t size)
{
	(void)s;
	(void)size;
	return 1;
}

int ip_passed_pregreet(struct edge *e, const char *ip)
{
	(void)e;
	(void)ip;
	return 0;
}

void ip_remember_pregreet(struct edge *e, const char *ip)
{
	(void)e;
	(void)ip;
}

/* ---- conn.c: replies are checked and dropped; TLS is a bare SSL object ---- */

static SSL_CTX *tls;
static int in_helo_reply; /* inside a multi-line reply that needs no enhanced code */

/* check_line - one reply line (without CRLF) against the invariants above. */
static void check_line(const char *l, size_t n, int *multi)
{
	if (n + 2 > 512 || n < 4 || memchr(l, '\r', n) || memchr(l, '\n', n))
		abort();
	if (l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '5' || l[2] < '0' || l[2] > '9' ||
	    (l[3] != ' ' && l[3] != '-'))
		abort();
	int first = !*multi;
	*multi = l[3] == '-';
	if (first)
		in_helo_reply = n >= 4 + strlen(HOST) && memcmp(l + 4, HOST, strlen(HOST)) == 0;
	if (l[0] == '3' || in_helo_reply)
		return; /* 334/354 have no class in RFC 3463; greeting and EHLO lines need none */
	/* "c.sss.ddd " with c the reply's class */
	size_t i = 4;
	if (i + 6 > n || l[i] != l[0] || l[i + 1] != '.')
		abort();
	i += 2;
	size_t d = 0;
	while (i < n && l[i] >= '0' && l[i] <= '9' && d < 4)
		i++, d++;
	if (d == 0 || d > 3 || i >= n || l[i] != '.')
		abort();
	i++;
	d = 0;
	while (i < n && l[i] >= '0' && l[i] <= '9' && d < 4)
		i++, d++;
	if (d == 0 || d > 3 || i + 1 >= n || l[i] != ' ')
		abort();
}

static int multi_line; /* the previous reply line was "ddd-" */
static int greeted;    /* the first reply line of this input was a 220 */
static int replied;    /* ... and there was one */
static int trace;      /* SMTP_FUZZ_TRACE=1: print the replies (to see what an input reaches) */

int conn_flush(struct session *s)
{
	const char *p = s->out.data;
	size_t n = s->out.len;
	while (n > 0) {
		const char *crlf = memmem(p, n, "\r\n", 2);
		if (!crlf)
			abort(); /* session_reply appends whole lines */
		check_line(p, (size_t)(crlf - p), &multi_line);
		if (!replied++)
			greeted = memcmp(p, "220", 3) == 0;
		if (trace)
			fprintf(stderr, "S: %.*s\n", (int)(crlf - p), p);
		n -= (size_t)(crlf - p) + 2;
		p = crlf + 2;
	}
	cl_buf_reset(&s->out);
	return 0;
}

int conn_read(struct session *s)
{
	(void)s;
	return 0;
}

int conn_start_tls(struct session *s)
{
	s->ssl = SSL_new(tls);
	return s->ssl ? 0 : -1;
}

int conn_handshake(struct session *s)
{
	snprintf(s->tls_desc, sizeof s->tls_desc, "TLSv1.3 TLS_AES_256_GCM_SHA384");
	return 1;
}

void tls_describe(struct session *s)
{
	(void)s;
}

/* ---- the harness ---- */

static struct edge edge;
static struct edge_shared shared;
static struct listener listeners[LST_COUNT];

static void edge_init(void)
{
	struct edge_config *c = &edge.cfg;
	c->hostname = HOST;
	c->max_rcpt = 5;
	c->max_message_size = 2048;
	c->max_errors = 10;
	c->greet_timeout_s = c->mail_timeout_s = c->rcpt_timeout_s = c->cmd_timeout_s = 300;
	c->data_init_timeout_s = 120;
	c->data_timeout_s = 180;
	c->min_data_rate = 64;
	c->min_data_rate_window_s = 30;
	c->policy_timeout_ms = c->scanner_timeout_ms = c->delivery_timeout_ms = 1000;
	cl_strlcpy(edge.postmaster, "postmaster@fuzz.test", sizeof edge.postmaster);
	edge.epfd = edge.evfd = -1;
	/* below the largest message's buffer (4 KiB with our Received: line): the refusal for
	 * want of memory is fuzzed too */
	shared.data_budget.max = 3072;
	edge.sh = &shared;
	/* the calls go to cl_rpc_call_async below, which never looks at the client; decide.c
	 * only needs one to be there (no banstats: no mesh peer) */
	static max_align_t client;
	edge.policy = edge.scanner = edge.delivery = (struct cl_rpc_client *)(void *)&client;
	tls = SSL_CTX_new(TLS_server_method());
	edge.tls = tls;
	edge.reg = cl_metrics_new();
	struct cl_metric *m = cl_metrics_counter(edge.reg, "fuzz_total", "every counter", "");
	struct cl_metric *h = cl_metrics_histogram(edge.reg, "fuzz_seconds", "every histogram", "");
	struct metrics_set *ms = &edge.m;
	ms->open = cl_metrics_gauge(edge.reg, "fuzz_open", "sessions", "");
	ms->total = ms->messages = ms->rpc_fail = ms->refused_proxy = ms->refused_pregreet = ms->refused_sync =
	    ms->refused_http = ms->refused_limit = ms->refused_errors = ms->refused_timeout = ms->refused_virus =
		ms->refused_body = ms->refused_policy = ms->refused_memory = m;
	ms->lat_policy = ms->lat_scanner = ms->lat_delivery = h;
	for (int i = 0; i < LST_COUNT; i++)
		listeners[i].kind = (enum listener_kind)i;
	cl_log_init("smtp-fuzz", CL_LOG_ERROR);
	trace = getenv("SMTP_FUZZ_TRACE") != NULL;
}

/* step - let the session run on what it has: answer its calls, finish a handshake. */
static void step(struct session *s)
{
	for (int guard = 0; guard < 100000 && !s->dead; guard++) {
		if (s->phase == PH_HANDSHAKE) {
			session_on_event(s, EPOLLIN);
			continue;
		}
		session_process(s);
		if (!answer_calls())
			break;
	}
}

static void reap(void)
{
	while (edge.zombies) {
		struct session *z = edge.zombies;
		if (z->inflight)
			abort(); /* every call was answered */
		edge.zombies = z->znext;
		session_free(z);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!edge.reg)
		edge_init();
	if (size < 2)
		return 0;
	fail_mask = data[0];
	struct listener *l = &listeners[data[1] % LST_COUNT];
	int half_close = (data[1] & 0x80) != 0;
	data += 2;
	size -= 2;
	multi_line = 0;
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		abort();
	struct session *s = session_new(&edge, l, fd, "192.0.2.7", 40000);
	if (!s)
		abort();
	replied = greeted = 0;
	session_start(s);
	step(s);
	if (!(fail_mask & 1) && !greeted)
		abort(); /* with policy up the client is greeted: else nothing past the door is fuzzed */
	/* the client's bytes, one network read per 0xFF-separated piece */
	size_t off = 0;
	while (off <= size && !s->dead) {
		const uint8_t *ff = memchr(data + off, 0xFF, size - off);
		size_t end = ff ? (size_t)(ff - data) : size;
		while (off < end && !s->dead) {
			size_t room = s->in.max - s->in.len;
			size_t k = end - off < room ? end - off : room;
			if (k == 0)
				break; /* back-pressure: the rest of this read waits, as on a socket */
			cl_buf_append(&s->in, data + off, k);
			off += k;
			step(s);
		}
		off = end + 1;
	}
	if (!s->dead && half_close) {
		s->eof = 1;
		step(s);
	}
	if (!s->dead) {
		session_tick(s, now_mono() + 1e6); /* every timeout has passed */
		step(s);
	}
	if (!s->dead) {
		s->linger = 1;
		session_close(s, "fuzz");
	}
	answer_calls();
	reap();
	if (atomic_load(&shared.data_budget.used) != 0)
		abort(); /* every stored message gave its bytes back */
	return 0;
}
