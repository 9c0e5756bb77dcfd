/* edge.h - smtp-edge's internal interfaces: the server, the session, and the pieces that
 * share them (loop.c, conn.c, smtp.c, decide.c, workers.c, main.c).
 *
 * A session's place in the SMTP dialogue is enum phase plus the enum session_flag word; smtp.c's
 * verb table names what each command needs of them, decide.c's table of RPC steps what each
 * call to another service is.
 *
 * Threads: CLEMENT_EDGE_WORKERS workers (default: one per online core), each a thread with
 * its own event loop: its own struct edge (epoll set, SO_REUSEPORT listeners, sessions,
 * timer heap, completion queue, DNS resolver), so that the kernel spreads the connections
 * over the workers and a session lives and dies on the worker that accepted it. What they
 * share is in struct edge_shared (workers.c): the RPC clients (thread-safe), the
 * metrics registry (atomic), the TLS context a reload publishes, and the limits that are
 * global (CLEMENT_MAX_SESSIONS, the per-address counts, the pregreet passes: one mutex).
 * The main thread handles the signals (SIGTERM/SIGINT: every worker drains; SIGHUP: the TLS
 * reload every worker adopts at its next wakeup) and the certificate file checks.
 *
 * Within a worker: RPC completions arrive on the RPC clients' threads; they only push a struct
 * completion onto the worker's queue (mutex + eventfd) and its loop handles them. A
 * session is freed only by its loop, and only when no RPC of its own is in flight
 * (inflight == 0): a closing session with calls in flight is marked dead and freed when
 * the last completion comes back. */
#ifndef CLEMENT_EDGE_EDGE_H
#define CLEMENT_EDGE_EDGE_H

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/stat.h>

#include "body.h"
#include "mail/address.h"
#include "mail/policy_client.h"
#include "mail/verdict.h"
#include "proxy.h"
#include "rep.h"
#include "rpc/rpc.h"
#include "util/buf.h"
#include "util/cidr.h"
#include "util/metrics.h"
#include "util/theap.h"

struct edge_config {
	char *smtp_listen, *smtps_listen, *submission_listen, *health_listen;
	char *tls_cert, *tls_key, *hostname, *postmaster;
	long long max_rcpt, max_message_size, pregreet_wait_ms, pregreet_remember_s;
	long long max_data_memory;        /* CLEMENT_MAX_DATA_MEMORY: every stored message together (body.h) */
	long long max_data_memory_per_ip; /* CLEMENT_MAX_DATA_MEMORY_PER_IP: one client address's share */
	char *policy_url, *scanner_url, *delivery_url, *banstats_url;
	long long policy_timeout_ms, scanner_timeout_ms, delivery_timeout_ms;
	/* RFC 5321 4.5.3.2, seen from the server: how long we wait for the client at each step */
	long long greet_timeout_s, mail_timeout_s, rcpt_timeout_s, data_init_timeout_s, data_timeout_s, cmd_timeout_s;
	long long min_data_rate, min_data_rate_window_s, shutdown_grace_s, tls_reload_s;
	long long max_sessions, max_per_ip, max_errors;
	long long workers; /* CLEMENT_EDGE_WORKERS (0: one per online core) */
	int scan_fail_open;
	char *proxy_protocol, *proxy_networks;
	char *log_level;
	struct rep_conf rep;
};

enum listener_kind { LST_SMTP = 0, LST_SMTPS, LST_SUBMISSION, LST_COUNT };

struct listener {
	int fd;
	enum listener_kind kind;
	int proxy; /* expects a PROXY protocol header */
};

enum rpc_kind {
	RPC_NONE = 0,
	RPC_CONNECT,
	RPC_MAIL, /* after AUTH only: before it, MAIL is judged with RCPT (smtp.c, do_mail) */
	RPC_RCPT,
	RPC_AUTH,
	RPC_SCAN,
	RPC_DELIVER,
	RPC_MESH_PEER,    /* banstats: is the client certificate a mesh peer's? (xmesh.c) */
	RPC_MESH_RECORDS, /* banstats: store the records of one XMESH command (xmesh.c) */
};

/* The dialogue state is two words: where the session is (enum phase, changed only through
 * session_enter()) and what it has established so far (the SF_* flag word, changed only
 * through session_flags()); both setters log each transition at debug level. smtp.c's verb
 * table states each command's requirements in terms of them. */
