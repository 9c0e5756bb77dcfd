/* net.h - the TCP building blocks every Clement part shares (Redis's anet.c is the model):
 * a numeric "host:port" as a socket address, a listening socket on it, and a connection to
 * a host with a deadline (a name resolved by the caller's resolver, lib/dns).
 *
 * One grammar for every *_LISTEN setting: "host:port" or "[v6]:port" (cl_parse_hostport),
 * the host a numeric IPv4 or IPv6 address, or empty for every IPv4 address (":25"). */
#ifndef CLEMENT_UTIL_NET_H
#define CLEMENT_UTIL_NET_H

#include <stddef.h>
#include <sys/socket.h>

/* cl_net_sockaddr - hostport as a socket address (family, address and port set) into *ss
 * and its length into *len. 0, or -1 with err: "\"hostport\" is not host:port" or
 * "\"hostport\": host must be a numeric IP address" (the caller puts the setting's name
 * before it). */
int cl_net_sockaddr(const char *hostport, struct sockaddr_storage *ss, socklen_t *len, char *err, size_t errlen);

/* cl_net_listen - a non-blocking, close-on-exec TCP socket bound to hostport (SO_REUSEADDR)
 * and listening with the given backlog. The descriptor (the caller closes it), or -1 with
 * err as cl_net_sockaddr's or "cannot listen on hostport: <why>". */
int cl_net_listen(const char *hostport, int backlog, char *err, size_t errlen);

/* A host name's addresses, as numeric text. */
#define CL_NET_ADDRS_MAX 16
struct cl_net_addrs {
	int n;
	char addr[CL_NET_ADDRS_MAX][46]; /* INET6_ADDRSTRLEN */
};

/* cl_net_resolve_fn - how cl_net_dial learns the addresses of a host name: lib/dns's
 * cl_dns_host_dial_resolver (dns/host.h) with its struct cl_dns_host as arg, the one resolver
 * of Clement (util itself resolves no name). 0 with out->n > 0, or -1 with err. */
typedef int (*cl_net_resolve_fn)(void *arg, const char *host, int timeout_ms, struct cl_net_addrs *out, char *err,
				 size_t errlen);
struct cl_net_resolver {
	cl_net_resolve_fn fn;
	void *arg;
};

/* cl_net_dial - a TCP connection to host (a numeric address, or a name that r resolves) and
 * port, trying each address in turn, all within timeout_ms from the call (the lookup
 * included). r may be NULL when host is numeric. The connected descriptor, non-blocking and
 * close-on-exec (the caller closes it), or -1 with err: "cannot resolve host: <why>" (the resolver's err, which names the host) or
 * "cannot connect to host port N: <why of the last address>" ("timed out" when the deadline
 * passed). */
int cl_net_dial(const struct cl_net_resolver *r, const char *host, int port, int timeout_ms, char *err, size_t errlen);

#endif
