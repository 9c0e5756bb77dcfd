/* auth.c - POST /api/login, /api/logout, /api/password and GET /api/me.
 *
 * Login answers "wrong address or password" (401) for an unknown address, a disabled account
 * and a wrong password alike, and spends one password verification's time in each case
 * (cl_password_dummy_verify), so neither the answer nor its timing tells whether an address
 * exists. Failed attempts are throttled per client IP (429 until its window ends) and slowed
 * per account by a growing delay that never holds the account's known addresses (see "Throttling"
 * below); /api/password's current-password checks are throttled the same way. Passwords are
 * never logged. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/imap_login.h"
#include "auth/password.h"
#include "fields.h"
#include "routes.h"
#include "session.h"
#include "sql.h"
#include "util/log.h"

struct login_user {
	long long id, domain_id;
	int exists, enabled;
	char hash[CL_PASSWORD_HASH_MAX];
	int imap; /* the group logs its users in over IMAP */
	char imap_host[256];
	int imap_port;
	enum cl_imap_tls imap_tls;
	char role[16];
};

/* Throttling (issue 15): failures are counted in login_failures under three kinds of key.
 *   "ip:<client ip>"          per source address: past CLEMENT_LOGIN_MAX_FAILS_IP failures within
 *                             the window, every attempt from it is refused until the window ends;
 *   "addr:<address>"          per account (or "pw:<user id>" for /api/password): past
 *                             CLEMENT_LOGIN_MAX_FAILS failures, the next attempt must wait a delay
 *                             that doubles with each further failure (1 s, 2 s, 4 s ... up to
 *                             CLEMENT_LOGIN_DELAY_MAX_S) after the last one: slowed, never locked;
 *   "addrip:<address>|<ip>"   which sources the account's failures came from.
 * The account's delay holds only an attempt from a source that itself failed for the account
 * within the window, and never one from an address the account logged in from (login_known),
 * so an attacker cannot keep an admin out: the admin's right password from another address is
 * checked at once. A source address that fails gets the delay from then on. */
struct rl_keys {
	char acct[API_ADDR_MAX + 16]; /* "addr:<address>" or "pw:<uid>" */
	char src[API_ADDR_MAX + 80];  /* "addrip:<address>|<ip>", or "" (the delay holds everyone) */
	char ip[80];                  /* "ip:<ip>" */
};

/* rl_login_keys - the keys of a login attempt for address. */
static void rl_login_keys(struct api_req *r, const char *address, struct rl_keys *k)
{
	cl_snprintf(k->acct, sizeof k->acct, "addr:%s", address);
	cl_snprintf(k->src, sizeof k->src, "addrip:%s|%s", address, r->ip);
	cl_snprintf(k->ip, sizeof k->ip, "ip:%s", r->ip);
}

/* rl_wait - seconds until this attempt may be checked (0: now), or -1 (answered). known_uid:
 * the account whose known addresses skip the delay (0: none). */
static int rl_wait(struct api_req *r, const struct rl_keys *k, long long known_uid)
{
	const struct api_config *c = r->app->cfg;
	char win[24], mip[24], nfree[24], dmax[24], uid[24];
	snprintf(win, sizeof win, "%lld", c->login_window_s);
	snprintf(mip, sizeof mip, "%lld", c->login_max_fails_ip);
	snprintf(nfree, sizeof nfree, "%lld", c->login_max_fails_addr);
	snprintf(dmax, sizeof dmax, "%lld", c->login_delay_max_s);
	snprintf(uid, sizeof uid, "%lld", known_uid);
	const char *p[] = {k->ip, k->acct, k->src[0] ? k->src : NULL, win, mip, nfree,
			   dmax,  uid,     r->ip[0] ? r->ip : NULL};
	PGresult *res =
	    api_exec_sql(r,
			 "SELECT greatest(0, "
			 "(SELECT ceil(extract(epoch FROM f.window_start + make_interval(secs => $4::int) - now())) "
			 "FROM login_failures f WHERE f.key = $1 AND f.failures >= $5::int "
			 "AND f.window_start > now() - make_interval(secs => $4::int)), "
			 "(SELECT ceil(extract(epoch FROM f.last_failure_at + make_interval(secs => "
			 "least(power(2, least(f.failures - $6::int, 30)), $7::int)) - now())) "
			 "FROM login_failures f WHERE f.key = $2 AND f.failures >= $6::int "
			 "AND f.last_failure_at > now() - make_interval(secs => $4::int) "
			 "AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM login_failures s WHERE s.key = $3 "
			 "AND s.last_failure_at > now() - make_interval(secs => $4::int))) "
			 "AND NOT EXISTS (SELECT 1 FROM login_known n WHERE n.user_id = $8::bigint AND n.ip = $9::inet "
			 "AND n.last_ok_at > now() - interval '90 days')))::int",
			 9, p);
	if (!res)
		return -1;
	int wait = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return wait;
}

