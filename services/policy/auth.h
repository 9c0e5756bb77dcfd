/* auth.h - SMTP AUTH (and web login) decisions.
 *
 * Local users log in with the argon2id hash stored in users.password_hash. Users of a
 * relay-mode group whose group names an IMAP server log in by an IMAP LOGIN to it (RFC 9051
 * section 6.2.3) through libcurl: imaps:// when the port is 993, otherwise imap:// with
 * STARTTLS required, and plain text only when the group says imap_tls = 'plain'. The
 * server's certificate is verified (ca_file adds a CA bundle). Passwords are never logged
 * and never kept. */
#ifndef CLEMENT_POLICY_AUTH_H
#define CLEMENT_POLICY_AUTH_H

#include <stddef.h>

enum pauth_result { PAUTH_OK = 0, PAUTH_DENIED, PAUTH_UNAVAILABLE };

struct pauth_imap_conf {
	int timeout_ms;
	const char *ca_file; /* "" or NULL: the system store */
};

/* pauth_imap_login - try LOGIN user/password at host:port. why gets a short reason for logs
 * (never the password). */
enum pauth_result pauth_imap_login(const struct pauth_imap_conf *c, const char *host, int port, int plain,
				   const char *user, const char *password, char *why, size_t whylen);

#endif
