/* sign.c - the outbound DKIM signature with the From domain's active key. See sign.h. */
#include "sign.h"

#include <openssl/crypto.h>
#include <string.h>
#include <time.h>

#include "mail/dkim.h"
#include "util/log.h"

char *dl_dkim_sign(struct dl_ctx *c, struct cl_pg *pg, const void *msg, size_t len)
{
	char dom[256], err[300];
	if (cl_dkim_from_domain(msg, len, dom, sizeof dom) < 0)
		return NULL;
	const char *p[] = {dom};
	PGresult *res = dl_db_exec(pg,
				   "SELECT k.algorithm, k.private_key, k.selector FROM dkim_keys k"
				   " JOIN domains d ON d.id = k.domain_id WHERE d.name = $1 AND k.state = 'active'",
				   1, p, -1, 0, 0, err, sizeof err);
	if (!res || PQntuples(res) != 1) {
		PQclear(res);
		return NULL;
	}
	char *pem = PQgetvalue(res, 0, 1);
	const char *sel = PQgetvalue(res, 0, 2);
	char *h = cl_dkim_sign(PQgetvalue(res, 0, 0), pem, dom, sel, msg, len, (long long)time(NULL));
	cl_metric_inc(h ? c->m->dkim_signed : c->m->dkim_failed);
	if (h)
		cl_log(CL_LOG_DEBUG, NULL, "dkim_signed", "d=%s s=%s", dom, sel);
	else
		cl_log(CL_LOG_ERROR, NULL, "dkim_sign_failed", "d=%s s=%s", dom, sel);
	OPENSSL_cleanse(pem, strlen(pem));
	PQclear(res);
	return h;
}
