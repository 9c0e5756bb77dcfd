/* cache.c - snapshots: publication, reference counting, sorting and lookups. See cache.h. */
#include "cache.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/metrics.h"

void pc_cache_init(struct pc_cache *c)
{
	memset(c, 0, sizeof *c);
	pthread_mutex_init(&c->lock, NULL);
}

void pc_cache_fini(struct pc_cache *c)
{
	pc_snap_release(c->cur);
	c->cur = NULL;
	pthread_mutex_destroy(&c->lock);
}

void pc_cache_publish(struct pc_cache *c, struct pc_snap *snap)
{
	snap->loaded_at = cl_now_seconds();
	pthread_mutex_lock(&c->lock);
	struct pc_snap *old = c->cur;
	c->cur = snap;
	pthread_mutex_unlock(&c->lock);
	atomic_fetch_add(&c->reloads, 1);
	pc_snap_release(old);
}

struct pc_snap *pc_cache_acquire(struct pc_cache *c)
{
	pthread_mutex_lock(&c->lock);
	struct pc_snap *s = c->cur;
	if (s)
		atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&c->lock);
	return s;
}

struct pc_snap *pc_snap_new(void)
{
	struct pc_snap *s = calloc(1, sizeof *s);
	if (s)
		atomic_store(&s->refs, 1);
	return s;
}

/* snap_free - every string and array of a snapshot. */
static void snap_free(struct pc_snap *s)
{
	for (size_t i = 0; i < s->ngroups; i++) {
		free(s->groups[i].relay_host);
		free(s->groups[i].imap_host);
	}
	for (size_t i = 0; i < s->ndomains; i++) {
		free(s->domains[i].name);
		free(s->domains[i].reject_text);
		free(s->domains[i].unknown_user_text);
	}
	for (size_t i = 0; i < s->nusers; i++) {
		free(s->users[i].local);
		free(s->users[i].password_hash);
		free(s->users[i].role);
	}
	for (size_t i = 0; i < s->ndirs; i++)
		free(s->dirs[i].pattern);
	for (size_t i = 0; i < s->naliases; i++)
		free(s->aliases[i].address);
	free(s->aliases);
	for (size_t i = 0; i < s->nbans; i++)
		free(s->bans[i].reason);
	free(s->groups);
	free(s->domains);
	free(s->users);
	free(s->dirs);
	free(s->bans);
	cl_netset_free(&s->ban_set);
	cl_netset_free(&s->never_ban);
	free(s);
}

void pc_snap_release(struct pc_snap *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		snap_free(s);
}

static int group_cmp(const void *x, const void *y)
{
	const struct pc_group *a = x, *b = y;
	return (a->id > b->id) - (a->id < b->id);
}

static int domain_cmp(const void *x, const void *y)
{
	return strcmp(((const struct pc_domain *)x)->name, ((const struct pc_domain *)y)->name);
}

static int user_cmp(const void *x, const void *y)
{
	const struct pc_user *a = x, *b = y;
	if (a->domain_id != b->domain_id)
		return (a->domain_id > b->domain_id) - (a->domain_id < b->domain_id);
	return strcmp(a->local, b->local);
}

static int dir_cmp(const void *x, const void *y)
{
	const struct pc_directive *a = x, *b = y;
	if (a->level != b->level)
		return a->level - b->level;
	if (a->owner != b->owner)
		return (a->owner > b->owner) - (a->owner < b->owner);
	return strcmp(a->pattern, b->pattern);
}

static int alias_cmp(const void *x, const void *y)
{
	const struct pc_alias *a = x, *b = y;
	if (a->user_id != b->user_id)
		return (a->user_id > b->user_id) - (a->user_id < b->user_id);
	return strcmp(a->address, b->address);
}

int pc_snap_index(struct pc_snap *s, char *err, size_t errlen)
{
	if (s->ngroups)
		qsort(s->groups, s->ngroups, sizeof *s->groups, group_cmp);
	if (s->ndomains)
		qsort(s->domains, s->ndomains, sizeof *s->domains, domain_cmp);
	if (s->nusers)
		qsort(s->users, s->nusers, sizeof *s->users, user_cmp);
	if (s->ndirs)
		qsort(s->dirs, s->ndirs, sizeof *s->dirs, dir_cmp);
	if (s->naliases)
		qsort(s->aliases, s->naliases, sizeof *s->aliases, alias_cmp);
	cl_netset_finish(&s->ban_set);
	cl_netset_finish(&s->never_ban);
	/* The foreign key guarantees the group exists; a miss means a broken load. */
	for (size_t i = 0; i < s->ndomains; i++) {
		s->domains[i].group = pc_group_find(s, s->domains[i].group_id);
		if (!s->domains[i].group) {
			cl_snprintf(err, errlen, "domain %s: group %lld not loaded", s->domains[i].name,
				    s->domains[i].group_id);
			return -1;
		}
	}
	return 0;
}

