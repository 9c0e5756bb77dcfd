/* host.h - a host name's addresses through Clement's one resolver (dns.h), for code that
 * connects out of a worker thread: delivery's relay to a downstream or smarthost, policy's
 * recipient probe, banstats' mesh push. No code of Clement resolves a mail-path name on its
 * own (getaddrinfo and friends are for the platform's service names only, docs/ARCHITECTURE.md
 * "Name resolution"; scripts/check-arch holds the tree to it).
 *
 * One struct cl_dns_host per process: a struct cl_dns (same spec as CLEMENT_DNS_RESOLVER,
 * same TTL-clamped cache) driven by a thread of its own, so any number of threads may call
 * cl_dns_host_resolve() at once, each waiting at most its own deadline. A numeric address
 * is returned as it is, without a query. */
#ifndef CLEMENT_DNS_HOST_H
#define CLEMENT_DNS_HOST_H

#include <stddef.h>

#include "dns/dns.h"
#include "util/net.h"

struct cl_dns_host;

/* cl_dns_host_new - a resolver for spec (dns.h's modes) and its thread. NULL with err when
 * the spec is malformed or the resolver or thread cannot be set up. Freed by
 * cl_dns_host_free() once no thread resolves through it any more. */
struct cl_dns_host *cl_dns_host_new(const char *spec, char *err, size_t errlen);
void cl_dns_host_free(struct cl_dns_host *h);

/* cl_dns_host_resolve - the A and AAAA addresses of name into *out (the A records first, at
 * most CL_NET_ADDRS_MAX), waiting at most
 * timeout_ms. CL_DNS_OK (out->n > 0), or the reason there is none with err ("host.example:
 * no such domain", "...: no address", "...: DNS failure", "...: DNS timed out"):
 * CL_DNS_NXDOMAIN, CL_DNS_NODATA, or CL_DNS_ERROR (also a timeout and an empty or
 * malformed name). Thread-safe. */
enum cl_dns_status cl_dns_host_resolve(struct cl_dns_host *h, const char *name, int timeout_ms,
				       struct cl_net_addrs *out, char *err, size_t errlen);

/* cl_dns_host_dial_resolver - util/net.h's resolver hook (arg: the struct cl_dns_host) for
 * cl_net_dial and cl_smtpc_connect: cl_dns_host_resolve as 0, or -1 with err. */
int cl_dns_host_dial_resolver(void *arg, const char *name, int timeout_ms, struct cl_net_addrs *out, char *err,
			      size_t errlen);

#endif
