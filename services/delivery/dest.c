/* dest.c - one message to one destination (see dest.h). */
#include "dest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maildir.h"
#include "relay.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/log.h"

#define DEST_MAX_RCPTS 1000

/* on_fsync - Maildir fsync timing into the histogram. */
static void on_fsync(void *arg, double s)
{
	cl_metric_observe(((struct dl_ctx *)arg)->m->fsync, s);
}

/* load_quotas - quota_bytes of each recipient's user (0 for none): the route's when policy sent
 * it, else from PostgreSQL. 0 or -1 with err. */
static int load_quotas(struct cl_pg *pg, const struct dl_dest_rcpt *r, size_t n, struct dl_md_rcpt *md, char *err,
		       size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		md[i].addr = r[i].addr;
		md[i].quota_bytes = r[i].quota_known ? r[i].quota_bytes : 0;
		if (r[i].user_id <= 0 || r[i].quota_known)
			continue;
		char id[24];
		snprintf(id, sizeof id, "%lld", r[i].user_id);
		const char *p[] = {id};
		PGresult *res = dl_db_exec(pg, "SELECT coalesce(quota_bytes, 0) FROM users WHERE id = $1", 1, p, -1, 0,
					   0, err, errlen);
		if (!res)
			return -1;
		if (PQntuples(res) == 1)
			md[i].quota_bytes = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
	}
	return 0;
}

/* deliver_local - the Maildir path. */
static int deliver_local(struct dl_ctx *c, struct cl_pg *pg, const char *sender, const struct dl_dest_rcpt *r, size_t n,
			 const void *msg, size_t len, struct cl_verdict *v)
{
	char err[400];
	struct dl_md_rcpt *md = calloc(n, sizeof *md);
	if (!md || load_quotas(pg, r, n, md, err, sizeof err) < 0) {
		cl_log(CL_LOG_WARN, NULL, "quota_lookup_failed", "error=\"%s\"", md ? "database" : "oom");
		cl_verdict_tempfail(v, "Temporary failure, try again later");
		free(md);
		return -1;
	}
	enum dl_md_status st =
	    dl_maildir_deliver(c->cfg->maildir_root, sender, md, n, msg, len, on_fsync, c, err, sizeof err);
	free(md);
	if (st == DL_MD_OK) {
		cl_verdict_set(v, CL_ACCEPT, 250, "2.0.0", "Delivered");
		return 0;
	}
	char esc[450];
	cl_log(CL_LOG_WARN, NULL, "maildir_failed", "error=%s", cl_log_escape(esc, sizeof esc, err, strlen(err)));
	if (st == DL_MD_QUOTA) {
		char t[400];
		snprintf(t, sizeof t, "%s", err);
		cl_verdict_set(v, CL_DEFER, 452, "4.2.2", t);
	} else if (st == DL_MD_NOSPACE) { /* RFC 5321 452, RFC 3463 X.3.1 "mail system full" */
		cl_verdict_set(v, CL_DEFER, 452, "4.3.1", "Insufficient system storage, try again later");
	} else {
		cl_verdict_set(v, CL_DEFER, 451, "4.3.0", "Temporary local delivery failure, try again later");
	}
	return -1;
}

/* Downstream of a group, as read from the groups table. */
struct downstream {
	char host[256];
	int port;
	enum dl_relay_tls tls;
	/* Room for the longest the admin API accepts (320 and 1024 characters, UTF-8). */
	char user[320 * 4 + 1], pass[1024 * 4 + 1];
	int found;
};

/* load_downstream - groups.relay_* of group_id; found=0 when the group has none. */
static int load_downstream(struct cl_pg *pg, long long group_id, struct downstream *d, char *err, size_t errlen)
{
	char id[24];
	snprintf(id, sizeof id, "%lld", group_id);
	const char *p[] = {id};
	PGresult *res = dl_db_exec(pg,
				   "SELECT relay_host, relay_port, relay_tls, coalesce(relay_auth_user, ''),"
				   " coalesce(relay_auth_pass, '') FROM groups WHERE id = $1 AND relay_host IS NOT NULL"
				   " AND relay_host <> ''",
				   1, p, -1, 0, 0, err, errlen);
	if (!res)
		return -1;
	memset(d, 0, sizeof *d);
	if (PQntuples(res) == 1) {
		d->found = 1;
		cl_strlcpy(d->host, PQgetvalue(res, 0, 0), sizeof d->host);
		d->port = atoi(PQgetvalue(res, 0, 1));
		const char *tls = PQgetvalue(res, 0, 2);
		d->tls = !strcmp(tls, "required") ? DL_TLS_REQUIRED
			 : !strcmp(tls, "none")   ? DL_TLS_NONE
						  : DL_TLS_OPPORTUNISTIC;
		const char *u = PQgetvalue(res, 0, 3), *pw = PQgetvalue(res, 0, 4);
		if (strlen(u) >= sizeof d->user || strlen(pw) >= sizeof d->pass) {
			/* Longer than the API allows (written by SQL): a cut password would fail AUTH
			 * with a misleading reply, so say so and defer. */
			PQclear(res);
			snprintf(err, errlen, "group %lld: relay_auth_user or relay_auth_pass too long", group_id);
			return -1;
		}
		cl_strlcpy(d->user, u, sizeof d->user);
		cl_strlcpy(d->pass, pw, sizeof d->pass);
	}
	PQclear(res);
	return 0;
}

