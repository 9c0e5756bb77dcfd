/* net.h - IP addresses and CIDR sets for policy's connect decisions.
 *
 * Addresses are kept in one 16-byte form per family; an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, RFC 4291 section 2.5.5.2) is turned into plain IPv4 so that a ban on
 * 192.0.2.0/24 also covers a client seen through a dual-stack socket.
 *
 * A pn_set is a sorted array of networks. Lookup tries each prefix length that occurs in
 * the set, longest first, masks the address and binary-searches: cost is bounded by the
 * number of distinct prefix lengths (at most 33 + 129), not by the number of entries.
 * Ownership: the set owns its array; entries carry an index into the caller's own table. */
#ifndef CLEMENT_POLICY_NET_H
#define CLEMENT_POLICY_NET_H

#include <stddef.h>

struct pn_addr {
	int family; /* 4 or 6 */
	unsigned char b[16];
};

struct pn_entry {
	struct pn_addr net; /* already masked */
	int plen;
	size_t idx; /* the caller's row */
};

struct pn_set {
	struct pn_entry *v;
	size_t n, cap;
	unsigned char lens4[33], lens6[129]; /* which prefix lengths occur */
};

/* pn_addr_parse - text address (no prefix) into a; 0 or -1. */
int pn_addr_parse(const char *s, struct pn_addr *a);
/* pn_cidr_parse - "addr/len" or "addr" (full length) into a (masked) and *plen; 0 or -1. */
int pn_cidr_parse(const char *s, struct pn_addr *a, int *plen);
/* pn_is_loopback - 127.0.0.0/8 or ::1. */
int pn_is_loopback(const struct pn_addr *a);

/* pn_set_add - add a network (copied); 0, or -1 when out of memory. Call pn_set_finish after the last add. */
int pn_set_add(struct pn_set *s, const struct pn_addr *net, int plen, size_t idx);
void pn_set_finish(struct pn_set *s);
/* pn_set_find - the idx of the most specific network containing a for which ok(arg, idx)
 * is non-zero (ok may be NULL: any); -1 when none. */
long pn_set_find(const struct pn_set *s, const struct pn_addr *a, int (*ok)(void *arg, size_t idx), void *arg);
void pn_set_free(struct pn_set *s);

#endif
