/* main.c - clement-smtp-edge: the ESMTP server facing the Internet. It decides during the
 * session (policy at each step, scanner and delivery before the reply to DATA) so that
 * every refusal reaches the real sender as an SMTP reply.
 *
 * This file: the settings table, start-up (TLS context, listeners, RPC clients,
 * /healthz and /metrics), the event loop (loop.c) and an orderly exit. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns/dns.h"
#include "edge.h"
#include "svc/service.h"
#include "util/log.h"
#include "util/net.h"

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
	m->open = cl_metrics_gauge(r, "clement_edge_sessions_open", "SMTP sessions open now", "");
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
static int ready(void *ctx, char *why, size_t whylen)
{
	struct edge *e = ctx;
	if (e->draining) {
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

/* setup - listeners, TLS and RPC clients; -1 with err. */
static int setup(struct edge *e, char *err, size_t errlen)
{
	struct edge_config *c = &e->cfg;
	const char *addrs[LST_COUNT] = {c->smtp_listen, c->smtps_listen, c->submission_listen};
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
	for (int i = 0; i < LST_COUNT; i++)
		if (addrs[i][0] && (e->lst[i].fd = cl_net_listen(addrs[i], 1024, err, errlen)) < 0)
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
	if ((e->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		snprintf(err, errlen, "epoll: %m");
		return -1;
	}
	return 0;
}

static void teardown(struct edge *e)
{
	for (int i = 0; i < LST_COUNT; i++)
		if (e->lst[i].fd >= 0)
			close(e->lst[i].fd);
	/* Sessions first (their last logs still go out), then the clients: closing them
	 * completes every call in flight with an error, queued for loop_fini to drain. */
	for (struct session *s = e->sessions; s; s = s->next)
		if (!s->dead) {
			s->phase = PH_CLOSING;
			s->linger = 1; /* at exit: no reading on */
			session_close(s, "shutdown");
		}
	if (e->evfd >= 0) {
		/* The last session logs may take what is left of the grace (at least a moment, at
		 * most 5 s); whatever is still out then, a session's call past the grace or a log to
		 * a silent policy, is cancelled, so the process exits when the grace says. */
		double left = e->drain_deadline - now_mono();
		loop_wait_rpcs(e, left < 0.2 ? 0.2 : left > 5.0 ? 5.0 : left);
		struct cl_rpc_client *cl[] = {e->policy, e->scanner, e->delivery, e->banstats};
		for (size_t i = 0; i < sizeof cl / sizeof cl[0]; i++)
			cl_rpc_client_cancel_all(cl[i]);
		loop_wait_rpcs(e, 2.0);
	}
	cl_rpc_client_free(e->policy);
	cl_rpc_client_free(e->scanner);
	cl_rpc_client_free(e->delivery);
	cl_rpc_client_free(e->banstats);
	loop_fini(e);
	rep_teardown(e); /* after the sessions, which cancel their lookups */
	if (e->epfd >= 0)
		close(e->epfd);
	if (e->sigfd >= 0)
		close(e->sigfd);
	SSL_CTX_free(e->tls);
	pthread_mutex_destroy(&e->qlock);
}

static struct edge e;

/* svc_setup - listeners, TLS, RPC clients, then the metrics. */
static int svc_setup(void *ctx, struct cl_metrics *reg, char *err, size_t errlen)
{
	(void)ctx;
	struct edge_config *c = &e.cfg;
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
	pthread_mutex_init(&e.qlock, NULL);
	e.epfd = e.evfd = e.sigfd = -1;
	if (setup(&e, err, errlen) < 0)
		return 1;
	e.reg = reg;
	register_metrics(&e);
	rep_metrics(&e);
	return 0;
}

static int svc_start(void *ctx, char *err, size_t errlen)
{
	(void)ctx, (void)err, (void)errlen;
	const struct edge_config *c = &e.cfg;
	cl_log(CL_LOG_INFO, NULL, "start", "smtp=%s smtps=%s submission=%s health=%s", c->smtp_listen, c->smtps_listen,
	       c->submission_listen, c->health_listen);
	if (c->scan_fail_open)
		cl_log(CL_LOG_WARN, NULL, "config",
		       "scan_fail_open=1 warning=\"messages are delivered UNSCANNED whenever the scanner fails\"");
	return 0;
}

/* svc_run - the event loop (loop.c) until a signal and the drain. */
static int svc_run(void *ctx)
{
	return loop_run(ctx) < 0 ? 1 : 0;
}

static void svc_teardown(void *ctx)
{
	teardown(ctx);
}

int main(int argc, char **argv)
{
	struct edge_config *c = &e.cfg;
	const struct cl_setting settings[] = {
	    {"CLEMENT_SMTP_LISTEN", CL_SET_STR, "0.0.0.0:25", 0, 0, "SMTP listener with STARTTLS (empty: off)",
	     &c->smtp_listen},
	    {"CLEMENT_SMTPS_LISTEN", CL_SET_STR, "0.0.0.0:465", 0, 0, "implicit-TLS listener, RFC 8314 (empty: off)",
	     &c->smtps_listen},
	    {"CLEMENT_SUBMISSION_LISTEN", CL_SET_STR, "0.0.0.0:587", 0, 0,
	     "submission listener: AUTH required, offered only under TLS (empty: off)", &c->submission_listen},
	    CL_SETTING_HEALTH_LISTEN("CLEMENT_EDGE_HEALTH_LISTEN", "0.0.0.0:9101", &c->health_listen),
	    {"CLEMENT_TLS_CERT", CL_SET_STR, "", 0, 0, "PEM certificate chain for STARTTLS and 465/587", &c->tls_cert},
	    {"CLEMENT_TLS_KEY", CL_SET_STR, "", 0, 0, "PEM private key of CLEMENT_TLS_CERT", &c->tls_key},
	    {"CLEMENT_TLS_RELOAD_S", CL_SET_INT, "10", 0, 86400,
	     "seconds between looks at CLEMENT_TLS_CERT/KEY: changed files (also a symlink or rename swap) are "
	     "loaded for new handshakes, sessions keep theirs; a pair that fails to load is logged and the old one "
	     "kept; SIGHUP reloads at once (0: on SIGHUP only)",
	     &c->tls_reload_s},
	    {"CLEMENT_HOSTNAME", CL_SET_STR, "localhost", 0, 0, "our name in the greeting and Received: headers",
	     &c->hostname},
	    {"CLEMENT_POSTMASTER", CL_SET_STR, "", 0, 0,
	     "address RCPT TO:<Postmaster> (no domain, RFC 5321 4.1.1.3) is sent to policy as; empty: "
	     "postmaster@ the domain of CLEMENT_HOSTNAME (its first label removed when it has three or more)",
	     &c->postmaster},
	    {"CLEMENT_MAX_RCPT", CL_SET_INT, "100", 1, 100000, "recipients per transaction (452 4.5.3 beyond)",
	     &c->max_rcpt},
	    {"CLEMENT_MAX_MESSAGE_SIZE", CL_SET_INT, "26214400", 1024, 78643200,
	     "largest message in octets (SIZE, 552 5.3.4 beyond)", &c->max_message_size},
	    {"CLEMENT_PREGREET_WAIT", CL_SET_INT, "1000", 0, 30000,
	     "ms between the 220- and 220 greeting lines on port 25; a client talking in between is refused (0: off)",
	     &c->pregreet_wait_ms},
	    {"CLEMENT_PREGREET_REMEMBER_S", CL_SET_INT, "86400", 0, 604800,
	     "seconds an address that passed the pregreet test skips the wait", &c->pregreet_remember_s},
	    {"CLEMENT_POLICY_URL", CL_SET_STR, "tcp://127.0.0.1:7001", 0, 0, "policy service", &c->policy_url},
	    {"CLEMENT_SCANNER_URL", CL_SET_STR, "tcp://127.0.0.1:7002", 0, 0, "scanner service", &c->scanner_url},
	    {"CLEMENT_DELIVERY_URL", CL_SET_STR, "tcp://127.0.0.1:7003", 0, 0, "delivery service", &c->delivery_url},
	    {"CLEMENT_BANSTATS_URL", CL_SET_STR, "", 0, 0,
	     "banstats service, for the XMESH mesh extension (docs/MESH.md): TLS clients on 25/465 are asked for a "
	     "certificate and trusted mesh peers may send ban records; empty: no mesh, XMESH never offered",
	     &c->banstats_url},
	    {"CLEMENT_POLICY_TIMEOUT_MS", CL_SET_INT, "5000", 50, 120000,
	     "deadline of one policy (or banstats) call (then 4xx)", &c->policy_timeout_ms},
	    {"CLEMENT_SCANNER_TIMEOUT_MS", CL_SET_INT, "60000", 50, 600000, "deadline of one scan (then 451)",
	     &c->scanner_timeout_ms},
	    {"CLEMENT_DELIVERY_TIMEOUT_MS", CL_SET_INT, "120000", 50, 600000, "deadline of one delivery (then 451)",
	     &c->delivery_timeout_ms},
	    {"CLEMENT_SCAN_FAIL_OPEN", CL_SET_BOOL, "0", 0, 1,
	     "deliver unscanned when the scanner fails (default: 451 4.3.0)", &c->scan_fail_open},
	    {"CLEMENT_GREET_TIMEOUT_S", CL_SET_INT, "300", 1, 3600,
	     "seconds from connect (PROXY header, TLS on 465, greeting) to the first command line (RFC 5321 "
	     "4.5.3.2.1: 5 minutes)",
	     &c->greet_timeout_s},
	    {"CLEMENT_MAIL_TIMEOUT_S", CL_SET_INT, "300", 1, 3600,
	     "seconds to wait for the next command outside a mail transaction, e.g. MAIL (RFC 5321 4.5.3.2.2: 5 "
	     "minutes)",
	     &c->mail_timeout_s},
	    {"CLEMENT_RCPT_TIMEOUT_S", CL_SET_INT, "300", 1, 3600,
	     "seconds to wait for the next command inside a mail transaction, e.g. RCPT (RFC 5321 4.5.3.2.3: 5 "
	     "minutes)",
	     &c->rcpt_timeout_s},
	    {"CLEMENT_DATA_INIT_TIMEOUT_S", CL_SET_INT, "120", 1, 3600,
	     "seconds from our 354 (or a BDAT command) to the first body octet (RFC 5321 4.5.3.2.4: 2 minutes)",
	     &c->data_init_timeout_s},
	    {"CLEMENT_DATA_TIMEOUT_S", CL_SET_INT, "180", 1, 3600,
	     "seconds without body data once it flows (RFC 5321 4.5.3.2.5: 3 minutes)", &c->data_timeout_s},
	    {"CLEMENT_CMD_TIMEOUT_S", CL_SET_INT, "300", 1, 3600,
	     "seconds to wait for any other line: AUTH continuations, the TLS handshake after STARTTLS (RFC 5321 "
	     "4.5.3.2.7: 5 minutes; the waits for MAIL and RCPT have their own settings)",
	     &c->cmd_timeout_s},
	    {"CLEMENT_MIN_DATA_RATE", CL_SET_INT, "64", 0, 100000000,
	     "minimum body octets per second, averaged over each CLEMENT_MIN_DATA_RATE_WINDOW_S from the first "
	     "octet; slower clients get 421 4.4.2 (0: off)",
	     &c->min_data_rate},
	    {"CLEMENT_MIN_DATA_RATE_WINDOW_S", CL_SET_INT, "30", 1, 3600,
	     "length of the window CLEMENT_MIN_DATA_RATE is measured over", &c->min_data_rate_window_s},
	    {"CLEMENT_MAX_SESSIONS", CL_SET_INT, "10000", 1, 1000000, "concurrent sessions (421 4.7.0 beyond)",
	     &c->max_sessions},
	    {"CLEMENT_MAX_SESSIONS_PER_IP", CL_SET_INT, "20", 1, 100000,
	     "concurrent sessions from one address (421 4.7.0 beyond)", &c->max_per_ip},
	    {"CLEMENT_MAX_ERRORS", CL_SET_INT, "10", 1, 1000, "protocol errors before 421 and close", &c->max_errors},
	    {"CLEMENT_SHUTDOWN_GRACE_S", CL_SET_INT, "20", 0, 600,
	     "on SIGTERM, seconds sessions in flight may take to finish; then those still waiting get 421 4.3.2 "
	     "and the process exits (calls still out are cancelled)",
	     &c->shutdown_grace_s},
	    {"CLEMENT_SMTP_PROXY_PROTOCOL", CL_SET_STR, "", 0, 0,
	     "listeners that expect a HAProxy PROXY v1/v2 header, comma separated: smtp, smtps, submission",
	     &c->proxy_protocol},
	    {"CLEMENT_PROXY_NETWORKS", CL_SET_NETS, "", 0, 0,
	     "CIDRs of the load balancers allowed to send PROXY headers (others are disconnected)",
	     CL_NETS(&c->proxy_networks, &e.nets)},
	    CL_SETTING_DNS_RESOLVER(&c->rep.resolver),
	    {"CLEMENT_DNSBL_SITES", CL_SET_STR, "", 0, 0,
	     "DNS block/allowlists in Postfix postscreen_dnsbl_sites syntax: zone[=filter][*weight], comma "
	     "separated, negative weight = allowlist (e.g. zen.spamhaus.org=127.0.0.[2..11]*3); empty: none",
	     &c->rep.sites_text},
	    {"CLEMENT_DNS_TIMEOUT_MS", CL_SET_INT, "1000", 50, 30000,
	     "how long the greeting waits for the reputation lookups (they run during the pregreet wait); a list "
	     "not answered by then counts as not listed",
	     &c->rep.timeout_ms},
	    {"CLEMENT_REP_NO_PTR_WEIGHT", CL_SET_INT, "0", -1000, 1000,
	     "reputation score added when the client address has no PTR record", &c->rep.w_no_ptr},
	    {"CLEMENT_REP_PTR_MISMATCH_WEIGHT", CL_SET_INT, "0", -1000, 1000,
	     "score added when the PTR name does not resolve back to the client address (FCrDNS)",
	     &c->rep.w_ptr_mismatch},
	    {"CLEMENT_REP_PTR_GENERIC_WEIGHT", CL_SET_INT, "1", -1000, 1000,
	     "score added when the PTR name is generic, named after the address (1-2-3-4.dyn.isp.example): alone "
	     "under the default threshold, it tips a client a lower-weight list names (docs/EFFECTIVENESS.md); counted "
	     "only when the lookups run (CLEMENT_DNSBL_SITES or another CLEMENT_REP_* weight set)",
	     &c->rep.w_ptr_generic},
	    {"CLEMENT_REP_HELO_IP_WEIGHT", CL_SET_INT, "0", -1000, 1000,
	     "score added when HELO/EHLO is a bare IP address (not a [literal])", &c->rep.w_helo_ip},
	    {"CLEMENT_REP_HELO_NOT_FQDN_WEIGHT", CL_SET_INT, "0", -1000, 1000,
	     "score added when HELO/EHLO is not a fully qualified domain name", &c->rep.w_helo_not_fqdn},
	    {"CLEMENT_REP_HELO_US_WEIGHT", CL_SET_INT, "0", -1000, 1000,
	     "score added when HELO/EHLO claims to be us (CLEMENT_HOSTNAME or our address)", &c->rep.w_helo_us},
	    CL_SETTING_LOG_LEVEL(&c->log_level),
	};
	const struct cl_service svc = {
	    .prog = "clement-smtp-edge",
	    .name = "smtp-edge",
	    .summary = "The ESMTP server facing the Internet (ports 25, 465, 587): decides during the session, "
		       "asking policy, scanner and delivery, so that every refusal is an SMTP reply.",
	    CL_SERVICE_SETTINGS(settings, *c),
	    .ctx = &e,
	    .ready = ready,
	    .setup = svc_setup,
	    .start = svc_start,
	    .run = svc_run,
	    .teardown = svc_teardown,
	};
	return cl_service_main(argc, argv, &svc);
}
