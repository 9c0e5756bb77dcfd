/* loop.c - one smtp-edge worker's event loop: its listeners, sessions, RPC completion queue
 * and timers, all on its own epoll set; plus the tables every worker shares under one mutex
 * (sh->lim_lock: the session count of CLEMENT_MAX_SESSIONS, the per-address counts of
 * CLEMENT_MAX_SESSIONS_PER_IP, the pregreet passes), so the limits hold for the process
 * however the kernel spreads the connections. The lock is taken once per accepted and per
 * freed session and per pregreet look-up, for a hash look-up: never around I/O.
 *
 * The main thread (workers.c) talks to a worker through two shared words and its eventfd:
 * sh->draining (SIGTERM: stop accepting and drain) and sh->tls_gen (a reloaded certificate
 * to adopt); loop_wake() makes the worker look at them now.
 *
 * Timers: each session's next deadline (session_next_due: pregreet greeting, lookups,
 * client timeouts, data rate, linger) sits in a min-heap (util/theap.h), re-filed after
 * every callback the loop makes for that session; epoll waits until the earliest one, and
 * only sessions whose deadline came are ticked. An idle session costs nothing per wakeup.
 *
 * epoll data: a pointer tagged by kind; listeners and the two internal fds are small
 * integers below LOOP_TAG_MAX, sessions are pointers. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns/dns.h"
#include "edge.h"
#include "util/log.h"

#define TAG_EVENTFD  1
#define TAG_DNS      3  /* the resolver has answers (rep.c) */
#define TAG_LISTENER 16 /* + listener index */
#define LOOP_TAG_MAX 64
#define IP_BUCKETS   4096
#define PASSED_MAX   100000

struct ipcount {
	struct ipcount *next;
	double expires; /* pregreet table */
	int n;          /* session table */
	size_t data;    /* session table: message octets its sessions hold (body.h's owner share) */
	char ip[64];
};

double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ip_hash - FNV-1a of the address text. */
static size_t ip_hash(const char *ip)
{
	uint32_t h = 2166136261u;
	for (; *ip; ip++)
		h = (h ^ (unsigned char)*ip) * 16777619u;
	return h % IP_BUCKETS;
}

/* ip_find - the entry for ip in table t, creating it when create is set (NULL if absent
 * or out of memory). */
static struct ipcount *ip_find(struct ipcount **t, const char *ip, int create)
{
	size_t h = ip_hash(ip);
	for (struct ipcount *c = t[h]; c; c = c->next)
		if (strcmp(c->ip, ip) == 0)
			return c;
	if (!create)
		return NULL;
	struct ipcount *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	cl_strlcpy(c->ip, ip, sizeof c->ip);
	c->next = t[h];
	t[h] = c;
	return c;
}

static void ip_remove(struct ipcount **t, const char *ip)
{
	struct ipcount **pp = &t[ip_hash(ip)];
	for (; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->ip, ip) == 0) {
			struct ipcount *c = *pp;
			*pp = c->next;
			free(c);
			return;
		}
}

static void ip_table_free(struct ipcount **t)
{
	for (size_t i = 0; t && i < IP_BUCKETS; i++)
		while (t[i]) {
			struct ipcount *c = t[i];
			t[i] = c->next;
			free(c);
		}
	free(t);
}

/* lim_lock - take sh->lim_lock, counting whether another worker held it (the metric
 * clement_edge_limits_lock_total says whether the shared tables are a bottleneck). */
static void lim_lock(struct edge_shared *sh)
{
	if (pthread_mutex_trylock(&sh->lim_lock) == 0) {
		cl_metric_inc(sh->lock_free);
		return;
	}
	cl_metric_inc(sh->lock_waited);
	pthread_mutex_lock(&sh->lim_lock);
}

int loop_tables_init(struct edge_shared *sh)
{
	pthread_mutex_init(&sh->lim_lock, NULL);
	sh->ipt = calloc(IP_BUCKETS, sizeof *sh->ipt);
	sh->passed = calloc(IP_BUCKETS, sizeof *sh->passed);
	return sh->ipt && sh->passed ? 0 : -1;
}

