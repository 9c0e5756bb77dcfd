/* relay.c - synchronous SMTP hand-off to the downstream MTA with libcurl (see relay.h). libcurl
 * holds the dialogue; the reply lines it shows are read with lib/mail/smtp_client.h's
 * cl_smtp_reply_code, the grammar the probe and the mesh push read replies with. */
#include "relay.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mail/smtp_client.h"
#include "msgutil.h"
#include "util/buf.h"
#include "util/log.h"

enum { NEED_UTF8_ADDRESS = 1, NEED_UTF8_HEADER = 2 };

struct relay_io {
	const char *p; /* body not yet read by curl */
	size_t left;
	struct dl_relay_reply reply;
	int need_utf8;    /* NEED_UTF8_*: SMTPUTF8 is required (RFC 6531) */
	int peer_utf8;    /* the downstream's EHLO reply offers SMTPUTF8 */
	int utf8_refused; /* the body was withheld for want of SMTPUTF8 */
};

/* read_cb - CURLOPT_READFUNCTION: hand curl the next piece of the body. RFC 6531 3.4: a
 * message whose envelope needs SMTPUTF8 must not be passed to a server that does not offer
 * it, yet libcurl then sends MAIL without the SMTPUTF8 parameter; DATA is the first point
 * where the transfer can be stopped, and aborting it there leaves the downstream nothing. */
static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct relay_io *io = arg;
	if (io->need_utf8 && !io->peer_utf8) {
		io->utf8_refused = 1;
		return CURL_READFUNC_ABORT;
	}
	size_t n = size * nitems;
	if (n > io->left)
		n = io->left;
	memcpy(buf, io->p, n);
	io->p += n;
	io->left -= n;
	return n;
}

/* debug_cb - CURLOPT_DEBUGFUNCTION: the server's reply lines (CURLINFO_HEADER_IN) go to
 * dl_relay_reply_line. */
static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	(void)h;
	struct relay_io *io = arg;
	if (type == CURLINFO_HEADER_IN) {
		/* An EHLO keyword line: "250-SMTPUTF8" or "250 SMTPUTF8" (RFC 5321 4.1.1.1). */
		if (size >= 12 && !memcmp(data, "250", 3) && (data[3] == '-' || data[3] == ' ') &&
		    !strncasecmp(data + 4, "SMTPUTF8", 8) && (size == 12 || strchr(" \r\n", data[12])))
			io->peer_utf8 = 1;
		dl_relay_reply_line(&io->reply, data, size);
	}
	return 0;
}

/* not_ascii - 1 when s holds a byte outside ASCII. */
static int not_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

/* header_not_ascii - 1 when the header section of msg (up to its first empty line, CRLF or
 * LF) holds a byte outside ASCII. */
static int header_not_ascii(const char *m, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)m[i] >= 0x80)
			return 1;
		if (m[i] == '\n' &&
		    (i + 1 == len || m[i + 1] == '\n' || (m[i + 1] == '\r' && i + 2 < len && m[i + 2] == '\n')))
			return 0; /* the empty line: the body follows */
	}
	return 0;
}

void dl_relay_reply_line(struct dl_relay_reply *r, const char *data, size_t size)
{
	if (r->frozen)
		return;
	if (memchr(data, '\0', size))
		r->bad = 1;
	while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
		size--;
	if (size >= sizeof r->last)
		size = sizeof r->last - 1;
	memcpy(r->last, data, size);
	r->last[size] = '\0';
	r->lastlen = size;
	/* A final line (RFC 5321 4.2.1: "code SP") of class 4 or 5 is the answer that counts. */
	if (size >= 4 && (data[0] == '4' || data[0] == '5') && data[3] == ' ')
		r->frozen = 1;
}

/* enh_syntax - p[0..n) is class "." subject "." detail, each 1-3 digits (RFC 3463 section
 * 2); anything else ("5.220", "5....") would be refused by smtp-edge and so turn the
 * downstream's refusal into a retry. */
static int enh_syntax(const char *p, size_t n)
{
	int part = 0;
	size_t digits = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '.') {
			if (digits == 0 || ++part > 2)
				return 0;
			digits = 0;
		} else if (++digits > 3 || (part == 0 && digits > 1)) {
			return 0;
		}
	}
	return part == 2 && digits > 0;
}