/* rl_refused - 1 when the attempt must wait (answered 429 with Retry-After), 0 when it may
 * go on, -1 (answered). */
static int rl_refused(struct api_req *r, const struct rl_keys *k, long long known_uid, const char *what)
{
	int wait = rl_wait(r, k, known_uid);
	if (wait > 0) {
		cl_metric_inc(r->app->m_login_limited);
		r->retry_after = wait;
		api_err(r, 429, "too many failed %s, try again in %d seconds", what, wait);
	}
	return wait != 0;
}

/* rl_fail - count one failure for each key: an IP's window restarts when it has passed, an
 * account's and a source's count restarts after a window without failures. */
static void rl_fail(struct api_req *r, const struct rl_keys *k)
{
	char win[24];
	snprintf(win, sizeof win, "%lld", r->app->cfg->login_window_s);
	const char *p[] = {k->ip, k->acct, k->src[0] ? k->src : NULL, win};
	PGresult *res = api_exec_sql(
	    r,
	    "INSERT INTO login_failures AS f (key, failures) SELECT v.k, 1 FROM (VALUES ($1::text), ($2), ($3)) "
	    "AS v(k) WHERE v.k IS NOT NULL ON CONFLICT (key) DO UPDATE SET "
	    "failures = CASE WHEN (f.key LIKE 'ip:%' AND f.window_start < now() - make_interval(secs => $4::int)) "
	    "OR (f.key NOT LIKE 'ip:%' AND f.last_failure_at < now() - make_interval(secs => $4::int)) "
	    "THEN 1 ELSE f.failures + 1 END, "
	    "window_start = CASE WHEN f.window_start < now() - make_interval(secs => $4::int) THEN now() "
	    "ELSE f.window_start END, last_failure_at = now()",
	    4, p);
	PQclear(res);
	cl_metric_inc(r->app->m_login_fail);
}

/* rl_ok - the right password: the account's delay ends, and (uid > 0) this client address
 * becomes one the account is known to log in from (for 90 days after its last login; older
 * ones are forgotten here, so the table stays small). */
static void rl_ok(struct api_req *r, const struct rl_keys *k, long long uid)
{
	const char *p[] = {k->acct, k->src[0] ? k->src : NULL};
	PQclear(api_exec_sql(r, "DELETE FROM login_failures WHERE key IN ($1, $2)", 2, p));
	if (uid <= 0 || !r->ip[0])
		return;
	char id[24];
	snprintf(id, sizeof id, "%lld", uid);
	const char *q[] = {id, r->ip};
	PQclear(api_exec_sql(
	    r,
	    "WITH stale AS (DELETE FROM login_known WHERE user_id = $1 AND ip <> $2::inet AND last_ok_at < now() - "
	    "interval '90 days') INSERT INTO login_known (user_id, ip) VALUES ($1, $2::inet) "
	    "ON CONFLICT (user_id, ip) DO UPDATE SET last_ok_at = now()",
	    2, q));
}

/* login_lookup - the account behind address (local@domain). 0, or -1 (answered). */
static int login_lookup(struct api_req *r, const char *address, struct login_user *u)
{
	memset(u, 0, sizeof *u);
	const char *at = strrchr(address, '@');
	if (!at || at == address || !at[1])
		return 0;
	char local[API_ADDR_MAX + 1];
	cl_snprintf(local, sizeof local, "%.*s", (int)(at - address), address);
	const char *p[] = {local, at + 1};
	PGresult *res =
	    api_exec_sql(r,
			 "SELECT u.id, u.password_hash, u.enabled, d.id, g.mode = 'relay' AND g.imap_host IS NOT NULL, "
			 "g.imap_host, coalesce(g.imap_port, 0), g.imap_tls, coalesce(u.role, '') "
			 "FROM domains d JOIN groups g ON g.id = d.group_id "
			 "LEFT JOIN users u ON u.domain_id = d.id AND u.local_part = $1 WHERE d.name = $2",
			 2, p);
	if (!res)
		return -1;
	if (PQntuples(res) == 1) {
		u->exists = !PQgetisnull(res, 0, 0);
		u->id = atoll(PQgetvalue(res, 0, 0));
		cl_strlcpy(u->hash, PQgetvalue(res, 0, 1), sizeof u->hash);
		u->enabled = PQgetvalue(res, 0, 2)[0] == 't';
		u->domain_id = atoll(PQgetvalue(res, 0, 3));
		u->imap = PQgetvalue(res, 0, 4)[0] == 't';
		cl_strlcpy(u->imap_host, PQgetvalue(res, 0, 5), sizeof u->imap_host);
		u->imap_port = atoi(PQgetvalue(res, 0, 6));
		u->imap_tls = cl_imap_tls_parse(PQgetvalue(res, 0, 7));
		cl_strlcpy(u->role, PQgetvalue(res, 0, 8), sizeof u->role);
	}
	PQclear(res);
	return 0;
}

