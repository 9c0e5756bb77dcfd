/* main.c - clement-smtp-edge: the ESMTP server facing the Internet. It decides during the
 * session (policy at each step, scanner and delivery before the reply to DATA) so that
 * every refusal reaches the real sender as an SMTP reply.
 *
 * This file: the settings table and the hooks cl_service_main runs (workers.c: start-up,
 * the workers' event loops, signals and an orderly exit). */
#include "dns/dns.h"
#include "edge.h"
#include "svc/service.h"

static struct edge e;

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
	    {"CLEMENT_TLS_RELOAD_S", CL_SET_DURATION, "10", 0, 86400,
	     "seconds between looks at CLEMENT_TLS_CERT/KEY: changed files (also a symlink or rename swap) are "
	     "loaded for new handshakes, sessions keep theirs; a pair that fails to load is logged and the old one "
	     "kept; SIGHUP reloads at once (0: on SIGHUP only)",
	     CL_SECONDS(&c->tls_reload_s)},
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
	    {"CLEMENT_MAX_DATA_MEMORY", CL_SET_INT, "536870912", 1048576, 1099511627776LL,
	     "octets of message data held in memory by all sessions together (a message is held until delivery "
	     "answers); at the limit MAIL gets 452 4.3.1, and a message that would pass it gets 452 4.3.1 at its end: "
	     "keep it to half the edge's memory limit (a message is also copied while it is sent to the scanner and to "
	     "delivery); raised to twice CLEMENT_MAX_MESSAGE_SIZE when lower",
	     &c->max_data_memory},
	    {"CLEMENT_MAX_DATA_MEMORY_PER_IP", CL_SET_INT, "67108864", 1048576, 1099511627776LL,
	     "the share of CLEMENT_MAX_DATA_MEMORY one client address may hold, so that one sender cannot take it "
	     "all (452 4.3.1 to that address beyond); raised to twice CLEMENT_MAX_MESSAGE_SIZE when lower",
	     &c->max_data_memory_per_ip},
	    {"CLEMENT_PREGREET_WAIT", CL_SET_DURATION, "1000", 0, 30000,
	     "time between the 220- and 220 greeting lines on port 25; a client talking in between is refused (0: off)",
	     CL_MILLIS(&c->pregreet_wait_ms)},
	    {"CLEMENT_PREGREET_REMEMBER_S", CL_SET_DURATION, "86400", 0, 604800,
	     "seconds an address that passed the pregreet test skips the wait", CL_SECONDS(&c->pregreet_remember_s)},
	    {"CLEMENT_POLICY_URL", CL_SET_STR, "tcp://127.0.0.1:7001", 0, 0, "policy service", &c->policy_url},
	    {"CLEMENT_SCANNER_URL", CL_SET_STR, "tcp://127.0.0.1:7002", 0, 0, "scanner service", &c->scanner_url},
	    {"CLEMENT_DELIVERY_URL", CL_SET_STR, "tcp://127.0.0.1:7003", 0, 0, "delivery service", &c->delivery_url},
	    {"CLEMENT_BANSTATS_URL", CL_SET_STR, "", 0, 0,
	     "banstats service, for the XMESH mesh extension (docs/MESH.md): TLS clients on 25/465 are asked for a "
	     "certificate and trusted mesh peers may send ban records; empty: no mesh, XMESH never offered",
	     &c->banstats_url},
	    {"CLEMENT_POLICY_TIMEOUT_MS", CL_SET_DURATION, "5000", 50, 120000,
	     "deadline of one policy (or banstats) call (then 4xx)", CL_MILLIS(&c->policy_timeout_ms)},
	    {"CLEMENT_SCANNER_TIMEOUT_MS", CL_SET_DURATION, "60000", 50, 600000, "deadline of one scan (then 451)",
	     CL_MILLIS(&c->scanner_timeout_ms)},
	    {"CLEMENT_DELIVERY_TIMEOUT_MS", CL_SET_DURATION, "120000", 50, 600000,
	     "deadline of one delivery (then 451)", CL_MILLIS(&c->delivery_timeout_ms)},
	    {"CLEMENT_SCAN_FAIL_OPEN", CL_SET_BOOL, "0", 0, 1,
	     "deliver unscanned when the scanner fails (default: 451 4.3.0)", &c->scan_fail_open},
	    {"CLEMENT_GREET_TIMEOUT_S", CL_SET_DURATION, "300", 1, 3600,
	     "seconds from connect (PROXY header, TLS on 465, greeting) to the first command line (RFC 5321 "
	     "4.5.3.2.1: 5 minutes)",
	     CL_SECONDS(&c->greet_timeout_s)},
	    {"CLEMENT_MAIL_TIMEOUT_S", CL_SET_DURATION, "300", 1, 3600,
	     "seconds to wait for the next command outside a mail transaction, e.g. MAIL (RFC 5321 4.5.3.2.2: 5 "
	     "minutes)",
	     CL_SECONDS(&c->mail_timeout_s)},
	    {"CLEMENT_RCPT_TIMEOUT_S", CL_SET_DURATION, "300", 1, 3600,
	     "seconds to wait for the next command inside a mail transaction, e.g. RCPT (RFC 5321 4.5.3.2.3: 5 "
	     "minutes)",
	     CL_SECONDS(&c->rcpt_timeout_s)},
	    {"CLEMENT_DATA_INIT_TIMEOUT_S", CL_SET_DURATION, "120", 1, 3600,
	     "seconds from our 354 (or a BDAT command) to the first body octet (RFC 5321 4.5.3.2.4: 2 minutes)",
	     CL_SECONDS(&c->data_init_timeout_s)},
	    {"CLEMENT_DATA_TIMEOUT_S", CL_SET_DURATION, "180", 1, 3600,
	     "seconds without body data once it flows (RFC 5321 4.5.3.2.5: 3 minutes)", CL_SECONDS(&c->data_timeout_s)},
	    {"CLEMENT_CMD_TIMEOUT_S", CL_SET_DURATION, "300", 1, 3600,
	     "seconds to wait for any other line: AUTH continuations, the TLS handshake after STARTTLS (RFC 5321 "
	     "4.5.3.2.7: 5 minutes; the waits for MAIL and RCPT have their own settings)",
	     CL_SECONDS(&c->cmd_timeout_s)},
	    {"CLEMENT_MIN_DATA_RATE", CL_SET_INT, "64", 0, 100000000,
	     "minimum body octets per second, averaged over each CLEMENT_MIN_DATA_RATE_WINDOW_S from the first "
	     "octet; slower clients get 421 4.4.2 (0: off)",
	     &c->min_data_rate},
	    {"CLEMENT_MIN_DATA_RATE_WINDOW_S", CL_SET_DURATION, "30", 1, 3600,
	     "length of the window CLEMENT_MIN_DATA_RATE is measured over", CL_SECONDS(&c->min_data_rate_window_s)},
	    {"CLEMENT_MAX_SESSIONS", CL_SET_INT, "10000", 1, 1000000,
	     "concurrent sessions (421 4.7.0 beyond); each takes a file descriptor, so a value above the descriptor "
	     "limit less 64 is lowered to that, with a warning at start (raise LimitNOFILE=, ulimits nofile, ulimit "
	     "-n)",
	     &c->max_sessions},
	    {"CLEMENT_MAX_SESSIONS_PER_IP", CL_SET_INT, "20", 1, 100000,
	     "concurrent sessions from one address (421 4.7.0 beyond)", &c->max_per_ip},
	    {"CLEMENT_EDGE_WORKERS", CL_SET_INT, "0", 0, 64,
	     "event loop threads, each with its own SO_REUSEPORT listeners and sessions (the session limits and "
	     "pregreet passes stay the whole process's); 0: one per online core",
	     &c->workers},
	    {"CLEMENT_MAX_ERRORS", CL_SET_INT, "10", 1, 1000, "protocol errors before 421 and close", &c->max_errors},
	    {"CLEMENT_SHUTDOWN_GRACE_S", CL_SET_DURATION, "20", 0, 600,
	     "on SIGTERM, seconds sessions in flight may take to finish; then those still waiting get 421 4.3.2 "
	     "and the process exits (calls still out are cancelled)",
	     CL_SECONDS(&c->shutdown_grace_s)},
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
	    {"CLEMENT_DNS_TIMEOUT_MS", CL_SET_DURATION, "1000", 50, 30000,
	     "how long the greeting waits for the reputation lookups (they run during the pregreet wait); a list "
	     "not answered by then counts as not listed",
	     CL_MILLIS(&c->rep.timeout_ms)},
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
	    .ready = edge_ready,
	    .setup = edge_setup,
	    .start = edge_start,
	    .run = edge_run,
	    .teardown = edge_teardown,
	};
	return cl_service_main(argc, argv, &svc);
}