int dl_relay_parse_reply(const char *line, size_t len, int *code, char *enh, size_t enhlen, char *text, size_t textlen)
{
	int more;
	if ((*code = cl_smtp_reply_code(line, len, &more)) < 0) /* the one reply-line grammar */
		return -1;
	size_t i = len > 3 ? 4 : 3, e = i;
	/* RFC 3463: class "." subject "." detail, class matching the reply's first digit. */
	while (e < len && ((line[e] >= '0' && line[e] <= '9') || line[e] == '.'))
		e++;
	enh[0] = '\0';
	if (enh_syntax(line + i, e - i) && line[i] == line[0] && e - i < enhlen && (e == len || line[e] == ' ')) {
		memcpy(enh, line + i, e - i);
		enh[e - i] = '\0';
		i = e < len ? e + 1 : e;
	}
	size_t o = 0;
	for (; i < len && o + 1 < textlen; i++)
		if (line[i] >= 0x20 && line[i] < 0x7f)
			text[o++] = line[i];
	text[o] = '\0';
	return 0;
}

enum dl_relay_err dl_relay_classify(int curl_rc, const struct dl_relay_reply *r, enum dl_relay_tls tls,
				    struct cl_verdict *v)
{
	char enh[16], text[DL_RELAY_REPLY_MAX], msg[600];
	int code = 0;
	CURLcode rc = (CURLcode)curl_rc;
	int parsed =
	    !r->bad && dl_relay_parse_reply(r->last, r->lastlen, &code, enh, sizeof enh, text, sizeof text) == 0;
	if (rc == CURLE_OK) {
		cl_verdict_set(v, CL_ACCEPT, 250, "2.0.0", "Delivered to the downstream server");
		return DL_RELAY_OK;
	}
	if (parsed && code >= 500) {
		snprintf(msg, sizeof msg, "%s", text[0] ? text : "Refused by the downstream server");
		cl_verdict_set(v, CL_REJECT, code, enh[0] ? enh : "5.0.0", msg);
		return DL_RELAY_PERM;
	}
	enum dl_relay_err e = DL_RELAY_PROTOCOL;
	const char *what = "bad reply from the downstream server", *enh4 = "4.4.2";
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
		e = DL_RELAY_CONNECT, what = "downstream server unreachable", enh4 = "4.4.1";
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		e = DL_RELAY_TIMEOUT, what = "downstream server timed out", enh4 = "4.4.2";
	} else if (rc == CURLE_USE_SSL_FAILED && tls == DL_TLS_REQUIRED) {
		e = DL_RELAY_TLS, what = "downstream server does not offer the required STARTTLS", enh4 = "4.7.5";
	} else if (rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION) {
		e = DL_RELAY_TLS, what = "TLS with the downstream server failed", enh4 = "4.7.5";
	} else if (parsed && code >= 400 && code < 500) {
		e = DL_RELAY_TEMP, what = "downstream server deferred", enh4 = "4.4.0";
	}
	if (parsed && code >= 400 && code < 500 && text[0])
		snprintf(msg, sizeof msg, "Temporary failure: %s: %d %s", what, code, text);
	else
		snprintf(msg, sizeof msg, "Temporary failure: %s", what);
	cl_verdict_set(v, CL_DEFER, 451, enh4, msg);
	return e;
}

/* pin_addrs - "host:port:addr[,addr...]" (IPv6 in brackets) into *pin for CURLOPT_RESOLVE, so
 * that libcurl connects to lib/dns's addresses of t->host and resolves nothing itself, while
 * the URL, SNI and certificate check keep the name. 0 (nothing to pin for a numeric host) or -1. */
static int pin_addrs(const struct dl_relay_target *t, struct curl_slist **pin)
{
	unsigned char bin[16];
	if (!t->addrs || t->addrs->n <= 0 || inet_pton(AF_INET, t->host, bin) == 1 ||
	    inet_pton(AF_INET6, t->host, bin) == 1)
		return 0;
	struct cl_buf b;
	cl_buf_init(&b, 2048);
	int bad = cl_buf_printf(&b, "%s:%d:", t->host, t->port);
	for (int i = 0; i < t->addrs->n; i++)
		bad |= cl_buf_printf(&b, strchr(t->addrs->addr[i], ':') ? "%s[%s]" : "%s%s", i ? "," : "",
				     t->addrs->addr[i]);
	bad |= cl_buf_append(&b, "", 1);
	struct curl_slist *nl = bad ? NULL : curl_slist_append(NULL, b.data);
	cl_buf_free(&b);
	if (!nl)
		return -1;
	*pin = nl;
	return 0;
}

