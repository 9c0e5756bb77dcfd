/* session.c - see session.h. */
#include "session.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"

static const char *cookie_name(const struct api_req *r)
{
	return r->app->cfg->cookie_secure ? "__Host-clement_session" : "clement_session";
}

static void to_hex(const unsigned char *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int random_hex(char *out, size_t n)
{
	unsigned char b[64];
	if (n > sizeof b || RAND_bytes(b, (int)n) != 1)
		return -1;
	to_hex(b, n, out);
	return 0;
}

/* sha256_hex - the stored form of a cookie value. */
static void sha256_hex(const char *s, char out[65])
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)s, strlen(s), d);
	to_hex(d, sizeof d, out);
}

/* session_load - see session.h */
int session_load(struct api_req *r)
{
	const char *v = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, cookie_name(r));
	if (!v || strlen(v) != API_TOKEN_HEX || strspn(v, "0123456789abcdef") != API_TOKEN_HEX)
		return 0;
	char hash[65], idle[24];
	sha256_hex(v, hash);
	snprintf(idle, sizeof idle, "%lld", r->app->cfg->session_idle_s);
	const char *p[] = {hash, idle};
	PGresult *res = api_exec_sql(
	    r,
	    "UPDATE web_sessions s SET last_seen_at = now() FROM users u JOIN domains d ON d.id = u.domain_id "
	    "WHERE s.id_hash = $1 AND u.id = s.user_id AND u.enabled AND s.expires_at > now() "
	    "AND s.last_seen_at > now() - make_interval(secs => $2::int) "
	    "RETURNING u.id, u.role, u.domain_id, u.local_part || '@' || d.name, s.csrf_token",
	    2, p);
	if (!res)
		return -1;
	int ok = PQntuples(res) == 1;
	if (ok) {
		r->me.id = atoll(PQgetvalue(res, 0, 0));
		r->me.role = api_role_parse(PQgetvalue(res, 0, 1));
		r->me.domain_id = atoll(PQgetvalue(res, 0, 2));
		cl_strlcpy(r->me.address, PQgetvalue(res, 0, 3), sizeof r->me.address);
		cl_strlcpy(r->me.csrf, PQgetvalue(res, 0, 4), sizeof r->me.csrf);
		memcpy(r->me.sid_hash, hash, sizeof hash);
	}
	PQclear(res);
	if (!ok) {
		/* Expired or unknown: forget it on both sides. */
		const char *p1[] = {hash};
		PGresult *d = PQexecParams(r->pg->conn, "DELETE FROM web_sessions WHERE id_hash = $1", 1, NULL, p1,
					   NULL, NULL, 0);
		PQclear(d);
	}
	return ok;
}

static void set_cookie(struct api_req *r, const char *value, long long max_age)
{
	cl_snprintf(r->cookie, sizeof r->cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s",
		    cookie_name(r), value, max_age, r->app->cfg->cookie_secure ? "; Secure" : "");
}

/* session_create - see session.h */
int session_create(struct api_req *r, long long user_id)
{
	char id[API_TOKEN_HEX + 1], hash[65], uid[24], max[24];
	if (random_hex(id, API_TOKEN_HEX / 2) < 0 || random_hex(r->me.csrf, API_TOKEN_HEX / 2) < 0) {
		api_err(r, 500, "internal error");
		return -1;
	}
	sha256_hex(id, hash);
	/* A session the browser already holds ends here: a login never continues an id that
	 * someone else may have planted or seen (session fixation). */
	const char *prev = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, cookie_name(r));
	if (prev && strlen(prev) == API_TOKEN_HEX) {
		char prev_hash[65];
		sha256_hex(prev, prev_hash);
		const char *pp[] = {prev_hash};
		PGresult *d = api_exec_sql(r, "DELETE FROM web_sessions WHERE id_hash = $1", 1, pp);
		if (!d)
			return -1;
		PQclear(d);
	}
	snprintf(uid, sizeof uid, "%lld", user_id);
	snprintf(max, sizeof max, "%lld", r->app->cfg->session_max_s);
	const char *ip = r->ip[0] ? r->ip : NULL;
	const char *p[] = {hash, uid, r->me.csrf, max, ip};
	/* Expired rows of anyone are swept here: logins are rare enough to carry the cost. */
	PGresult *res = api_exec_sql(r,
				     "WITH sweep AS (DELETE FROM web_sessions WHERE expires_at < now()) "
				     "INSERT INTO web_sessions (id_hash, user_id, csrf_token, expires_at, client_ip) "
				     "VALUES ($1, $2, $3, now() + make_interval(secs => $4::int), $5::inet)",
				     5, p);
	if (!res)
		return -1;
	PQclear(res);
	memcpy(r->me.sid_hash, hash, sizeof hash);
	set_cookie(r, id, r->app->cfg->session_max_s);
	return 0;
}

/* session_end - see session.h */
void session_end(struct api_req *r)
{
	const char *p[] = {r->me.sid_hash};
	PGresult *res = api_exec_sql(r, "DELETE FROM web_sessions WHERE id_hash = $1", 1, p);
	PQclear(res);
	set_cookie(r, "", 0);
}

/* session_end_user - see session.h */
int session_end_user(struct api_req *r, long long user_id, const char *keep)
{
	char uid[24];
	snprintf(uid, sizeof uid, "%lld", user_id);
	const char *p[] = {uid, keep ? keep : ""};
	PGresult *res = api_exec_sql(r, "DELETE FROM web_sessions WHERE user_id = $1 AND id_hash <> $2", 2, p);
	if (!res)
		return -1;
	PQclear(res);
	return 0;
}
