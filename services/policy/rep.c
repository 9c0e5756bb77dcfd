/* rep.c - the reputation score and its explanation. See rep.h. */
#include "rep.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"

int pol_rep_action_parse(const char *s)
{
	if (strcmp(s, "ignore") == 0)
		return REP_IGNORE;
	if (strcmp(s, "enforce") == 0)
		return REP_ENFORCE;
	if (strcmp(s, "drop") == 0)
		return REP_DROP;
	return -1;
}

/* shown - a name from the edge as reply text: printable ASCII only, bounded. */
static void shown(char *dst, size_t n, const char *src)
{
	size_t i = 0;
	for (; src && *src && i + 1 < n; src++)
		dst[i++] = (*src > 0x20 && *src < 0x7f) ? *src : '?';
	dst[i] = '\0';
}

int pol_rep_score(const struct cl_policy_rep *r)
{
	int score = 0;
	for (size_t i = 0; i < r->n; i++)
		score += r->facts[i].weight; /* clamped to +-CL_POLICY_REP_WEIGHT_MAX by the decoder */
	return score;
}

void pol_rep_read(const struct cl_policy_rep *r, const char *ip, struct pol_rep *out)
{
	memset(out, 0, sizeof *out);
	if (!r)
		return;
	out->present = 1;
	out->score = pol_rep_score(r);
	char lists[200] = "", other[200] = "";
	for (size_t i = 0; i < r->n; i++) {
		const struct cl_policy_rep_fact *f = &r->facts[i];
		if (f->weight <= 0)
			continue; /* allowlists and findings that do not count explain no refusal */
		char name[128];
		shown(name, sizeof name, f->name);
		int is_list = strcmp(f->kind, "dnsbl") == 0;
		char *dst = is_list ? lists : other;
		size_t len = strlen(dst);
		if (is_list)
			cl_snprintf(dst + len, sizeof lists - len, "%s%s", len ? ", " : "", name);
		else
			cl_snprintf(dst + len, sizeof other - len, "%s%s %s", len ? ", " : "",
				    strcmp(f->kind, "ptr") == 0 ? "PTR" : "HELO", name);
	}
	char addr[64];
	shown(addr, sizeof addr, ip);
	if (lists[0] && other[0])
		cl_snprintf(out->why, sizeof out->why, "%s is listed by %s (also %s)", addr, lists, other);
	else if (lists[0])
		cl_snprintf(out->why, sizeof out->why, "%s is listed by %s", addr, lists);
	else
		cl_snprintf(out->why, sizeof out->why, "of the reputation of %s: %s", addr, other[0] ? other : "score");
}

int pol_rep_is_role(const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	size_t n = at ? (size_t)(at - rcpt) : strlen(rcpt);
	return (n == 10 && strncasecmp(rcpt, "postmaster", 10) == 0) || (n == 5 && strncasecmp(rcpt, "abuse", 5) == 0);
}
