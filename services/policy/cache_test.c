/* cache_test.c - pc_directive_match on a built snapshot: exact address over "@domain" over
 * "*.suffix" (longest first), one owner's rules only (with neighbours on both sides and at
 * both ends of the sorted array), the null sender, and domains at the
 * length where the pattern ("@" or "*." and the domain) still fits its 330-byte buffer and
 * one byte past it. */
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "util/buf.h"
#include "util/test.h"

static void add_dir(struct pc_snap *s, int level, long long owner, const char *pattern, int action)
{
	s->dirs = realloc(s->dirs, (s->ndirs + 1) * sizeof *s->dirs);
	s->dirs[s->ndirs++] = (struct pc_directive){level, owner, strdup(pattern), action};
}

int main(void)
{
	/* long_dom: 328 bytes, so "@" + it + NUL fills the 330 bytes; past_dom: 329 bytes, its "@"
	 * pattern does not fit, its parent's "*." pattern (327 bytes) does */
	char long_dom[330], past_dom[330], long_sender[340], past_sender[340], at_long[340], star_past[340];
	cl_snprintf(long_dom, sizeof long_dom, "d.%0321d.test", 0);
	cl_snprintf(past_dom, sizeof past_dom, "e.%0322d.test", 0);
	cl_snprintf(long_sender, sizeof long_sender, "u@%s", long_dom);
	cl_snprintf(past_sender, sizeof past_sender, "u@%s", past_dom);
	cl_snprintf(at_long, sizeof at_long, "@%s", long_dom);
	cl_snprintf(star_past, sizeof star_past, "*.%s", past_dom + 2);
	CL_CHECK(strlen(long_dom) == 328 && strlen(past_dom) == 329 && strlen(star_past) == 329, "test data");

	struct pc_snap *s = pc_snap_new();
	add_dir(s, PC_LEVEL_USER, 1, "a@spam.example.org", PC_REJECT);
	add_dir(s, PC_LEVEL_USER, 1, "@spam.example.org", PC_QUARANTINE);
	add_dir(s, PC_LEVEL_USER, 1, "*.example.org", PC_ACCEPT);
	add_dir(s, PC_LEVEL_USER, 1, "*.org", PC_REJECT);
	add_dir(s, PC_LEVEL_DOMAIN, 1, "@spam.example.org", PC_REJECT);
	add_dir(s, PC_LEVEL_USER, 2, at_long, PC_QUARANTINE);
	add_dir(s, PC_LEVEL_USER, 2, star_past, PC_REJECT);
	/* neighbours on both sides of each owner's range, at the array's two ends */
	add_dir(s, PC_LEVEL_USER, 0, "@spam.example.org", PC_ACCEPT);
	add_dir(s, PC_LEVEL_USER, 4, "*.com", PC_QUARANTINE);
	add_dir(s, PC_LEVEL_GROUP, 1, "*.example.com", PC_REJECT);
	add_dir(s, PC_LEVEL_GROUP, 9, "*.net", PC_ACCEPT);
	char err[200];
	CL_CHECK(pc_snap_index(s, err, sizeof err) == 0, "index: %s", err);

	struct {
		int level;
		long long owner;
		const char *sender;
		int want;
	} cases[] = {
	    {PC_LEVEL_USER, 1, "a@spam.example.org", PC_REJECT},     /* exact */
	    {PC_LEVEL_USER, 1, "b@spam.example.org", PC_QUARANTINE}, /* @domain over *.suffix */
	    {PC_LEVEL_USER, 1, "b@x.spam.example.org", PC_ACCEPT},   /* longest suffix */
	    {PC_LEVEL_USER, 1, "b@example.org", PC_ACCEPT},          /* *.example.org covers example.org */
	    {PC_LEVEL_USER, 1, "b@other.org", PC_REJECT},            /* *.org */
	    {PC_LEVEL_USER, 1, "b@example.com", -1},                 /* nothing */
	    {PC_LEVEL_USER, 1, "", -1},                              /* null sender */
	    {PC_LEVEL_USER, 1, "nodomain@", -1},                     /* no domain */
	    {PC_LEVEL_DOMAIN, 1, "b@x.spam.example.org", -1},        /* another level's rules */
	    {PC_LEVEL_USER, 3, "a@spam.example.org", -1},            /* another owner's rules */
	    {PC_LEVEL_USER, 0, "a@spam.example.org", PC_ACCEPT},     /* the first owner */
	    {PC_LEVEL_USER, 4, "a@x.example.com", PC_QUARANTINE},    /* the owner after a gap */
	    {PC_LEVEL_USER, 4, "a@spam.example.org", -1},            /* not the neighbours' rules */
	    {PC_LEVEL_DOMAIN, 1, "b@spam.example.org", PC_REJECT},   /* a level of its own */
	    {PC_LEVEL_GROUP, 1, "b@mail.example.com", PC_REJECT},    /* the next level, same owner */
	    {PC_LEVEL_GROUP, 9, "b@x.net", PC_ACCEPT},               /* the last owner */
	    {PC_LEVEL_GROUP, 10, "b@x.net", -1},                     /* past the end */
	    {PC_LEVEL_USER, 2, long_sender, PC_QUARANTINE},          /* "@" + 328 bytes fits */
	    {PC_LEVEL_USER, 2, past_sender, PC_REJECT},              /* "@" + 329 does not; "*." parent does */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int got = pc_directive_match(s, cases[i].level, cases[i].owner, cases[i].sender);
		CL_CHECK(got == cases[i].want, "case %zu: %d, want %d", i, got, cases[i].want);
	}
	pc_snap_release(s);
	return CL_TEST_END();
}