enum phase {
	PH_PROXY = 0, /* reading a PROXY protocol header */
	PH_HANDSHAKE, /* TLS handshake (465 at once, or after STARTTLS) */
	PH_GREETING,  /* greeting not sent yet (connect verdict, pregreet wait) */
	PH_COMMAND,   /* reading command lines */
	PH_AUTH,      /* reading an AUTH continuation line */
	PH_DATA,      /* reading a DATA body */
	PH_BDAT,      /* reading a BDAT chunk */
	PH_CLOSING,   /* flushing the last reply, then close */
};

enum session_flag {
	SF_PROXY_DONE = 1u << 0,    /* the PROXY header was read */
	SF_PREGREET = 1u << 1,      /* in the pregreet wait (port 25): "220-" sent, "220 " not yet */
	SF_PREGREET_FAIL = 1u << 2, /* the client talked before the greeting */
	SF_GREET_READY = 1u << 3,   /* policy's connect verdict is in (s->greet_verdict) */
	SF_TLS = 1u << 4,           /* the TLS handshake is done (465, or after STARTTLS) */
	SF_MESH_PEER = 1u << 5,     /* banstats named the client certificate an enabled mesh peer */
	SF_HELO = 1u << 6,          /* HELO or EHLO given (s->helo holds the name) */
	SF_EHLO = 1u << 7,          /* ... and it was an EHLO (ESMTP) */
	SF_AUTH = 1u << 8,          /* authenticated (s->auth_user holds the name) */
	SF_TX = 1u << 9,            /* in a mail transaction: MAIL accepted (RFC 5321 4.1.4) */
	SF_BDAT = 1u << 10,         /* the transaction's body comes in BDAT chunks */
	SF_BDAT_LAST = 1u << 11,    /* the chunk being read is the LAST one */
	SF_BDAT_DISCARD = 1u << 12, /* the chunk being read is refused, read only to stay in sync */
	SF_SKIP_LINE = 1u << 13,    /* skipping the rest of an overlong command line */
};
#define SF_GREETED (SF_HELO | SF_EHLO)
#define SF_TX_ALL  (SF_TX | SF_BDAT | SF_BDAT_LAST | SF_BDAT_DISCARD) /* what ends with the transaction */

enum auth_step { AUTH_NONE = 0, AUTH_PLAIN, AUTH_LOGIN_USER, AUTH_LOGIN_PASS };

struct rcpt {
	char addr[CL_ADDR_MAX + 1];
	struct cl_route route;
};

#define SMTP_CMD_MAX 512 /* a command line, CRLF included (RFC 5321 4.5.3.1.4) */

/* Verdicts policy gave ahead (docs/RPC.md, rcpt's "more"): with a RCPT, smtp-edge sends the
 * recipients of the RCPT commands a pipelined client sent right after it, and policy answers
 * each. Those commands then run as any other, and one whose recipient is the next one here
 * takes its verdict instead of asking; any other input drops what is left. Allocated at the
 * first pipelined RCPT of a transaction, freed with it (session_reset_tx). */
struct rcpt_ahead {
	size_t asked, answered, used; /* addr[0..asked-1] sent; ans[0..answered-1] came; used of them */
	char addr[CL_POLICY_RCPT_MORE_MAX][CL_ADDR_MAX + 1];
	struct cl_policy_rcpt_answer ans[CL_POLICY_RCPT_MORE_MAX];
};

struct completion {
	struct session *s;
	enum rpc_kind kind;
	enum cl_rpc_status st;
	nng_msg *reply;
	double started;
	struct completion *next;
};

struct metrics_set {
	struct cl_metric *open, *total, *messages, *rpc_fail, *refused_proxy, *unscanned;
	struct cl_metric *refused_pregreet, *refused_sync, *refused_http, *refused_limit, *refused_errors,
	    *refused_timeout, *refused_virus, *refused_body, *refused_policy, *refused_memory;
	struct cl_metric *lat_policy, *lat_scanner, *lat_delivery, *lat_banstats;
	struct cl_metric *tls_reloaded, *tls_reload_failed;
};

/* What the certificate and key files were when last loaded (tls.c). */
struct tls_stamp {
	struct {
		dev_t dev;
		ino_t ino;
		off_t size;
		struct timespec mtime, ctime;
	} f[2];
};

struct ipcount; /* loop.c */

