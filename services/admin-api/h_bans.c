/* h_bans.c - root-admin's screens for the network: bans (candidates with the statistics
 * that made them candidates, fully banned, lifted), never-ban networks, trusted mesh peers
 * (the global settings are h_settings.c).
 *
 * Every change of a fully banned record is also written to ban_events, in the same
 * statement, because mesh pushes resume from there (db/migrations/0001_core.sql). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crud.h"
#include "routes.h"

#define BAN_COLS                                                                                                       \
	"b.id, host(b.network) || CASE WHEN masklen(b.network) IN (32, 128) THEN '' ELSE '/' || "                      \
	"masklen(b.network) END AS network, b.status, b.origin, b.origin_server, b.peer_id, b.reason, "                \
	"b.score, b.hops, b.offences, b.evidence, b.created_at, b.expires_at, b.lifted_at, "                           \
	"(SELECT coalesce(json_agg(json_build_object('ip', host(s.ip), 'window', s.window_name, "                      \
	"'computed_at', s.computed_at, 'sessions', s.sessions, 'accepted', s.accepted, "                               \
	"'unknown_rcpt', s.unknown_rcpt, 'directive_rejects', s.directive_rejects, 'viruses', s.viruses, "             \
	"'protocol_errors', s.protocol_errors, 'pregreets', s.pregreets, 'dnsbl_listed', s.dnsbl_listed) "             \
	"ORDER BY s.ip, s.window_name), "                                                                              \
	"'[]') FROM ip_stats s WHERE s.ip <<= b.network) AS stats"

void h_bans_list(struct api_req *r)
{
	struct qb q;
	qb_init(&q, "SELECT " BAN_COLS " FROM bans b WHERE true");
	api_eq_filter(r, &q, "status", "b.status", NULL);
	api_eq_filter(r, &q, "origin", "b.origin", NULL);
	const char *ip = api_query(r, "ip");
	if (ip && *ip)
		qb_add(&q, " AND b.network >>= $%d::inet", qb_param(&q, ip));
	api_list(r, &q, "b.created_at DESC, b.id DESC");
	qb_free(&q);
}

/* h_bans_export - GET /api/bans/export: the networks banned at connect (local, an admin's,
 * a mesh peer's trusted to enforce) for the host's firewall, as a plain list and as an
 * nftables file (db/migrations/0013_reputation.sql; README, "Firewall export"). */
void h_bans_export(struct api_req *r)
{
	struct qb q;
	qb_init(&q, "SELECT (SELECT count(*) FROM enforced_bans) AS count, clement_firewall_plain() AS plain, "
		    "clement_firewall_nft() AS nftables");
	PGresult *res = api_exec(r, &q);
	qb_free(&q);
	if (!res)
		return;
	cJSON *row = api_row_json(res, 0);
	PQclear(res);
	api_ok(r, 200, row);
}

#define BAN_EXPIRES_MIN 60LL
#define BAN_EXPIRES_MAX (31536000LL * 10)

static const struct api_field BAN_FIELDS[] = {
    {"network", F_STR, ROLE_ROOT, 2, 64, NULL, FF_REQUIRED, "::cidr"},
    {"reason", F_STR, ROLE_ROOT, 1, 200, NULL, FF_REQUIRED, NULL},
    {"expires_in_s", F_INT, ROLE_ROOT, BAN_EXPIRES_MIN, BAN_EXPIRES_MAX, NULL, FF_NOCOLUMN, NULL},
};

/* h_ban_create - POST /api/bans: an admin's full ban of a network; an open candidate for
 * the same network becomes this ban. */
void h_ban_create(struct api_req *r)
{
	if (!api_body_object(r))
		return;
	/* expires_in_s is checked against BAN_FIELDS (api_fields_sql below answers a bad one);
	 * here it is only read, through the same bounded conversion. */
	long long exp = 0;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(r->in, "expires_in_s");
	if (e && api_json_int(e, BAN_EXPIRES_MIN, BAN_EXPIRES_MAX, &exp) < 0) {
		api_err(r, 400, "expires_in_s must be an integer from %lld to %lld", BAN_EXPIRES_MIN, BAN_EXPIRES_MAX);
		return;
	}
	struct qb q;
	qb_init(&q, "");
	int pe = exp ? qb_param_ll(&q, exp) : qb_param(&q, NULL);
	char vals[96];
	snprintf(vals, sizeof vals, "'banned', 'admin', now() + make_interval(secs => $%d::int)", pe);
	qb_add(&q, "WITH b AS (INSERT INTO bans");
	if (api_fields_sql(r, BAN_FIELDS, sizeof BAN_FIELDS / sizeof BAN_FIELDS[0], FLD_INSERT, &q,
			   "status, origin, expires_at", vals) >= 0) {
		qb_add(&q, " ON CONFLICT (network, coalesce(peer_id, 0)) WHERE status IN ('candidate', 'banned') "
			   "DO UPDATE SET status = 'banned', origin = 'admin', reason = EXCLUDED.reason, "
			   "expires_at = EXCLUDED.expires_at RETURNING *), "
			   "e AS (INSERT INTO ban_events (ban_id, kind) SELECT id, 'ban' FROM b) "
			   "SELECT " BAN_COLS " FROM b");
		PGresult *res = api_exec(r, &q);
		if (res) {
			api_ok(r, 201, api_row_json(res, 0));
			PQclear(res);
		}
	}
	qb_free(&q);
}

