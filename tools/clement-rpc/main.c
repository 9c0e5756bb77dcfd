/* main.c - clement-rpc: send one RPC request to a Clement service and print the reply.
 *
 *   clement-rpc URL 'JSON-HEADER' [BODY-FILE]      ("-" reads the body from stdin)
 *
 * Prints the reply header as one JSON line on stdout (then, with CLEMENT_RPC_PRINT_BODY=1,
 * a NUL and the body). Exit 0 on a reply, 3 timeout, 4 unreachable, 5 malformed, 2 usage.
 * Used by the tests, the benchmarks and admins debugging a service. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc.h"
#include "util/buf.h"

/* read_all - a whole file (or stdin for "-") into b. */
static int read_all(const char *path, struct cl_buf *b)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f)
		return -1;
	char chunk[65536];
	size_t n;
	int rc = 0;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (cl_buf_append(b, chunk, n) < 0)
			rc = -1;
	if (f != stdin)
		fclose(f);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4 || strcmp(argv[1], "--help") == 0) {
		fprintf(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
			"Usage: clement-rpc URL JSON-HEADER [BODY-FILE|-]\n"
			"Sends one request (header, optional body) to a Clement service (RPC over TCP or a Unix "
			"socket) and prints the reply.\n"
			"Settings: CLEMENT_RPC_TIMEOUT_MS (default 5000), CLEMENT_RPC_PRINT_BODY=1 to print the reply "
			"body.\n");
		return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	const char *t = getenv("CLEMENT_RPC_TIMEOUT_MS");
	int timeout = t ? atoi(t) : 5000;
	cJSON *req = cJSON_Parse(argv[2]);
	if (!cJSON_IsObject(req)) {
		fprintf(stderr, "clement-rpc: the header must be a JSON object\n");
		cJSON_Delete(req);
		return 2;
	}
	struct cl_buf body;
	cl_buf_init(&body, CL_RPC_MAX_MSG);
	if (argc == 4 && read_all(argv[3], &body) < 0) {
		fprintf(stderr, "clement-rpc: cannot read body %s\n", argv[3]);
		return 2;
	}
	char err[256];
	struct cl_rpc_client *c = cl_rpc_client_new(argv[1], err, sizeof err);
	if (!c) {
		fprintf(stderr, "clement-rpc: %s\n", err);
		return 2;
	}
	nng_msg *reply = NULL;
	cJSON *hdr = NULL;
	enum cl_rpc_status st = cl_rpc_call(c, req, argc == 4 ? (body.data ? body.data : "") : NULL, body.len, timeout,
					    &reply, &hdr, err, sizeof err);
	int rc = 0;
	if (st == CL_RPC_OK) {
		char *s = cJSON_PrintUnformatted(hdr);
		printf("%s\n", s);
		cJSON_free(s);
		const char *pb = getenv("CLEMENT_RPC_PRINT_BODY");
		cJSON *h2 = NULL;
		const unsigned char *rb;
		size_t rbl;
		if (pb && strcmp(pb, "1") == 0 && cl_frame_parse(reply, &h2, &rb, &rbl, err, sizeof err) == 0) {
			if (rb) {
				fputc('\0', stdout);
				fwrite(rb, 1, rbl, stdout);
			}
			cJSON_Delete(h2);
		}
		nng_msg_free(reply);
		cJSON_Delete(hdr);
	} else {
		fprintf(stderr, "clement-rpc: %s: %s\n", cl_rpc_status_str(st), err);
		rc = st == CL_RPC_TIMEOUT ? 3 : st == CL_RPC_UNREACHABLE ? 4 : st == CL_RPC_MALFORMED ? 5 : 1;
	}
	cl_rpc_client_free(c);
	cJSON_Delete(req);
	cl_buf_free(&body);
	return rc;
}
