/* fields_test.c - the one number parser of admin-api (api_parse_int, api_json_int): whole
 * strings only, range checked before any conversion that could overflow. */
#include <cjson/cJSON.h>
#include <string.h>

#include "fields.h"
#include "util/test.h"

static const struct {
	const char *s;
	long long min, max;
	int rc;
	long long v;
} STRINGS[] = {
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

static const struct {
	const char *json;
	long long min, max;
	int rc;
	long long v;
} NUMBERS[] = {
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

int main(void)
{
	for (size_t i = 0; i < sizeof STRINGS / sizeof STRINGS[0]; i++) {
		long long v = 0;
		int rc = api_parse_int(STRINGS[i].s, STRINGS[i].min, STRINGS[i].max, &v);
		CL_CHECK(rc == STRINGS[i].rc, "api_parse_int(\"%s\") = %d", STRINGS[i].s, rc);
		if (rc == 0)
			CL_CHECK(v == STRINGS[i].v, "api_parse_int(\"%s\") -> %lld", STRINGS[i].s, v);
	}
	for (size_t i = 0; i < sizeof NUMBERS / sizeof NUMBERS[0]; i++) {
		cJSON *j = cJSON_Parse(NUMBERS[i].json);
		long long v = 0;
		int rc = api_json_int(j, NUMBERS[i].min, NUMBERS[i].max, &v);
		CL_CHECK(rc == NUMBERS[i].rc, "api_json_int(%s) = %d", NUMBERS[i].json, rc);
		if (rc == 0)
			CL_CHECK(v == NUMBERS[i].v, "api_json_int(%s) -> %lld", NUMBERS[i].json, v);
		cJSON_Delete(j);
	}
	return CL_TEST_END();
}
