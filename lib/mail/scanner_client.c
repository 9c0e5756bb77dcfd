/* scanner_client.c - scan request and reply. See scanner_client.h and docs/RPC.md. */
#include "mail/scanner_client.h"

#include <string.h>

#include "rpc/frame.h"
#include "util/buf.h"

int cl_scanner_scan_req(nng_msg **out, const char *sid, const void *body, size_t blen)
{
	cJSON *o = cJSON_CreateObject();
	int rc = -1;
	if (o && cJSON_AddNumberToObject(o, "v", 1) && cJSON_AddStringToObject(o, "op", "scan") &&
	    cJSON_AddStringToObject(o, "sid", sid))
		rc = cl_frame_build(out, o, body ? body : "", blen);
	cJSON_Delete(o);
	return rc;
}

enum cl_scan_result cl_scanner_scan_reply(nng_msg *reply, char *sig, size_t siglen)
{
	cJSON *h = NULL;
	const unsigned char *body;
	size_t blen;
	char err[128];
	if (siglen)
		sig[0] = '\0';
	if (!reply || cl_frame_parse(reply, &h, &body, &blen, err, sizeof err) < 0)
		return CL_SCAN_ERROR;
	const char *verdict = cl_json_str(h, "verdict", "");
	enum cl_scan_result r = CL_SCAN_ERROR;
	if (strcmp(verdict, "clean") == 0) {
		r = CL_SCAN_CLEAN;
	} else if (strcmp(verdict, "infected") == 0) {
		r = CL_SCAN_INFECTED;
		/* The name goes into an SMTP reply: printable ASCII only, bounded. */
		const char *s = cl_json_str(h, "signature", "unknown");
		size_t k = 0;
		for (; s[k] && k + 1 < siglen; k++)
			sig[k] = (s[k] > 0x20 && s[k] < 0x7F) ? s[k] : '_';
		if (siglen)
			sig[k] = '\0';
	}
	cJSON_Delete(h);
	return r;
}
