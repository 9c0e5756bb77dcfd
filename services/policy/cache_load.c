/* cache_load.c - build a snapshot from PostgreSQL in one consistent read.
 *
 * Everything is read inside one REPEATABLE READ READ ONLY transaction, so a snapshot never
 * mixes two states of the database (a domain without its group, a user without its domain). */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "auth/imap_login.h"
#include "cache.h"
#include "cache_load.h"
#include "db/pg.h"
#include "util/buf.h"

/* Bans from a mesh peer count only when that peer is trusted to enforce (docs/MESH.md);
 * expired bans are left out here and also checked at lookup time. */
static const char q_groups[] = "SELECT id, mode, relay_host, relay_port, verify_recipients, verify_ttl_s, imap_host, "
			       "coalesce(imap_port, 0), imap_tls, coalesce(dnsbl_threshold, 0), spam_reject_score, "
			       "spam_quarantine_score, spam_tag_score, dmarc_enforce FROM groups";
static const char q_domains[] =
    "SELECT id, name, group_id, default_action, reject_text, unknown_user_text, spam_reject_score, "
    "spam_quarantine_score, spam_tag_score, dmarc_enforce FROM domains";
static const char q_users[] =
    "SELECT id, domain_id, local_part, password_hash, enabled, role, coalesce(quota_bytes, 0) FROM users";
static const char q_dirs[] =
    "SELECT coalesce(user_id, 0), coalesce(domain_id, 0), coalesce(group_id, 0), sender_pattern, action "
    "FROM directives";
static const char q_aliases[] = "SELECT a.user_id, a.local_part || '@' || d.name FROM sender_aliases a "
				"JOIN domains d ON d.id = a.domain_id";
static const char q_bans[] =
    "SELECT host(network) || '/' || masklen(network), reason, "
    "coalesce(extract(epoch FROM expires_at), 0)::float8 FROM bans b "
    "WHERE status = 'banned' AND (expires_at IS NULL OR expires_at > now()) AND (peer_id IS NULL OR origin = 'admin' "
    "OR "
    "EXISTS (SELECT 1 FROM mesh_peers p WHERE p.id = b.peer_id AND p.enabled AND p.trust = 'enforce'))";
static const char q_never[] = "SELECT host(network) || '/' || masklen(network) FROM never_ban_networks";

/* dup_or_null - a copy of a column, NULL for SQL NULL. */
static char *dup_or_null(const PGresult *r, int row, int col, int *oom)
{
	if (PQgetisnull(r, row, col))
		return NULL;
	char *s = strdup(PQgetvalue(r, row, col));
	if (!s)
		*oom = 1;
	return s;
}

