/* frame_fuzz.c - libFuzzer target for the RPC frame parser, cl_frame_parse_bytes().
 *
 * fuzz-sources: lib/rpc/frame.c lib/util/buf.c
 *
 * A peer controls every byte of a frame; nothing may crash, and an accepted frame must be a
 * JSON object with "v" of CL_FRAME_VERSION whose header is the bytes before the first NUL
 * and whose body is exactly the bytes after it (none without a NUL); a refusal always says
 * why. An accepted frame built again (cl_frame_build, its own JSON writer) is what
 * cJSON_PrintUnformatted writes for the header, then the same NUL and body.
 *
 * cJSON is a shared library, not instrumented: the fuzzer gets no guidance towards valid
 * JSON, so without the seeds (fuzz-corpus/frame_fuzz: frames with and without a body, at
 * and past the depth limit) no input ever got past "header has no \"v\":1". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/frame.h"

/* The seeds carry "v":1; a new version must update them or every input is refused. */
_Static_assert(CL_FRAME_VERSION == 1, "update fuzz-corpus/frame_fuzz to the new frame version");

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* rebuild - cl_frame_build of an accepted header and body is cJSON's text of the header, then
 * the body as it came. */
static void rebuild(const cJSON *hdr, const unsigned char *body, size_t blen)
{
	nng_msg *m = NULL;
	char *want = cJSON_PrintUnformatted(hdr);
	if (!want || cl_frame_build(&m, hdr, body, blen) != 0)
		abort();
	size_t wl = strlen(want), n = nng_msg_len(m);
	const unsigned char *p = nng_msg_body(m);
	if (n != wl + (body ? 1 + blen : 0) || memcmp(p, want, wl) != 0)
		abort();
	if (body && (p[wl] != '\0' || (blen && memcmp(p + wl + 1, body, blen) != 0)))
		abort();
	nng_msg_free(m);
	free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	cJSON *hdr = NULL;
	const unsigned char *body = NULL;
	size_t blen = 0;
	char err[256] = "";
	if (cl_frame_parse_bytes(copy, size, &hdr, &body, &blen, err, sizeof err) == 0) {
		if (!cJSON_IsObject(hdr) || cl_json_int(hdr, "v", 0) != CL_FRAME_VERSION)
			abort();
		const unsigned char *nul = memchr(copy, '\0', size);
		if (nul ? body != nul + 1 || body + blen != copy + size : body != NULL || blen != 0)
			abort();
		(void)cl_json_str(hdr, "op", NULL);
		rebuild(hdr, body, blen);
		cJSON_Delete(hdr);
	} else if (!err[0]) {
		abort();
	}
	free(copy);
	return 0;
}
