/* policy.h - clement-policy's service context: settings, the cache, the log queue, the
 * probe cache and the metrics, shared by the request workers (handler.c) and main.c.
 *
 * One struct policy lives in main() for the whole run; everything in it is set up before
 * the RPC server starts and torn down after it stops. */
#ifndef CLEMENT_POLICY_POLICY_H
#define CLEMENT_POLICY_POLICY_H

#include "auth/imap_login.h"
#include "cache.h"
#include "cache_watch.h"
#include "dns/host.h"
#include "logq.h"
#include "mail/policy_client.h"
#include "mail/verdict.h"
#include "probe.h"
#include "rep.h"
#include "util/cidr.h"
#include "util/metrics.h"

struct policy_config {
	char *listen;
	char *health_listen;
	char *db_url;
	char *log_level;
	long long workers;
	char *never_ban; /* extra CIDRs, comma separated */
	int allow_loopback;
	long long max_stale_s;
	long long debounce_ms;
	long long probe_timeout_ms;
	char *helo_name;
	long long imap_timeout_ms;
	char *imap_ca_file;
	long long log_flush_ms;
	long long log_queue_max;
	long long log_batch_max;
	long long rep_threshold; /* CLEMENT_DNSBL_THRESHOLD */
	char *rep_action_text;   /* CLEMENT_DNSBL_ACTION */
	int rep_action;          /* enum pol_rep_action */
	char *dns_resolver;      /* CLEMENT_DNS_RESOLVER: the probe's downstream names */
};

enum pol_op { OP_CONNECT = 0, OP_HELO, OP_MAIL, OP_RCPT, OP_AUTH, OP_NDECIDE };

/* Why policy refused: clement_policy_refusals_total{reason}, one series per value, named by
 * pol_refusal_names (decide.c). What an admin asks of a spike: which rule is refusing. */
enum pol_refusal {
	PR_ADDRESS = 0,     /* connect: client address not understood */
	PR_LOOPBACK,        /* connect: loopback without CLEMENT_POLICY_ALLOW_LOOPBACK */
	PR_BANNED,          /* connect: a ban (local, banstats or mesh) */
	PR_REPUTATION,      /* connect (drop) or rcpt (enforce): the DNSBL/FCrDNS/HELO score */
	PR_HELO,            /* helo or rcpt: no HELO name, or not a domain or address literal */
	PR_SENDER_SYNTAX,   /* mail or rcpt (before AUTH, smtp-edge leaves MAIL to RCPT) */
	PR_NOT_YOUR_SENDER, /* mail after AUTH: neither the login nor a granted alias */
	PR_RELAY_DENIED,    /* rcpt: a domain we do not serve, not authenticated */
	PR_MAILBOX_DISABLED,
	PR_UNKNOWN_RCPT, /* no such user, here or at the downstream's RCPT probe */
	PR_RCPT_SYNTAX,
	PR_DIRECTIVE, /* the recipient's, its domain's or group's reject rule */
	PR_AUTH,      /* credentials refused (locally or by the group's IMAP server) */
	PR_NREFUSAL
};
extern const char *const pol_refusal_names[PR_NREFUSAL];

struct policy_metrics {
	struct cl_metric *decisions[OP_NDECIDE][3]; /* by op and cl_action */
	struct cl_metric *latency;
	struct cl_metric *reloads, *reload_errors;
	struct cl_metric *log_dropped, *log_written, *db_errors;
	struct cl_metric *probes[3], *probe_hits;
	struct cl_metric *imap_logins[3];
	struct cl_metric *bad_requests;
	struct cl_metric *rep_refused[3], *rep_scored; /* by enum pol_rep_action */
	struct cl_metric *refusals[PR_NREFUSAL];       /* by enum pol_refusal */
};

struct policy {
	const struct policy_config *cfg;
	struct pc_cache cache;
	struct pc_watch watch;
	struct cl_netset never_ban_cfg; /* CLEMENT_NEVER_BAN */
	struct pl_queue logq;
	struct pp_probe probe;
	struct cl_dns_host *dns;         /* lib/dns: the probe's host names */
	struct cl_net_resolver resolver; /* {cl_dns_host_dial_resolver, dns} */
	struct cl_imap_conf imap;
	struct policy_metrics m;
};

/* Decisions read the request as policy's codec decodes it (struct cl_policy_request,
 * lib/mail/policy_client.h). */

/* Decisions (decide.c). snap may be NULL (cache never loaded): the decision defers. */
void pol_connect(struct policy *p, struct pc_snap *snap, const struct cl_policy_request *r, struct cl_verdict *v);
void pol_helo(const struct cl_policy_request *r, struct cl_verdict *v);
/* pol_mail - the sender's syntax and, after AUTH (auth_user set), that it is the login's own
 * address or a sender alias granted to it (553 5.7.1 otherwise). */
void pol_mail(struct policy *p, struct pc_snap *snap, const struct cl_policy_request *r, struct cl_verdict *v);
/* pol_rcpt - verdict and, on accept, the route. The HELO name and the sender's syntax are
 * judged first (smtp-edge answers HELO and MAIL before AUTH itself). Refusals are logged to
 * message_log. */
void pol_rcpt(struct policy *p, struct pc_snap *snap, const struct cl_policy_request *r, struct cl_verdict *v,
	      struct cl_route *rt);
/* pol_auth - verdict; on success canon gets the canonical address. */
void pol_auth(struct policy *p, struct pc_snap *snap, const struct cl_policy_request *r, struct cl_verdict *v,
	      char *canon, size_t canonlen);
/* pol_cache_usable - 1 when decisions may trust the cache (loaded, and the database not
 * unreachable for longer than max_stale_s). */
int pol_cache_usable(struct policy *p, const struct pc_snap *snap);

#endif
