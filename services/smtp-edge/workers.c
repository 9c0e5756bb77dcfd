/* workers.c - smtp-edge's start-up, workers and exit: the hooks main.c gives
 * cl_service_main. Start-up checks and loads what the settings name (TLS context, PROXY
 * listeners, postmaster, reputation), makes the RPC clients and the metrics, then the
 * CLEMENT_EDGE_WORKERS workers: each a copy of the configured struct edge with its own
 * SO_REUSEPORT listener on each address, epoll set, eventfd and resolver, sharing the rest
 * through struct edge_shared (edge.h). edge_run starts one thread per worker (loop.c's
 * loop_run) and is the one place the signals are handled: SIGTERM/SIGINT make every worker
 * drain, SIGHUP and the certificate files' checks reload the TLS context for all of them.
 * The process exits once every worker has drained (teardown: the last calls, the clients). */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge.h"
#include "svc/service.h"
#include "util/daemon.h"
#include "util/log.h"
#include "util/net.h"

#define WORKERS_MAX 64

static struct edge_shared shared = {.done_fd = -1};

/* list_has - word is one of the comma-separated items of list. */
static int list_has(const char *list, const char *word)
{
	size_t w = strlen(word);
	for (const char *p = list; *p;) {
		size_t k = strcspn(p, ", ");
		if (k == w && strncmp(p, word, w) == 0)
			return 1;
		p += k;
		p += strspn(p, ", ");
	}
	return 0;
}

static void register_metrics(struct edge *e)
{
	struct cl_metrics *r = e->reg;
	struct metrics_set *m = &e->m;
	e->sh->open = m->open = cl_metrics_gauge(r, "clement_edge_sessions_open", "SMTP sessions open now", "");
	e->sh->workers = cl_metrics_gauge(r, "clement_edge_workers", "event loop threads (CLEMENT_EDGE_WORKERS)", "");
	const char *kn = "clement_edge_limits_lock_total",
		   *kh = "takings of the workers' shared limits table (sessions, per-address counts, pregreet passes)";
	e->sh->lock_free = cl_metrics_counter(r, kn, kh, "result=\"free\"");
	e->sh->lock_waited = cl_metrics_counter(r, kn, kh, "result=\"waited\"");
	m->total = cl_metrics_counter(r, "clement_edge_sessions_total", "SMTP sessions accepted", "");
	m->messages =
	    cl_metrics_counter(r, "clement_edge_messages_accepted_total", "messages accepted (250 to DATA)", "");
	m->refused_proxy = cl_metrics_counter(r, "clement_edge_refused_total",
					      "sessions or messages refused, by reason", "reason=\"proxy\"");
	m->rpc_fail = cl_metrics_counter(r, "clement_edge_rpc_failures_total", "RPC calls that failed (4xx given)", "");
	m->unscanned =
	    cl_metrics_counter(r, "clement_edge_unscanned_total",
			       "messages passed on unscanned after a scanner failure (CLEMENT_SCAN_FAIL_OPEN)", "");
	const char *rn = "clement_edge_refused_total", *rh = "sessions or messages refused, by reason";
	m->refused_pregreet = cl_metrics_counter(r, rn, rh, "reason=\"pregreet\"");
	m->refused_sync = cl_metrics_counter(r, rn, rh, "reason=\"sync\"");
	m->refused_http = cl_metrics_counter(r, rn, rh, "reason=\"http\"");
	m->refused_limit = cl_metrics_counter(r, rn, rh, "reason=\"limit\"");
	m->refused_errors = cl_metrics_counter(r, rn, rh, "reason=\"errors\"");
	m->refused_timeout = cl_metrics_counter(r, rn, rh, "reason=\"timeout\"");
	m->refused_virus = cl_metrics_counter(r, rn, rh, "reason=\"virus\"");
	m->refused_body = cl_metrics_counter(r, rn, rh, "reason=\"body\"");
	m->refused_policy = cl_metrics_counter(r, rn, rh, "reason=\"policy\"");
	m->refused_memory = cl_metrics_counter(r, rn, rh, "reason=\"memory\"");
	e->sh->data_budget.held = cl_metrics_gauge(
	    r, "clement_edge_data_bytes",
	    "octets of message data held in memory, all sessions (CLEMENT_MAX_DATA_MEMORY bounds it)", "");
	const char *ln = "clement_edge_rpc_seconds", *lh = "RPC latency by service";
	m->lat_policy = cl_metrics_histogram(r, ln, lh, "service=\"policy\"");
	m->lat_scanner = cl_metrics_histogram(r, ln, lh, "service=\"scanner\"");
	m->lat_delivery = cl_metrics_histogram(r, ln, lh, "service=\"delivery\"");
	m->lat_banstats = cl_metrics_histogram(r, ln, lh, "service=\"banstats\"");
	const char *tn = "clement_edge_tls_reloads_total", *th = "TLS certificate reloads (SIGHUP or changed files)";
	m->tls_reloaded = cl_metrics_counter(r, tn, th, "result=\"ok\"");
	m->tls_reload_failed = cl_metrics_counter(r, tn, th, "result=\"failed\"");
}