void loop_tables_fini(struct edge_shared *sh)
{
	ip_table_free(sh->ipt);
	ip_table_free(sh->passed);
	sh->ipt = sh->passed = NULL;
	pthread_mutex_destroy(&sh->lim_lock);
}

int ip_passed_pregreet(struct edge *e, const char *ip)
{
	struct edge_shared *sh = e->sh;
	lim_lock(sh);
	struct ipcount *c = ip_find(sh->passed, ip, 0);
	if (c && c->expires < now_mono()) {
		ip_remove(sh->passed, ip);
		sh->npassed--;
		c = NULL;
	}
	pthread_mutex_unlock(&sh->lim_lock);
	return c != NULL;
}

void ip_remember_pregreet(struct edge *e, const char *ip)
{
	struct edge_shared *sh = e->sh;
	if (e->cfg.pregreet_remember_s == 0)
		return;
	lim_lock(sh);
	/* bounded: beyond it, addresses simply wait again */
	struct ipcount *c = sh->npassed < PASSED_MAX ? ip_find(sh->passed, ip, 1) : ip_find(sh->passed, ip, 0);
	if (c) {
		if (c->expires == 0)
			sh->npassed++;
		c->expires = now_mono() + (double)e->cfg.pregreet_remember_s;
	}
	pthread_mutex_unlock(&sh->lim_lock);
}

/* ip_uncount - one session fewer from ip (under lim_lock). */
static void ip_uncount(struct edge_shared *sh, const char *ip)
{
	struct ipcount *c = ip_find(sh->ipt, ip, 0);
	if (c && --c->n <= 0)
		ip_remove(sh->ipt, ip);
}

/* session_count - the process's session count changed by d (under lim_lock). */
static void session_count(struct edge_shared *sh, int d)
{
	sh->nsessions = (size_t)((long long)sh->nsessions + d);
	cl_metric_set(sh->open, (int64_t)sh->nsessions);
}

void loop_update_events(struct session *s)
{
	if (s->fd < 0)
		return;
	int want = 0;
	/* Stop reading when the input bound is reached (back-pressure); resume once the
	 * session has consumed what it holds. */
	if ((s->phase != PH_CLOSING || s->linger) && !s->eof && s->in.len < s->in.max)
		want |= EPOLLIN;
	if (s->out.len > 0 || s->ssl_want_write)
		want |= EPOLLOUT;
	if (want == s->ev_mask)
		return;
	struct epoll_event ev = {.events = (uint32_t)want, .data.ptr = s};
	epoll_ctl(s->e->epfd, EPOLL_CTL_MOD, s->fd, &ev);
	s->ev_mask = want;
}

/* loop_push_completion - queue c for the loop. Only a push onto an empty queue signals the
 * eventfd: a non-empty queue has a signal pending already (its first push made it), or the
 * loop has read the eventfd and will take the whole queue, this one included, under the lock
 * (drain_queue reads first, then takes). Under load most completions find the queue busy. */
void loop_push_completion(struct edge *e, struct completion *c)
{
	pthread_mutex_lock(&e->qlock);
	c->next = NULL;
	int first = e->qtail == NULL;
	if (e->qtail)
		e->qtail->next = c;
	else
		e->qhead = c;
	e->qtail = c;
	pthread_mutex_unlock(&e->qlock);
	uint64_t one = 1;
	if (first && write(e->evfd, &one, sizeof one) < 0) {
		/* the counter saturating still leaves the fd readable */
	}
}

/* drain_queue - hand every queued completion to its session. The eventfd is read before the
 * queue is taken: loop_push_completion relies on that order. */
static void drain_queue(struct edge *e)
{
	uint64_t v;
	if (read(e->evfd, &v, sizeof v) < 0) {
		/* EAGAIN: nothing signalled yet */
	}
	pthread_mutex_lock(&e->qlock);
	struct completion *c = e->qhead;
	e->qhead = e->qtail = NULL;
	pthread_mutex_unlock(&e->qlock);
	while (c) {
		struct completion *next = c->next;
		struct session *s = c->s; /* c is freed by decide_completion, s only by reap_sessions */
		decide_completion(c);
		conn_trim(s);
		loop_timer_update(s);
		c = next;
	}
}

