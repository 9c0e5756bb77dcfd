/* h_dkim.c - /api/domains/{id}/dkim: a domain's DKIM keys for outbound signing (issue 18).
 *
 *   GET  /api/domains/{id}/dkim                     the keys, each with the TXT record to publish
 *   POST /api/domains/{id}/dkim {algorithm, selector}  a new key, 'published' (not signing yet)
 *   POST /api/domains/{id}/dkim/{key_id}/activate   it signs from now on; the active one it
 *                                                    replaces stays published until retired
 *   POST /api/domains/{id}/dkim/{key_id}/retire     it never signs again (private key wiped)
 *
 * Scoped like the domain: its domain admins, its group's admins, root (404 for any other).
 * The private key is generated here and written once; no query here selects it and no answer
 * or log line carries it (delivery alone reads it, to sign). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crud.h"
#include "mail/dkim.h"
#include "routes.h"
#include "scope.h"

#define DKIM_COLS                                                                                                      \
	"k.id, k.domain_id, k.selector, k.algorithm, k.state, k.selector || '._domainkey.' || d.name AS txt_name, "    \
	"'v=DKIM1; k=' || CASE k.algorithm WHEN 'ed25519-sha256' THEN 'ed25519' ELSE 'rsa' END || '; p=' || "          \
	"k.public_key AS txt, k.created_at, k.activated_at, k.retired_at"

/* dkim_domain_ok - domain id in the caller's scope: 1, or 0 answered (404). */
static int dkim_domain_ok(struct api_req *r, long long id)
{
	int in = scope_has_domain(r, id);
	if (in == 0)
		api_err(r, 404, "domain not found");
	return in == 1;
}

/* h_dkim_list - GET /api/domains/{id}/dkim */
void h_dkim_list(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id < 0 || !dkim_domain_ok(r, id))
		return;
	struct qb q;
	qb_init(&q, "SELECT " DKIM_COLS " FROM dkim_keys k JOIN domains d ON d.id = k.domain_id WHERE k.domain_id = ");
	qb_add(&q, "$%d", qb_param_ll(&q, id));
	api_list(r, &q, "k.state = 'retired', k.created_at DESC, k.id DESC");
	qb_free(&q);
}

/* selector_ok - 1..63 of [a-z0-9-], not starting or ending with '-' (one DNS label). */
static int selector_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* h_dkim_create - POST /api/domains/{id}/dkim {"algorithm"?, "selector"?} */
void h_dkim_create(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id < 0 || !api_body_object(r) || !dkim_domain_ok(r, id))
		return;
	for (const cJSON *it = r->in->child; it; it = it->next)
		if (strcmp(it->string, "algorithm") != 0 && strcmp(it->string, "selector") != 0) {
			api_err(r, 400, "unknown field: %.60s", it->string);
			return;
		}
	const cJSON *ja = cJSON_GetObjectItemCaseSensitive(r->in, "algorithm");
	const cJSON *js = cJSON_GetObjectItemCaseSensitive(r->in, "selector");
	const char *alg = ja ? api_in_str(r, "algorithm") : CL_DKIM_RSA;
	const char *sel = js && !cJSON_IsNull(js) ? api_in_str(r, "selector") : NULL;
	if (!alg || (strcmp(alg, CL_DKIM_RSA) != 0 && strcmp(alg, CL_DKIM_ED25519) != 0)) {
		api_err(r, 400, "algorithm must be rsa-sha256 or ed25519-sha256");
		return;
	}
	if (js && !cJSON_IsNull(js) && (!sel || !selector_ok(sel))) {
		api_err(r, 400, "selector must be one DNS label: 1 to 63 of a-z, 0-9 and '-'");
		return;
	}
	char *pem = NULL, pub[CL_DKIM_PUB_MAX];
	if (cl_dkim_keygen(alg, &pem, pub) < 0) {
		api_err(r, 500, "key generation failed");
		return;
	}
	struct qb q;
	qb_init(&q, "");
	int pd = qb_param_ll(&q, id), ps = qb_param(&q, sel), pa = qb_param(&q, alg), pk = qb_param(&q, pem),
	    pp = qb_param(&q, pub);
	OPENSSL_cleanse(pem, strlen(pem));
	free(pem);
	/* The default selector: "c" + the date + the key's id, unique and sortable. */
	qb_add(
	    &q,
	    "WITH n AS (SELECT nextval(pg_get_serial_sequence('dkim_keys', 'id')) AS id), "
	    "k AS (INSERT INTO dkim_keys (id, domain_id, selector, algorithm, private_key, public_key) "
	    "SELECT n.id, $%d, COALESCE($%d, 'c' || to_char(now(), 'YYYYMMDD') || 'k' || n.id), $%d, $%d, $%d FROM n "
	    "RETURNING *) SELECT " DKIM_COLS " FROM k JOIN domains d ON d.id = k.domain_id",
	    pd, ps, pa, pk, pp);
	PGresult *res = api_exec(r, &q);
	qb_free(&q); /* frees the copy of the PEM parameter */
	if (!res)
		return;
	api_ok(r, 201, api_row_json(res, 0));
	PQclear(res);
}

/* dkim_change - activate (activate = 1) or retire key kid of domain id. */
static void dkim_change(struct api_req *r, int activate)
{
	long long id = api_arg_id(r, 0), kid = id < 0 ? -1 : api_arg_id(r, 1);
	if (kid < 0 || !dkim_domain_ok(r, id))
		return;
	struct qb q;
	qb_init(&q, "");
	int pd = qb_param_ll(&q, id), pk = qb_param_ll(&q, kid);
	if (activate)
		/* one statement: the old active key steps back to published, this one signs
		 * (the one-active constraint is checked at commit) */
		qb_add(&q,
		       "WITH o AS (UPDATE dkim_keys SET state = 'published' WHERE domain_id = $%d AND state = 'active' "
		       "AND id <> $%d AND EXISTS (SELECT 1 FROM dkim_keys WHERE id = $%d AND domain_id = $%d "
		       "AND state = 'published')), "
		       "k AS (UPDATE dkim_keys SET state = 'active', activated_at = CASE state WHEN 'active' THEN "
		       "activated_at ELSE now() END WHERE id = $%d "
		       "AND domain_id = $%d AND state <> 'retired' RETURNING *) "
		       "SELECT " DKIM_COLS " FROM k JOIN domains d ON d.id = k.domain_id",
		       pd, pk, pk, pd, pk, pd);
	else
		qb_add(&q,
		       "WITH k AS (UPDATE dkim_keys SET state = 'retired', retired_at = COALESCE(retired_at, now()), "
		       "private_key = NULL WHERE id = $%d AND domain_id = $%d RETURNING *) "
		       "SELECT " DKIM_COLS " FROM k JOIN domains d ON d.id = k.domain_id",
		       pk, pd);
	PGresult *res = api_exec(r, &q);
	qb_free(&q);
	if (!res)
		return;
	if (PQntuples(res) == 0)
		api_err(r, 404, activate ? "no such key, or it is retired" : "key not found");
	else
		api_ok(r, 200, api_row_json(res, 0));
	PQclear(res);
}

/* h_dkim_activate - POST /api/domains/{id}/dkim/{key_id}/activate */
void h_dkim_activate(struct api_req *r)
{
	dkim_change(r, 1);
}

/* h_dkim_retire - POST /api/domains/{id}/dkim/{key_id}/retire */
void h_dkim_retire(struct api_req *r)
{
	dkim_change(r, 0);
}