/* ready - ready while not draining. A service that cannot be reached is not a reason to
 * go unready: each call to it then fails at once with 4xx, visible in /metrics
 * (clement_edge_rpc_failures_total). */
int edge_ready(void *ctx, char *why, size_t whylen)
{
	(void)ctx;
	if (atomic_load(&shared.draining)) {
		snprintf(why, whylen, "shutting down");
		return 0;
	}
	return 1;
}

/* postmaster_setup - RFC 5321 4.1.1.3 makes "<Postmaster>" without a domain a valid
 * recipient that must be accepted. We route it as postmaster@ our primary domain, which
 * policy then decides on like any other recipient. -1 with err when CLEMENT_POSTMASTER is
 * not an address; a hostname without a usable domain (localhost) leaves it unset, and
 * <Postmaster> is then refused like any address without a domain. */
static int postmaster_setup(struct edge *e, char *err, size_t errlen)
{
	const struct edge_config *c = &e->cfg;
	char path[CL_ADDR_MAX + 3];
	if (c->postmaster[0]) {
		snprintf(path, sizeof path, "<%s>", c->postmaster);
	} else {
		const char *h = c->hostname, *dot = strchr(h, '.');
		if (dot && strchr(dot + 1, '.'))
			h = dot + 1; /* mx.example.org -> example.org */
		snprintf(path, sizeof path, "<postmaster@%s>", h);
	}
	struct cl_addr a;
	if (cl_addr_parse(path, strlen(path), CL_ADDR_RCPT, 0, &a) != CL_ADDR_OK || a.null_path) {
		if (c->postmaster[0]) {
			snprintf(err, errlen, "bad setting: CLEMENT_POSTMASTER: not an address with a domain");
			return -1;
		}
		cl_log(CL_LOG_WARN, NULL, "config",
		       "RCPT TO:<Postmaster> is refused: CLEMENT_HOSTNAME has no domain "
		       "and CLEMENT_POSTMASTER is empty");
		return 0;
	}
	cl_strlcpy(e->postmaster, a.addr, sizeof e->postmaster);
	return 0;
}

/* How long start-up waits for the connections to the services. Calls to a service without
 * one fail at once (decide.c), so the first sessions must not find a dial still under way;
 * a service that is down only costs this much start-up time. */
#define CONNECT_WAIT_MS 1000

/* connect_services - wait for the RPC connections; name those still missing. */
static void connect_services(struct edge *e)
{
	struct cl_rpc_client *cl[] = {e->policy, e->scanner, e->delivery, e->banstats};
	static const char *names[] = {"policy", "scanner", "delivery", "banstats"};
	const char *urls[] = {e->cfg.policy_url, e->cfg.scanner_url, e->cfg.delivery_url, e->cfg.banstats_url};
	if (cl_rpc_client_wait_connected(cl, 4, CONNECT_WAIT_MS))
		return;
	for (int i = 0; i < 4; i++)
		if (cl[i] && !cl_rpc_client_connected(cl[i]))
			cl_log(CL_LOG_WARN, NULL, "rpc_unreachable",
			       "service=%s url=%s effect=\"4xx at once until it is reachable\"", names[i], urls[i]);
}

