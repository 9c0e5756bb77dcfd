/* push.c - send our fully-banned records to each mesh peer (docs/MESH.md section 8).
 *
 * For each enabled peer: the ban_events after mesh_peers.last_pushed_id, in order, each as one
 * XMESH command in one SMTP session (STARTTLS, or implicit TLS on port 465, with our client
 * certificate). last_pushed_id advances over each event the peer answered 250 (stored), 501
 * or 554 (this record refused for good: retrying would block the peer for ever, so it is
 * logged and skipped) or that we skip (the record came from that peer or originates there);
 * it stops at any other reply (4xx, 530 not trusted, 500 extension gone), timeout or lost
 * connection, so a peer that was down gets everything it missed on the
 * next round. A session-level advisory lock per peer keeps two replicas from pushing to the
 * same peer at once. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "banstats.h"
#include "mail/mesh_record.h"
#include "mail/smtp_client.h"
#include "mail/smtp_tls.h"
#include "util/buf.h"
#include "util/log.h"

#define PUSH_LOCK_KEY    0x6d657368 /* "mesh" */
#define PUSH_MAX_BATCHES 20         /* per peer and round, so one peer cannot hold the thread */

static const char sql_peers[] = "SELECT id, name, host, port, last_pushed_id FROM mesh_peers WHERE enabled ORDER BY id";

/* $1 after id, $2 limit. */
static const char sql_events[] =
    "SELECT e.id, e.kind, b.network, b.reason, b.score, coalesce(extract(epoch FROM b.expires_at)::bigint, 0),"
    " coalesce(b.origin_server, ''), b.hops, coalesce(b.peer_id, 0)"
    " FROM ban_events e JOIN bans b ON b.id = e.ban_id WHERE e.id > $1::bigint ORDER BY e.id LIMIT $2::int";

static const char sql_done[] =
    "UPDATE mesh_peers SET last_pushed_id = greatest(last_pushed_id, $2::bigint), last_push_at = now(),"
    " last_error = nullif($3, '') WHERE id = $1::bigint";

void *push_tls_ctx_new(const struct banstats_config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		cl_snprintf(err, errlen, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	const char *what = NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->mesh_cert) != 1)
		what = "CLEMENT_MESH_CERT: cannot load the certificate";
	else if (SSL_CTX_use_PrivateKey_file(ctx, cfg->mesh_key, SSL_FILETYPE_PEM) != 1)
		what = "CLEMENT_MESH_KEY: cannot load the private key";
	else if (SSL_CTX_check_private_key(ctx) != 1)
		what = "CLEMENT_MESH_KEY does not match CLEMENT_MESH_CERT";
	else if (cfg->mesh_ca[0] ? SSL_CTX_load_verify_locations(ctx, cfg->mesh_ca, NULL) != 1
				 : SSL_CTX_set_default_verify_paths(ctx) != 1)
		what = "CLEMENT_MESH_CA: cannot load the CA certificates";
	if (what) {
		cl_snprintf(err, errlen, "%s", what);
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, cfg->mesh_tls_verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	return ctx;
}

void push_tls_ctx_free(void *ctx)
{
	SSL_CTX_free(ctx);
}

struct peer {
	const char *id, *name, *host;
	int port;
	long long last;
};

