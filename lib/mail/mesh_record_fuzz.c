/* mesh_record_fuzz.c - libFuzzer target for the XMESH record parser (STYLE rule 12).
 *
 * fuzz-sources: lib/mail/mesh_record.c lib/util/buf.c lib/rpc/frame.c lib/util/utf8.c
 *
 *   clang -fsanitize=fuzzer,address,undefined -Ilib lib/mail/mesh_record_fuzz.c \
 *         lib/mail/mesh_record.c lib/util/buf.c lib/rpc/frame.c -lcjson -lnng -lm
 *
 * Any input must either parse into a record that formats and parses back to the same record,
 * or be refused with an error message; nothing may crash or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mesh_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy: the parser must not need a NUL terminator or read past size. */
	char *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	struct cl_mesh_record r, r2;
	char err[128], out[CL_MESH_LINE_MAX];
	if (cl_mesh_record_parse(copy, size, &r, err, sizeof err) == 0) {
		if (cl_mesh_record_format(&r, out, sizeof out) != 0)
			abort();
		if (cl_mesh_record_parse(out, strlen(out), &r2, err, sizeof err) != 0 || memcmp(&r, &r2, sizeof r) != 0)
			abort();
	} else if (!err[0]) {
		abort();
	}
	free(copy);
	return 0;
}