/* setup - TLS, the listeners' options, postmaster, reputation and the RPC clients; -1 with
 * err. The listeners themselves are the workers' (workers_setup). */
static int setup(struct edge *e, char *err, size_t errlen)
{
	struct edge_config *c = &e->cfg;
	if (c->tls_cert[0] || c->tls_key[0]) {
		if (tls_setup(e, err, errlen) < 0)
			return -1;
	} else if (c->smtps_listen[0] || c->submission_listen[0]) {
		snprintf(err, errlen,
			 "CLEMENT_TLS_CERT and CLEMENT_TLS_KEY are required for the smtps and submission "
			 "listeners (scripts/make-cert makes a self-signed pair)");
		return -1;
	}
	static const char *names[LST_COUNT] = {"smtp", "smtps", "submission"};
	for (int i = 0; i < LST_COUNT; i++) {
		e->lst[i].fd = -1;
		e->lst[i].kind = (enum listener_kind)i;
		e->lst[i].proxy = list_has(c->proxy_protocol, names[i]);
	}
	for (const char *p = c->proxy_protocol; *p;) {
		size_t k = strcspn(p, ", ");
		if (k && !((k == 4 && !strncmp(p, "smtp", 4)) || (k == 5 && !strncmp(p, "smtps", 5)) ||
			   (k == 10 && !strncmp(p, "submission", 10)))) {
			snprintf(err, errlen, "CLEMENT_SMTP_PROXY_PROTOCOL: unknown listener %.*s", (int)k, p);
			return -1;
		}
		p += k;
		p += strspn(p, ", ");
	}
	if (postmaster_setup(e, err, errlen) < 0 || rep_setup(e, err, errlen) < 0)
		return -1;
	if (!(e->policy = cl_rpc_client_new(c->policy_url, err, errlen)) ||
	    !(e->scanner = cl_rpc_client_new(c->scanner_url, err, errlen)) ||
	    !(e->delivery = cl_rpc_client_new(c->delivery_url, err, errlen)))
		return -1;
	if (c->banstats_url[0] && !(e->banstats = cl_rpc_client_new(c->banstats_url, err, errlen)))
		return -1;
	/* A service with no connection is answered at once (4xx), never at its deadline. */
	struct cl_rpc_client *all[] = {e->policy, e->scanner, e->delivery, e->banstats};
	for (size_t i = 0; i < 4; i++)
		if (all[i])
			cl_rpc_client_fail_fast(all[i]);
	connect_services(e);
	return 0;
}

/* listen_all - the listener of kind k on addr for every worker: sockets with SO_REUSEPORT,
 * among which the kernel spreads the connections. A plain bind first, so that an address
 * another process listens on (another smtp-edge with SO_REUSEPORT too) is an error at start
 * rather than a silent share; it also fixes the port of ":0" for every worker. */
static int listen_all(struct edge_shared *sh, int k, const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	if (cl_net_sockaddr(addr, &ss, &slen, err, errlen) < 0)
		return -1;
	int one = 1;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, slen) < 0 || getsockname(fd, (struct sockaddr *)&ss, &slen) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	for (int i = 0; i < sh->nw; i++) {
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
		    bind(fd, (struct sockaddr *)&ss, slen) < 0 || listen(fd, 1024) < 0) {
			snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		sh->w[i].lst[k].fd = fd;
	}
	return 0;
}

/* workers_count - CLEMENT_EDGE_WORKERS, 0 meaning the online cores, within 1..WORKERS_MAX. */
static int workers_count(const struct edge_config *c)
{
	long n = c->workers > 0 ? (long)c->workers : sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > WORKERS_MAX ? WORKERS_MAX : (int)n;
}

/* workers_setup - the workers as copies of the configured e, each with its listeners,
 * resolver, epoll set and eventfd, and its sessions gauge; -1 with err. */