/* What every worker shares (workers.c); a worker reaches it as e->sh. */
struct edge_shared {
	struct edge *main;                /* the configured template (workers are copies): TLS reloads, teardown */
	struct edge *w;                   /* the workers */
	int nw;                           /* workers set up (w[0..nw-1]) */
	struct cl_metric *open, *workers; /* clement_edge_sessions_open (all), clement_edge_workers */
	struct cl_metric *lock_free, *lock_waited; /* lim_lock taken at once / after a wait */
	/* the TLS context of new handshakes: tls_reload (main thread) replaces main->tls under
	 * tls_lock and bumps tls_gen; each worker takes a reference at its next wakeup */
	pthread_mutex_t tls_lock;
	_Atomic unsigned tls_gen;
	_Atomic int draining;         /* SIGTERM/SIGINT came: every worker drains */
	_Atomic int failed;           /* a worker's loop failed: the process drains and exits 1 */
	_Atomic int finished;         /* workers whose loop returned */
	int done_fd;                  /* eventfd a worker signals when its loop returns (or fails) */
	_Atomic int running;          /* worker threads started */
	_Atomic int listeners_closed; /* workers that closed their listeners for the drain */
	/* the global limits, under lim_lock: sessions of all workers, per-address counts and
	 * pregreet passes (loop.c) */
	pthread_mutex_t lim_lock;
	size_t nsessions;
	struct ipcount **ipt;           /* per-IP session counts */
	struct ipcount **passed;        /* pregreet passes: address -> expiry */
	size_t npassed;                 /* entries in passed (bounded) */
	struct body_budget data_budget; /* the messages being received or handed on (body.h) */
};

struct edge {
	struct edge_config cfg;
	struct edge_shared *sh;
	int id; /* worker number (0 in the template) */
	pthread_t thread;
	int thread_started;
	unsigned tls_gen; /* sh->tls_gen when tls was taken */
	int epfd, evfd;
	struct listener lst[LST_COUNT];
	SSL_CTX *tls; /* the context new handshakes get; replaced by tls_reload() */
	struct tls_stamp tls_seen;
	double tls_next_check;
	struct cl_rpc_client *policy, *scanner, *delivery;
	struct cl_rpc_client *banstats; /* NULL without CLEMENT_BANSTATS_URL: no mesh at all */
	struct cl_metrics *reg;
	struct metrics_set m;
	struct session *sessions; /* every session not yet freed (doubly linked) */
	struct session *zombies;  /* closed sessions waiting to be freed (reap_sessions) */
	size_t nsessions;         /* this worker's */
	pthread_mutex_t qlock;
	struct completion *qhead, *qtail;
	struct cl_netset nets;            /* CLEMENT_PROXY_NETWORKS */
	_Atomic int fire_inflight;        /* fire-and-forget log calls not yet completed */
	char postmaster[CL_ADDR_MAX + 1]; /* where RCPT TO:<Postmaster> goes; "" when we have no name */
	int draining;
	double drain_deadline;
	int drain_expired;      /* the grace is over and every session was told so */
	struct cl_theap timers; /* each session's next deadline (session_next_due), earliest first */
	struct rep_edge rep;    /* reputation: resolver, DNSBL sites, metrics (rep.c) */
	/* accept out of descriptors or memory (loop.c, accept_pause): the listeners wake nothing
	 * until then. */
	double accept_paused_until; /* 0: not paused */
	double fd_limit_logged;     /* now_mono() of the last warning about it */
};

/* what an AUTH exchange holds between its lines and its policy call: allocated by the AUTH
 * command (smtp.c), freed with the session, the password wiped after each call. Apart from
 * struct session because most sessions never authenticate (an idle one costs its size). */
struct auth_pending {
	char login_user[CL_ADDR_MAX + 1];
	char pw[512];
};

