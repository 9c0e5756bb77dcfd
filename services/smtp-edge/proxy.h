/* proxy.h - HAProxy PROXY protocol v1 and v2 (haproxy's doc/proxy-protocol.txt) on
 * listeners behind a load balancer, so that bans, logs and policy see the real client.
 *
 * Only peers inside CLEMENT_PROXY_NETWORKS (a util/cidr.h set) may send the header; on a listener that
 * expects it, anyone else is disconnected, and so is a peer whose header is malformed or
 * does not arrive before the greeting timeout. The header is read with MSG_PEEK first and
 * then exactly its length, so the bytes after it (a TLS ClientHello on 465) stay in the
 * socket for the next reader. */
#ifndef CLEMENT_EDGE_PROXY_H
#define CLEMENT_EDGE_PROXY_H

#include <stddef.h>

/* proxy_parse - parse a header at p[0..len). Returns its length (> 0) and fills ip/port
 * (left unchanged for LOCAL / UNKNOWN), 0 when more bytes are needed, -1 when malformed. */
long proxy_parse(const unsigned char *p, size_t len, char *ip, size_t iplen, int *port);

#endif
