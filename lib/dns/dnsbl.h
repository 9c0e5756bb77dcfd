/* dnsbl.h - DNS block- and allowlist sites in Postfix's postscreen_dnsbl_sites syntax, and
 * what one answer of a site means.
 *
 * Syntax (postscreen(8), postconf(5) postscreen_dnsbl_sites), so an admin can paste their line:
 *   sites  = site *( ("," | whitespace) site )
 *   site   = zone [ "=" filter ] [ "*" weight ]      weight: integer, default 1; negative = allowlist
 *   filter = pattern *( ";" pattern )                 any pattern matching is enough
 *   pattern = octet "." octet "." octet "." octet
 *   octet  = number | "[" item *( ";" item ) "]"      item: number | number ".." number
 * e.g. "zen.spamhaus.org=127.0.0.[2..11]*3, list.dnswl.org=127.0.[0..255].[1..3]*-2,
 *       bl.example=127.0.0.2;127.0.0.4".
 * Without a filter any answer in 127.0.0.0/8 counts. An answer outside 127.0.0.0/8, or in
 * 127.255.255.0/24 (Spamhaus's "you asked through a public resolver / over quota" codes), is
 * an error, never a listing, whatever the filter says.
 *
 * Keys: a zone whose first label looks like an access key (16 or more letters and digits, in a
 * zone of 4 or more labels: Spamhaus DQS "KEY.zen.dq.spamhaus.net", Abusix
 * "KEY.combined.mail.abusix.zone") keeps that label only in `zone`, which is used for the
 * queries alone; `name` (the zone without the key) is what replies, logs and the UI show. */
#ifndef CLEMENT_DNS_DNSBL_H
#define CLEMENT_DNS_DNSBL_H

#include <stddef.h>
#include <stdint.h>

#define CL_DNSBL_MAX_SITES    32
#define CL_DNSBL_MAX_PATTERNS 8
#define CL_DNSBL_ZONE_MAX     253

struct cl_dnsbl_pattern {
	uint8_t octet[4][32]; /* bitmap of the values each octet may take */
};

struct cl_dnsbl_site {
	char zone[CL_DNSBL_ZONE_MAX + 1]; /* as configured, key included: queries only */
	char name[CL_DNSBL_ZONE_MAX + 1]; /* shown: the zone without its key */
	int weight;
	int npat; /* 0: no filter */
	struct cl_dnsbl_pattern pat[CL_DNSBL_MAX_PATTERNS];
};

struct cl_dnsbl_sites {
	size_t n;
	struct cl_dnsbl_site site[CL_DNSBL_MAX_SITES];
};

enum cl_dnsbl_result {
	CL_DNSBL_NO_MATCH = 0, /* an answer the filter does not select: not listed */
	CL_DNSBL_MATCH,        /* listed (or allowlisted, by the sign of the weight) */
	CL_DNSBL_ERROR,        /* not a listing: 127.255.255.x, outside 127/8, not an IPv4 address */
};

/* cl_dnsbl_parse - parse text into out (overwritten). "" gives no sites. 0, or -1 with err
 * naming the bad site (err never holds a zone's key). */
int cl_dnsbl_parse(const char *text, struct cl_dnsbl_sites *out, char *err, size_t errlen);
/* cl_dnsbl_match - what the A record answer (dotted IPv4 text) means for site. */
enum cl_dnsbl_result cl_dnsbl_match(const struct cl_dnsbl_site *site, const char *answer);

#endif
