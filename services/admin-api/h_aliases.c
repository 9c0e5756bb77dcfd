/* h_aliases.c - /api/users/{id}/aliases: the sender aliases of an account, the addresses
 * other than its own that it may use as MAIL FROM after SMTP AUTH (policy refuses any other
 * with 553 5.7.1; issue 15).
 *
 * Scoped like the accounts themselves: an admin grants and removes the aliases of the
 * accounts it manages (in its domains, with a lower role; a root-admin all) and its own;
 * an account reads its own list. The alias address must lie in a domain the granting admin
 * manages, and when it is another account's address that account must be one the admin
 * manages too: nobody can give anyone the right to write as someone above them. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "crud.h"
#include "routes.h"
#include "scope.h"

#define ALIAS_COLS "a.id, a.user_id, a.local_part || '@' || d.name AS address, a.domain_id, a.created_by, a.created_at"

/* alias_target_ok - may the caller act on account id's aliases? 1, or 0 answered. Reading:
 * the account itself too; writing (write = 1): itself only when it is an admin. */
static int alias_target_ok(struct api_req *r, long long id, int write)
{
	if (id == r->me.id && (!write || r->me.role >= ROLE_DOMAIN_ADMIN))
		return 1;
	if (r->me.role < ROLE_DOMAIN_ADMIN) {
		api_err(r, 404, "user not found");
		return 0;
	}
	return scope_user_target_ok(r, id);
}

/* h_aliases_list - GET /api/users/{id}/aliases */
void h_aliases_list(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id < 0 || !alias_target_ok(r, id, 0))
		return;
	struct qb q;
	qb_init(&q,
		"SELECT " ALIAS_COLS " FROM sender_aliases a JOIN domains d ON d.id = a.domain_id WHERE a.user_id = ");
	qb_add(&q, "$%d", qb_param_ll(&q, id));
	api_list(r, &q, "d.name, a.local_part");
	qb_free(&q);
}

/* alias_parse - the body's "address" lower-cased and split; 1, or 0 answered (400). */
static int alias_parse(struct api_req *r, char *local, size_t llen, char *domain, size_t dlen)
{
	const char *in = api_in_str(r, "address");
	for (const cJSON *it = r->in->child; it; it = it->next)
		if (strcmp(it->string, "address") != 0) {
			api_err(r, 400, "unknown field: %.60s", it->string);
			return 0;
		}
	const char *at = in ? strrchr(in, '@') : NULL;
	if (!at || at == in || !at[1] || (size_t)(at - in) >= llen || strlen(at + 1) >= dlen) {
		api_err(r, 400, "address must be a mail address local@domain");
		return 0;
	}
	size_t i;
	for (i = 0; in + i < at; i++)
		local[i] = (char)tolower((unsigned char)in[i]);
	local[i] = '\0';
	for (i = 0; at[1 + i]; i++)
		domain[i] = (char)tolower((unsigned char)at[1 + i]);
	domain[i] = '\0';
	return 1;
}

/* alias_domain - the id of domain if the caller manages it; 0 answered (403: the same
 * answer for a domain that does not exist, so nothing is learnt about other tenants). */
static long long alias_domain(struct api_req *r, const char *domain)
{
	struct qb q;
	qb_init(&q, "SELECT d.id FROM domains d WHERE d.name = ");
	qb_add(&q, "$%d", qb_param(&q, domain));
	char id[24] = "";
	int rc = api_scalar(r, &q, id, sizeof id);
	qb_free(&q);
	if (rc < 0)
		return 0;
	long long did = rc ? atoll(id) : 0;
	int in = did ? scope_has_domain(r, did) : 0;
	if (in == 0)
		api_err(r, 403, "an alias must be an address in a domain you manage");
	return in == 1 ? did : 0;
}

/* alias_owner_ok - when local@did is an account's own address, that account must be the
 * caller or one it manages (and not the target itself). 1, or 0 answered. */
static int alias_owner_ok(struct api_req *r, long long target, long long did, const char *local)
{
	struct qb q;
	qb_init(&q, "SELECT u.id FROM users u WHERE u.domain_id = ");
	qb_add(&q, "$%d AND u.local_part = $%d", qb_param_ll(&q, did), qb_param(&q, local));
	char id[24] = "";
	int rc = api_scalar(r, &q, id, sizeof id);
	qb_free(&q);
	if (rc <= 0)
		return rc == 0;
	long long owner = atoll(id);
	if (owner == target) {
		api_err(r, 400, "that is the account's own address, which it may always use");
		return 0;
	}
	if (owner == r->me.id)
		return 1;
	int m = scope_user_manageable(r, owner, NULL);
	if (m == 2 || m == 0)
		api_err(r, 403, "that address belongs to an account you do not manage");
	return m == 1;
}

/* h_alias_create - POST /api/users/{id}/aliases {"address"} */
void h_alias_create(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id < 0 || !api_body_object(r) || !alias_target_ok(r, id, 1))
		return;
	char local[API_ADDR_MAX + 1], domain[API_ADDR_MAX + 1];
	if (!alias_parse(r, local, sizeof local, domain, sizeof domain))
		return;
	long long did = alias_domain(r, domain);
	if (!did || !alias_owner_ok(r, id, did, local))
		return;
	struct qb q;
	qb_init(&q, "");
	int u = qb_param_ll(&q, id), d = qb_param_ll(&q, did), l = qb_param(&q, local), by = qb_param_ll(&q, r->me.id);
	qb_add(&q,
	       "WITH a AS (INSERT INTO sender_aliases (user_id, domain_id, local_part, created_by) "
	       "VALUES ($%d, $%d, $%d, $%d) RETURNING *) SELECT " ALIAS_COLS
	       " FROM a JOIN domains d ON d.id = a.domain_id",
	       u, d, l, by);
	PGresult *res = api_exec(r, &q);
	qb_free(&q);
	if (!res)
		return;
	api_ok(r, 201, api_row_json(res, 0));
	PQclear(res);
}

/* h_alias_delete - DELETE /api/users/{id}/aliases/{alias_id}: also only within the caller's
 * domains (an alias another tenant's admin granted is that tenant's decision). */
void h_alias_delete(struct api_req *r)
{
	long long id = api_arg_id(r, 0), aid = id < 0 ? -1 : api_arg_id(r, 1);
	if (aid < 0 || !alias_target_ok(r, id, 1))
		return;
	struct qb q;
	qb_init(&q, "SELECT a.domain_id FROM sender_aliases a WHERE a.id = ");
	qb_add(&q, "$%d AND a.user_id = $%d", qb_param_ll(&q, aid), qb_param_ll(&q, id));
	char did[24] = "";
	int rc = api_scalar(r, &q, did, sizeof did);
	qb_free(&q);
	if (rc <= 0) {
		if (rc == 0)
			api_err(r, 404, "alias not found");
		return;
	}
	int in = scope_has_domain(r, atoll(did));
	if (in == 0)
		api_err(r, 403, "the alias lies in a domain you do not manage");
	if (in == 1)
		api_delete(r, "sender_aliases a", "a", aid, NULL, "alias");
}