/* open_session - greeting, EHLO, TLS, EHLO again, and the XMESH keyword (docs/MESH.md 3). */
static int open_session(struct cl_smtpc *c, const struct peer *p, const struct banstats_config *cfg, SSL_CTX *ctx,
			char *err, size_t errlen)
{
	char ehlo[300];
	cl_snprintf(ehlo, sizeof ehlo, "EHLO %s", cfg->server_name);
	if (cl_smtpc_connect(c, &cfg->resolver, p->host, p->port, (int)cfg->mesh_timeout_s * 1000, 0, err, errlen) < 0)
		return -1;
	int implicit = p->port == 465; /* RFC 8314 3.3 */
	if (implicit && cl_smtpc_tls(c, ctx, p->host, err, errlen) < 0)
		return -1;
	if (cl_smtpc_cmd(c, NULL, err, errlen) < 0 || cl_smtpc_cmd(c, ehlo, err, errlen) < 0)
		return -1;
	if (c->code != 250) {
		cl_snprintf(err, errlen, "greeting or EHLO refused: %d", c->code);
		return -1;
	}
	if (!implicit) {
		if (!cl_smtpc_has_ext(c, "STARTTLS")) {
			cl_snprintf(err, errlen, "peer does not offer STARTTLS");
			return -1;
		}
		if (cl_smtpc_cmd(c, "STARTTLS", err, errlen) < 0)
			return -1;
		if (c->code != 220) {
			cl_snprintf(err, errlen, "STARTTLS refused: %d", c->code);
			return -1;
		}
		if (cl_smtpc_tls(c, ctx, p->host, err, errlen) < 0 || cl_smtpc_cmd(c, ehlo, err, errlen) < 0)
			return -1;
	}
	if (c->code != 250 || !cl_smtpc_has_ext(c, CL_MESH_VERB)) {
		cl_snprintf(err, errlen, "peer does not offer %s to us (is our certificate in its mesh peers?)",
			    CL_MESH_VERB);
		return -1;
	}
	return 0;
}

/* event_record - a ban_events row as a record; 0, or 1 when it must not go to this peer. */
static int event_record(PGresult *r, int row, const struct peer *p, const struct banstats_config *cfg,
			struct cl_mesh_record *rec)
{
	memset(rec, 0, sizeof *rec);
	rec->action = strcmp(PQgetvalue(r, row, 1), "lift") == 0 ? CL_MESH_LIFT : CL_MESH_BAN;
	cl_strlcpy(rec->network, PQgetvalue(r, row, 2), sizeof rec->network);
	cl_strlcpy(rec->reason, PQgetvalue(r, row, 3), sizeof rec->reason);
	double score = strtod(PQgetvalue(r, row, 4), NULL);
	rec->score = score < 0 ? 0 : score > CL_MESH_SCORE_MAX ? CL_MESH_SCORE_MAX : score;
	long long exp = atoll(PQgetvalue(r, row, 5));
	rec->expires = exp < 0 ? 0 : exp;
	const char *origin = PQgetvalue(r, row, 6);
	cl_strlcpy(rec->origin, origin[0] ? origin : cfg->server_name, sizeof rec->origin);
	rec->hops = atoi(PQgetvalue(r, row, 7));
	if (rec->action == CL_MESH_LIFT)
		rec->reason[0] = '\0';
	/* Never echo a record to the peer it came from or to its origin (docs/MESH.md 6). */
	return strcmp(PQgetvalue(r, row, 8), p->id) == 0 || strcasecmp(rec->origin, p->name) == 0;
}

/* push_batch - one batch of events. Returns the number sent (>= 0), or -1 when the peer
 * failed (err filled). *last advances as described at the top; *more says a full batch came. */
static int push_batch(struct cl_pg *pg, struct cl_smtpc *c, int *open, const struct peer *p,
		      const struct banstats_config *cfg, SSL_CTX *ctx, long long *last, int *more, char *err,
		      size_t errlen)
{
	char after[24], lim[16];
	cl_snprintf(after, sizeof after, "%lld", *last);
	cl_snprintf(lim, sizeof lim, "%lld", cfg->mesh_batch);
	const char *params[] = {after, lim};
	PGresult *r = cl_pg_exec_sql(pg, sql_events, 2, params, err, errlen);
	if (!r)
		return -1;
	int n = PQntuples(r), sent = 0, rc = 0;
	*more = n == cfg->mesh_batch;
	for (int i = 0; i < n && rc == 0; i++) {
		struct cl_mesh_record rec;
		char line[CL_MESH_LINE_MAX], cmd[CL_MESH_LINE_MAX + 8];
		long long id = atoll(PQgetvalue(r, i, 0));
		if (event_record(r, i, p, cfg, &rec) == 1 || cl_mesh_record_format(&rec, line, sizeof line) < 0) {
			*last = id; /* skipped: not for this peer (or unrepresentable, which the log shows) */
			continue;
		}
		if (!*open && open_session(c, p, cfg, ctx, err, errlen) < 0) {
			rc = -1;
			break;
		}
		*open = 1;
		cl_snprintf(cmd, sizeof cmd, "%s %s", CL_MESH_VERB, line);
		if (cl_smtpc_cmd(c, cmd, err, errlen) < 0) {
			rc = -1;
			break;
		}
		if (c->code != 250 && c->code != 501 && c->code != 554) { /* docs/MESH.md section 5 */
			cl_snprintf(err, errlen, "peer answered %d %.200s", c->code, c->text);
			rc = -1;
			break;
		}
		if (c->code != 250) {
			char esc[300];
			cl_log(CL_LOG_WARN, NULL, "mesh_push_refused", "peer=%s event=%lld code=%d text=%s", p->name,
			       id, c->code, cl_log_escape(esc, sizeof esc, c->text, strlen(c->text)));
		} else {
			sent++;
		}
		*last = id;
	}
	PQclear(r);
	return rc < 0 ? -1 : sent;
}

