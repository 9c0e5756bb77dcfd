/* rspamd.c - POST /checkv2 to Rspamd and read its answer. See rspamd.h. */
#include "rspamd.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/frame.h"
#include "util/buf.h"

static const char *const action_names[] = {"no action",       "greylist",    "add header",
					   "rewrite subject", "soft reject", "reject"};

const char *rspamd_action_str(enum rspamd_action a)
{
	return (unsigned)a <= RA_REJECT ? action_names[a] : "?";
}

int rspamd_client_init(struct rspamd_client *c, const char *base, long timeout_ms, size_t pool, char *err,
		       size_t errlen)
{
	memset(c, 0, sizeof *c);
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0) {
		cl_snprintf(err, errlen, "CLEMENT_RSPAMD_URL: must start with http:// or https:// (got \"%.40s\")",
			    base);
		return -1;
	}
	c->url = malloc(n + sizeof "/checkv2");
	c->cap = pool ? pool : 1;
	c->idle = calloc(c->cap, sizeof *c->idle);
	if (!c->url || !c->idle) {
		free(c->url);
		free(c->idle);
		cl_snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(c->url, base, n);
	memcpy(c->url + n, "/checkv2", sizeof "/checkv2");
	c->timeout_ms = timeout_ms;
	pthread_mutex_init(&c->lock, NULL);
	return 0;
}

void rspamd_client_fini(struct rspamd_client *c)
{
	if (!c->url)
		return;
	for (size_t i = 0; i < c->nidle; i++)
		curl_easy_cleanup(c->idle[i]);
	free(c->idle);
	free(c->url);
	pthread_mutex_destroy(&c->lock);
	memset(c, 0, sizeof *c);
}

/* handle_get / handle_put - a pooled handle keeps its connection to Rspamd (keep-alive). */
static CURL *handle_get(struct rspamd_client *c)
{
	CURL *h = NULL;
	pthread_mutex_lock(&c->lock);
	if (c->nidle)
		h = c->idle[--c->nidle];
	pthread_mutex_unlock(&c->lock);
	if (h)
		curl_easy_reset(h);
	else
		h = curl_easy_init();
	return h;
}

static void handle_put(struct rspamd_client *c, CURL *h)
{
	pthread_mutex_lock(&c->lock);
	if (c->nidle < c->cap) {
		c->idle[c->nidle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	if (h)
		curl_easy_cleanup(h);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	return cl_buf_append(arg, p, size * n) == 0 ? size * n : 0; /* over the bound: curl stops */
}

/* add_header - "Name: value" when value is set; a value with CR/LF or over 900 octets is not
 * sent (it cannot come from a session that smtp-edge accepted). -1 only on out of memory. */
static int add_header(struct curl_slist **l, const char *name, const char *value)
{
	if (!value || !value[0] || strpbrk(value, "\r\n") || strlen(value) > 900)
		return 0;
	char line[1000];
	if (cl_snprintf(line, sizeof line, "%s: %s", name, value) < 0)
		return 0;
	struct curl_slist *n = curl_slist_append(*l, line);
	if (!n)
		return -1;
	*l = n;
	return 0;
}

static struct curl_slist *env_headers(const struct rspamd_env *e)
{
	struct curl_slist *l = NULL;
	int bad = add_header(&l, "IP", e->ip) || add_header(&l, "Helo", e->helo) ||
		  add_header(&l, "Hostname", e->hostname && e->hostname[0] ? e->hostname : "unknown") ||
		  add_header(&l, "From", e->from) || add_header(&l, "Queue-Id", e->queue_id) ||
		  add_header(&l, "User", e->user) || add_header(&l, "TLS-Version", e->tls_version) ||
		  add_header(&l, "TLS-Cipher", e->tls_cipher) || add_header(&l, "MTA-Name", e->mta_name) ||
		  add_header(&l, "Settings", e->settings);
	/* "Expect:" with no value keeps curl from waiting for "100 Continue" on large bodies. */
	struct curl_slist *n = bad ? NULL : curl_slist_append(l, "Expect:");
	bad = bad || !n;
	l = n ? n : l;
	for (size_t i = 0; !bad && i < e->nrcpt && i < RSPAMD_MAX_RCPTS; i++)
		bad = add_header(&l, "Rcpt", e->rcpts[i]);
	if (bad) {
		curl_slist_free_all(l);
		return NULL;
	}
	return l;
}

static void fail(struct rspamd_result *r, const char *why)
{
	r->status = RSPAMD_ERROR;
	cl_strlcpy(r->error, why, sizeof r->error);
}

void rspamd_check(struct rspamd_client *c, const struct rspamd_env *env, const unsigned char *msg, size_t len,
		  struct rspamd_result *r)
{
	memset(r, 0, sizeof *r);
	CURL *h = handle_get(c);
	struct curl_slist *hdr = env_headers(env);
	if (!h || !hdr) {
		fail(r, "out of memory");
		curl_slist_free_all(hdr);
		if (h)
			curl_easy_cleanup(h);
		return;
	}
	struct cl_buf body;
	cl_buf_init(&body, RSPAMD_REPLY_MAX);
	curl_easy_setopt(h, CURLOPT_URL, c->url);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)msg);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	CURLcode rc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK) {
		char why[160];
		cl_snprintf(why, sizeof why, "rspamd: %s", curl_easy_strerror(rc));
		fail(r, why);
		curl_easy_cleanup(h); /* the connection's state is unknown: do not reuse it */
	} else if (status != 200) {
		char why[160];
		cl_snprintf(why, sizeof why, "rspamd: HTTP status %ld", status);
		fail(r, why);
		handle_put(c, h);
	} else {
		rspamd_parse(body.data ? body.data : "", body.len, env->from, r);
		handle_put(c, h);
	}
	cl_buf_free(&body);
}

