/* dnsbl.c - the postscreen_dnsbl_sites parser and the answer filter. See dnsbl.h. */
#include "dns/dnsbl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

#define KEY_MIN 16

static void bit_set(uint8_t *map, unsigned v)
{
	map[v / 8] |= (uint8_t)(1u << (v % 8));
}

static int bit_get(const uint8_t *map, unsigned v)
{
	return (map[v / 8] >> (v % 8)) & 1;
}

/* number - a decimal 0..255 at *p; advances *p. 0 or -1. */
static int number(const char **p, const char *end, unsigned *v)
{
	const char *s = *p;
	unsigned n = 0;
	size_t digits = 0;
	while (s < end && isdigit((unsigned char)*s) && digits < 4) {
		n = n * 10 + (unsigned)(*s++ - '0');
		digits++;
	}
	if (digits == 0 || digits > 3 || n > 255)
		return -1;
	*v = n;
	*p = s;
	return 0;
}

/* octet - "N" or "[item;item...]" at *p into map; advances *p. 0 or -1. */
static int octet(const char **p, const char *end, uint8_t *map)
{
	unsigned lo, hi;
	if (*p < end && **p != '[') {
		if (number(p, end, &lo) < 0)
			return -1;
		bit_set(map, lo);
		return 0;
	}
	(*p)++;
	for (;;) {
		if (number(p, end, &lo) < 0)
			return -1;
		hi = lo;
		if (end - *p >= 2 && (*p)[0] == '.' && (*p)[1] == '.') {
			*p += 2;
			if (number(p, end, &hi) < 0 || hi < lo)
				return -1;
		}
		for (unsigned v = lo; v <= hi; v++)
			bit_set(map, v);
		if (*p < end && **p == ';') {
			(*p)++;
			continue;
		}
		if (*p < end && **p == ']') {
			(*p)++;
			return 0;
		}
		return -1;
	}
}

/* filter - "pattern;pattern..." in [p, end) into site. 0 or -1. A ';' inside brackets
 * belongs to the octet; outside, it separates patterns. */
static int filter(const char *p, const char *end, struct cl_dnsbl_site *site)
{
	for (;;) {
		if (site->npat >= CL_DNSBL_MAX_PATTERNS)
			return -1;
		struct cl_dnsbl_pattern *pt = &site->pat[site->npat++];
		memset(pt, 0, sizeof *pt);
		for (int i = 0; i < 4; i++) {
			if (i > 0) {
				if (p >= end || *p != '.')
					return -1;
				p++;
			}
			if (octet(&p, end, pt->octet[i]) < 0)
				return -1;
		}
		if (p == end)
			return 0;
		if (*p != ';')
			return -1;
		p++;
	}
}

/* zone_ok - a DNS name of letters, digits, '-', '_' and dots, labels of 1-63. */
static int zone_ok(const char *z, size_t n)
{
	if (n == 0 || n > CL_DNSBL_ZONE_MAX || z[0] == '.' || z[n - 1] == '.')
		return 0;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)z[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return 1;
}

/* display_name - the zone without a leading access key (see dnsbl.h). */
static void display_name(const char *zone, char *name, size_t len)
{
	const char *dot = strchr(zone, '.');
	size_t first = dot ? (size_t)(dot - zone) : strlen(zone);
	int labels = 1;
	for (const char *c = zone; *c; c++)
		labels += *c == '.';
	int key = dot && labels >= 4 && first >= KEY_MIN;
	for (size_t i = 0; key && i < first; i++)
		key = isalnum((unsigned char)zone[i]);
	cl_strlcpy(name, key ? dot + 1 : zone, len);
}

/* site_parse - one site in [p, end). 0 or -1 with err. */
static int site_parse(const char *p, const char *end, struct cl_dnsbl_site *site, char *err, size_t errlen)
{
	memset(site, 0, sizeof *site);
	site->weight = 1;
	const char *star = memchr(p, '*', (size_t)(end - p));
	const char *eq = memchr(p, '=', (size_t)(star ? star : end) - (size_t)p);
	const char *zend = eq ? eq : star ? star : end;
	if (!zone_ok(p, (size_t)(zend - p))) {
		snprintf(err, errlen, "bad zone name (letters, digits, '-' and dots expected)");
		return -1;
	}
	memcpy(site->zone, p, (size_t)(zend - p));
	site->zone[zend - p] = '\0';
	for (char *c = site->zone; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	display_name(site->zone, site->name, sizeof site->name);
	if (eq && filter(eq + 1, star ? star : end, site) < 0) {
		snprintf(err, errlen, "%s: bad filter (e.g. 127.0.0.2, 127.0.0.[2..11] or 127.0.0.2;127.0.0.4)",
			 site->name);
		return -1;
	}
	if (star) {
		char num[16], *stop = NULL;
		size_t n = (size_t)(end - star - 1);
		long w = 0;
		if (n > 0 && n < sizeof num) {
			memcpy(num, star + 1, n);
			num[n] = '\0';
			w = strtol(num, &stop, 10);
		}
		if (n == 0 || n >= sizeof num || *stop || w < -1000 || w > 1000) {
			snprintf(err, errlen, "%s: bad weight (an integer from -1000 to 1000 expected after '*')",
				 site->name);
			return -1;
		}
		site->weight = (int)w;
	}
	return 0;
}

int cl_dnsbl_parse(const char *text, struct cl_dnsbl_sites *out, char *err, size_t errlen)
{
	out->n = 0;
	const char *sep = ", \t\r\n";
	for (const char *p = text ? text : ""; *p;) {
		p += strspn(p, sep);
		size_t k = strcspn(p, sep);
		if (k == 0)
			break;
		if (out->n >= CL_DNSBL_MAX_SITES) {
			snprintf(err, errlen, "more than %d sites", CL_DNSBL_MAX_SITES);
			return -1;
		}
		char why[200];
		if (site_parse(p, p + k, &out->site[out->n], why, sizeof why) < 0) {
			snprintf(err, errlen, "site %zu: %s", out->n + 1, why);
			out->n = 0;
			return -1;
		}
		out->n++;
		p += k;
	}
	return 0;
}

enum cl_dnsbl_result cl_dnsbl_match(const struct cl_dnsbl_site *site, const char *answer)
{
	unsigned char b[4];
	if (inet_pton(AF_INET, answer, b) != 1 || b[0] != 127 || (b[1] == 255 && b[2] == 255))
		return CL_DNSBL_ERROR;
	if (site->npat == 0)
		return CL_DNSBL_MATCH;
	for (int i = 0; i < site->npat; i++) {
		const struct cl_dnsbl_pattern *pt = &site->pat[i];
		if (bit_get(pt->octet[0], b[0]) && bit_get(pt->octet[1], b[1]) && bit_get(pt->octet[2], b[2]) &&
		    bit_get(pt->octet[3], b[3]))
			return CL_DNSBL_MATCH;
	}
	return CL_DNSBL_NO_MATCH;
}