/* refuse_limit - a connection over a limit (ip: its address): told why, closed, counted and
 * logged. */
static void refuse_limit(struct edge *e, int fd, const char *why, const char *ip)
{
	cl_metric_inc(e->m.refused_limit);
	if (write(fd, why, strlen(why)) < 0) {
		/* best effort */
	}
	close(fd);
	cl_log(CL_LOG_INFO, NULL, "refused", "reason=limit ip=%s", ip);
}

/* The descriptor limit. edge_setup keeps CLEMENT_MAX_SESSIONS below it (workers.c), so a
 * client over the limit is accepted and told 421 like any other. Should accept still run out
 * (something else took the descriptors, or the kernel is out of memory), the connection stays
 * in the listen queue and the listener stays readable: the loop would wake on it at once, again
 * and again. So the listeners are paused for ACCEPT_PAUSE_S and the loop serves the sessions
 * it has; the clients waiting are taken when descriptors are free again. */
#define ACCEPT_PAUSE_S 0.1
#define FD_LIMIT_LOG_S 10.0

/* fd_limit_warn - say so, at most once per FD_LIMIT_LOG_S: a flood would write a line per
 * connection. */
static void fd_limit_warn(struct edge *e)
{
	double now = now_mono();
	if (e->fd_limit_logged > 0 && now - e->fd_limit_logged < FD_LIMIT_LOG_S)
		return;
	e->fd_limit_logged = now;
	cl_log(CL_LOG_WARN, NULL, "fd_limit",
	       "worker=%d sessions=%zu max_sessions=%lld: out of file descriptors, not accepting for %.1f s (raise "
	       "the limit: LimitNOFILE= in the systemd unit, ulimits nofile in compose, ulimit -n)",
	       e->id, e->nsessions, e->cfg.max_sessions, ACCEPT_PAUSE_S);
}

/* listeners_want - what the open listeners wake the loop for: EPOLLIN, or 0 while paused. */
static void listeners_want(struct edge *e, uint32_t events)
{
	for (int i = 0; i < LST_COUNT; i++)
		if (e->lst[i].fd >= 0) {
			struct epoll_event ev = {.events = events, .data.u64 = TAG_LISTENER + (uint64_t)i};
			epoll_ctl(e->epfd, EPOLL_CTL_MOD, e->lst[i].fd, &ev);
		}
}

/* accept_pause - take the listeners out of the wake-ups until accept_paused_until. */
static void accept_pause(struct edge *e)
{
	if (e->accept_paused_until > 0)
		return;
	listeners_want(e, 0);
	e->accept_paused_until = now_mono() + ACCEPT_PAUSE_S;
}

/* accept_resume - the pause is over: the listeners wake the loop again. */
static void accept_resume(struct edge *e, double now)
{
	if (e->accept_paused_until <= 0 || now < e->accept_paused_until)
		return;
	e->accept_paused_until = 0;
	listeners_want(e, EPOLLIN);
}

/* accept_one - take one connection and apply the global and per-address limits. 1 when one
 * was taken (served or refused), 0 when none is waiting or accept failed otherwise (the
 * listener stays readable, so the next wake-up tries again, unless it was paused). */