/* clean_copy - printable ASCII only (it reaches SMTP replies, headers and logs), bounded. */
static void clean_copy(char *dst, size_t dstlen, const char *src, const char *also_bad)
{
	size_t k = 0;
	for (; src && *src && k + 1 < dstlen; src++) {
		unsigned char ch = (unsigned char)*src;
		dst[k++] = (ch >= 0x20 && ch < 0x7F && !strchr(also_bad, ch)) ? (char)ch : '_';
	}
	if (dstlen)
		dst[k] = '\0';
}

/* domain_copy - the leading domain-name characters of src (options like "b.example:+"). */
static void domain_copy(char *dst, size_t dstlen, const char *src)
{
	size_t n = src ? strspn(src, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") : 0;
	if (n >= dstlen)
		n = dstlen - 1;
	if (dstlen) {
		memcpy(dst, src ? src : "", n);
		dst[n] = '\0';
	}
}

static const char *first_option(const cJSON *sym)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(sym, "options");
	const cJSON *f = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, 0) : NULL;
	return cJSON_IsString(f) ? f->valuestring : NULL;
}

/* Symbols of Rspamd's spf, dkim and dmarc modules -> RFC 8601 results (section 2.7). */
static const struct {
	const char *symbol;
	char method; /* 's'pf, 'k' dkim, 'd'marc */
	const char *result;
} auth_symbols[] = {
    {"R_SPF_ALLOW", 's', "pass"},
    {"R_SPF_FAIL", 's', "fail"},
    {"R_SPF_SOFTFAIL", 's', "softfail"},
    {"R_SPF_NEUTRAL", 's', "neutral"},
    {"R_SPF_NA", 's', "none"},
    {"R_SPF_DNSFAIL", 's', "temperror"},
    {"R_SPF_PERMFAIL", 's', "permerror"},
    {"R_DKIM_ALLOW", 'k', "pass"},
    {"R_DKIM_REJECT", 'k', "fail"},
    {"R_DKIM_TEMPFAIL", 'k', "temperror"},
    {"R_DKIM_PERMFAIL", 'k', "permerror"},
    {"R_DKIM_NA", 'k', "none"},
    {"DMARC_POLICY_ALLOW", 'd', "pass"},
    {"DMARC_POLICY_ALLOW_WITH_FAILURES", 'd', "pass"},
    {"DMARC_POLICY_REJECT", 'd', "fail"},
    {"DMARC_POLICY_QUARANTINE", 'd', "fail"},
    {"DMARC_POLICY_SOFTFAIL", 'd', "fail"},
    {"DMARC_NA", 'd', "none"},
    {"DMARC_DNSFAIL", 'd', "temperror"},
    {"DMARC_BAD_POLICY", 'd', "permerror"},
};

static void read_auth(const cJSON *syms, const char *mailfrom, struct rspamd_result *r)
{
	for (size_t i = 0; i < sizeof auth_symbols / sizeof auth_symbols[0]; i++) {
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(syms, auth_symbols[i].symbol);
		if (!cJSON_IsObject(s))
			continue;
		char dom[128];
		domain_copy(dom, sizeof dom, first_option(s));
		struct rspamd_auth *a = auth_symbols[i].method == 's'   ? &r->spf
					: auth_symbols[i].method == 'k' ? &r->dkim
									: &r->dmarc;
		if (a->result[0] && strcmp(a->result, "pass") == 0)
			continue; /* one passing signature is enough for dkim=pass */
		cl_strlcpy(a->result, auth_symbols[i].result, sizeof a->result);
		a->prop[0] = '\0';
		if (auth_symbols[i].method == 's' && mailfrom && mailfrom[0]) {
			char mf[140];
			clean_copy(mf, sizeof mf, mailfrom, " ;()\"\\");
			cl_snprintf(a->prop, sizeof a->prop, "smtp.mailfrom=%s", mf);
		} else if (auth_symbols[i].method == 'k' && dom[0]) {
			cl_snprintf(a->prop, sizeof a->prop, "header.d=%s", dom);
		} else if (auth_symbols[i].method == 'd' && dom[0]) {
			cl_snprintf(a->prop, sizeof a->prop, "header.from=%s", dom);
		}
		if (strcmp(auth_symbols[i].symbol, "DMARC_POLICY_REJECT") == 0) {
			r->dmarc_reject = 1;
			cl_strlcpy(r->dmarc_domain, dom, sizeof r->dmarc_domain);
		}
	}
}