/* push_peer - everything pending for one peer; 0 or -1 (recorded in mesh_peers.last_error). */
static int push_peer(struct cl_pg *pg, const struct peer *p, const struct banstats_config *cfg, SSL_CTX *ctx,
		     struct banstats_metrics *m)
{
	struct cl_smtpc c = {.fd = -1};
	int open = 0, more = 1, rc = 0, total = 0;
	long long last = p->last;
	char err[300] = "";
	for (int b = 0; b < PUSH_MAX_BATCHES && more && rc == 0; b++) {
		int n = push_batch(pg, &c, &open, p, cfg, ctx, &last, &more, err, sizeof err);
		rc = n < 0 ? -1 : 0;
		total += n > 0 ? n : 0;
	}
	if (open && rc == 0) {
		char e2[100];
		cl_smtpc_cmd(&c, "QUIT", e2, sizeof e2);
	}
	cl_smtpc_close(&c);
	char lastbuf[24], e2[200];
	cl_snprintf(lastbuf, sizeof lastbuf, "%lld", last);
	const char *params[] = {p->id, lastbuf, rc < 0 ? err : ""};
	PGresult *r = cl_pg_exec_sql(pg, sql_done, 3, params, e2, sizeof e2);
	PQclear(r);
	cl_metric_add(m->pushed, total);
	char esc[400];
	if (rc < 0) {
		cl_metric_inc(m->push_failures);
		cl_log(CL_LOG_WARN, NULL, "mesh_push_failed", "peer=%s sent=%d last_pushed_id=%lld error=%s", p->name,
		       total, last, cl_log_escape(esc, sizeof esc, err, strlen(err)));
	} else if (last != p->last) {
		cl_log(CL_LOG_INFO, NULL, "mesh_push", "peer=%s sent=%d last_pushed_id=%lld", p->name, total, last);
	}
	return rc;
}

int push_run(struct cl_pg *pg, const struct banstats_config *cfg, struct banstats_metrics *m, void *ssl_ctx)
{
	char err[300];
	PGresult *peers = cl_pg_exec_sql(pg, sql_peers, 0, NULL, err, sizeof err);
	if (!peers) {
		cl_log(CL_LOG_ERROR, NULL, "mesh_push_failed", "error=\"%s\"", err);
		return 1;
	}
	int failed = 0;
	for (int i = 0; i < PQntuples(peers); i++) {
		struct peer p = {PQgetvalue(peers, i, 0), PQgetvalue(peers, i, 1), PQgetvalue(peers, i, 2),
				 atoi(PQgetvalue(peers, i, 3)), atoll(PQgetvalue(peers, i, 4))};
		char q[96];
		cl_snprintf(q, sizeof q, "SELECT pg_try_advisory_lock(%d, %s::int)::int", PUSH_LOCK_KEY, p.id);
		PGresult *l = cl_pg_exec_sql(pg, q, 0, NULL, err, sizeof err);
		int got = l && PQntuples(l) == 1 && strcmp(PQgetvalue(l, 0, 0), "1") == 0;
		PQclear(l);
		if (!got)
			continue;
		if (push_peer(pg, &p, cfg, ssl_ctx, m) < 0)
			failed++;
		cl_snprintf(q, sizeof q, "SELECT pg_advisory_unlock(%d, %s::int)", PUSH_LOCK_KEY, p.id);
		PQclear(cl_pg_exec_sql(pg, q, 0, NULL, err, sizeof err));
	}
	PQclear(peers);
	return failed;
}
