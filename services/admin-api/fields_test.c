/* fields_test.c - the one number parser of admin-api (api_parse_int, api_json_int): whole
 * strings only, range checked before any conversion that could overflow. */
#include <cjson/cJSON.h>
#include <string.h>

#include "fields.h"
#include "util/test.h"

/* One case: the input (a string, or the text of a JSON value), the range, the expected return
 * and value. */
struct num_case {
	const char *in;
	long long min, max;
	int rc;
	long long v;
};

static const struct num_case STRINGS[] = {
    {"1", 1, 10, 0, 1},
    {"10", 1, 10, 0, 10},
    {"11", 1, 10, -1, 0},
    {"0", 1, 10, -1, 0},
    {"-3", -5, 5, 0, -3},
    {"-", -5, 5, -1, 0},
    {"", 1, 10, -1, 0},
    {"24abc", 1, 744, -1, 0},
    {"1x", 1, 10, -1, 0},
    {"1\x01x", 1, 10, -1, 0},
    {" 1", 1, 10, -1, 0},
    {"1 ", 1, 10, -1, 0},
    {"+1", 1, 10, -1, 0},
    {"0x1", 0, 10, -1, 0},
    {"1.0", 1, 10, -1, 0},
    {"1e3", 1, 10000, -1, 0},
    {"9000000000000000", 1, API_ID_MAX, 0, API_ID_MAX},
    {"9000000000000001", 1, API_ID_MAX, -1, 0},
    {"9223372036854775807", 0, 9223372036854775807LL, 0, 9223372036854775807LL},
    {"9223372036854775808", 0, 9223372036854775807LL, -1, 0},
    {"99999999999999999999", 0, 9223372036854775807LL, -1, 0},
    {"0000000000000000000001", 0, 10, -1, 0},
};

static const struct num_case NUMBERS[] = {
    {"5", 1, 10, 0, 5},
    {"5.0", 1, 10, 0, 5},
    {"5.5", 1, 10, -1, 0},
    {"-1", 1, 10, -1, 0},
    {"1e300", 1, 9000000000000000LL, -1, 0},
    {"-1e300", -10, 10, -1, 0},
    {"1e400", 1, 10, -1, 0},
    {"\"5\"", 1, 10, -1, 0},
    {"true", 1, 10, -1, 0},
    {"null", 1, 10, -1, 0},
    {"9000000000000000", 1, API_ID_MAX, 0, API_ID_MAX},
};

/* run - the cases of one table; json: parse each input as JSON and use api_json_int. */
static void run(const struct num_case *c, size_t n, int json)
{
	for (size_t i = 0; i < n; i++) {
		long long v = 0;
		cJSON *j = json ? cJSON_Parse(c[i].in) : NULL;
		int rc =
		    json ? api_json_int(j, c[i].min, c[i].max, &v) : api_parse_int(c[i].in, c[i].min, c[i].max, &v);
		cJSON_Delete(j);
		CL_CHECK(rc == c[i].rc, "%s(%s) = %d", json ? "api_json_int" : "api_parse_int", c[i].in, rc);
		if (rc == 0)
			CL_CHECK(v == c[i].v, "(%s) -> %lld", c[i].in, v);
	}
}

int main(void)
{
	run(STRINGS, sizeof STRINGS / sizeof STRINGS[0], 0);
	run(NUMBERS, sizeof NUMBERS / sizeof NUMBERS[0], 1);
	return CL_TEST_END();
}