static int workers_setup(struct edge *e, char *err, size_t errlen)
{
	struct edge_shared *sh = e->sh;
	int n = workers_count(&e->cfg);
	if (!(sh->w = calloc((size_t)n, sizeof *sh->w))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct edge *w = &sh->w[i];
		memcpy(w, e, sizeof *w);
		w->id = i;
		w->epfd = w->evfd = -1;
		for (int k = 0; k < LST_COUNT; k++)
			w->lst[k].fd = -1;
		w->tls = NULL;
		w->rep.dns = NULL;
		pthread_mutex_init(&w->qlock, NULL);
		sh->nw++;
		tls_adopt(w);
		char l[32];
		snprintf(l, sizeof l, "worker=\"%d\"", i);
		w->m.open = cl_metrics_gauge(e->reg, "clement_edge_worker_sessions_open",
					     "SMTP sessions open now on each worker (event loop thread)", l);
		if (rep_worker(w, err, errlen) < 0)
			return -1;
	}
	cl_metric_set(sh->workers, n);
	const char *addrs[LST_COUNT] = {e->cfg.smtp_listen, e->cfg.smtps_listen, e->cfg.submission_listen};
	for (int k = 0; k < LST_COUNT; k++)
		if (addrs[k][0] && listen_all(sh, k, addrs[k], err, errlen) < 0)
			return -1;
	for (int i = 0; i < n; i++)
		if (loop_init(&sh->w[i]) < 0) {
			snprintf(err, errlen, "event loop: %s", strerror(errno));
			return -1;
		}
	return 0;
}

/* wait_rpcs - loop_wait_rpcs for every worker, all within max_s. */
static void wait_rpcs(struct edge_shared *sh, double max_s)
{
	double end = now_mono() + max_s;
	for (int i = 0; i < sh->nw; i++) {
		double left = end - now_mono();
		loop_wait_rpcs(&sh->w[i], left > 0 ? left : 0);
	}
}

static void teardown(struct edge *e)
{
	struct edge_shared *sh = e->sh;
	for (int i = 0; i < sh->nw; i++) {
		struct edge *w = &sh->w[i];
		for (int k = 0; k < LST_COUNT; k++)
			if (w->lst[k].fd >= 0)
				close(w->lst[k].fd);
		/* Sessions first (their last logs still go out), then the clients: closing them
		 * completes every call in flight with an error, queued for loop_fini to drain. */
		for (struct session *s = w->sessions; s; s = s->next)
			if (!s->dead) {
				s->phase = PH_CLOSING;
				s->linger = 1; /* at exit: no reading on */
				session_close(s, "shutdown");
			}
	}
	if (sh->nw > 0) {
		/* The last session logs may take what is left of the grace (at least a moment, at
		 * most 5 s); whatever is still out then, a session's call past the grace or a log to
		 * a silent policy, is cancelled, so the process exits when the grace says. */
		double left = e->drain_deadline - now_mono();
		wait_rpcs(sh, left < 0.2 ? 0.2 : left > 5.0 ? 5.0 : left);
		struct cl_rpc_client *cl[] = {e->policy, e->scanner, e->delivery, e->banstats};
		for (size_t i = 0; i < sizeof cl / sizeof cl[0]; i++)
			cl_rpc_client_cancel_all(cl[i]);
		wait_rpcs(sh, 2.0);
	}
	cl_rpc_client_free(e->policy);
	cl_rpc_client_free(e->scanner);
	cl_rpc_client_free(e->delivery);
	cl_rpc_client_free(e->banstats);
	for (int i = 0; i < sh->nw; i++) {
		struct edge *w = &sh->w[i];
		loop_fini(w);
		rep_teardown(w); /* after the sessions, which cancel their lookups */
		SSL_CTX_free(w->tls);
	}
	free(sh->w);
	sh->w = NULL;
	sh->nw = 0;
	rep_teardown(e);
	SSL_CTX_free(e->tls);
	loop_tables_fini(sh);
	pthread_mutex_destroy(&sh->tls_lock);
	if (sh->done_fd >= 0)
		close(sh->done_fd);
	sh->done_fd = -1;
}