/* login_imap - IMAP login; on first success the account is created as a plain user.
 * 1 ok, 0 denied, -1 answered (503 when the IMAP server is down). */
static int login_imap(struct api_req *r, struct login_user *u, const char *address, const char *pw)
{
	struct cl_imap_server srv = {u->imap_host, u->imap_port, u->imap_tls};
	struct cl_imap_conf conf = {r->app->cfg->imap_ca_file, (long)r->app->cfg->imap_timeout_s * 1000};
	char err[256];
	api_db_pause(r);
	enum cl_imap_result ir = cl_imap_login(&conf, &srv, address, pw, err, sizeof err);
	if (api_db_resume(r) < 0)
		return -1;
	if (ir == CL_IMAP_DENIED)
		return 0;
	if (ir == CL_IMAP_UNAVAILABLE) {
		char esc[300];
		cl_log(CL_LOG_WARN, NULL, "imap_unavailable", "host=%s why=%s", u->imap_host,
		       cl_log_escape(esc, sizeof esc, err, strlen(err)));
		api_err(r, 503, "the mail server that checks your password cannot be reached, try again later");
		return -1;
	}
	if (u->exists)
		return 1;
	char did[24];
	snprintf(did, sizeof did, "%lld", u->domain_id);
	const char *at = strrchr(address, '@');
	char local[API_ADDR_MAX + 1];
	cl_snprintf(local, sizeof local, "%.*s", (int)(at - address), address);
	const char *p[] = {did, local};
	PGresult *res =
	    api_exec_sql(r,
			 "INSERT INTO users (domain_id, local_part) VALUES ($1, $2) ON CONFLICT (domain_id, "
			 "local_part) DO UPDATE SET local_part = EXCLUDED.local_part RETURNING id",
			 2, p);
	if (!res)
		return -1;
	u->id = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 1;
}

/* login_verify - 1 when the password is right, 0 when not, -1 when answered. */
static int login_verify(struct api_req *r, struct login_user *u, const char *address, const char *pw)
{
	if (u->exists && u->enabled && u->hash[0]) {
		int ok = cl_password_verify(pw, u->hash);
		if (ok == 1 && cl_password_needs_rehash(u->hash)) {
			char fresh[CL_PASSWORD_HASH_MAX], uid[24];
			snprintf(uid, sizeof uid, "%lld", u->id);
			if (cl_password_hash(pw, fresh, sizeof fresh) == 0) {
				const char *p[] = {fresh, uid};
				PQclear(api_exec_sql(r, "UPDATE users SET password_hash = $1 WHERE id = $2", 2, p));
				cl_log(CL_LOG_INFO, NULL, "password_rehashed", "user=%lld", u->id);
			}
		}
		return ok == 1;
	}
	/* One rule with SMTP AUTH (cl_imap_login_applies): admins never log in by IMAP. */
	if (cl_imap_login_applies(u->imap, u->exists, u->hash[0] != '\0', u->role) && (!u->exists || u->enabled))
		return login_imap(r, u, address, pw);
	cl_password_dummy_verify(pw);
	return 0;
}

/* h_login - POST /api/login {"address","password"} */
void h_login(struct api_req *r)
{
	if (!api_body_object(r))
		return;
	const char *addr_in = api_in_str(r, "address"), *pw = api_in_str(r, "password");
	if (!addr_in || !pw) {
		api_err(r, 400, "address and password are required strings");
		return;
	}
	if (strlen(pw) > CL_PASSWORD_MAX || strlen(addr_in) > API_ADDR_MAX || !*pw) {
		api_err(r, 400, "address or password too long (or empty)");
		return;
	}
	char address[API_ADDR_MAX + 1];
	size_t i;
	for (i = 0; addr_in[i]; i++)
		address[i] = (char)tolower((unsigned char)addr_in[i]);
	address[i] = '\0';
	struct rl_keys k;
	rl_login_keys(r, address, &k);
	struct login_user u;
	if (login_lookup(r, address, &u) < 0 || rl_refused(r, &k, u.exists ? u.id : 0, "logins") != 0)
		return;
	int ok = login_verify(r, &u, address, pw);
	if (ok < 0)
		return;
	if (!ok) {
		rl_fail(r, &k);
		char esc[400];
		cl_log(CL_LOG_INFO, NULL, "login_failed", "address=%s ip=%s",
		       cl_log_escape(esc, sizeof esc, address, strlen(address)), r->ip);
		api_err(r, 401, "wrong address or password");
		return;
	}
	rl_ok(r, &k, u.id);
	if (session_create(r, u.id) < 0)
		return;
	cl_metric_inc(r->app->m_login_ok);
	cl_log(CL_LOG_INFO, NULL, "login", "user=%lld ip=%s", u.id, r->ip);
	r->me.id = u.id;
	h_me(r);
}

