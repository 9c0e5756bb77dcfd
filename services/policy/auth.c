/* auth.c - IMAP LOGIN through libcurl. See auth.h. */
#include "auth.h"

#include <curl/curl.h>
#include <string.h>

#include "util/buf.h"

/* discard - the LIST answer after login is of no interest. */
static size_t discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

enum pauth_result pauth_imap_login(const struct pauth_imap_conf *c, const char *host, int port, int plain,
				   const char *user, const char *password, char *why, size_t whylen)
{
	/* Port 993 is IMAP over implicit TLS (RFC 8314); any other port starts in clear and
	 * must upgrade with STARTTLS unless the group allows plain text. */
	int implicit = !plain && port == 993;
	if (port == 0)
		port = plain ? 143 : 993, implicit = !plain;
	char url[400];
	int v6 = strchr(host, ':') != NULL;
	if (cl_snprintf(url, sizeof url, "%s://%s%s%s:%d/", implicit ? "imaps" : "imap", v6 ? "[" : "", host,
			v6 ? "]" : "", port) < 0) {
		cl_snprintf(why, whylen, "host name too long");
		return PAUTH_UNAVAILABLE;
	}
	CURL *h = curl_easy_init();
	if (!h) {
		cl_snprintf(why, whylen, "curl_easy_init failed");
		return PAUTH_UNAVAILABLE;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_USERNAME, user);
	curl_easy_setopt(h, CURLOPT_PASSWORD, password);
	/* curl 7.88 refuses the "AUTH=+LOGIN" login option as a malformed URL, so it picks the
	 * method: SASL PLAIN when the server offers it, else the LOGIN command (RFC 9051 6.2.3);
	 * both are a plain-text password check, protected by the TLS below. */
	curl_easy_setopt(h, CURLOPT_USE_SSL, (long)(plain ? CURLUSESSL_NONE : CURLUSESSL_ALL));
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file && c->ca_file[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	/* Stop after connection setup, which for IMAP includes the login: a mailbox the
	 * server cannot open is not our question. */
	curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "imap,imaps");
	CURLcode rc = curl_easy_perform(h);
	curl_easy_cleanup(h);
	cl_snprintf(why, whylen, "%s", curl_easy_strerror(rc));
	if (rc == CURLE_OK)
		return PAUTH_OK;
	/* curl reports a refused LOGIN as CURLE_LOGIN_DENIED; everything else (no connection,
	 * TLS failure, timeout) means we could not ask, which is not a "no". */
	return rc == CURLE_LOGIN_DENIED ? PAUTH_DENIED : PAUTH_UNAVAILABLE;
}