/* setup - every option of one transaction; rl owns the recipient list, pin the pinned addresses. */
static int setup(CURL *h, const struct dl_relay_target *t, const struct dl_relay_opts *o, const char *sender,
		 struct curl_slist **rl, struct curl_slist **pin, const char *const *rcpts, size_t n,
		 struct relay_io *io, size_t len)
{
	char url[600], from[600], r[600];
	if (pin_addrs(t, pin) < 0)
		return -1;
	int host6 = strchr(t->host, ':') != NULL;
	if (cl_snprintf(url, sizeof url, host6 ? "smtp://[%s]:%d/%s" : "smtp://%s:%d/%s", t->host, t->port, o->helo) <
		0 ||
	    cl_snprintf(from, sizeof from, "<%s>", sender) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct curl_slist *nl;
		if (cl_snprintf(r, sizeof r, "<%s>", rcpts[i]) < 0 || !(nl = curl_slist_append(*rl, r)))
			return -1;
		*rl = nl;
	}
	long ssl = t->tls == DL_TLS_REQUIRED        ? CURLUSESSL_ALL
		   : t->tls == DL_TLS_OPPORTUNISTIC ? CURLUSESSL_TRY
						    : CURLUSESSL_NONE;
	long verify = t->tls == DL_TLS_REQUIRED && t->verify_cert;
	int rc = curl_easy_setopt(h, CURLOPT_URL, url) | curl_easy_setopt(h, CURLOPT_MAIL_FROM, from) |
		 curl_easy_setopt(h, CURLOPT_MAIL_RCPT, *rl) | curl_easy_setopt(h, CURLOPT_UPLOAD, 1L) |
		 curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len) |
		 curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb) | curl_easy_setopt(h, CURLOPT_READDATA, io) |
		 curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb) | curl_easy_setopt(h, CURLOPT_DEBUGDATA, io) |
		 curl_easy_setopt(h, CURLOPT_VERBOSE, 1L) | curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) |
		 curl_easy_setopt(h, CURLOPT_USE_SSL, ssl) | curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, verify) |
		 curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L) |
		 curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms) |
		 curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms) |
		 curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp");
	if (*pin)
		rc |= curl_easy_setopt(h, CURLOPT_RESOLVE, *pin);
	if (verify && t->ca_file && *t->ca_file)
		rc |= curl_easy_setopt(h, CURLOPT_CAINFO, t->ca_file);
	if (t->auth_user && *t->auth_user)
		rc |= curl_easy_setopt(h, CURLOPT_USERNAME, t->auth_user) |
		      curl_easy_setopt(h, CURLOPT_PASSWORD, t->auth_pass ? t->auth_pass : "");
	return rc == 0 ? 0 : -1;
}

enum dl_relay_err dl_relay_send(const struct dl_relay_target *t, const struct dl_relay_opts *o, const char *sender,
				int smtputf8, const char *const *rcpts, size_t n, const void *msg, size_t len,
				struct cl_verdict *v)
{
	struct cl_buf body;
	cl_buf_init(&body, 0);
	struct relay_io io = {0};
	struct curl_slist *rl = NULL, *pin = NULL;
	CURL *h = curl_easy_init();
	enum dl_relay_err e = DL_RELAY_PROTOCOL;
	if (!h || dl_crlf_normalize(msg, len, &body) < 0) {
		cl_verdict_tempfail(v, "Temporary failure: out of memory");
		goto out;
	}
	io.p = body.data ? body.data : "";
	io.left = body.len;
	int addr = not_ascii(sender);
	for (size_t i = 0; i < n; i++)
		addr |= not_ascii(rcpts[i]);
	io.need_utf8 = addr ? NEED_UTF8_ADDRESS : smtputf8 && header_not_ascii(io.p, io.left) ? NEED_UTF8_HEADER : 0;
	if (setup(h, t, o, sender, &rl, &pin, rcpts, n, &io, body.len) < 0) {
		cl_verdict_tempfail(v, "Temporary failure: cannot set up the downstream transaction");
		goto out;
	}
	CURLcode rc = curl_easy_perform(h);
	e = dl_relay_classify((int)rc, &io.reply, t->tls, v);
	if (io.utf8_refused) { /* RFC 6531 3.5 and the IANA registry name the refusals */
		if (io.need_utf8 == NEED_UTF8_ADDRESS)
			cl_verdict_set(
			    v, CL_REJECT, 553, "5.6.7",
			    "Non-ASCII addresses not permitted: the downstream server does not support SMTPUTF8");
		else
			cl_verdict_set(v, CL_REJECT, 554, "5.6.9",
				       "UTF-8 header message cannot be transferred: the downstream server does not "
				       "support SMTPUTF8");
		e = DL_RELAY_PERM;
	}
	if (e != DL_RELAY_OK) {
		char esc[DL_RELAY_REPLY_MAX + 16];
		cl_log(CL_LOG_WARN, NULL, "relay_failed", "host=%s port=%d curl=%d reply=%s", t->host, t->port, (int)rc,
		       cl_log_escape(esc, sizeof esc, io.reply.last, io.reply.lastlen));
	}
out:
	curl_slist_free_all(rl);
	curl_slist_free_all(pin);
	if (h)
		curl_easy_cleanup(h);
	cl_buf_free(&body);
	return e;
}