/* h_logout - POST /api/logout: the session ends on the server, the cookie is cleared. */
void h_logout(struct api_req *r)
{
	session_end(r);
	api_ok(r, 200, NULL);
}

/* h_me - GET /api/me: who is logged in, with the CSRF token and the admin scopes. */
void h_me(struct api_req *r)
{
	struct qb q;
	qb_init(&q, "SELECT u.id, u.local_part || '@' || d.name AS address, u.role, u.display_name, u.domain_id, "
		    "d.group_id, u.password_hash IS NOT NULL AS local_password, "
		    "(SELECT coalesce(json_agg(s.group_id), '[]') FROM admin_scopes s WHERE s.user_id = u.id "
		    "AND s.group_id IS NOT NULL) AS scope_groups, "
		    "(SELECT coalesce(json_agg(s.domain_id), '[]') FROM admin_scopes s WHERE s.user_id = u.id "
		    "AND s.domain_id IS NOT NULL) AS scope_domains "
		    "FROM users u JOIN domains d ON d.id = u.domain_id WHERE u.id = ");
	qb_add(&q, "$%d", qb_param_ll(&q, r->me.id));
	PGresult *res = api_exec(r, &q);
	qb_free(&q);
	if (!res)
		return;
	if (PQntuples(res) != 1) {
		api_err(r, 401, "not logged in");
	} else {
		cJSON *o = api_row_json(res, 0);
		cJSON_AddStringToObject(o, "csrf_token", r->me.csrf);
		/* The password screens state the rule the API applies (CLEMENT_PASSWORD_MIN). */
		cJSON_AddNumberToObject(o, "password_min", (double)r->app->cfg->password_min);
		api_ok(r, 200, o);
	}
	PQclear(res);
}

/* h_password - POST /api/password {"current_password","new_password"}: every other session of
 * the user ends and this one gets a new id (and CSRF token). */
void h_password(struct api_req *r)
{
	if (!api_body_object(r))
		return;
	const char *cur = api_in_str(r, "current_password"), *np = api_in_str(r, "new_password");
	if (!cur || !np) {
		api_err(r, 400, "current_password and new_password are required strings");
		return;
	}
	size_t nl = strlen(np);
	if (nl < (size_t)r->app->cfg->password_min || nl > CL_PASSWORD_MAX || strlen(cur) > CL_PASSWORD_MAX) {
		api_err(r, 400, "the new password must be %lld to %d characters long", r->app->cfg->password_min,
			CL_PASSWORD_MAX);
		return;
	}
	char uid[24], hash[CL_PASSWORD_HASH_MAX] = "";
	snprintf(uid, sizeof uid, "%lld", r->me.id);
	const char *p[] = {uid};
	PGresult *res = api_exec_sql(r, "SELECT coalesce(password_hash, '') FROM users WHERE id = $1", 1, p);
	if (!res)
		return;
	if (PQntuples(res) == 1)
		cl_strlcpy(hash, PQgetvalue(res, 0, 0), sizeof hash);
	PQclear(res);
	if (!hash[0]) {
		api_err(r, 400, "your password is managed by your mail server");
		return;
	}
	/* Guessing the current password with a stolen session is throttled like login, with the
	 * account's delay holding every source (the caller is logged in from all of them). */
	struct rl_keys k = {.src = ""};
	cl_snprintf(k.acct, sizeof k.acct, "pw:%lld", r->me.id);
	cl_snprintf(k.ip, sizeof k.ip, "ip:%s", r->ip);
	if (rl_refused(r, &k, 0, "password checks") != 0)
		return;
	if (cl_password_verify(cur, hash) != 1) {
		rl_fail(r, &k);
		cl_log(CL_LOG_INFO, NULL, "password_check_failed", "user=%lld ip=%s", r->me.id, r->ip);
		api_err(r, 403, "the current password is wrong");
		return;
	}
	rl_ok(r, &k, 0);
	if (cl_password_hash(np, hash, sizeof hash) < 0) {
		api_err(r, 500, "internal error");
		return;
	}
	const char *p2[] = {hash, uid};
	res = api_exec_sql(r, "UPDATE users SET password_hash = $1, password_changed_at = now() WHERE id = $2", 2, p2);
	if (!res)
		return;
	PQclear(res);
	if (session_end_user(r, r->me.id, NULL) < 0 || session_create(r, r->me.id) < 0)
		return;
	cl_log(CL_LOG_INFO, NULL, "password_changed", "user=%lld", r->me.id);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "csrf_token", r->me.csrf);
	api_ok(r, 200, o);
}