static int accept_one(struct edge *e, struct listener *l)
{
	struct sockaddr_storage sa;
	socklen_t slen = sizeof sa;
	int fd = accept4(l->fd, (struct sockaddr *)&sa, &slen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			if (errno == EMFILE || errno == ENFILE)
				fd_limit_warn(e);
			accept_pause(e);
			return 0;
		}
		return errno == ECONNABORTED || errno == EINTR; /* that one is gone; others may wait */
	}
	char ip[64] = "";
	int port = 0;
	if (sa.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&sa;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
		port = ntohs(a->sin_port);
	} else if (sa.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&sa;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
		port = ntohs(a->sin6_port);
	}
	/* Limits are checked before any allocation: a flood costs one accept and one write. */
	if (l->proxy && !cl_netset_has(&e->nets, ip)) {
		/* PROXY headers only from our load balancers: anyone else could forge a client.
		 * Counted before the close, so a client that sees it closed sees it counted. */
		cl_metric_inc(e->m.refused_proxy);
		close(fd);
		cl_log(CL_LOG_WARN, NULL, "refused", "reason=proxy_untrusted ip=%s", ip);
		return 1;
	}
	/* checked and counted at once, under the lock every worker takes: the limits are the
	 * process's, whichever worker the kernel gave the connection to */
	struct edge_shared *sh = e->sh;
	const char *why = NULL;
	lim_lock(sh);
	struct ipcount *c = ip_find(sh->ipt, ip, 0);
	if ((long long)sh->nsessions >= e->cfg.max_sessions)
		why = "421 4.7.0 Too many connections, try again later\r\n";
	else if (!l->proxy && c && c->n >= e->cfg.max_per_ip) /* behind PROXY: checked on the real address */
		why = "421 4.7.0 Too many connections from your address, try again later\r\n";
	else if (!(c = ip_find(sh->ipt, ip, 1)))
		why = "421 4.3.0 Out of memory, try again later\r\n";
	else {
		c->n++;
		session_count(sh, 1);
	}
	pthread_mutex_unlock(&sh->lim_lock);
	if (why) {
		refuse_limit(e, fd, why, ip);
		return 1;
	}
	struct session *s = session_new(e, l, fd, ip, port);
	if (!s) {
		close(fd);
		lim_lock(sh);
		ip_uncount(sh, ip);
		session_count(sh, -1);
		pthread_mutex_unlock(&sh->lim_lock);
		return 1;
	}
	session_start(s);
	loop_timer_update(s);
	return 1;
}

/* At most this many connections per listener and wake-up, so that a flood of new ones
 * cannot starve the sessions already open. */
#define ACCEPT_BATCH 64

int loop_accept(struct edge *e, struct listener *l)
{
	int n = 0;
	while (n < ACCEPT_BATCH && l->fd >= 0 && accept_one(e, l))
		n++;
	return n;
}

/* loop_timer_update - file s at its next deadline, or take it out when it has none. */
void loop_timer_update(struct session *s)
{
	struct edge *e = s->e;
	double due = session_next_due(s, now_mono());
	if (due == 0) {
		cl_theap_remove(&e->timers, &s->timer);
	} else if (cl_theap_set(&e->timers, &s->timer, due) < 0) {
		/* no memory for one more heap slot: the session cannot be timed, so it goes */
		session_close(s, "no_memory");
		cl_theap_remove(&e->timers, &s->timer);
	}
}

/* loop_session_gone - forget s in the loop's tables (called by session_free). */
void loop_session_gone(struct session *s)
{
	struct edge *e = s->e;
	cl_theap_remove(&e->timers, &s->timer);
	lim_lock(e->sh);
	ip_uncount(e->sh, s->ip);
	session_count(e->sh, -1);
	pthread_mutex_unlock(&e->sh->lim_lock);
}

int loop_ip_data_charge(void *owner, long long delta)
{
	struct session *s = owner;
	struct edge_shared *sh = s->e->sh;
	int rc = 0;
	lim_lock(sh);
	struct ipcount *c = ip_find(sh->ipt, s->ip, 0); /* there while s is counted under it */
	if (!c)
		rc = delta > 0 ? -1 : 0;
	else if (delta > 0 && (size_t)delta > (size_t)s->e->cfg.max_data_memory_per_ip - c->data)
		rc = -1;
	else
		c->data = (size_t)((long long)c->data + delta);
	pthread_mutex_unlock(&sh->lim_lock);
	return rc;
}

int loop_ip_data_room(struct session *s, size_t size)
{
	struct edge_shared *sh = s->e->sh;
	size_t max = (size_t)s->e->cfg.max_data_memory_per_ip;
	lim_lock(sh);
	struct ipcount *c = ip_find(sh->ipt, s->ip, 0);
	int room = !c || (c->data < max && size <= max - c->data);
	pthread_mutex_unlock(&sh->lim_lock);
	return room;
}

