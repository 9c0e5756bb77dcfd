/* imap_login.h - check a mailbox password by an IMAP LOGIN at a group's mail server
 * (RFC 9051 section 6.2.3, through libcurl): the one implementation behind SMTP AUTH (policy)
 * and web login (admin-api).
 *
 * TLS, one rule for both: a group's imap_tls says
 *   "required"  implicit TLS (imaps, RFC 8314 section 3.2) on port 993, STARTTLS required
 *               (RFC 9051 section 6.2.1) on any other port;
 *   "implicit"  implicit TLS on whatever port the group names;
 *   "plain"     no TLS at all: an explicit decision of a root-admin, logged by admin-api.
 * With TLS the server's certificate and name are verified, against ca_file or, when it is
 * empty, the system's bundle. A missing port is 993 for the TLS modes and 143 for plain.
 *
 * Results: CL_IMAP_OK, CL_IMAP_DENIED (the server said NO to the credentials), or
 * CL_IMAP_UNAVAILABLE for everything that is not an answer about the password: no
 * connection, a TLS or certificate failure, a timeout, and a NO carrying the RFC 5530
 * [UNAVAILABLE] response code (the server's own authentication backend is down). Callers
 * turn UNAVAILABLE into a temporary failure (SMTP 454 4.7.0, HTTP 503), never into "wrong
 * password".
 *
 * Who logs in by IMAP at all is cl_imap_login_applies(): accounts with an admin role never
 * do, so that whoever controls a group's IMAP server cannot log in as an admin (issue 15).
 *
 * Passwords are handed to libcurl only, never logged and never kept. */
#ifndef CLEMENT_MAIL_IMAP_LOGIN_H
#define CLEMENT_MAIL_IMAP_LOGIN_H

#include <stddef.h>

enum cl_imap_tls { CL_IMAP_TLS_REQUIRED = 0, CL_IMAP_TLS_IMPLICIT, CL_IMAP_TLS_PLAIN };
enum cl_imap_result { CL_IMAP_OK = 0, CL_IMAP_DENIED, CL_IMAP_UNAVAILABLE };

struct cl_imap_server {
	const char *host;
	int port; /* 0: 993 with TLS, 143 plain */
	enum cl_imap_tls tls;
};

struct cl_imap_conf {
	const char *ca_file; /* NULL or "": the system's bundle */
	long timeout_ms;     /* the whole login, connection included */
};

/* cl_imap_tls_parse - the groups.imap_tls column value; unknown text is "required" (the
 * strictest reading that can still log in). */
enum cl_imap_tls cl_imap_tls_parse(const char *s);
/* cl_imap_result_name - "ok", "denied", "unavailable" (metrics labels, logs). */
const char *cl_imap_result_name(enum cl_imap_result r);

/* cl_imap_url - the URL libcurl is given for srv ("imaps://host:993/", "imap://[::1]:143/")
 * and, in *implicit, whether TLS starts at connect. 0, or -1 when it does not fit in url. */
int cl_imap_url(const struct cl_imap_server *srv, char *url, size_t urllen, int *implicit);

/* cl_imap_login_applies - 1 when an account logs in by IMAP at its group's server: the group
 * names one (relay mode), the account has no local password, and it is not an admin
 * (role NULL or "user"; an unknown account is a user, created at its first login). */
int cl_imap_login_applies(int group_has_imap, int account_exists, int has_local_password, const char *role);

/* cl_imap_login - LOGIN user/pass at srv, then disconnect. err gets a short reason for logs
 * (never the password) unless the answer is CL_IMAP_OK. Blocks up to conf->timeout_ms. */
enum cl_imap_result cl_imap_login(const struct cl_imap_conf *conf, const struct cl_imap_server *srv, const char *user,
				  const char *pass, char *err, size_t errlen);

#endif