struct session {
	struct edge *e;
	struct session *prev, *next;
	struct session *znext; /* on e->zombies once dead */
	struct listener *lst;
	int fd;
	SSL *ssl;
	int ssl_want_write;
	char id[20];
	char ip[64];
	int port;
	enum phase phase;
	enum rpc_kind busy; /* the RPC whose answer we wait for before reading on */
	int inflight;       /* our RPCs not yet completed (defer free while > 0) */
	int dead;           /* closed; free when inflight reaches 0 */
	int ev_mask;
	struct cl_buf in, out;
	struct cl_buf transcript;
	double started, deadline, greet_at;
	struct cl_theap_node timer; /* in e->timers while session_next_due() is set (loop.c) */
	struct session *tnext;      /* the loop's list of sessions whose deadline came */
	double rate_since;          /* start of the current minimum-rate window; 0 until body bytes came */
	size_t rate_bytes;          /* body octets received in that window */
	int commands;               /* command lines received (the first one has CLEMENT_GREET_TIMEOUT_S) */
	unsigned flags;             /* enum session_flag; changed only through session_flags() */
	struct cl_verdict greet_verdict;
	int eof;    /* the peer closed its side; what it sent is still processed */
	int linger; /* our half is closed; reading on until the peer closes (session_close) */
	int errors;
	int messages;
	char helo[256]; /* the HELO/EHLO name while SF_HELO */
	char tls_desc[128];
	/* docs/MESH.md section 3: the SHA-256 fingerprint of the client certificate presented in
	 * this session's TLS handshake ("" when none); SF_MESH_PEER says whether banstats named
	 * it an enabled mesh peer (then, and only then, XMESH is offered and accepted). */
	char peer_fp[65];
	char auth_user[CL_ADDR_MAX + 1]; /* "" unless SF_AUTH */
	enum auth_step auth;
	struct auth_pending *authp; /* NULL until the session sends AUTH */
	/* the transaction (RFC 5321 4.1.4: reset by RSET, HELO/EHLO, end of DATA), SF_TX_ALL */
	struct cl_addr mail;
	struct cl_addr pending_rcpt;
	struct rcpt *rcpts;
	size_t nrcpt, rcpt_cap;
	struct rcpt_ahead *ahead; /* NULL unless a pipelined RCPT asked ahead in this transaction */
	size_t bdat_left;
	struct body body;
	char msgid[32];
	char virus[128];
	/* the scanner's content verdict when it let the message through (issue 18): the
	 * reason and class logged with the message ("" = none) */
	char content_text[300];
	char content_class[16];
	double content_score;
	char outcome[32];
	struct rep_session *rep; /* reputation facts; NULL when off (rep.c) */
	/* the last transaction's log_message, not sent yet: it goes with the session's next call
	 * to policy that is made anyway (decide_log_flush at the next MAIL, or inside log_session),
	 * or on its own once it has waited LOG_HOLD_S */
	cJSON *log_held;
	double log_held_at; /* now_mono() when held */
};

/* workers.c - start-up, the workers' threads, the signals, exit: cl_service_main's hooks */
int edge_ready(void *ctx, char *why, size_t whylen);
int edge_setup(void *ctx, struct cl_metrics *reg, char *err, size_t errlen);
int edge_start(void *ctx, char *err, size_t errlen);
int edge_run(void *ctx);
void edge_teardown(void *ctx);

/* loop.c */
int loop_init(struct edge *e); /* the worker's epoll set, eventfd and timers; -1 */
int loop_tables_init(struct edge_shared *sh);
void loop_tables_fini(struct edge_shared *sh);
int loop_run(struct edge *e); /* a worker's loop, until it drained */
/* loop_accept - take the connections waiting on l (at most a batch), stopping at the first
 * accept that finds none; how many were taken. */
int loop_accept(struct edge *e, struct listener *l);
void loop_wake(struct edge *e);
void loop_fini(struct edge *e);
void loop_wait_rpcs(struct edge *e, double max_s);
void loop_session_gone(struct session *s);
int loop_session_moved(struct session *s, const char *ip);
/* The per-address share of CLEMENT_MAX_DATA_MEMORY (CLEMENT_MAX_DATA_MEMORY_PER_IP):
 * loop_ip_data_charge is the data budget's owner_charge (owner: the session; body.h), and
 * loop_ip_data_room says whether s's address could start a message of size octets now. */
int loop_ip_data_charge(void *owner, long long delta);
int loop_ip_data_room(struct session *s, size_t size);
void reap_sessions(struct edge *e, int all);
void loop_update_events(struct session *s);
void loop_push_completion(struct edge *e, struct completion *c);
void loop_timer_update(struct session *s); /* re-file s's next deadline after a callback */
int ip_passed_pregreet(struct edge *e, const char *ip);
void ip_remember_pregreet(struct edge *e, const char *ip);
double now_mono(void);

/* conn.c - socket and TLS I/O */
int conn_read(struct session *s);      /* 0 ok, -1 closed/error */
int conn_flush(struct session *s);     /* 0 ok (maybe partial), -1 error */
void conn_trim(struct session *s);     /* release the input buffer when it is empty */
int conn_handshake(struct session *s); /* 1 done, 0 in progress, -1 failed */
int conn_start_tls(struct session *s);
void tls_describe(struct session *s);