/* deliver_remote - relay (the group's downstream) or outbound (it, or the smarthost). */
static int deliver_remote(struct dl_ctx *c, struct cl_pg *pg, enum cl_route_mode mode, long long group_id,
			  const char *sender, int smtputf8, const struct dl_dest_rcpt *r, size_t n, const void *msg,
			  size_t len, struct cl_verdict *v)
{
	char err[300];
	struct downstream d;
	if (load_downstream(pg, group_id, &d, err, sizeof err) < 0) {
		cl_log(CL_LOG_ERROR, NULL, "downstream_load_failed", "group=%lld error=\"%s\"", group_id, err);
		cl_verdict_tempfail(v, "Temporary failure, try again later");
		return -1;
	}
	if (!d.found && mode == CL_ROUTE_OUTBOUND && c->cfg->smarthost[0] &&
	    cl_parse_hostport(c->cfg->smarthost, d.host, sizeof d.host, &d.port) == 0) {
		d.found = 1;
		d.tls = DL_TLS_OPPORTUNISTIC;
	}
	if (!d.found) {
		cl_log(CL_LOG_ERROR, NULL, "no_downstream", "group=%lld mode=%s", group_id, cl_route_mode_str(mode));
		cl_verdict_set(v, CL_DEFER, 451, "4.3.5", "No downstream server configured, try again later");
		return -1;
	}
	const char **rc = calloc(n, sizeof *rc);
	if (!rc) {
		cl_verdict_tempfail(v, "Temporary failure, try again later");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		rc[i] = r[i].addr;
	/* The downstream's name through Clement's one resolver (lib/dns, CLEMENT_DNS_RESOLVER):
	 * libcurl gets the addresses and resolves nothing. A name that does not resolve is a
	 * temporary failure (a DNS outage or a typo an admin can fix; the client retries), never
	 * a refusal: 4.4.3, RFC 3463's "directory server failure". */
	struct cl_net_addrs addrs;
	char why[300];
	double t_dns = cl_now_seconds();
	if (cl_dns_host_resolve(c->dns, d.host, (int)c->cfg->relay_connect_timeout_ms, &addrs, why, sizeof why) !=
	    CL_DNS_OK) {
		cl_log(CL_LOG_WARN, NULL, "relay_dns_failed", "group=%lld host=%s port=%d error=\"%s\"", group_id,
		       d.host, d.port, why);
		cl_metric_inc(c->m->downstream_err[DL_RELAY_DNS]);
		cl_verdict_set(v, CL_DEFER, 451, "4.4.3",
			       "Temporary failure: the downstream server's name does not resolve");
		free(rc);
		return -1;
	}
	struct dl_relay_target t = {d.host,
				    d.port,
				    &addrs,
				    d.tls,
				    d.user[0] ? d.user : NULL,
				    d.pass,
				    c->cfg->relay_verify_cert,
				    c->cfg->relay_ca_file};
	/* CLEMENT_RELAY_TIMEOUT_MS bounds the whole hand-off, the lookup included (smtp-edge's
	 * delivery deadline is set against it) */
	long left = (long)c->cfg->relay_timeout_ms - (long)((cl_now_seconds() - t_dns) * 1000.0);
	struct dl_relay_opts o = {c->helo, (long)c->cfg->relay_connect_timeout_ms, left > 1 ? left : 1};
	enum dl_relay_err e = dl_relay_send(&t, &o, sender, smtputf8, rc, n, msg, len, v);
	free(rc);
	if (e != DL_RELAY_OK)
		cl_metric_inc(c->m->downstream_err[e]);
	return e == DL_RELAY_OK ? 0 : -1;
}

int dl_dest_deliver(struct dl_ctx *c, struct cl_pg *pg, enum cl_route_mode mode, long long group_id, const char *sender,
		    int smtputf8, const struct dl_dest_rcpt *r, size_t n, const void *msg, size_t len,
		    struct cl_verdict *v)
{
	double t0 = cl_now_seconds();
	int rc;
	enum dl_mode m = mode == CL_ROUTE_LOCAL   ? DL_MODE_LOCAL
			 : mode == CL_ROUTE_RELAY ? DL_MODE_RELAY
						  : DL_MODE_OUTBOUND;
	if (n == 0 || n > DEST_MAX_RCPTS) {
		cl_verdict_set(v, CL_DEFER, 452, "4.5.3", "Too many recipients");
		rc = -1;
	} else if (mode == CL_ROUTE_LOCAL) {
		rc = deliver_local(c, pg, sender, r, n, msg, len, v);
	} else if (mode == CL_ROUTE_RELAY || mode == CL_ROUTE_OUTBOUND) {
		rc = deliver_remote(c, pg, mode, group_id, sender, smtputf8, r, n, msg, len, v);
	} else {
		cl_verdict_tempfail(v, "Temporary failure: no route");
		rc = -1;
	}
	cl_metric_observe(c->m->latency[m], cl_now_seconds() - t0);
	cl_metric_inc(c->m->deliveries[m][rc == 0 ? DL_OUT_OK : v->code >= 500 ? DL_OUT_PERMFAIL : DL_OUT_TEMPFAIL]);
	return rc;
}

enum cl_route_mode dl_group_mode(struct cl_pg *pg, long long group_id, char *err, size_t errlen)
{
	char id[24];
	snprintf(id, sizeof id, "%lld", group_id);
	const char *p[] = {id};
	PGresult *res = dl_db_exec(pg, "SELECT mode FROM groups WHERE id = $1", 1, p, -1, 0, 0, err, errlen);
	if (!res)
		return CL_ROUTE_NONE;
	enum cl_route_mode m = CL_ROUTE_NONE;
	if (PQntuples(res) == 1)
		m = !strcmp(PQgetvalue(res, 0, 0), "local") ? CL_ROUTE_LOCAL : CL_ROUTE_RELAY;
	else
		cl_snprintf(err, errlen, "no group %lld", group_id);
	PQclear(res);
	return m;
}
