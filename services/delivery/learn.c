/* learn.c - POST a released or deleted message to Rspamd's controller. See learn.h. */
#include "learn.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

int dl_learn(struct dl_ctx *c, const char *sid, int spam, const void *msg, size_t len)
{
	const char *base = c->cfg->rspamd_controller;
	if (!base || !base[0])
		return -1;
	char url[600];
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	snprintf(url, sizeof url, "%.*s/%s", (int)n, base, spam ? "learnspam" : "learnham");
	CURL *h = curl_easy_init();
	if (!h)
		return -1;
	struct curl_slist *hdr = curl_slist_append(NULL, "Expect:");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)msg);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	CURLcode rc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	/* 208: Rspamd knew this message already (learned before) - nothing left to teach. */
	int ok = rc == CURLE_OK && (status == 200 || status == 208);
	cl_metric_inc(ok ? c->m->learn_ok : c->m->learn_failed);
	cl_log(ok ? CL_LOG_INFO : CL_LOG_WARN, sid && sid[0] ? sid : NULL,
	       ok ? "rspamd_learned" : "rspamd_learn_failed", "as=%s status=%ld error=\"%s\"", spam ? "spam" : "ham",
	       status, rc == CURLE_OK ? "" : curl_easy_strerror(rc));
	return ok ? 0 : -1;
}
