/* sp_fuzz.c - libFuzzer target for the RPC wire's parsers (sp.h): the frame reader, the
 * request backtrace and the URL parser.
 *
 * fuzz-sources: lib/rpc/sp.c lib/util/buf.c
 *
 * A peer controls every byte of the stream. The input goes through a pipe into cl_sp_read
 * (tcp:// and ipc:// framing, with a small maximum so that the length check is reached) and
 * nothing may crash or leak; every frame handed out must be within the maximum, and the frames
 * plus their headers may never add up to more bytes than came in. Each frame's start is
 * also read as a backtrace, whose length must be a multiple of 4 within the frame. The input,
 * as text, is parsed as a URL: an accepted one has a port of digits (tcp) or a path (ipc). */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpc/sp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	size_t frames, bytes, max;
};

static void on_frame(void *arg, nng_msg *m)
{
	struct seen *s = arg;
	size_t n = nng_msg_len(m);
	if (n > s->max)
		abort();
	size_t bt = cl_sp_backtrace(nng_msg_body(m), n);
	if (bt % 4 != 0 || bt > n || bt > 4 * CL_SP_MAX_HOPS)
		abort();
	s->frames++;
	s->bytes += n;
	nng_msg_free(m);
}

static void read_all(const uint8_t *data, size_t size, int ipc)
{
	int p[2];
	if (size > 60000 || pipe2(p, O_NONBLOCK) != 0)
		return;
	if (size && write(p[1], data, size) != (ssize_t)size)
		abort();
	close(p[1]);
	struct cl_sp_reader *r = malloc(sizeof *r);
	cl_sp_reader_init(r, ipc, 4096);
	struct seen s = {0, 0, 4096};
	while (cl_sp_read(r, p[0], on_frame, &s) == 0) {
	}
	if (s.bytes + s.frames * (ipc ? 9 : 8) > size)
		abort();
	cl_sp_reader_fini(r);
	free(r);
	close(p[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	read_all(data, size, 0);
	read_all(data, size, 1);
	char *url = malloc(size + 1);
	memcpy(url, data, size);
	url[size] = '\0';
	struct cl_sp_url u;
	char err[512];
	if (cl_sp_url_parse(url, &u, err, sizeof err) == 0) {
		if (u.ipc ? !u.path[0] : (!u.port[0] || strspn(u.port, "0123456789") != strlen(u.port)))
			abort();
	} else if (!err[0]) {
		abort();
	}
	free(url);
	return 0;
}
