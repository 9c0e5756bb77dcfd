/* net.h - the TCP building blocks every Clement part shares (Redis's anet.c is the model):
 * a numeric "host:port" as a socket address, a listening socket on it, and a connection to
 * a host name with a deadline.
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

/* cl_net_dial - a TCP connection to host (a name or a numeric address) and port, trying each
 * address the resolver gives in turn, all within timeout_ms from the call (the name lookup
 * itself is bounded by the resolver's own timeouts). The connected descriptor,
 * non-blocking and close-on-exec (the caller closes it), or -1 with err: "cannot resolve
 * host: <why>" or "cannot connect to host port N: <why of the last address>" ("timed out"
 * when the deadline passed). */
int cl_net_dial(const char *host, int port, int timeout_ms, char *err, size_t errlen);

#endif
