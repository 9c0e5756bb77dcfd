/* authres.h - Authentication-Results fields that arrive naming our host (RFC 8601 section 5).
 *
 * An MTA that adds Authentication-Results under its own authserv-id must remove the ones that
 * came with the message under that id, or a reader would trust a sender's own "dkim=pass".
 * Socket-free (unit test and fuzz target beside it). */
#ifndef CLEMENT_EDGE_AUTHRES_H
#define CLEMENT_EDGE_AUTHRES_H

#include <stddef.h>

/* authres_drop_ours - remove, in place, every Authentication-Results field of msg's header
 * (up to the first empty line; continuation lines included) whose authserv-id is host (ASCII
 * case-insensitive). The body is untouched; nothing changes when msg has no empty line.
 * Returns the new length (msg[len] is written NUL when the message shrank and len < cap). */
size_t authres_drop_ours(char *msg, size_t len, const char *host);

#endif
