/* sp.h - the wire of Clement's RPC: nng's scalability protocols (SP) REQ/REP over TCP and
 * Unix sockets, spoken without libnng (rpc.c drives it). Byte for byte what nng 1.5 sends,
 * so an nng peer, tools that speak nng, and the test harness's Python REQ and REP
 * (tests/integration/harness/nng.py, fakerpc.py) all talk to it unchanged:
 *
 *   handshake  each side sends 8 bytes at once: "\0SP\0", its protocol id (16 bits, big
 *              endian: REQ0 0x30, REP0 0x31), two zero bytes; a peer of another protocol is
 *              dropped.
 *   frame      tcp://  a 64-bit big-endian length, then that many bytes;
 *              ipc://  one byte 1, the same length, the bytes.
 *   REQ0       a request's bytes start with its 32-bit request id, high bit set; the reply
 *              starts with the same id. A REP peer echoes the whole "backtrace" (32-bit words
 *              up to the first with the high bit set) before its reply.
 *
 * Every length is checked against a maximum before anything is allocated. */
#ifndef CLEMENT_RPC_SP_H
#define CLEMENT_RPC_SP_H

#include <nng/nng.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define CL_SP_REQ0 0x30
#define CL_SP_REP0 0x31

/* At most this many backtrace words (nng's default maximum of hops, NNG_OPT_MAXTTL). */
#define CL_SP_MAX_HOPS 8

/* A parsed RPC URL: "tcp://host:port" ("[v6]:port"; host "*" or empty to listen on every
 * IPv4 address) or "ipc:///path" (also "unix://"). */
struct cl_sp_url {
	int ipc;
	char host[256];
	char port[16];
	char path[108]; /* sizeof sun_path */
};

/* cl_sp_url_parse - 0, or -1 with err naming the URL and what is wrong with it. */
int cl_sp_url_parse(const char *url, struct cl_sp_url *u, char *err, size_t errlen);

/* cl_sp_hello - the 8-byte handshake of protocol proto into out. */
void cl_sp_hello(unsigned char out[8], int proto);

/* cl_sp_hello_ok - 1 when in is a handshake of protocol want. */
int cl_sp_hello_ok(const unsigned char in[8], int want);

/* cl_sp_frame_head - the frame header for a frame of n bytes into out; its length (8 or 9). */
size_t cl_sp_frame_head(unsigned char out[9], int ipc, uint64_t n);

/* A frame reader over a non-blocking stream: buffers small frames, reads a large one's bytes
 * straight into its message. */
struct cl_sp_reader {
	int ipc;
	size_t max; /* longest frame accepted */
	unsigned char buf[16384];
	size_t have, pos; /* buf[pos..have) not consumed yet */
	nng_msg *m;       /* the frame being filled */
	size_t need, got;
};

void cl_sp_reader_init(struct cl_sp_reader *r, int ipc, size_t max);
void cl_sp_reader_fini(struct cl_sp_reader *r);

/* cl_sp_read - read what fd has and hand every complete frame to fn (which owns it) in
 * order. 0 when fd has nothing more for now, -1 when the stream ended or broke: end of file,
 * an error (errno set), or a frame over max or of an unknown ipc type (errno EPROTO). */
int cl_sp_read(struct cl_sp_reader *r, int fd, void (*fn)(void *arg, nng_msg *m), void *arg);

/* cl_sp_writev - sendmsg without SIGPIPE and retried on EINTR: bytes written, or -1. */
ssize_t cl_sp_writev(int fd, const struct iovec *iov, int n);

/* cl_sp_backtrace - the length of the backtrace at the start of a request's bytes (4 to
 * 4 * CL_SP_MAX_HOPS), or 0 when it has none (no word with the high bit set in reach). */
size_t cl_sp_backtrace(const unsigned char *p, size_t n);

#endif
