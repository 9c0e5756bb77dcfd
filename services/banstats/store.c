/* store.c - the RPC ops of banstats (docs/RPC.md, docs/MESH.md section 7): mesh_peer (is this
 * client certificate a trusted peer?) and mesh_records (records that a trusted peer sent to
 * our smtp-edge are stored as bans of that peer).
 *
 * A request is all-or-nothing: every record is validated (lib/mail/mesh_record) and checked
 * against loops (origin is this server, hop limit) before anything is written; then all of
 * them are stored in one transaction. The reply carries the ok/stored fields of the RPC
 * contract plus the verdict (action, code, enh, text) that smtp-edge sends to the peer as is.
 *
 * Trust: the peer's mesh_peers row (found by its certificate fingerprint) says enforce ->
 * status 'banned' (policy refuses the network at connect), observe -> 'candidate' (an admin
 * reviews it). A banned record becoming banned, changing expiry or being lifted writes a
 * ban_events row, so the record travels on to our own peers (with its hop count). */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "banstats.h"
#include "mail/banstats_client.h"
#include "mail/mesh_record.h"
#include "mail/verdict.h"
#include "rpc/rpc.h"
#include "util/buf.h"
#include "util/log.h"

struct store {
	const struct banstats_config *cfg; /* borrowed, outlives the store */
	struct banstats_metrics *m;
	pthread_mutex_t lock; /* one cl_pg is not thread-safe */
	struct cl_pg pg;
	int pg_open;
};