static long long col_ll(const PGresult *r, int row, int col)
{
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* load_content - columns col..col+3 (reject, quarantine, tag scores, DMARC switch) into *p;
 * *dmarc_set says whether the switch was given (a domain's NULL means its group's). */
static void load_content(const PGresult *r, int row, int col, struct cl_content_policy *p, int *dmarc_set)
{
	double *v[] = {&p->reject, &p->quarantine, &p->tag};
	int *has[] = {&p->has_reject, &p->has_quarantine, &p->has_tag};
	for (int k = 0; k < 3; k++) {
		*has[k] = !PQgetisnull(r, row, col + k);
		*v[k] = *has[k] ? strtod(PQgetvalue(r, row, col + k), NULL) : 0;
	}
	*dmarc_set = !PQgetisnull(r, row, col + 3);
	p->dmarc_reject = *dmarc_set && strcmp(PQgetvalue(r, row, col + 3), "t") == 0;
}

/* query - run one SELECT; NULL with err on failure. */
static PGresult *query(PGconn *c, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		return r;
	cl_snprintf(err, errlen, "cache load: %s", PQresultErrorMessage(r));
	for (char *p = err; *p; p++)
		if (*p == '\n')
			*p = ' ';
	PQclear(r);
	return NULL;
}

static int load_groups(struct pc_snap *s, const PGresult *r)
{
	int n = PQntuples(r), oom = 0;
	s->groups = calloc((size_t)n + 1, sizeof *s->groups);
	if (!s->groups)
		return -1;
	for (int i = 0; i < n; i++) {
		struct pc_group *g = &s->groups[s->ngroups++];
		g->id = col_ll(r, i, 0);
		g->relay = strcmp(PQgetvalue(r, i, 1), "relay") == 0;
		g->relay_host = dup_or_null(r, i, 2, &oom);
		g->relay_port = (int)col_ll(r, i, 3);
		g->verify_probe = strcmp(PQgetvalue(r, i, 4), "probe") == 0;
		g->verify_ttl_s = (int)col_ll(r, i, 5);
		g->imap_host = dup_or_null(r, i, 6, &oom);
		g->imap_port = (int)col_ll(r, i, 7);
		g->imap_tls = (int)cl_imap_tls_parse(PQgetvalue(r, i, 8));
		g->dnsbl_threshold = (int)col_ll(r, i, 9);
		int set;
		load_content(r, i, 10, &g->content, &set);
	}
	return oom ? -1 : 0;
}

static int load_domains(struct pc_snap *s, const PGresult *r)
{
	int n = PQntuples(r), oom = 0;
	s->domains = calloc((size_t)n + 1, sizeof *s->domains);
	if (!s->domains)
		return -1;
	for (int i = 0; i < n; i++) {
		struct pc_domain *d = &s->domains[s->ndomains++];
		d->id = col_ll(r, i, 0);
		d->name = dup_or_null(r, i, 1, &oom);
		d->group_id = col_ll(r, i, 2);
		d->default_quarantine = strcmp(PQgetvalue(r, i, 3), "quarantine") == 0;
		d->reject_text = dup_or_null(r, i, 4, &oom);
		d->unknown_user_text = dup_or_null(r, i, 5, &oom);
		load_content(r, i, 6, &d->content, &d->dmarc_set);
	}
	return oom ? -1 : 0;
}

static int load_users(struct pc_snap *s, const PGresult *r)
{
	int n = PQntuples(r), oom = 0;
	s->users = calloc((size_t)n + 1, sizeof *s->users);
	if (!s->users)
		return -1;
	for (int i = 0; i < n; i++) {
		struct pc_user *u = &s->users[s->nusers++];
		u->id = col_ll(r, i, 0);
		u->domain_id = col_ll(r, i, 1);
		u->local = dup_or_null(r, i, 2, &oom);
		u->password_hash = dup_or_null(r, i, 3, &oom);
		u->enabled = strcmp(PQgetvalue(r, i, 4), "t") == 0;
		u->role = dup_or_null(r, i, 5, &oom);
		u->quota_bytes = col_ll(r, i, 6);
	}
	return oom ? -1 : 0;
}

static int load_dirs(struct pc_snap *s, const PGresult *r)
{
	int n = PQntuples(r), oom = 0;
	s->dirs = calloc((size_t)n + 1, sizeof *s->dirs);
	if (!s->dirs)
		return -1;
	for (int i = 0; i < n; i++) {
		struct pc_directive *d = &s->dirs[s->ndirs++];
		long long uid = col_ll(r, i, 0), did = col_ll(r, i, 1), gid = col_ll(r, i, 2);
		d->level = uid ? PC_LEVEL_USER : did ? PC_LEVEL_DOMAIN : PC_LEVEL_GROUP;
		d->owner = uid ? uid : did ? did : gid;
		d->pattern = dup_or_null(r, i, 3, &oom);
		const char *a = PQgetvalue(r, i, 4);
		d->action = strcmp(a, "reject") == 0       ? PC_REJECT
			    : strcmp(a, "quarantine") == 0 ? PC_QUARANTINE
							   : PC_ACCEPT;
	}
	return oom ? -1 : 0;
}

static int load_aliases(struct pc_snap *s, const PGresult *r)
{
	int n = PQntuples(r), oom = 0;
	s->aliases = calloc((size_t)n + 1, sizeof *s->aliases);
	if (!s->aliases)
		return -1;
	for (int i = 0; i < n; i++) {
		struct pc_alias *a = &s->aliases[s->naliases++];
		a->user_id = col_ll(r, i, 0);
		a->address = dup_or_null(r, i, 1, &oom);
	}
	return oom ? -1 : 0;
}

static int load_bans(struct pc_snap *s, const PGresult *r)
{
	int n = PQntuples(r), oom = 0;
	s->bans = calloc((size_t)n + 1, sizeof *s->bans);
	if (!s->bans)
		return -1;
	for (int i = 0; i < n; i++) {
		struct cl_ip a;
		int plen;
		if (cl_cidr_parse(PQgetvalue(r, i, 0), &a, &plen) < 0)
			continue;
		struct pc_ban *b = &s->bans[s->nbans];
		b->reason = dup_or_null(r, i, 1, &oom);
		b->expires_at = strtod(PQgetvalue(r, i, 2), NULL);
		if (cl_netset_add(&s->ban_set, &a, plen, s->nbans) < 0)
			oom = 1;
		s->nbans++;
	}
	return oom ? -1 : 0;
}

static int load_never(struct pc_snap *s, const PGresult *r)
{
	for (int i = 0; i < PQntuples(r); i++) {
		struct cl_ip a;
		int plen;
		if (cl_cidr_parse(PQgetvalue(r, i, 0), &a, &plen) == 0 && cl_netset_add(&s->never_ban, &a, plen, 0) < 0)
			return -1;
	}
	return 0;
}

struct pc_snap *pc_cache_load(PGconn *c, char *err, size_t errlen)
{
	static const struct {
		const char *sql;
		int (*fill)(struct pc_snap *, const PGresult *);
	} steps[] = {{q_groups, load_groups},   {q_domains, load_domains}, {q_users, load_users}, {q_dirs, load_dirs},
		     {q_aliases, load_aliases}, {q_bans, load_bans},       {q_never, load_never}};
	struct pc_snap *s = pc_snap_new();
	if (!s) {
		cl_snprintf(err, errlen, "out of memory");
		return NULL;
	}
	struct cl_pg pg = cl_pg_borrow(c); /* the watcher owns c and reconnects it */
	char why[256];
	int ok = cl_pg_begin(&pg, "ISOLATION LEVEL REPEATABLE READ READ ONLY", why, sizeof why) == 0;
	if (!ok)
		cl_snprintf(err, errlen, "cache load: cannot begin: %s", why);
	for (size_t i = 0; ok && i < sizeof steps / sizeof steps[0]; i++) {
		PGresult *r = query(c, steps[i].sql, err, errlen);
		if (!r) {
			ok = 0;
			break;
		}
		if (steps[i].fill(s, r) < 0) {
			cl_snprintf(err, errlen, "cache load: out of memory");
			ok = 0;
		}
		PQclear(r);
	}
	/* Read only: once every step has read its rows the snapshot is complete, and a COMMIT that
	 * fails (the connection lost) takes nothing from it; the watcher sees the connection. */
	if (!ok || cl_pg_commit(&pg, why, sizeof why) < 0)
		cl_pg_rollback(&pg);
	if (ok && pc_snap_index(s, err, errlen) < 0)
		ok = 0;
	if (!ok) {
		pc_snap_release(s);
		return NULL;
	}
	return s;
}
