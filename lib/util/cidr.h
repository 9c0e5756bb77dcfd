/* cidr.h - IP addresses, networks and sets of networks: the one grammar of every setting
 * that names networks (CLEMENT_NEVER_BAN in policy and banstats, CLEMENT_PROXY_NETWORKS in
 * smtp-edge) and the longest-prefix lookup policy's bans use.
 *
 * Grammar of a network list (cl_netset_parse): tokens separated by commas and/or blanks
 * (space, tab, newline); each token is an IPv4 or IPv6 address with an optional "/len"
 * (0..32, 0..128); a bare address is one host (/32 or /128). A token whose address has
 * bits set after the prefix ("10.0.0.1/8") is refused rather than guessed at. An empty
 * list is an empty set. Errors name the setting and the bad token.
 *
 * Addresses are kept in one 16-byte form per family; an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, RFC 4291 section 2.5.5.2) is turned into plain IPv4 so that a ban on
 * 192.0.2.0/24 also covers a client seen through a dual-stack socket.
 *
 * A cl_netset is a sorted array of networks. Lookup tries each prefix length that occurs in
 * the set, longest first, masks the address and binary-searches: cost is bounded by the
 * number of distinct prefix lengths (at most 33 + 129), not by the number of entries.
 * Ownership: the set owns its array; entries carry an index into the caller's own table. */
#ifndef CLEMENT_UTIL_CIDR_H
#define CLEMENT_UTIL_CIDR_H

#include <stddef.h>

struct cl_ip {
	int family; /* 4 or 6 */
	unsigned char b[16];
};

struct cl_netset_entry {
	struct cl_ip net; /* already masked */
	int plen;
	size_t idx; /* the caller's row */
};

struct cl_netset {
	struct cl_netset_entry *v;
	size_t n, cap;
	unsigned char lens4[33], lens6[129]; /* which prefix lengths occur */
};

/* cl_ip_parse - text address (no prefix) into a; 0 or -1. */
int cl_ip_parse(const char *s, struct cl_ip *a);
/* cl_cidr_parse - "addr/len" or "addr" (full length) into a (masked) and *plen; 0 or -1. */
int cl_cidr_parse(const char *s, struct cl_ip *a, int *plen);
/* cl_ip_is_loopback - 127.0.0.0/8 or ::1. */
int cl_ip_is_loopback(const struct cl_ip *a);

/* cl_netset_add - add a network (copied); 0, or -1 when out of memory. Call cl_netset_finish after the last add. */
int cl_netset_add(struct cl_netset *s, const struct cl_ip *net, int plen, size_t idx);
void cl_netset_finish(struct cl_netset *s);
/* cl_netset_find - the idx of the most specific network containing a for which ok(arg, idx)
 * is non-zero (ok may be NULL: any); -1 when none. */
long cl_netset_find(const struct cl_netset *s, const struct cl_ip *a, int (*ok)(void *arg, size_t idx), void *arg);
void cl_netset_free(struct cl_netset *s);

/* cl_netset_parse - add the networks of list (grammar above) to s, numbering them from
 * s->n, then cl_netset_finish. 0, or -1 with err "<setting>: ...: <token>" (s then holds
 * what was added before the bad token; cl_netset_free it). */
int cl_netset_parse(struct cl_netset *s, const char *setting, const char *list, char *err, size_t errlen);
/* cl_netset_has - 1 when the textual address ip lies inside a network of s, 0 otherwise
 * (also when ip is not an address). */
int cl_netset_has(const struct cl_netset *s, const char *ip);
/* cl_cidr_format - "addr/len" of a (masked) network in its canonical text; 0, or -1 when
 * it does not fit. */
int cl_cidr_format(const struct cl_ip *net, int plen, char *out, size_t outlen);

#endif
