/* smtp_tls.h - TLS for lib/mail's SMTP client: STARTTLS (RFC 3207, after its 220) or
 * implicit TLS (RFC 8314, right after connect) with OpenSSL. Kept out of smtp_client.c so
 * that programs speaking plain SMTP do not link libssl. The SSL_CTX is borrowed and must
 * outlive the client; the session is the client's (cl_smtpc_close frees it). */
#ifndef CLEMENT_MAIL_SMTP_TLS_H
#define CLEMENT_MAIL_SMTP_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

#include "mail/smtp_client.h"

/* cl_smtpc_tls - TLS handshake on the connection; verifies the peer against host (an address
 * or a name, then also sent as SNI) when ctx says so. Bytes read before it are dropped
 * (RFC 3207 4.2). 0 or -1 with err. */
int cl_smtpc_tls(struct cl_smtpc *c, SSL_CTX *ctx, const char *host, char *err, size_t errlen);

#endif
