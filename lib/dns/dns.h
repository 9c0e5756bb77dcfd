/* dns.h - Clement's one asynchronous DNS resolver (libunbound), driven by an event loop.
 *
 * Modes (cl_dns_new's spec, CLEMENT_DNS_RESOLVER):
 *   ""                 full recursion from this host (the big blocklists refuse public resolvers)
 *   "system"           /etc/hosts, then the forwarders of /etc/resolv.conf
 *   "host:port[,...]"  forwarding to these servers (tests, corporate resolvers); "host" alone is port 53
 * Answers are cached by TTL, clamped to 60 s - 1 h; negative answers are cached too.
 *
 * Threads: one thread (the loop's) calls every function here; libunbound works in a thread of
 * its own and hands results back through cl_dns_fd(). When that fd is readable the loop calls
 * cl_dns_process(), which runs the callbacks of the answered queries on the loop's thread.
 * A cancelled query's callback is never called. */
#ifndef CLEMENT_DNS_DNS_H
#define CLEMENT_DNS_DNS_H

#include <stddef.h>

#define CL_DNS_TYPE_A    1
#define CL_DNS_TYPE_PTR  12
#define CL_DNS_TYPE_TXT  16
#define CL_DNS_TYPE_AAAA 28

/* CLEMENT_DNS_RESOLVER, the same row in every table that reads it (smtp-edge, policy,
 * delivery, banstats), so the setting reads the same everywhere (util/config.h's rows). */
#define CL_SETTING_DNS_RESOLVER(dst)                                                                                   \
	{                                                                                                              \
		"CLEMENT_DNS_RESOLVER", CL_SET_STR, "", 0, 0,                                                          \
		    "Clement's one DNS resolver (reputation lookups, downstream and smarthost names, RCPT probes, "    \
		    "mesh peers): empty = full recursion from this host (public resolvers are refused by the big "     \
		    "blocklists), system = /etc/hosts and the servers of /etc/resolv.conf, or "                        \
		    "host:port[,host:port...] "                                                                        \
		    "to forward to",                                                                                   \
		    (dst)                                                                                              \
	}

#define CL_DNS_MAX_ANSWERS 8
#define CL_DNS_NAME_MAX    256

enum cl_dns_status {
	CL_DNS_OK = 0,   /* at least one record of the type asked */
	CL_DNS_NXDOMAIN, /* the name does not exist */
	CL_DNS_NODATA,   /* the name exists, no record of that type */
	CL_DNS_ERROR,    /* SERVFAIL, refused, timeout inside the resolver, bad data */
};

/* One answer: up to CL_DNS_MAX_ANSWERS records as text (A and AAAA in presentation form, PTR
 * as a name without the final dot, TXT the first string). */
struct cl_dns_answer {
	enum cl_dns_status status;
	int n;
	char rr[CL_DNS_MAX_ANSWERS][CL_DNS_NAME_MAX];
};

/* Called on the loop's thread from cl_dns_process(); a is only valid during the call. */
typedef void (*cl_dns_cb)(void *arg, const struct cl_dns_answer *a);

struct cl_dns;

/* cl_dns_new - a resolver for spec (see above). NULL with err when spec is malformed or
 * libunbound cannot be set up. The caller frees it with cl_dns_free(). */
struct cl_dns *cl_dns_new(const char *spec, char *err, size_t errlen);
void cl_dns_free(struct cl_dns *d);
/* cl_dns_fd - readable when answers are waiting for cl_dns_process(). */
int cl_dns_fd(struct cl_dns *d);
/* cl_dns_process - run the callbacks of the answers that arrived. 0 or -1. */
int cl_dns_process(struct cl_dns *d);
/* cl_dns_query - ask name/type; cb(arg, answer) later. Returns a query id (> 0) for
 * cl_dns_cancel, or -1 (nothing will be called back). */
int cl_dns_query(struct cl_dns *d, const char *name, int type, cl_dns_cb cb, void *arg);
/* cl_dns_cancel - forget query id: its callback is never called. */
void cl_dns_cancel(struct cl_dns *d, int id);
/* cl_dns_reverse_name - the reverse-lookup name of ip under zone ("in-addr.arpa" for PTR,
 * a DNSBL zone otherwise): 1.2.3.4 -> 4.3.2.1.zone, IPv6 by nibbles (RFC 5782 2.4).
 * 0, or -1 when ip is not an address or out does not hold the name. */
int cl_dns_reverse_name(const char *ip, const char *zone, char *out, size_t outlen);

#endif
