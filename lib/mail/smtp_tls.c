/* smtp_tls.c - OpenSSL under lib/mail's SMTP client. See smtp_tls.h. */
#include "mail/smtp_tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "util/buf.h"

static long tls_read(void *tls, char *buf, size_t n)
{
	return SSL_read(tls, buf, n > 1 << 30 ? 1 << 30 : (int)n);
}

static long tls_write(void *tls, const char *buf, size_t n)
{
	return SSL_write(tls, buf, n > 1 << 30 ? 1 << 30 : (int)n);
}

static void tls_close(void *tls)
{
	SSL_shutdown(tls);
	SSL_free(tls);
}

static const struct cl_smtpc_io tls_io = {tls_read, tls_write, tls_close};

/* tls_err - OpenSSL's first queued error as text. */
static void tls_err(char *err, size_t errlen, const char *what)
{
	char buf[256];
	unsigned long e = ERR_get_error();
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	cl_snprintf(err, errlen, "%s: %s", what, e ? buf : "connection closed or timed out");
}

int cl_smtpc_tls(struct cl_smtpc *c, SSL_CTX *ctx, const char *host, char *err, size_t errlen)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl || SSL_set_fd(ssl, c->fd) != 1) {
		SSL_free(ssl);
		tls_err(err, errlen, "TLS setup");
		return -1;
	}
	c->tls = ssl;
	c->io = &tls_io;
	unsigned char bin[16];
	int is_ip = inet_pton(AF_INET, host, bin) == 1 || inet_pton(AF_INET6, host, bin) == 1;
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
	if (is_ip) {
		X509_VERIFY_PARAM_set1_ip_asc(vp, host);
	} else {
		SSL_set_tlsext_host_name(ssl, host); /* SNI (RFC 6066 3) only for names */
		X509_VERIFY_PARAM_set1_host(vp, host, 0);
	}
	c->inlen = 0; /* RFC 3207 4.2: nothing read before the handshake may be used */
	struct timeval tv = {c->timeout_ms / 1000, (c->timeout_ms % 1000) * 1000};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (SSL_connect(ssl) != 1) {
		long vr = SSL_get_verify_result(ssl);
		if (vr != X509_V_OK) {
			cl_snprintf(err, errlen, "TLS handshake: certificate of %s: %s", host,
				    X509_verify_cert_error_string(vr));
			ERR_clear_error();
		} else {
			tls_err(err, errlen, "TLS handshake");
		}
		return -1;
	}
	return 0;
}
