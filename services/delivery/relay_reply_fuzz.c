/* relay_reply_fuzz.c - libFuzzer target for delivery's reading of the downstream MTA's
 * replies (relay.c): the lines curl hands to dl_relay_reply_line, dl_relay_parse_reply, and
 * dl_relay_classify turning them and curl's result into the verdict smtp-edge sends to the
 * client. The downstream is another party's server; anything may come back.
 *
 * fuzz-sources: services/delivery/relay.c services/delivery/msgutil.c lib/mail/verdict.c
 * fuzz-sources: lib/rpc/frame.c lib/util/buf.c lib/util/log.c lib/util/utf8.c
 * fuzz-sources: lib/mail/smtp_client.c lib/util/metrics.c lib/util/net.c lib/util/config.c lib/util/cidr.c
 * fuzz-libs: -lcurl
 *
 * Input: byte 0 picks curl's result, byte 1 the TLS mode; the rest is what the downstream
 * said, cut into the lines curl reports at each '\n' (kept, as curl keeps it).
 * Invariants: no crash or read past a line; every line the parser takes has a code of
 * 200..599, an enhanced code that is empty or of the code's class, and printable text; the
 * verdict is 250 only when curl succeeded, a 5xx only from a downstream 5xx, 451 otherwise,
 * and it is one smtp-edge accepts: it survives cl_verdict_to_json/cl_verdict_from_json
 * unchanged (an enhanced code the edge refuses would turn a refusal into a retry). */
#include <curl/curl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const CURLcode RESULTS[] = {CURLE_OK,
				   CURLE_COULDNT_CONNECT,
				   CURLE_COULDNT_RESOLVE_HOST,
				   CURLE_OPERATION_TIMEDOUT,
				   CURLE_USE_SSL_FAILED,
				   CURLE_SSL_CONNECT_ERROR,
				   CURLE_PEER_FAILED_VERIFICATION,
				   CURLE_RECV_ERROR,
				   CURLE_WEIRD_SERVER_REPLY,
				   CURLE_SEND_ERROR,
				   CURLE_LOGIN_DENIED,
				   CURLE_GOT_NOTHING};

/* printable - s is printable ASCII only. */
static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* check_line - the parser's answer for one line. */
static void check_line(const char *line, size_t len)
{
	int code = 0;
	char enh[16], text[64];
	if (dl_relay_parse_reply(line, len, &code, enh, sizeof enh, text, sizeof text) != 0)
		return;
	if (code < 200 || code > 599 || (enh[0] && enh[0] - '0' != code / 100) || !printable(text) ||
	    strlen(text) >= sizeof text)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	CURLcode rc = RESULTS[data[0] % (sizeof RESULTS / sizeof RESULTS[0])];
	enum dl_relay_tls tls = (enum dl_relay_tls)(data[1] % 3);
	struct dl_relay_reply r;
	memset(&r, 0, sizeof r);
	const uint8_t *p = data + 2, *end = data + size;
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		char *line = malloc(n); /* a private copy: reading past it is seen */
		if (!line)
			return 0;
		memcpy(line, p, n);
		dl_relay_reply_line(&r, line, n);
		check_line(line, n - (nl ? 1 : 0));
		free(line);
		p += n;
	}
	if (r.lastlen >= sizeof r.last || r.last[r.lastlen] != '\0')
		abort();

	struct cl_verdict v, back;
	enum dl_relay_err e = dl_relay_classify((int)rc, &r, tls, &v);
	int ok = (rc == CURLE_OK) == (e == DL_RELAY_OK) &&
		 (e == DL_RELAY_OK) == (v.action == CL_ACCEPT && v.code == 250) &&
		 (e == DL_RELAY_PERM) == (v.action == CL_REJECT) && (v.action != CL_REJECT || v.code / 100 == 5) &&
		 (v.action != CL_DEFER || v.code == 451) && printable(v.text);
	if (!ok)
		abort();
	cJSON *o = cJSON_CreateObject();
	if (!o || cl_verdict_to_json(&v, o) != 0)
		abort();
	if (cl_verdict_from_json(o, &back) != 0 || back.action != v.action || back.code != v.code ||
	    strcmp(back.enh, v.enh) != 0 || strcmp(back.text, v.text) != 0)
		abort();
	cJSON_Delete(o);
	return 0;
}