/* ban_change - one status transition of ban id, with its ban_events row. */
static void ban_change(struct api_req *r, const char *from_status, const char *set, const char *kind,
		       const char *event_if)
{
	long long id = api_arg_id(r, 0);
	if (id < 0)
		return;
	struct qb q;
	qb_init(&q, "");
	qb_add(&q,
	       "WITH o AS (SELECT id, status FROM bans WHERE id = $%d AND status IN (%s) FOR UPDATE), "
	       "b AS (UPDATE bans SET %s FROM o WHERE bans.id = o.id RETURNING bans.*, o.status AS old_status), "
	       "e AS (INSERT INTO ban_events (ban_id, kind) SELECT id, %s FROM b WHERE %s) "
	       "SELECT " BAN_COLS " FROM b",
	       qb_param_ll(&q, id), from_status, set, kind, event_if);
	api_one(r, &q, "open ban");
	qb_free(&q);
}

/* h_ban_promote - a candidate becomes a full ban. A mesh peer's candidate (trust observe)
 * becomes this server's own ban: origin 'admin', so that policy enforces it whatever the
 * peer's trust and the peer's later records no longer change it (docs/MESH.md section 10);
 * peer_id, origin_server and hops stay for audit and for forwarding. */
void h_ban_promote(struct api_req *r)
{
	ban_change(r, "'candidate'",
		   "status = 'banned', origin = CASE WHEN origin = 'peer' THEN 'admin' ELSE origin END", "'ban'",
		   "true");
}

void h_ban_unban(struct api_req *r)
{
	ban_change(r, "'candidate', 'banned'", "status = 'lifted', lifted_at = now()", "'lift'",
		   "b.old_status = 'banned'");
}

/* never-ban networks */
static const struct api_field NEVER_FIELDS[] = {
    {"id", F_INT, ROLE_ROOT, 0, 0, NULL, FF_READONLY, NULL},
    {"network", F_STR, ROLE_ROOT, 2, 64, NULL, FF_REQUIRED, "::cidr"},
    {"note", F_STR, ROLE_ROOT, 0, 200, NULL, FF_NULLABLE, NULL},
};
#define NEVER_COLS "n.id, n.network::text AS network, n.note"

void h_never_ban_list(struct api_req *r)
{
	struct qb q;
	qb_init(&q, "SELECT " NEVER_COLS " FROM never_ban_networks n WHERE true");
	api_list(r, &q, "n.network");
	qb_free(&q);
}

void h_never_ban_create(struct api_req *r)
{
	struct qb q;
	qb_init(&q, "");
	api_create(r, &q, "never_ban_networks AS n", NEVER_FIELDS, sizeof NEVER_FIELDS / sizeof NEVER_FIELDS[0], NULL,
		   NULL, NEVER_COLS);
	qb_free(&q);
}

void h_never_ban_delete(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id >= 0)
		api_delete(r, "never_ban_networks n", "n", id, NULL, "never-ban network");
}

/* mesh peers */
static const struct api_field PEER_FIELDS[] = {
    {"id", F_INT, ROLE_ROOT, 0, 0, NULL, FF_READONLY, NULL},
    {"last_pushed_id", F_INT, ROLE_ROOT, 0, 0, NULL, FF_READONLY, NULL},
    {"last_push_at", F_STR, ROLE_ROOT, 0, 0, NULL, FF_READONLY, NULL},
    {"last_error", F_STR, ROLE_ROOT, 0, 0, NULL, FF_READONLY, NULL},
    {"name", F_STR, ROLE_ROOT, 1, 253, NULL, FF_REQUIRED, NULL},
    {"host", F_STR, ROLE_ROOT, 1, 253, NULL, FF_REQUIRED, NULL},
    {"port", F_INT, ROLE_ROOT, 1, 65535, NULL, 0, NULL},
    {"cert_fingerprint", F_STR, ROLE_ROOT, 64, 64, NULL, FF_REQUIRED, NULL},
    {"trust", F_STR, ROLE_ROOT, 0, 10, "enforce|observe", 0, NULL},
    {"enabled", F_BOOL, ROLE_ROOT, 0, 0, NULL, 0, NULL},
};
#define NPF (sizeof PEER_FIELDS / sizeof PEER_FIELDS[0])
#define PEER_COLS                                                                                                      \
	"p.id, p.name, p.host, p.port, p.cert_fingerprint, p.trust, p.enabled, p.last_pushed_id, "                     \
	"p.last_push_at, p.last_error, p.created_at, "                                                                 \
	"(SELECT count(*) FROM bans b WHERE b.peer_id = p.id AND b.status = 'banned') AS bans"

void h_mesh_peers_list(struct api_req *r)
{
	struct qb q;
	qb_init(&q, "SELECT " PEER_COLS " FROM mesh_peers p WHERE true");
	api_list(r, &q, "p.name");
	qb_free(&q);
}

void h_mesh_peer_create(struct api_req *r)
{
	struct qb q;
	qb_init(&q, "");
	api_create(r, &q, "mesh_peers AS p", PEER_FIELDS, NPF, NULL, NULL, PEER_COLS);
	qb_free(&q);
}

void h_mesh_peer_update(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id >= 0)
		api_update(r, "mesh_peers p", "p", PEER_FIELDS, NPF, id, NULL, PEER_COLS, "mesh peer");
}

void h_mesh_peer_delete(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id >= 0)
		api_delete(r, "mesh_peers p", "p", id, NULL, "mesh peer");
}
