/* dkim.c - DKIM key generation and relaxed/relaxed signing (RFC 6376, RFC 8463). See dkim.h. */
#include "dkim.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"

/* The headers signed when present (RFC 6376 section 5.4.1's list, the ones a verifier's
 * user sees or that change how the body reads). */
static const char *const SIGNED[] = {"from",       "to",           "cc",           "subject",
				     "date",       "message-id",   "reply-to",     "in-reply-to",
				     "references", "mime-version", "content-type", "content-transfer-encoding"};
#define NSIGNED    (sizeof SIGNED / sizeof SIGNED[0])
#define MAX_FIELDS 512

static void putch(struct cl_buf *b, char c)
{
	cl_buf_append(b, &c, 1);
}

static int b64(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	if (4 * ((n + 2) / 3) + 1 > outlen)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	return 0;
}

int cl_dkim_keygen(const char *alg, char **pem, char pub[CL_DKIM_PUB_MAX])
{
	*pem = NULL;
	int rsa = !strcmp(alg, CL_DKIM_RSA);
	if (!rsa && strcmp(alg, CL_DKIM_ED25519) != 0)
		return -1;
	EVP_PKEY *k =
	    rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048) : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!k)
		return -1;
	int rc = -1;
	unsigned char raw[CL_DKIM_PUB_MAX / 2], *der = NULL;
	size_t rawlen = sizeof raw;
	if (rsa) {
		int n = i2d_PUBKEY(k, &der);
		if (n <= 0 || b64(der, (size_t)n, pub, CL_DKIM_PUB_MAX) < 0)
			goto out;
	} else if (EVP_PKEY_get_raw_public_key(k, raw, &rawlen) != 1 || b64(raw, rawlen, pub, CL_DKIM_PUB_MAX) < 0) {
		goto out;
	}
	BIO *bio = BIO_new(BIO_s_mem());
	if (bio && PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) == 1) {
		char *p;
		long n = BIO_get_mem_data(bio, &p);
		*pem = n > 0 ? strndup(p, (size_t)n) : NULL;
		rc = *pem ? 0 : -1;
	}
	BIO_free(bio); /* a memory BIO frees (not wipes) its buffer; the PEM copy is the caller's */
out:
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	return rc;
}

void cl_dkim_txt(const char *alg, const char *pub, char *out, size_t outlen)
{
	snprintf(out, outlen, "v=DKIM1; k=%s; p=%s", !strcmp(alg, CL_DKIM_ED25519) ? "ed25519" : "rsa", pub);
}

/* A header field: [start, end) including its folded lines and final line end. */
struct field {
	const char *start, *end;
	size_t namelen;
	int used;
};

/* split - the header fields of msg and where the body starts. Returns the field count, which
 * is more than max when the header has more fields than f holds (only the first max stored):
 * callers refuse such a header rather than judge it from part of it. */
static size_t split(const char *m, size_t len, struct field *f, size_t max, const char **body)
{
	size_t n = 0;
	const char *p = m, *e = m + len;
	*body = e;
	while (p < e) {
		if (*p == '\n' || (*p == '\r' && p + 1 < e && p[1] == '\n')) { /* the empty line */
			*body = p + (*p == '\r' ? 2 : 1);
			break;
		}
		const char *s = p;
		do { /* this line and its continuations */
			const char *nl = memchr(p, '\n', (size_t)(e - p));
			p = nl ? nl + 1 : e;
		} while (p < e && (*p == ' ' || *p == '\t'));
		const char *colon = memchr(s, ':', (size_t)(p - s));
		if (colon && n++ < max) {
			size_t nl = (size_t)(colon - s);
			while (nl && (s[nl - 1] == ' ' || s[nl - 1] == '\t'))
				nl--;
			f[n - 1] = (struct field){s, p, nl, 0};
		}
	}
	return n;
}

/* canon_header - relaxed (RFC 6376 section 3.4.2) of name and value [v, ve), appended with CRLF
 * when crlf. */
static void canon_header(struct cl_buf *b, const char *name, size_t nlen, const char *v, const char *ve, int crlf)
{
	for (size_t i = 0; i < nlen; i++)
		putch(b, (char)tolower((unsigned char)name[i]));
	putch(b, ':');
	int ws = 0, any = 0;
	for (const char *p = v; p < ve; p++) {
		if (*p == '\r' || *p == '\n')
			continue;
		if (*p == ' ' || *p == '\t') {
			ws = 1;
			continue;
		}
		if (ws && any)
			putch(b, ' ');
		ws = 0;
		any = 1;
		putch(b, *p);
	}
	if (crlf)
		cl_buf_append(b, "\r\n", 2);
}

/* body_hash - SHA-256 of the relaxed body (RFC 6376 section 3.4.4), base64 into out. */
static int body_hash(const char *p, const char *e, char *out, size_t outlen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return -1;
	}
	size_t empties = 0; /* empty lines held back: trailing ones are dropped */
	struct cl_buf line = {0};
	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		const char *le = nl ? nl : e;
		if (le > p && le[-1] == '\r')
			le--;
		line.len = 0;
		int ws = 0;
		for (const char *q = p; q < le; q++) {
			if (*q == ' ' || *q == '\t') {
				ws = 1;
				continue;
			}
			if (ws)
				putch(&line, ' ');
			ws = 0;
			putch(&line, *q);
		}
		if (line.len == 0) {
			empties++;
		} else {
			for (; empties; empties--)
				EVP_DigestUpdate(md, "\r\n", 2);
			EVP_DigestUpdate(md, line.data, line.len);
			EVP_DigestUpdate(md, "\r\n", 2);
		}
		p = nl ? nl + 1 : e;
	}
	cl_buf_free(&line);
	unsigned char h[32];
	unsigned int hl = 0;
	int rc = EVP_DigestFinal_ex(md, h, &hl) == 1 ? b64(h, hl, out, outlen) : -1;
	EVP_MD_CTX_free(md);
	return rc;
}

