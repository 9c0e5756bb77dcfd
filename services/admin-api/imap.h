/* imap.h - check a password by an IMAP LOGIN at a group's mail server (libcurl).
 *
 * Users of a relay-mode group that names an IMAP server log in with their mailbox
 * password: Clement stores no password for them. TLS is implicit (imaps, RFC 8314
 * section 3.2) and the certificate is verified, unless the group explicitly allows plain
 * IMAP. The password is handed to libcurl only and never logged. */
#ifndef CLEMENT_ADMIN_IMAP_H
#define CLEMENT_ADMIN_IMAP_H

#include <stddef.h>

enum imap_result { IMAP_OK = 0, IMAP_DENIED, IMAP_UNAVAILABLE };

struct imap_server {
	const char *host;
	int port;            /* 0: 993 with TLS, 143 plain */
	int plain;           /* 1 only when the group says imap_tls = 'plain' */
	const char *ca_file; /* NULL or "": the system's trust store */
	long timeout_s;
};

/* imap_check - log in as user with pass, then log out. IMAP_UNAVAILABLE (err says why)
 * when the server cannot be reached or spoken to, IMAP_DENIED when it refuses the login. */
enum imap_result imap_check(const struct imap_server *srv, const char *user, const char *pass, char *err,
			    size_t errlen);

#endif
