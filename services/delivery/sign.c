/* sign.c - the outbound DKIM signature with the From domain's active key, when the login
 * may send as that domain. See sign.h. */
#include "sign.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mail/dkim.h"
#include "util/log.h"

/* The From domain's active key, and whether the login may sign with it (its own domain, or
 * a domain one of its granted sender aliases lies in). The private key is only selected
 * when it may: a refused key never leaves the database. */
static const char KEY_SQL[] =
    "SELECT algorithm, selector, allowed, CASE WHEN allowed THEN private_key END FROM ("
    " SELECT k.algorithm, k.selector, k.private_key,"
    "  (d.id = $2::bigint OR EXISTS (SELECT 1 FROM sender_aliases a"
    "                                WHERE a.user_id = $3::bigint AND a.domain_id = d.id)) AS allowed"
    " FROM dkim_keys k JOIN domains d ON d.id = k.domain_id"
    " WHERE d.name = $1 AND k.state = 'active') s";

char *dl_dkim_sign(struct dl_ctx *c, struct cl_pg *pg, const char *sid, long long login_domain_id,
		   long long login_user_id, const void *msg, size_t len)
{
	char dom[256], err[300], did[24], uid[24];
	if (cl_dkim_from_domain(msg, len, dom, sizeof dom) < 0)
		return NULL;
	snprintf(did, sizeof did, "%lld", login_domain_id);
	snprintf(uid, sizeof uid, "%lld", login_user_id);
	const char *p[] = {dom, did, uid};
	PGresult *res = dl_db_exec(pg, KEY_SQL, 3, p, -1, 0, 0, err, sizeof err);
	if (!res || PQntuples(res) != 1) {
		PQclear(res);
		return NULL;
	}
	const char *sel = PQgetvalue(res, 0, 1);
	if (strcmp(PQgetvalue(res, 0, 2), "t") != 0) {
		cl_metric_inc(c->m->dkim_refused);
		cl_log(CL_LOG_INFO, sid, "dkim_not_allowed", "d=%s s=%s login_domain=%lld login_user=%lld", dom, sel,
		       login_domain_id, login_user_id);
		PQclear(res);
		return NULL;
	}
	char *pem = PQgetvalue(res, 0, 3);
	char *h = cl_dkim_sign(PQgetvalue(res, 0, 0), pem, dom, sel, msg, len, (long long)time(NULL));
	cl_metric_inc(h ? c->m->dkim_signed : c->m->dkim_failed);
	if (h)
		cl_log(CL_LOG_DEBUG, sid, "dkim_signed", "d=%s s=%s", dom, sel);
	else
		cl_log(CL_LOG_ERROR, sid, "dkim_sign_failed", "d=%s s=%s", dom, sel);
	OPENSSL_cleanse(pem, strlen(pem));
	PQclear(res);
	return h;
}