/* read_symbols - the symbols that raised the score, highest first, into r->symbols and r->reasons. */
static void read_symbols(const cJSON *syms, struct rspamd_result *r)
{
	enum { TOP = 5, TOP_REASONS = 3 };
	const cJSON *top[TOP] = {0};
	double sc[TOP] = {0};
	const cJSON *s;
	cJSON_ArrayForEach(s, syms)
	{
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, "score");
		if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || !s->string)
			continue;
		for (int i = 0; i < TOP; i++) {
			if (!top[i] || v->valuedouble > sc[i]) {
				memmove(&top[i + 1], &top[i], (TOP - 1 - (size_t)i) * sizeof top[0]);
				memmove(&sc[i + 1], &sc[i], (TOP - 1 - (size_t)i) * sizeof sc[0]);
				top[i] = s;
				sc[i] = v->valuedouble;
				break;
			}
		}
	}
	struct cl_buf b, why;
	cl_buf_init(&b, sizeof r->symbols - 1);
	cl_buf_init(&why, sizeof r->reasons - 1);
	for (int i = 0; i < TOP && top[i]; i++) {
		char name[64], desc[120];
		clean_copy(name, sizeof name, top[i]->string, " ()\";");
		const char *d = cl_json_str(top[i], "description", NULL);
		clean_copy(desc, sizeof desc, d && d[0] ? d : name, ";");
		cl_buf_printf(&b, "%s%s(%.2f)", i ? " " : "", name, sc[i]);
		if (i < TOP_REASONS)
			cl_buf_printf(&why, "%s%s", i ? "; " : "", desc);
	}
	cl_strlcpy(r->symbols, b.data ? b.data : "", sizeof r->symbols);
	cl_strlcpy(r->reasons, why.data ? why.data : "", sizeof r->reasons);
	cl_buf_free(&b);
	cl_buf_free(&why);
}

int rspamd_parse(const char *json, size_t len, const char *mailfrom, struct rspamd_result *r)
{
	memset(r, 0, sizeof *r);
	cJSON *o = cJSON_ParseWithLength(json, len);
	const cJSON *act = cJSON_GetObjectItemCaseSensitive(o, "action");
	const cJSON *score = cJSON_GetObjectItemCaseSensitive(o, "score");
	const cJSON *syms = cJSON_GetObjectItemCaseSensitive(o, "symbols");
	int a = -1;
	for (int i = 0; cJSON_IsString(act) && i <= RA_REJECT; i++)
		if (strcmp(act->valuestring, action_names[i]) == 0)
			a = i;
	if (!cJSON_IsObject(o) || a < 0 || !cJSON_IsNumber(score) || (syms && !cJSON_IsObject(syms))) {
		fail(r, o ? "rspamd: unexpected answer" : "rspamd: answer is not JSON");
		cJSON_Delete(o);
		return -1;
	}
	r->status = RSPAMD_OK;
	r->action = (enum rspamd_action)a;
	r->score = score->valuedouble;
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(o, "messages");
	clean_copy(r->smtp_message, sizeof r->smtp_message, cl_json_str(msgs, "smtp_message", ""), "");
	if (syms) {
		read_symbols(syms, r);
		read_auth(syms, mailfrom, r);
	}
	cJSON_Delete(o);
	return 0;
}

int rspamd_auth_results(const struct rspamd_result *r, const char *host, char *out, size_t outlen)
{
	struct cl_buf b;
	cl_buf_init(&b, outlen ? outlen - 1 : 0);
	int rc = cl_buf_printf(&b, "Authentication-Results: %s", host);
	const struct {
		const char *name;
		const struct rspamd_auth *a;
	} m[] = {{"dkim", &r->dkim}, {"spf", &r->spf}, {"dmarc", &r->dmarc}};
	int any = 0;
	for (size_t i = 0; rc == 0 && i < 3; i++) {
		if (!m[i].a->result[0])
			continue;
		any = 1;
		rc = cl_buf_printf(&b, ";\r\n\t%s=%s%s%s", m[i].name, m[i].a->result, m[i].a->prop[0] ? " " : "",
				   m[i].a->prop);
	}
	if (rc == 0)
		rc = cl_buf_append_str(&b, any ? "\r\n" : "; none\r\n"); /* RFC 8601 2.2: no result */
	if (rc == 0)
		cl_strlcpy(out, b.data, outlen);
	cl_buf_free(&b);
	return rc;
}
