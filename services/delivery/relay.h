/* relay.h - hand one message to a downstream MTA over SMTP (libcurl), synchronously.
 *
 * Nothing is queued: the downstream's answer becomes our answer before smtp-edge replies to
 * DATA, so nothing can bounce later. Mapping (docs/RPC.md, issue #6):
 *   downstream 250 at end of data             -> 250
 *   downstream 5xx (a well-formed reply line)  -> that code, enhanced code and text
 *   4xx, 421, refused, timeout, dropped, malformed/endless/NUL reply, TLS required but
 *   not offered                                -> 451 4.4.x (temporary)
 *   the downstream's name does not resolve     -> 451 4.4.3 (dest.c, through lib/dns)
 * The message goes out with CRLF line endings only; libcurl dot-stuffs it (RFC 5321
 * section 4.5.2), so a "\r\n.\r\n" inside the body cannot end the message early. */
#ifndef CLEMENT_DELIVERY_RELAY_H
#define CLEMENT_DELIVERY_RELAY_H

#include <stddef.h>

#include "mail/verdict.h"
#include "util/net.h"

enum dl_relay_tls { DL_TLS_NONE = 0, DL_TLS_OPPORTUNISTIC, DL_TLS_REQUIRED };

struct dl_relay_target {
	const char *host; /* a name or a numeric address: the URL's host, TLS's SNI and certificate name */
	int port;
	/* host's addresses from lib/dns (dest.c): libcurl connects to them (CURLOPT_RESOLVE) and
	 * resolves nothing itself. NULL or empty only for a numeric host. */
	const struct cl_net_addrs *addrs;
	enum dl_relay_tls tls;
	const char *auth_user; /* NULL: no AUTH */
	const char *auth_pass;
	int verify_cert;     /* check the certificate when TLS is required */
	const char *ca_file; /* PEM CAs for that check; NULL or "": the system's store */
};

struct dl_relay_opts {
	const char *helo; /* our EHLO name */
	long connect_timeout_ms;
	long timeout_ms; /* whole transaction */
};

/* Outcome classes for metrics. */
enum dl_relay_err {
	DL_RELAY_OK = 0,
	DL_RELAY_CONNECT,
	DL_RELAY_TIMEOUT,
	DL_RELAY_TEMP,
	DL_RELAY_PERM,
	DL_RELAY_TLS,
	DL_RELAY_PROTOCOL,
	DL_RELAY_DNS, /* the downstream's name did not resolve (dest.c, before any connection) */
	DL_RELAY_NERR
};

/* dl_relay_send - send msg (len bytes) from sender ("" for <>) to the n rcpts; smtputf8: the
 * client's MAIL had SMTPUTF8. Fills v with the verdict for the whole transaction and returns
 * the outcome class. A message that needs SMTPUTF8 goes only to a downstream that offers it
 * (RFC 6531 3.4; Postfix's rule): a non-ASCII address is 553 5.6.7, and a message sent with
 * SMTPUTF8 whose header holds UTF-8 is 554 5.6.9, nothing sent (a header of 8-bit bytes sent
 * without SMTPUTF8, legacy mail, still goes). Thread-safe (one curl easy handle per call).
 * Nothing is retained. */
enum dl_relay_err dl_relay_send(const struct dl_relay_target *t, const struct dl_relay_opts *o, const char *sender,
				int smtputf8, const char *const *rcpts, size_t n, const void *msg, size_t len,
				struct cl_verdict *v);

/* The downstream's reply as curl shows it, line by line, kept for dl_relay_classify: the
 * first final 4xx/5xx line, else the last line, bounded. Zero it before the first line. */
#define DL_RELAY_REPLY_MAX 512
struct dl_relay_reply {
	char last[DL_RELAY_REPLY_MAX];
	size_t lastlen;
	int frozen; /* last holds a final 4xx/5xx line: keep it (curl then sends QUIT) */
	int bad;    /* a reply line held a NUL */
};

/* dl_relay_reply_line - one reply line as received (CRLF included or not, any bytes). */
void dl_relay_reply_line(struct dl_relay_reply *r, const char *data, size_t size);
/* dl_relay_classify - the verdict for the whole transaction from curl's result (a CURLcode)
 * and the reply kept (the mapping above); returns the outcome class. Pure: no I/O. */
enum dl_relay_err dl_relay_classify(int curl_rc, const struct dl_relay_reply *r, enum dl_relay_tls tls,
				    struct cl_verdict *v);

/* dl_relay_parse_reply - split a reply line "550 5.1.1 text" / "550-5.1.1 text" / "550 text"
 * into code, enhanced code ("" when absent) and text (printable ASCII only). Returns 0, or
 * -1 when the line is not a reply (RFC 5321 section 4.2). */
int dl_relay_parse_reply(const char *line, size_t len, int *code, char *enh, size_t enhlen, char *text, size_t textlen);

#endif