/* session.c */
struct session *session_new(struct edge *e, struct listener *l, int fd, const char *ip, int port);
void session_start(struct session *s);
void session_close(struct session *s, const char *outcome);
void session_free(struct session *s);
void session_enter(struct session *s, enum phase p);
void session_flags(struct session *s, unsigned set, unsigned clear); /* clear, then set; logged */
static inline int session_has(const struct session *s, unsigned f)
{
	return (s->flags & f) == f;
}
void session_reply(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void session_process(struct session *s);
void session_on_event(struct session *s, unsigned events);
void session_tick(struct session *s, double now);
double session_next_due(const struct session *s, double now); /* 0: nothing to wait for */
void session_reset_tx(struct session *s);
void session_sync_error(struct session *s, int pregreet);
void session_greet_verdict(struct session *s, const struct cl_verdict *v);
void session_log_line(struct session *s, const char *dir, const char *line, size_t n);
void session_send_greeting(struct session *s);
void session_connect_call(struct session *s); /* the connect call to policy (after the lookups) */
void session_tls_ready(struct session *s);
void session_arm_timer(struct session *s);

/* smtp.c - the verb table, each verb's handler and the handling of its policy answer */
void smtp_command(struct session *s, char *line, size_t len);
void smtp_auth_line(struct session *s, char *line, size_t len);
void smtp_data_done(struct session *s);
void smtp_ehlo_reply(struct session *s);
void smtp_unknown(struct session *s);
void smtp_on_mail(struct session *s, struct completion *c); /* the on_reply steps of decide.c's table */
void smtp_on_rcpt(struct session *s, struct completion *c);
void smtp_on_auth(struct session *s, struct completion *c);

/* tls.c - the TLS context and its reload (new handshakes only; sessions keep theirs) */
int tls_setup(struct edge *e, char *err, size_t errlen); /* 0, or -1 with err */
void tls_reload(struct edge *e, const char *why);        /* SIGHUP: a bad pair keeps the old one */
void tls_check(struct edge *e, double now);              /* every CLEMENT_TLS_RELOAD_S: reload if changed */
void tls_adopt(struct edge *w);                          /* a worker takes the context the last reload published */

/* xmesh.c - the XMESH extension, receiving side (docs/MESH.md sections 3 to 7) */
int xmesh_tls_ctx(struct edge *e, SSL_CTX *ctx, char *err, size_t errlen);
int xmesh_after_handshake(struct session *s);
void xmesh_command(struct session *s, char *args);
void xmesh_on_peer(struct session *s, struct completion *c);    /* the on_reply of RPC_MESH_PEER */
void xmesh_on_records(struct session *s, struct completion *c); /* the on_reply of RPC_MESH_RECORDS */
int xmesh_long_line_ok(const struct session *s, const char *line, size_t len);

/* decide.c - the table of RPC steps (policy/scanner/delivery/banstats calls) and their answers */
/* decide_call - build the request of kind and start it: 0 (s waits, s->busy), or -1. */
int decide_call(struct session *s, enum rpc_kind kind);
/* decide_call_msg - start the call of kind with the request m (built by the caller): on 0 the
 * call owns m and s waits (s->busy) for its completion; on -1 m stays the caller's. */
int decide_call_msg(struct session *s, enum rpc_kind kind, nng_msg *m);
void decide_completion(struct completion *c);
void decide_log_session(struct session *s);
/* decide_log_flush - send the held log_message now (at the next MAIL; nothing when none). */
void decide_log_flush(struct session *s);
/* How long a held log_message waits for a call to travel with (a client that keeps its idle
 * session open after DATA, as Postfix's connection cache does for up to 2 s, still has its
 * message logged within this time). */
#define LOG_HOLD_S 1.0
/* decide_verdict - policy's answer in c (verdict, route, user): 0, or -1 with v a 451 4.3.0
 * (the call failed or the answer is malformed; logged). */
int decide_verdict(struct session *s, const struct completion *c, struct cl_verdict *v, struct cl_route *rt, char *user,
		   size_t userlen);
/* decide_failed - the call in c failed or its answer was malformed: logged, v is 451 4.3.0. */
void decide_failed(struct session *s, const struct completion *c, struct cl_verdict *v);
void decide_reply(struct session *s, const struct cl_verdict *v); /* "code enh text" */

#endif
