/* frame_fuzz.c - libFuzzer target for the RPC frame parser, cl_frame_parse_bytes().
 *
 * fuzz-sources: lib/rpc/frame.c lib/util/buf.c
 *
 * A peer controls every byte of a frame; nothing may crash, and an accepted frame must be a
 * JSON object with its body inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	cJSON *hdr = NULL;
	const unsigned char *body = NULL;
	size_t blen = 0;
	char err[256];
	if (cl_frame_parse_bytes(copy, size, &hdr, &body, &blen, err, sizeof err) == 0) {
		if (!cJSON_IsObject(hdr))
			abort();
		if (body && (body < copy || body + blen > copy + size))
			abort();
		(void)cl_json_str(hdr, "op", NULL);
		(void)cl_json_int(hdr, "v", 0);
		cJSON_Delete(hdr);
	}
	free(copy);
	return 0;
}
