/* imap_login.c - IMAP LOGIN through libcurl (see imap_login.h). */
#include "auth/imap_login.h"

#include <curl/curl.h>
#include <string.h>

#include "util/buf.h"

enum cl_imap_tls cl_imap_tls_parse(const char *s)
{
	if (s && strcmp(s, "plain") == 0)
		return CL_IMAP_TLS_PLAIN;
	if (s && strcmp(s, "implicit") == 0)
		return CL_IMAP_TLS_IMPLICIT;
	return CL_IMAP_TLS_REQUIRED;
}

const char *cl_imap_result_name(enum cl_imap_result r)
{
	return r == CL_IMAP_OK ? "ok" : r == CL_IMAP_DENIED ? "denied" : "unavailable";
}

int cl_imap_url(const struct cl_imap_server *srv, char *url, size_t urllen, int *implicit)
{
	int plain = srv->tls == CL_IMAP_TLS_PLAIN;
	int port = srv->port > 0 ? srv->port : plain ? 143 : 993;
	/* RFC 8314 section 3.2: 993 is implicit TLS; elsewhere "required" means STARTTLS. */
	*implicit = !plain && (srv->tls == CL_IMAP_TLS_IMPLICIT || port == 993);
	int v6 = strchr(srv->host, ':') != NULL;
	return cl_snprintf(url, urllen, "%s://%s%s%s:%d/", *implicit ? "imaps" : "imap", v6 ? "[" : "", srv->host,
			   v6 ? "]" : "", port);
}

int cl_imap_login_applies(int group_has_imap, int account_exists, int has_local_password, const char *role)
{
	if (!group_has_imap || (account_exists && has_local_password))
		return 0;
	return !account_exists || !role || !*role || strcmp(role, "user") == 0;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/* on_debug - watch the server's replies for the RFC 5530 [UNAVAILABLE] response code: a
 * server whose own authentication backend is down answers NO as for a wrong password, and
 * libcurl reports both as CURLE_LOGIN_DENIED. Only incoming protocol lines are read (never
 * the outgoing ones, which carry the credentials). */
static int on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *ud)
{
	(void)c;
	int *unavailable = ud;
	if (type == CURLINFO_HEADER_IN && memmem(data, size, "[UNAVAILABLE]", 13))
		*unavailable = 1;
	return 0;
}

enum cl_imap_result cl_imap_login(const struct cl_imap_conf *conf, const struct cl_imap_server *srv, const char *user,
				  const char *pass, char *err, size_t errlen)
{
	char url[400];
	int implicit = 0;
	if (cl_imap_url(srv, url, sizeof url, &implicit) < 0) {
		cl_snprintf(err, errlen, "IMAP host name too long");
		return CL_IMAP_UNAVAILABLE;
	}
	CURL *c = curl_easy_init();
	if (!c) {
		cl_snprintf(err, errlen, "out of memory");
		return CL_IMAP_UNAVAILABLE;
	}
	char cerr[CURL_ERROR_SIZE] = "";
	int unavailable = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "imap,imaps");
	curl_easy_setopt(c, CURLOPT_USERNAME, user);
	curl_easy_setopt(c, CURLOPT_PASSWORD, pass);
	/* curl picks the method: SASL PLAIN when the server offers it, else LOGIN; both send the
	 * password in clear inside the TLS below. CONNECT_ONLY stops after connection setup,
	 * which for IMAP includes the login: no mailbox is opened or listed. */
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_USE_SSL,
			 srv->tls == CL_IMAP_TLS_PLAIN ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (conf->ca_file && *conf->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, conf->ca_file);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, conf->timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, conf->timeout_ms);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(c, CURLOPT_DEBUGDATA, &unavailable);
	curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	if (rc == CURLE_OK)
		return CL_IMAP_OK;
	if (rc == CURLE_LOGIN_DENIED && !unavailable) {
		cl_snprintf(err, errlen, "login refused");
		return CL_IMAP_DENIED;
	}
	if (unavailable)
		cl_snprintf(err, errlen, "the server's authentication is unavailable ([UNAVAILABLE])");
	else
		cl_snprintf(err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
	return CL_IMAP_UNAVAILABLE;
}
