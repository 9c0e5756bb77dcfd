/* routes_test.c - the route table's matcher: exact segments, {name} captures, 405 vs 404. */
#include <string.h>

#include "routes.h"
#include "util/test.h"

static const struct {
	const char *method, *path;
	int found, path_known;
	const char *arg0, *arg1;
} CASES[] = {
    {"GET", "/api/me", 1, 0, "", ""},
    {"PUT", "/api/me", 0, 1, NULL, NULL},
    {"GET", "/api/users/42", 1, 0, "42", ""},
    {"GET", "/api/users/42/scopes", 1, 0, "42", ""},
    {"DELETE", "/api/users/42/scopes/7", 1, 0, "42", "7"},
    {"GET", "/api/users/", 0, 0, NULL, NULL},
    {"GET", "/api/users/42/", 0, 0, NULL, NULL},
    {"GET", "/api/users//scopes", 0, 0, NULL, NULL},
    {"GET", "/api/userss", 0, 0, NULL, NULL},
    {"GET", "/api/digest/release.1.2.abc", 1, 0, "release.1.2.abc", ""},
    {"POST", "/api/quarantine/9/release", 1, 0, "9", ""},
    {"GET", "/api/nothing", 0, 0, NULL, NULL},
};

int main(void)
{
	for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
		struct api_req r;
		memset(&r, 0, sizeof r);
		int known = -1;
		const struct api_route *rt = api_route_find(&r, CASES[i].method, CASES[i].path, &known);
		CL_CHECK((rt != NULL) == CASES[i].found, "%s %s found", CASES[i].method, CASES[i].path);
		if (!rt) {
			CL_CHECK(known == CASES[i].path_known, "%s %s path_known=%d", CASES[i].method, CASES[i].path,
				 known);
			continue;
		}
		CL_CHECK(strcmp(r.arg[0], CASES[i].arg0) == 0, "%s arg0 \"%s\"", CASES[i].path, r.arg[0]);
		CL_CHECK(strcmp(r.arg[1], CASES[i].arg1) == 0, "%s arg1 \"%s\"", CASES[i].path, r.arg[1]);
	}
	char longp[300] = "/api/users/";
	memset(longp + 11, '1', 200);
	struct api_req r;
	memset(&r, 0, sizeof r);
	int known;
	CL_CHECK(api_route_find(&r, "GET", longp, &known) == NULL, "an over-long segment matches nothing");
	return CL_TEST_END();
}