const struct pc_group *pc_group_find(const struct pc_snap *s, long long id)
{
	struct pc_group key = {.id = id};
	return s->ngroups ? bsearch(&key, s->groups, s->ngroups, sizeof key, group_cmp) : NULL;
}

const struct pc_domain *pc_domain_find(const struct pc_snap *s, const char *name)
{
	struct pc_domain key = {.name = (char *)name};
	return s->ndomains ? bsearch(&key, s->domains, s->ndomains, sizeof key, domain_cmp) : NULL;
}

const struct pc_user *pc_user_find(const struct pc_snap *s, long long domain_id, const char *local)
{
	struct pc_user key = {.domain_id = domain_id, .local = (char *)local};
	return s->nusers ? bsearch(&key, s->users, s->nusers, sizeof key, user_cmp) : NULL;
}

int pc_alias_granted(const struct pc_snap *s, long long user_id, const char *address)
{
	struct pc_alias key = {.user_id = user_id, .address = (char *)address};
	return s->naliases && bsearch(&key, s->aliases, s->naliases, sizeof key, alias_cmp) != NULL;
}

/* dir_owner_range - the directives of (level, owner): [*lo, *hi) of the sorted array. */
static void dir_owner_range(const struct pc_snap *s, int level, long long owner, size_t *lo, size_t *hi)
{
	size_t a = 0, b = s->ndirs;
	while (a < b) { /* the first at or after (level, owner) */
		size_t m = a + (b - a) / 2;
		const struct pc_directive *d = &s->dirs[m];
		if (d->level < level || (d->level == level && d->owner < owner))
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	b = s->ndirs;
	while (a < b) { /* the first after it */
		size_t m = a + (b - a) / 2;
		const struct pc_directive *d = &s->dirs[m];
		if (d->level == level && d->owner == owner)
			a = m + 1;
		else
			b = m;
	}
	*hi = a;
}

/* dir_lookup - the action of the directive with this pattern among dirs[lo, hi) (one owner's,
 * sorted by pattern), or -1. */
static int dir_lookup(const struct pc_snap *s, size_t lo, size_t hi, const char *pattern)
{
	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;
		int c = strcmp(pattern, s->dirs[m].pattern);
		if (c == 0)
			return s->dirs[m].action;
		if (c < 0)
			hi = m;
		else
			lo = m + 1;
	}
	return -1;
}

int pc_directive_match(const struct pc_snap *s, int level, long long owner, const char *sender)
{
	const char *at = strrchr(sender, '@');
	if (!at || !at[1])
		return -1; /* the null sender: no pattern can name it */
	/* The owner's directives first: most owners have none or a few, and each pattern below
	 * is then looked up among those alone. */
	size_t lo, hi;
	dir_owner_range(s, level, owner, &lo, &hi);
	if (lo == hi)
		return -1;
	int a = dir_lookup(s, lo, hi, sender);
	if (a >= 0)
		return a;
	/* The patterns are built with memcpy: with snprintf they were a third of a rcpt's
	 * directive lookups (up to five per level, three levels). A pattern that would not fit
	 * is not looked up (no directive can be that long). */
	char pat[330];
	size_t dl = strlen(at + 1);
	if (dl + 2 <= sizeof pat) {
		pat[0] = '@';
		memcpy(pat + 1, at + 1, dl + 1);
		if ((a = dir_lookup(s, lo, hi, pat)) >= 0)
			return a;
	}
	/* "*.example.org" covers example.org and every subdomain: try the whole domain, then
	 * each parent, so the longest matching suffix wins. */
	for (const char *d = at + 1; d && *d; d = strchr(d, '.'), d = d ? d + 1 : NULL) {
		size_t n = strlen(d);
		if (n + 3 > sizeof pat)
			continue;
		pat[0] = '*';
		pat[1] = '.';
		memcpy(pat + 2, d, n + 1);
		if ((a = dir_lookup(s, lo, hi, pat)) >= 0)
			return a;
	}
	return -1;
}

struct ban_ctx {
	const struct pc_snap *s;
	double now;
};

/* ban_active - a ban whose expiry has not passed (bans expire between two reloads too). */
static int ban_active(void *arg, size_t idx)
{
	struct ban_ctx *b = arg;
	double e = b->s->bans[idx].expires_at;
	return e == 0 || e > b->now;
}

const struct pc_ban *pc_ban_find(const struct pc_snap *s, const struct cl_ip *a, double now)
{
	struct ban_ctx b = {s, now};
	long i = cl_netset_find(&s->ban_set, a, ban_active, &b);
	return i < 0 ? NULL : &s->bans[i];
}