/* loop_session_moved - the PROXY header named the real client: count the session under
 * that address. Returns -1 when the address is over its limit. */
int loop_session_moved(struct session *s, const char *ip)
{
	struct edge_shared *sh = s->e->sh;
	lim_lock(sh);
	ip_uncount(sh, s->ip);
	cl_strlcpy(s->ip, ip, sizeof s->ip);
	struct ipcount *c = ip_find(sh->ipt, ip, 1);
	if (c)
		c->n++;
	int over = !c || c->n > s->e->cfg.max_per_ip;
	pthread_mutex_unlock(&sh->lim_lock);
	return over ? -1 : 0;
}

/* start_drain - SIGTERM: stop accepting; idle sessions are told 421 and closed, busy
 * ones finish their current step (bounded by CLEMENT_SHUTDOWN_GRACE_S). */
static void start_drain(struct edge *e)
{
	struct edge_shared *sh = e->sh;
	e->draining = 1;
	e->drain_deadline = now_mono() + (double)e->cfg.shutdown_grace_s;
	for (int i = 0; i < LST_COUNT; i++)
		if (e->lst[i].fd >= 0) {
			epoll_ctl(e->epfd, EPOLL_CTL_DEL, e->lst[i].fd, NULL);
			close(e->lst[i].fd);
			e->lst[i].fd = -1;
		}
	/* No session is told 421 before every worker has closed its listeners: a client told
	 * the service is going must not get in through another worker's socket. The workers were
	 * woken together; a worker that never comes (its loop failed) is not waited for long. */
	atomic_fetch_add(&sh->listeners_closed, 1);
	for (double until = now_mono() + 1.0;
	     atomic_load(&sh->listeners_closed) < atomic_load(&sh->running) && now_mono() < until;)
		usleep(1000);
	for (struct session *s = e->sessions, *n; s; s = n) {
		n = s->next;
		session_process(s);
		loop_timer_update(s);
	}
	cl_log(CL_LOG_INFO, NULL, "draining", "worker=%d sessions=%zu", e->id, e->nsessions);
}

/* drain_expire - the grace is over: a session still waiting for an RPC (or a client) is
 * told so and closed now, without the linger; its call is cancelled at exit. Once. */
static void drain_expire(struct edge *e)
{
	e->drain_expired = 1;
	for (struct session *s = e->sessions; s; s = s->next) {
		if (s->dead)
			continue;
		session_reply(s, "421 4.3.2 Service shutting down, closing transmission channel");
		s->linger = 1;
		session_close(s, "shutdown");
		loop_timer_update(s);
	}
}

/* run_timers - tick every session whose deadline has come, then re-file it. The due ones
 * are popped first, so a session re-filed at once cannot be ticked twice in one pass. */
static void run_timers(struct edge *e, double now)
{
	struct session *due = NULL;
	struct cl_theap_node *t;
	while ((t = cl_theap_peek(&e->timers)) && t->when <= now) {
		cl_theap_pop(&e->timers);
		struct session *s = (struct session *)(void *)((char *)t - offsetof(struct session, timer));
		s->tnext = due;
		due = s;
	}
	for (struct session *s = due, *n; s; s = n) {
		n = s->tnext;
		session_tick(s, now);
		loop_timer_update(s);
	}
	if (e->draining && !e->drain_expired && now >= e->drain_deadline)
		drain_expire(e);
}

/* wait_ms - epoll's timeout: until the earliest session deadline or the end of the drain
 * grace, rounded up so nothing is ticked early. */
static int wait_ms(const struct edge *e, double now)
{
	double until = now + 1.0; /* an upper bound; an idle worker wakes once a second */
	const struct cl_theap_node *t = cl_theap_peek(&e->timers);
	if (t && t->when < until)
		until = t->when;
	if (e->draining && !e->drain_expired && e->drain_deadline < until)
		until = e->drain_deadline;
	if (e->accept_paused_until > 0 && e->accept_paused_until < until)
		until = e->accept_paused_until;
	if (until <= now)
		return 0;
	return (int)ceil((until - now) * 1000.0);
}

