/* dkim.h - DKIM keys and signatures for the mail that Clement's users submit (issue 18).
 *
 * admin-api generates a domain's keys (cl_dkim_keygen) and stores them in PostgreSQL
 * (dkim_keys); delivery signs outbound mail with the domain's active key (cl_dkim_sign)
 * before it relays it. Signatures follow RFC 6376 with relaxed/relaxed canonicalization,
 * rsa-sha256 (RSA 2048) or ed25519-sha256 (RFC 8463), SHA-256 body hash over the whole body
 * (no l=), a timestamp (t=), and the headers of CL_DKIM_HEADERS that the message has, each
 * instance signed, bottom-up, plus one extra "from" so that no From: can be added later.
 *
 * Private keys are PEM (PKCS#8) strings; nothing here logs them. OpenSSL 3. */
#ifndef CLEMENT_MAIL_DKIM_H
#define CLEMENT_MAIL_DKIM_H

#include <stddef.h>

/* The algorithms, as named in the a= tag and in dkim_keys.algorithm. */
#define CL_DKIM_RSA     "rsa-sha256"
#define CL_DKIM_ED25519 "ed25519-sha256"

/* The public key of a TXT record, base64: RSA 2048 SubjectPublicKeyInfo is ~400 chars. */
#define CL_DKIM_PUB_MAX 1024

/* cl_dkim_keygen - a new key for algorithm alg (CL_DKIM_RSA or CL_DKIM_ED25519). *pem gets
 * the private key (malloc'd; the caller wipes and frees it), pub the p= value: base64 of the
 * SubjectPublicKeyInfo (RSA) or of the raw 32-byte key (Ed25519, RFC 8463 section 4.2).
 * 0, or -1 (unknown alg, OpenSSL failure). */
int cl_dkim_keygen(const char *alg, char **pem, char pub[CL_DKIM_PUB_MAX]);

/* cl_dkim_txt - the TXT record's value for alg and pub ("v=DKIM1; k=rsa; p=..."), into out. */
void cl_dkim_txt(const char *alg, const char *pub, char *out, size_t outlen);

/* cl_dkim_sign - the DKIM-Signature header field (name, folded value and final CRLF, to be
 * put before the message) for msg (CRLF lines, header then body) signed by domain d and
 * selector s with the PEM key of algorithm alg, at time now. Returns a malloc'd string, or
 * NULL (bad key, no From: header, a header of more fields than the signer holds, out of
 * memory). */
char *cl_dkim_sign(const char *alg, const char *pem, const char *d, const char *s, const void *msg, size_t len,
		   long long now);

/* cl_dkim_from_domain - the domain of the message's From: address, lower-cased, into out;
 * 0, or -1 when there is none or it is ambiguous: more than one From: field or more than one
 * mailbox in it (whose domain would a reader, or a receiver's DMARC, take? RFC 7489 section
 * 6.6.1), or a domain longer than outlen - 1. Such mail goes unsigned. */
int cl_dkim_from_domain(const void *msg, size_t len, char *out, size_t outlen);

#endif