struct store *store_new(const struct banstats_config *cfg, struct banstats_metrics *m)
{
	struct store *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->cfg = cfg;
	s->m = m;
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	if (s->pg_open)
		cl_pg_close(&s->pg);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* $1 peer_id, $2 network, $3 status, $4 reason, $5 score, $6 expires (unix, 0 = none),
 * $7 origin, $8 hops as stored, $9 peer name, $10 never-ban array. Returns one row: 1 stored,
 * 0 ignored (never-ban network, already expired, or the open row is one an admin promoted:
 * origin 'admin', which the peer no longer changes). */
static const char sql_ban[] =
    "WITH skip AS (SELECT 1 FROM never_ban_networks n WHERE n.network && $2::cidr"
    "  UNION ALL SELECT 1 WHERE $2::cidr && ANY ($10::cidr[])"
    "  UNION ALL SELECT 1 WHERE $6::bigint <> 0 AND to_timestamp($6::bigint) <= now()),"
    " x AS (SELECT CASE WHEN $6::bigint = 0 THEN NULL ELSE to_timestamp($6::bigint) END AS expires),"
    " old AS (SELECT id, status, expires_at, origin FROM bans WHERE network = $2::cidr AND peer_id = $1::bigint"
    "  AND status IN ('candidate', 'banned') FOR UPDATE),"
    " upd AS (UPDATE bans b SET status = $3, reason = $4, score = $5::real, expires_at = x.expires,"
    "   origin_server = $7, hops = $8::int, evidence = jsonb_build_object('peer', $9::text, 'origin', $7::text,"
    "   'hops', $8::int, 'received_at', now())"
    "  FROM old, x WHERE b.id = old.id AND old.origin = 'peer' AND NOT EXISTS (SELECT 1 FROM skip)"
    "  RETURNING b.id, old.status AS before, old.expires_at IS DISTINCT FROM x.expires AS changed),"
    " ins AS (INSERT INTO bans (network, status, origin, origin_server, peer_id, reason, score, hops, evidence,"
    "   expires_at)"
    "  SELECT $2::cidr, $3, 'peer', $7, $1::bigint, $4, $5::real, $8::int, jsonb_build_object('peer', $9::text,"
    "   'origin', $7::text, 'hops', $8::int, 'received_at', now()), x.expires FROM x"
    "  WHERE NOT EXISTS (SELECT 1 FROM old) AND NOT EXISTS (SELECT 1 FROM skip)"
    "  RETURNING id, NULL::text AS before, true AS changed),"
    " ch AS (SELECT * FROM upd UNION ALL SELECT * FROM ins),"
    " ev AS (INSERT INTO ban_events (ban_id, kind) SELECT id, 'ban' FROM ch WHERE $3 = 'banned'"
    "  AND (before IS DISTINCT FROM 'banned' OR changed) RETURNING 1)"
    " SELECT count(*) FROM ch";

/* $1 peer_id, $2 network. A lift only lifts what that same peer told us, and not once an admin
 * promoted it (origin 'admin': the ban is then ours). */
static const char sql_lift[] =
    "WITH old AS (SELECT id, status FROM bans WHERE network = $2::cidr AND peer_id = $1::bigint"
    "  AND origin = 'peer' AND status IN ('candidate', 'banned') FOR UPDATE),"
    " l AS (UPDATE bans b SET status = 'lifted', lifted_at = now() FROM old WHERE b.id = old.id"
    "  RETURNING b.id, old.status AS before),"
    " ev AS (INSERT INTO ban_events (ban_id, kind) SELECT id, 'lift' FROM l WHERE before = 'banned' RETURNING 1)"
    " SELECT count(*) FROM l";

/* reply - the mesh_records reply: the verdict smtp-edge relays, with the counts when stored
 * (caller owns it). */
static cJSON *reply(int code, const char *enh, const char *text, long long stored, long long ignored)
{
	struct cl_banstats_records_answer a = {.stored = stored, .ignored = ignored};
	cl_verdict_set(&a.v, code < 300 ? CL_ACCEPT : code < 500 ? CL_DEFER : CL_REJECT, code, enh, text);
	return cl_banstats_records_answer_encode(&a);
}

/* fingerprint_norm - 64 hex digits, colons allowed, into lowercase without colons. 0 or -1. */
static int fingerprint_norm(const char *in, char out[65])
{
	size_t n = 0;
	for (const char *p = in; *p; p++) {
		if (*p == ':')
			continue;
		if (!isxdigit((unsigned char)*p) || n >= 64)
			return -1;
		out[n++] = (char)tolower((unsigned char)*p);
	}
	out[n] = '\0';
	return n == 64 ? 0 : -1;
}

/* validate - the loop rules over the decoded records, before anything is stored. Returns 0,
 * or the SMTP code of the refusal with text filled. */
static int validate(const struct store *s, const struct cl_mesh_record *recs, size_t n, char *text, size_t textlen)
{
	for (size_t i = 0; i < n; i++) {
		/* docs/MESH.md 6: a record that comes back to its origin, or that travelled too far,
		 * is refused; that is what ends loops in any mesh topology. */
		if (strcasecmp(recs[i].origin, s->cfg->server_name) == 0) {
			cl_snprintf(text, textlen, "Mesh record %zu originates from this server (loop)", i + 1);
			return 554;
		}
		if (recs[i].hops + 1 > s->cfg->mesh_max_hops) {
			cl_snprintf(text, textlen, "Mesh record %zu has travelled %d hops, the limit is %lld", i + 1,
				    recs[i].hops, s->cfg->mesh_max_hops);
			return 554;
		}
	}
	return 0;
}

/* store_one - one record inside the open transaction; *stored is 1 or 0 (ignored). */
static int store_one(struct store *s, const char *peer_id, const char *peer_name, const char *status,
		     const struct cl_mesh_record *r, long long *stored, char *err, size_t errlen)
{
	char score[32], expires[24], hops[8];
	cl_snprintf(score, sizeof score, "%.3f", r->score);
	cl_snprintf(expires, sizeof expires, "%lld", r->expires);
	cl_snprintf(hops, sizeof hops, "%d", r->hops + 1); /* this hop counts */
	PGresult *res;
	if (r->action == CL_MESH_BAN) {
		const char *p[] = {peer_id, r->network, status, r->reason, score,
				   expires, r->origin,  hops,   peer_name, s->cfg->never_ban_array};
		res = cl_pg_exec_sql(&s->pg, sql_ban, 10, p, err, errlen);
	} else {
		const char *p[] = {peer_id, r->network};
		res = cl_pg_exec_sql(&s->pg, sql_lift, 2, p, err, errlen);
	}
	if (!res)
		return -1;
	*stored = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* store_all - look the peer up and store every record in one transaction. Returns the SMTP
 * code (250, 530 unknown peer, 451 database trouble) with text filled. */
static int store_all(struct store *s, const char *fp, const struct cl_mesh_record *recs, int n, long long *stored,
		     char *text, size_t textlen)
{
	char err[300];
	if (!s->pg_open) {
		if (cl_pg_open(&s->pg, s->cfg->db_url, NULL, 0, 1, err, sizeof err) < 0) {
			cl_pg_close(&s->pg);
			goto temp;
		}
		s->pg_open = 1;
	}
	if (cl_pg_begin(&s->pg, NULL, err, sizeof err) < 0)
		goto temp;
	const char *p[] = {fp};
	PGresult *peer = cl_pg_exec_sql(&s->pg,
					"SELECT id, name, trust FROM mesh_peers WHERE cert_fingerprint = $1"
					" AND enabled",
					1, p, err, sizeof err);
	if (!peer)
		goto rollback;
	if (PQntuples(peer) != 1) {
		PQclear(peer);
		cl_pg_rollback(&s->pg);
		cl_snprintf(text, textlen, "Not a trusted mesh peer");
		return 530; /* about the peer, not the record: the sender keeps its position */
	}
	const char *status = strcmp(PQgetvalue(peer, 0, 2), "enforce") == 0 ? "banned" : "candidate";
	for (int i = 0; i < n; i++) {
		long long one = 0;
		if (store_one(s, PQgetvalue(peer, 0, 0), PQgetvalue(peer, 0, 1), status, &recs[i], &one, err,
			      sizeof err) < 0) {
			PQclear(peer);
			goto rollback;
		}
		*stored += one;
	}
	PQclear(peer);
	if (cl_pg_commit(&s->pg, err, sizeof err) < 0)
		goto rollback;
	return 250;
rollback:
	cl_pg_rollback(&s->pg);
temp:
	cl_log(CL_LOG_ERROR, NULL, "mesh_store_failed", "error=\"%s\"", err);
	cl_snprintf(text, textlen, "Temporary failure, try again later");
	*stored = 0;
	return 451;
}

/* handle_records - the mesh_records op. */
static cJSON *handle_records(void *ctx, const cJSON *req, const unsigned char *body, size_t blen, void **rbody,
			     size_t *rblen)
{
	(void)body, (void)blen, (void)rbody, (void)rblen;
	struct store *s = ctx;
	char fp[65], text[300] = "";
	struct cl_banstats_records_request r;
	int dec = cl_banstats_records_req_decode(req, &r, text, sizeof text);
	if (fingerprint_norm(r.peer, fp) < 0 || dec < 0) { /* the peer's form is named first */
		free(r.recs);
		cl_metric_inc(s->m->rec_refused);
		if (fingerprint_norm(r.peer, fp) < 0)
			cl_snprintf(text, sizeof text, "Malformed request: peer must be a SHA-256 fingerprint");
		return reply(501, "5.5.4", text, 0, 0);
	}
	int n = (int)r.n;
	int code = validate(s, r.recs, r.n, text, sizeof text);
	long long stored = 0;
	if (code == 0) {
		pthread_mutex_lock(&s->lock);
		code = store_all(s, fp, r.recs, n, &stored, text, sizeof text);
		pthread_mutex_unlock(&s->lock);
	}
	free(r.recs);
	if (code == 250) /* the reply's text; until here it held nothing (the log line below read it) */
		cl_snprintf(text, sizeof text, "%lld of %d mesh record(s) stored", stored, n);
	char esc[400];
	cl_log(code == 250 ? CL_LOG_INFO : CL_LOG_WARN, NULL, "mesh_records",
	       "peer=%.16s records=%d stored=%lld code=%d text=%s", fp, n, stored, code,
	       cl_log_escape(esc, sizeof esc, text, strlen(text)));
	if (code == 250) {
		cl_metric_add(s->m->rec_stored, stored);
		cl_metric_add(s->m->rec_ignored, n - stored);
		return reply(250, "2.0.0", text, stored, n - stored);
	}
	cl_metric_inc(code == 451 ? s->m->rec_tempfail : s->m->rec_refused);
	return reply(code, code == 451 ? "4.3.0" : code == 501 ? "5.5.4" : code == 530 ? "5.7.0" : "5.7.1", text, 0, 0);
}

/* handle_peer - the mesh_peer op: is this certificate fingerprint an enabled peer? smtp-edge
 * asks it once per TLS session with a client certificate, before offering XMESH in EHLO. */
static cJSON *handle_peer(void *ctx, const cJSON *req, const unsigned char *body, size_t blen, void **rbody,
			  size_t *rblen)
{
	(void)body, (void)blen, (void)rbody, (void)rblen;
	struct store *s = ctx;
	char fp[65], err[300];
	struct cl_banstats_peer_request q;
	cl_banstats_peer_req_decode(req, &q);
	if (fingerprint_norm(q.peer, fp) < 0)
		return cl_rpc_error_reply("peer must be a SHA-256 fingerprint");
	pthread_mutex_lock(&s->lock);
	PGresult *r = NULL;
	if (s->pg_open || cl_pg_open(&s->pg, s->cfg->db_url, NULL, 0, 1, err, sizeof err) == 0) {
		s->pg_open = 1;
		const char *p[] = {fp};
		r = cl_pg_exec_sql(&s->pg, "SELECT name, trust FROM mesh_peers WHERE cert_fingerprint = $1 AND enabled",
				   1, p, err, sizeof err);
	} else {
		cl_pg_close(&s->pg);
	}
	pthread_mutex_unlock(&s->lock);
	if (!r) /* the caller treats a failure as "not a peer" for this session */
		return cl_rpc_error_reply("database unavailable");
	struct cl_banstats_peer_answer a = {.trusted = PQntuples(r) == 1};
	if (a.trusted) {
		cl_strlcpy(a.name, PQgetvalue(r, 0, 0), sizeof a.name);
		cl_strlcpy(a.trust, PQgetvalue(r, 0, 1), sizeof a.trust);
	}
	PQclear(r);
	return cl_banstats_peer_answer_encode(&a);
}

static const struct cl_rpc_op store_op_list[] = {
    {CL_BANSTATS_OP_RECORDS, handle_records},
    {CL_BANSTATS_OP_PEER, handle_peer},
};

const struct cl_rpc_op *store_ops(size_t *n)
{
	*n = sizeof store_op_list / sizeof store_op_list[0];
	return store_op_list;
}
