/* scanner_client.h - the client stub of the scanner service (docs/RPC.md, "scanner"). */
#ifndef CLEMENT_MAIL_SCANNER_CLIENT_H
#define CLEMENT_MAIL_SCANNER_CLIENT_H

#include <nng/nng.h>
#include <stddef.h>

enum cl_scan_result { CL_SCAN_CLEAN = 0, CL_SCAN_INFECTED, CL_SCAN_ERROR };

/* cl_scanner_scan_req - the scan request with the whole message as body (copied into the
 * new message, which the caller owns). 0 or -1. */
int cl_scanner_scan_req(nng_msg **out, const char *sid, const void *body, size_t blen);
/* cl_scanner_scan_reply - read a scan reply (still the caller's). A malformed reply is
 * CL_SCAN_ERROR. sig receives the signature name of an infected message (sanitised:
 * printable ASCII only). */
enum cl_scan_result cl_scanner_scan_reply(nng_msg *reply, char *sig, size_t siglen);

#endif
