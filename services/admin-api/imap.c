/* imap.c - see imap.h. */
#include "imap.h"

#include <curl/curl.h>
#include <string.h>

#include "util/buf.h"

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/* on_debug - watch the server's replies for the RFC 5530 [UNAVAILABLE] response code: a
 * server that refuses a login because its own authentication backend is down answers NO
 * like for a wrong password, and libcurl reports both as CURLE_LOGIN_DENIED. Only incoming
 * protocol lines are read (never the outgoing ones, which carry the credentials). */
static int on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *ud)
{
	(void)c;
	int *unavailable = ud;
	if (type == CURLINFO_HEADER_IN && memmem(data, size, "[UNAVAILABLE]", 13))
		*unavailable = 1;
	return 0;
}

/* imap_check - see imap.h */
enum imap_result imap_check(const struct imap_server *srv, const char *user, const char *pass, char *err, size_t errlen)
{
	char url[400];
	int port = srv->port > 0 ? srv->port : (srv->plain ? 143 : 993);
	int v6 = strchr(srv->host, ':') != NULL;
	if (cl_snprintf(url, sizeof url, "%s://%s%s%s:%d/", srv->plain ? "imap" : "imaps", v6 ? "[" : "", srv->host,
			v6 ? "]" : "", port) < 0) {
		cl_snprintf(err, errlen, "IMAP host name too long");
		return IMAP_UNAVAILABLE;
	}
	CURL *c = curl_easy_init();
	if (!c) {
		cl_snprintf(err, errlen, "out of memory");
		return IMAP_UNAVAILABLE;
	}
	char cerr[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_USERNAME, user);
	curl_easy_setopt(c, CURLOPT_PASSWORD, pass);
	/* NOOP instead of the default LIST: we only want to know whether LOGIN succeeds. */
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "NOOP");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, srv->timeout_s);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, srv->timeout_s);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "imap,imaps");
	curl_easy_setopt(c, CURLOPT_USE_SSL, srv->plain ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (srv->ca_file && *srv->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, srv->ca_file);
	int unavailable = 0;
	curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(c, CURLOPT_DEBUGDATA, &unavailable);
	curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	if (rc == CURLE_OK)
		return IMAP_OK;
	if (rc == CURLE_LOGIN_DENIED && !unavailable)
		return IMAP_DENIED;
	cl_snprintf(err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
	return IMAP_UNAVAILABLE;
}
