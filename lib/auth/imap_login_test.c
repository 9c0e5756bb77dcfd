/* imap_login_test.c - the TLS rule (URL per mode and port), who logs in by IMAP, and that a
 * server nobody listens on is "unavailable", never "denied". Logins against a real Dovecot
 * are in tests/integration/test_imap_login.py. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/imap_login.h"
#include "util/test.h"

static const struct {
	const char *host;
	int port;
	const char *tls;
	const char *url;
	int implicit;
} URLS[] = {
    {"imap.example.org", 993, "required", "imaps://imap.example.org:993/", 1},
    {"imap.example.org", 143, "required", "imap://imap.example.org:143/", 0},
    {"imap.example.org", 10143, "required", "imap://imap.example.org:10143/", 0},
    {"imap.example.org", 0, "required", "imaps://imap.example.org:993/", 1},
    {"imap.example.org", 10993, "implicit", "imaps://imap.example.org:10993/", 1},
    {"imap.example.org", 143, "implicit", "imaps://imap.example.org:143/", 1},
    {"imap.example.org", 0, "implicit", "imaps://imap.example.org:993/", 1},
    {"imap.example.org", 143, "plain", "imap://imap.example.org:143/", 0},
    {"imap.example.org", 993, "plain", "imap://imap.example.org:993/", 0},
    {"imap.example.org", 0, "plain", "imap://imap.example.org:143/", 0},
    {"::1", 993, "required", "imaps://[::1]:993/", 1},
    {"imap.example.org", 143, "bogus", "imap://imap.example.org:143/", 0},
};

static const struct {
	int group_has_imap, exists, has_pw;
	const char *role;
	int applies;
} WHO[] = {
    {1, 0, 0, NULL, 1},           /* unknown account: created at its first login, as a user */
    {1, 1, 0, "user", 1},         /* a user without a local password */
    {1, 1, 1, "user", 0},         /* a local password wins */
    {1, 1, 0, "domain-admin", 0}, /* admins never log in through a group's IMAP server */
    {1, 1, 0, "group-admin", 0},  {1, 1, 0, "root-admin", 0}, {0, 1, 0, "user", 0}, /* the group names no IMAP server */
    {0, 0, 0, NULL, 0},
};

int main(void)
{
	for (size_t i = 0; i < sizeof URLS / sizeof URLS[0]; i++) {
		struct cl_imap_server s = {URLS[i].host, URLS[i].port, cl_imap_tls_parse(URLS[i].tls)};
		char url[128];
		int implicit = -1;
		CL_CHECK(cl_imap_url(&s, url, sizeof url, &implicit) == 0 && strcmp(url, URLS[i].url) == 0 &&
			     implicit == URLS[i].implicit,
			 "%s:%d %s -> %s (implicit %d)", URLS[i].host, URLS[i].port, URLS[i].tls, url, implicit);
	}
	char tiny[8];
	int implicit;
	struct cl_imap_server big = {"imap.example.org", 993, CL_IMAP_TLS_REQUIRED};
	CL_CHECK(cl_imap_url(&big, tiny, sizeof tiny, &implicit) == -1, "a URL that does not fit is refused");

	for (size_t i = 0; i < sizeof WHO / sizeof WHO[0]; i++)
		CL_CHECK(cl_imap_login_applies(WHO[i].group_has_imap, WHO[i].exists, WHO[i].has_pw, WHO[i].role) ==
			     WHO[i].applies,
			 "row %zu (%s)", i, WHO[i].role ? WHO[i].role : "no account");

	static const enum cl_imap_tls modes[] = {CL_IMAP_TLS_REQUIRED, CL_IMAP_TLS_IMPLICIT, CL_IMAP_TLS_PLAIN};
	struct cl_imap_conf conf = {NULL, 3000};
	for (size_t i = 0; i < 3; i++) {
		struct cl_imap_server down = {"127.0.0.1", cl_test_free_port(), modes[i]};
		char err[256] = "";
		CL_CHECK(cl_imap_login(&conf, &down, "u@example.org", "pw", err, sizeof err) == CL_IMAP_UNAVAILABLE &&
			     err[0],
			 "nobody listening is unavailable (mode %zu): %s", i, err);
	}
	CL_CHECK(strcmp(cl_imap_result_name(CL_IMAP_UNAVAILABLE), "unavailable") == 0, "names");
	return CL_TEST_END();
}