static EVP_PKEY *load_key(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	return k;
}

/* sign - the base64 signature of data with k (RSA: PKCS#1 v1.5 over SHA-256; Ed25519:
 * PureEdDSA over the SHA-256 of data, RFC 8463 section 3). malloc'd, or NULL. */
static char *sign(EVP_PKEY *k, int ed, const void *data, size_t len)
{
	unsigned char h[32], sig[1024];
	size_t siglen = sizeof sig;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md != NULL;
	if (ok && ed) {
		unsigned int hl = 0;
		ok = EVP_Digest(data, len, h, &hl, EVP_sha256(), NULL) == 1 &&
		     EVP_DigestSignInit(md, NULL, NULL, NULL, k) == 1 && EVP_DigestSign(md, sig, &siglen, h, hl) == 1;
	} else if (ok) {
		ok = EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
		     EVP_DigestSign(md, sig, &siglen, data, len) == 1;
	}
	EVP_MD_CTX_free(md);
	char *out = ok ? malloc(4 * ((siglen + 2) / 3) + 1) : NULL;
	if (out)
		b64(sig, siglen, out, 4 * ((siglen + 2) / 3) + 1);
	return out;
}

char *cl_dkim_sign(const char *alg, const char *pem, const char *d, const char *s, const void *msg, size_t len,
		   long long now)
{
	int ed = !strcmp(alg, CL_DKIM_ED25519);
	if (!ed && strcmp(alg, CL_DKIM_RSA) != 0)
		return NULL;
	static __thread struct field f[MAX_FIELDS];
	const char *body;
	size_t n = split(msg, len, f, MAX_FIELDS, &body);
	if (n > MAX_FIELDS) /* a field past those held could be a From: the signature misses */
		return NULL;
	char bh[64];
	if (body_hash(body, (const char *)msg + len, bh, sizeof bh) < 0)
		return NULL;
	/* h=: every instance of each signed header, then "from" once more (oversigned). */
	struct cl_buf h = {0}, data = {0}, hdr = {0};
	int have_from = 0;
	for (size_t i = 0; i < NSIGNED; i++) {
		size_t nl = strlen(SIGNED[i]);
		for (size_t j = n; j-- > 0;) {
			if (f[j].namelen != nl || strncasecmp(f[j].start, SIGNED[i], nl) != 0)
				continue;
			/* bottom-up: this name's next instance from the end is f[j] */
			cl_buf_printf(&h, "%s%s", h.len ? ":" : "", SIGNED[i]);
			const char *v = memchr(f[j].start, ':', (size_t)(f[j].end - f[j].start)) + 1;
			canon_header(&data, SIGNED[i], nl, v, f[j].end, 1);
			have_from |= i == 0;
		}
	}
	char *out = NULL;
	if (!have_from)
		goto done;
	cl_buf_printf(&h, ":from");
	cl_buf_printf(
	    &hdr, "DKIM-Signature: v=1; a=%s; c=relaxed/relaxed; d=%s; s=%s;\r\n\tt=%lld; h=%s;\r\n\tbh=%s;\r\n\tb=",
	    ed ? CL_DKIM_ED25519 : CL_DKIM_RSA, d, s, now, h.data, bh);
	const char *hv = strchr(hdr.data, ':') + 1;
	canon_header(&data, "dkim-signature", 14, hv, hdr.data + hdr.len, 0);
	EVP_PKEY *k = load_key(pem);
	char *b = k && data.data ? sign(k, ed, data.data, data.len) : NULL;
	EVP_PKEY_free(k);
	if (b) {
		cl_buf_printf(&hdr, "%s\r\n", b);
		free(b);
		out = strndup(hdr.data, hdr.len);
	}
done:
	cl_buf_free(&h);
	cl_buf_free(&data);
	cl_buf_free(&hdr);
	return out;
}

int cl_dkim_from_domain(const void *msg, size_t len, char *out, size_t outlen)
{
	static __thread struct field f[MAX_FIELDS];
	const char *body, *v = NULL, *e = NULL;
	size_t n = split(msg, len, f, MAX_FIELDS, &body);
	if (n > MAX_FIELDS) /* a second From: could be past the fields held */
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (f[i].namelen != 4 || strncasecmp(f[i].start, "from", 4) != 0)
			continue;
		if (v) /* a second From: (RFC 5322 section 3.6 allows one) */
			return -1;
		v = f[i].start + 5;
		e = f[i].end;
	}
	if (!v)
		return -1;
	const char *lt = memchr(v, '<', (size_t)(e - v));
	if (lt) { /* name-addr: exactly one <...>, else several mailboxes (or a comment) */
		const char *gt = memchr(lt, '>', (size_t)(e - lt));
		if (!gt || memchr(lt + 1, '<', (size_t)(e - lt - 1)))
			return -1;
		v = lt + 1;
		e = gt;
	} else if (memchr(v, ',', (size_t)(e - v))) { /* addr-spec, ... : several mailboxes */
		return -1;
	}
	const char *at = NULL;
	for (const char *p = v; p < e; p++)
		if (*p == '@')
			at = p;
	if (!at)
		return -1;
	size_t k = 0;
	for (const char *p = at + 1; p < e && !strchr(" \t\r\n>,;()\"", *p); p++) {
		if (k + 1 >= outlen) /* longer than any domain we could hold: never a truncated one */
			return -1;
		out[k++] = (char)tolower((unsigned char)*p);
	}
	out[k] = '\0';
	return k ? 0 : -1;
}