/* live_sessions - sessions not closed yet (the others wait only for their RPCs). */
static size_t live_sessions(const struct edge *e)
{
	size_t n = 0;
	for (const struct session *s = e->sessions; s; s = s->next)
		n += !s->dead;
	return n;
}

int loop_init(struct edge *e)
{
	pthread_mutex_init(&e->qlock, NULL);
	e->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->evfd < 0 || e->epfd < 0)
		return -1;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_EVENTFD};
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->evfd, &ev) < 0)
		return -1;
	if (e->rep.dns) {
		ev.data.u64 = TAG_DNS;
		if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, cl_dns_fd(e->rep.dns), &ev) < 0)
			return -1;
	}
	for (int i = 0; i < LST_COUNT; i++)
		if (e->lst[i].fd >= 0) {
			ev.data.u64 = TAG_LISTENER + (uint64_t)i;
			if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->lst[i].fd, &ev) < 0)
				return -1;
		}
	return 0;
}

void loop_wake(struct edge *e)
{
	uint64_t one = 1;
	if (e->evfd >= 0 && write(e->evfd, &one, sizeof one) < 0) {
		/* the counter saturating still leaves the fd readable */
	}
}

/* control - what the main thread asked for: a reloaded certificate, the drain. */
static void control(struct edge *e)
{
	if (e->tls_gen != atomic_load(&e->sh->tls_gen))
		tls_adopt(e);
	if (!e->draining && atomic_load(&e->sh->draining))
		start_drain(e);
}

int loop_run(struct edge *e)
{
	/* Closed sessions whose RPC is still out do not hold the exit: teardown cancels it. */
	control(e);
	while (!e->draining || live_sessions(e) > 0) {
		struct epoll_event evs[256];
		int n = epoll_wait(e->epfd, evs, 256, wait_ms(e, now_mono()));
		if (n < 0 && errno != EINTR)
			return -1;
		control(e); /* before the accepts: a handshake after a reload gets the new certificate */
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == TAG_EVENTFD) {
				drain_queue(e);
			} else if (tag == TAG_DNS) {
				rep_process(e);
			} else if (tag >= TAG_LISTENER && tag < TAG_LISTENER + LST_COUNT) {
				loop_accept(e, &e->lst[tag - TAG_LISTENER]);
			} else {
				struct session *s = evs[i].data.ptr;
				session_on_event(s, evs[i].events);
				conn_trim(s); /* nothing on the stack points into s->in here */
				loop_timer_update(s);
			}
		}
		reap_sessions(e, 0);
		double now = now_mono();
		run_timers(e, now);
		accept_resume(e, now);
		reap_sessions(e, 0);
	}
	return 0;
}

/* loop_wait_rpcs - at exit, give the calls still in flight (the last logs, a session's
 * call after the grace period) up to max_s to complete, so nothing is abandoned in an
 * RPC client while the clients close. */
void loop_wait_rpcs(struct edge *e, double max_s)
{
	double end = now_mono() + max_s;
	while (now_mono() < end) {
		drain_queue(e);
		int busy = atomic_load(&e->fire_inflight) > 0;
		for (struct session *z = e->zombies; z && !busy; z = z->znext)
			busy = z->inflight > 0;
		if (!busy)
			return;
		usleep(10000);
	}
}

/* loop_fini - after every session is closed and the RPC clients are gone: drain the
 * last completions, free the sessions, release the tables. */
void loop_fini(struct edge *e)
{
	if (e->evfd >= 0)
		drain_queue(e);
	reap_sessions(e, 1);
	cl_theap_fini(&e->timers);
	if (e->evfd >= 0)
		close(e->evfd);
	e->evfd = -1;
	if (e->epfd >= 0)
		close(e->epfd);
	e->epfd = -1;
	pthread_mutex_destroy(&e->qlock);
}