/* data_memory_at_least - raise a data memory limit (setting name) below twice the largest
 * message, with a warning. */
static void data_memory_at_least(long long *v, const char *name, long long max_message_size)
{
	long long least = 2 * (max_message_size + 2048);
	if (*v >= least)
		return;
	cl_log(CL_LOG_WARN, NULL, "config", "%s=%lld is less than twice CLEMENT_MAX_MESSAGE_SIZE=%lld: using %lld",
	       name, *v, max_message_size, least);
	*v = least;
}

/* Descriptors kept beside the sessions' (edge_setup): about 20 are open when idle with two
 * workers; the rest is room for health probes, RPC reconnects and the resolver. */
#define EDGE_FD_RESERVE 64

/* edge_setup - TLS, RPC clients, the metrics, then the workers and their listeners. */
int edge_setup(void *ctx, struct cl_metrics *reg, char *err, size_t errlen)
{
	struct edge *e = ctx;
	struct edge_config *c = &e->cfg;
	/* RFC 5321 4.5.3.2.6: the client waits 10 minutes for the reply to the end of DATA,
	 * which comes after the scan and the delivery: beyond that it gives up, and may send
	 * again a message that was delivered. */
	if (c->scanner_timeout_ms + c->delivery_timeout_ms > 600000)
		cl_log(CL_LOG_WARN, NULL, "config",
		       "CLEMENT_SCANNER_TIMEOUT_MS + CLEMENT_DELIVERY_TIMEOUT_MS exceed the 10 minutes a client waits "
		       "for the reply to DATA (RFC 5321 4.5.3.2.6)");
	/* One fd per session: take the hard limit so CLEMENT_MAX_SESSIONS can be reached. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* One descriptor per session, and EDGE_FD_RESERVE for the listeners, the RPC connections,
	 * the resolver and the health server: CLEMENT_MAX_SESSIONS above what the limit leaves is
	 * lowered to it, so a client over it is still accepted and told 421 (loop.c, accept_one)
	 * rather than left unanswered in the listen queue. Said now, not under load. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (unsigned long long)c->max_sessions + EDGE_FD_RESERVE > (unsigned long long)rl.rlim_cur) {
		long long fit = rl.rlim_cur > 2 * EDGE_FD_RESERVE ? (long long)rl.rlim_cur - EDGE_FD_RESERVE
								  : (long long)rl.rlim_cur / 2;
		cl_log(
		    CL_LOG_WARN, NULL, "config",
		    "CLEMENT_MAX_SESSIONS=%lld but the file descriptor limit is %llu: at most %lld sessions at once, "
		    "the clients beyond get 421 (raise LimitNOFILE= in the systemd unit, ulimits nofile in compose, "
		    "or ulimit -n)",
		    c->max_sessions, (unsigned long long)rl.rlim_cur, fit);
		c->max_sessions = fit;
	}
	/* A message of the largest size must fit: its buffer doubles up to twice its size. */
	data_memory_at_least(&c->max_data_memory, "CLEMENT_MAX_DATA_MEMORY", c->max_message_size);
	data_memory_at_least(&c->max_data_memory_per_ip, "CLEMENT_MAX_DATA_MEMORY_PER_IP", c->max_message_size);
	shared.data_budget.max = (size_t)c->max_data_memory;
	shared.data_budget.owner_charge = loop_ip_data_charge;
	e->sh = &shared;
	shared.main = e;
	pthread_mutex_init(&shared.tls_lock, NULL);
	if ((shared.done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return 1;
	}
	e->epfd = e->evfd = -1;
	for (int k = 0; k < LST_COUNT; k++)
		e->lst[k].fd = -1;
	if (loop_tables_init(&shared) < 0) {
		snprintf(err, errlen, "out of memory");
		return 1;
	}
	if (setup(e, err, errlen) < 0)
		return 1;
	e->reg = reg;
	register_metrics(e);
	rep_metrics(e);
	if (workers_setup(e, err, errlen) < 0)
		return 1;
	return 0;
}

int edge_start(void *ctx, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	const struct edge *e = ctx;
	const struct edge_config *c = &e->cfg;
	cl_log(CL_LOG_INFO, NULL, "start", "smtp=%s smtps=%s submission=%s health=%s workers=%d", c->smtp_listen,
	       c->smtps_listen, c->submission_listen, c->health_listen, e->sh->nw);
	if (c->scan_fail_open)
		cl_log(CL_LOG_WARN, NULL, "config",
		       "scan_fail_open=1 warning=\"messages are delivered UNSCANNED whenever the scanner fails\"");
	return 0;
}

static void *worker_main(void *arg)
{
	struct edge *w = arg;
	if (loop_run(w) < 0) {
		cl_log(CL_LOG_ERROR, NULL, "worker_failed", "worker=%d error=\"%s\"", w->id, strerror(errno));
		atomic_store(&w->sh->failed, 1);
	}
	atomic_fetch_add(&w->sh->finished, 1);
	/* edge_run sees it now, not at its next tick: a stop takes the drain, not a second more */
	uint64_t one = 1;
	if (write(w->sh->done_fd, &one, sizeof one) < 0) {
		/* full counter (EAGAIN) only: the main thread has a wake-up pending already */
	}
	return NULL;
}

/* drain_all - SIGTERM/SIGINT (or a worker that failed): every worker stops accepting and
 * finishes its sessions within CLEMENT_SHUTDOWN_GRACE_S. */
static void drain_all(struct edge *e)
{
	struct edge_shared *sh = e->sh;
	if (atomic_exchange(&sh->draining, 1))
		return;
	e->drain_deadline = now_mono() + (double)e->cfg.shutdown_grace_s;
	for (int i = 0; i < sh->nw; i++)
		loop_wake(&sh->w[i]);
}

/* edge_run - the workers' threads, and the signals and certificate checks on this one until
 * every worker has drained. */
int edge_run(void *ctx)
{
	struct edge *e = ctx;
	struct edge_shared *sh = e->sh;
	int started = 0, rc = 0;
	for (; started < sh->nw; started++) {
		struct edge *w = &sh->w[started];
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			cl_log(CL_LOG_ERROR, NULL, "worker_failed", "worker=%d error=\"cannot start a thread\"",
			       started);
			rc = 1;
			break;
		}
		char name[16];
		snprintf(name, sizeof name, "edge-w%u", (unsigned)started % 100u); /* < WORKERS_MAX */
		pthread_setname_np(w->thread, name);
	}
	atomic_store(&sh->running, started);
	if (rc)
		drain_all(e);
	int sigfd = cl_daemon_signal_fd();
	while (atomic_load(&sh->finished) < started) {
		if (atomic_load(&sh->failed)) {
			rc = 1;
			drain_all(e);
		}
		double now = now_mono(), until = now + 1.0;
		if (e->tls && e->cfg.tls_reload_s > 0 && e->tls_next_check < until)
			until = e->tls_next_check;
		struct pollfd p[2] = {{.fd = sigfd, .events = POLLIN}, {.fd = sh->done_fd, .events = POLLIN}};
		int ms = until <= now ? 0 : (int)ceil((until - now) * 1000.0);
		if (poll(p, 2, ms) > 0) {
			uint64_t n;
			if ((p[1].revents & POLLIN) && read(sh->done_fd, &n, sizeof n) < 0) {
				/* EAGAIN: another reader cannot exist; nothing to do */
			}
			if (p[0].revents & POLLIN) {
				int sig = cl_daemon_read_signal();
				if (sig == SIGTERM || sig == SIGINT)
					drain_all(e);
				else if (sig == SIGHUP && !atomic_load(&sh->draining))
					tls_reload(e, "sighup");
			}
		}
		if (!atomic_load(&sh->draining))
			tls_check(e, now_mono());
	}
	for (int i = 0; i < started; i++)
		pthread_join(sh->w[i].thread, NULL);
	return rc;
}

void edge_teardown(void *ctx)
{
	teardown(ctx);
}
