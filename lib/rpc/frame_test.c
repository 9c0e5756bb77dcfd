/* frame_test.c - cl_frame_build writes the header exactly as cJSON_PrintUnformatted does
 * (it has its own writer, for speed): integers, fractions, the numbers that need 17 digits,
 * -0, NaN and infinity, every escaped and unescaped character, nesting, empty containers,
 * raw values and a header larger than the writer's stack buffer; with and without a body.
 * cl_json_fields finds what cJSON_GetObjectItemCaseSensitive finds, key by key. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/frame.h"
#include "util/test.h"

/* same - cl_frame_build(hdr, body) is cJSON's text, then the NUL and body when given. */
static int same(const cJSON *hdr, const char *body, size_t blen)
{
	char *want = cJSON_PrintUnformatted(hdr);
	nng_msg *m = NULL;
	int ok = want && cl_frame_build(&m, hdr, body, blen) == 0;
	size_t wl = want ? strlen(want) : 0;
	if (ok) {
		const char *p = nng_msg_body(m);
		ok = nng_msg_len(m) == wl + (body ? 1 + blen : 0) && memcmp(p, want, wl) == 0 &&
		     (!body || (p[wl] == '\0' && memcmp(p + wl + 1, body, blen) == 0));
		if (!ok)
			fprintf(stderr, "want %s\ngot  %.*s\n", want, (int)nng_msg_len(m), p);
	}
	nng_msg_free(m);
	cJSON_free(want);
	return ok;
}

static void test_texts(void)
{
	static const char *const texts[] = {
	    "{}",
	    "{\"v\":1,\"action\":\"accept\",\"code\":250,\"enh\":\"2.1.5\",\"text\":\"Ok\",\"route\":{\"mode\":"
	    "\"local\","
	    "\"group_id\":1,\"domain_id\":1,\"user_id\":5000,\"quarantine\":false,\"content\":{\"quarantine\":6,"
	    "\"dmarc_reject\":true}}}",
	    "{\"a\":[],\"b\":{},\"c\":[1,[2,[3,{}]],null,true,false,\"x\"],\"d\":null}",
	    "{\"n\":[0,-1,7,-7,42,999999999999999,-999999999999999,1000000000000000,-1000000000000000,"
	    "123456789012345678,9007199254740993,1e300,-1e300,1.5,-2.25,0.1,0.3,1e-7,123.456,3.141592653589793,"
	    "2.2250738585072014e-308,5e-324,1.7976931348623157e308,4294967296,-2147483649,2147483648]}",
	    "{\"s\":\"\",\"q\":\"quote \\\" backslash \\\\ slash / tab \\t nl \\n cr \\r bs \\b ff \\f\","
	    "\"c\":\"\\u0001\\u001f\\u0000x\",\"del\":\"\\u007f\",\"u\":\"caf\\u00e9 \\u263a \\ud83d\\ude00\"}",
	    "{\"k\\\"ey\\n\":1,\"\\u00e9\":2}",
	};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		cJSON *h = cJSON_Parse(texts[i]);
		CL_CHECK(h && same(h, NULL, 0), "text %zu as cJSON prints it", i);
		CL_CHECK(h && same(h, "body\0bytes", 10), "text %zu with a body", i);
		CL_CHECK(h && same(h, "", 0), "text %zu with an empty body", i);
		cJSON_Delete(h);
	}
}

static void test_numbers(void)
{
	const double nums[] = {0.0,  -0.0,      NAN,    INFINITY, -INFINITY, 1e15 - 1, 1e15,    -1e15,
			       1e16, 0.5,       -0.5,   1.0 / 3,  2.0 / 3,   DBL_MAX,  DBL_MIN, -DBL_MIN,
			       1e-5, 12345.678, 9.5e14, -9.5e14,  4.5e15,    1e308,    1e-308,  100};
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		cJSON *h = cJSON_CreateObject();
		cJSON_AddNumberToObject(h, "n", nums[i]);
		cJSON *a = cJSON_AddArrayToObject(h, "a");
		cJSON_AddItemToArray(a, cJSON_CreateNumber(nums[i]));
		CL_CHECK(same(h, NULL, 0), "number %zu (%g) as cJSON prints it", i, nums[i]);
		cJSON_Delete(h);
	}
}

static void test_built(void)
{
	/* a raw value, a control character in a key and value, every byte 1..255 in one string */
	cJSON *h = cJSON_CreateObject();
	cJSON_AddRawToObject(h, "raw", "{\"pre\":[1,2]}");
	cJSON_AddStringToObject(h, "ctl\x02", "a\x03\x7f\x80\xff");
	char all[256];
	for (int i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	cJSON_AddStringToObject(h, "all", all);
	CL_CHECK(same(h, NULL, 0), "raw value, control characters, every byte");
	/* larger than the writer's 2 KB stack buffer: it grows on the heap (ASan: no leak) */
	char *big = malloc(100001);
	memset(big, 'x', 100000);
	big[100000] = '\0';
	big[5000] = '\n';
	cJSON_AddStringToObject(h, "big", big);
	CL_CHECK(same(h, "b", 1), "a 100 KB header");
	free(big);
	cJSON_Delete(h);
	/* an item cJSON cannot print either: -1, nothing allocated */
	cJSON *bad = cJSON_CreateObject();
	cJSON *r = cJSON_CreateRaw("x");
	free(r->valuestring);
	r->valuestring = NULL;
	cJSON_AddItemToObject(bad, "r", r);
	nng_msg *m = NULL;
	CL_CHECK(cJSON_PrintUnformatted(bad) == NULL && cl_frame_build(&m, bad, NULL, 0) == -1 && !m,
		 "a raw item without text: -1 as for cJSON");
	cJSON_Delete(bad);
	CL_CHECK(cl_frame_build(&m, NULL, NULL, 0) == -1 && !m, "no header: -1");
}

static void test_fields(void)
{
	static const char *const keys[] = {"a", "ab", "b", "A", "missing", "dup", "x"};
	enum { NK = sizeof keys / sizeof keys[0] };
	static const char *const texts[] = {
	    "{\"ab\":1,\"a\":\"s\",\"dup\":1,\"dup\":\"second\",\"b\":null,\"A\":true,\"abc\":2,\"z\":3}",
	    "{}",
	    "[1,2]",
	    "{\"x\":{\"a\":1}}",
	};
	for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
		cJSON *h = cJSON_Parse(texts[t]);
		const cJSON *got[NK];
		cl_json_fields(h, keys, NK, got);
		for (size_t i = 0; i < NK; i++)
			CL_CHECK(got[i] == cJSON_GetObjectItemCaseSensitive(h, keys[i]), "text %zu key %s", t, keys[i]);
		cJSON_Delete(h);
	}
	const cJSON *none[NK];
	cl_json_fields(NULL, keys, NK, none);
	CL_CHECK(!none[0] && !none[NK - 1], "no object: none found");
	cJSON *h = cJSON_Parse("{\"n\":12,\"f\":1e30,\"s\":\"v\",\"t\":true}");
	CL_CHECK(cl_json_as_int(cJSON_GetObjectItem(h, "n"), -1) == 12 && cl_json_as_int(NULL, -1) == -1 &&
		     cl_json_as_int(cJSON_GetObjectItem(h, "f"), -1) == -1 &&
		     cl_json_as_int(cJSON_GetObjectItem(h, "s"), -1) == -1 &&
		     !strcmp(cl_json_as_str(cJSON_GetObjectItem(h, "s"), ""), "v") &&
		     !strcmp(cl_json_as_str(cJSON_GetObjectItem(h, "n"), "d"), "d") &&
		     cl_json_as_bool(cJSON_GetObjectItem(h, "t"), 0) == 1 &&
		     cl_json_as_bool(cJSON_GetObjectItem(h, "n"), 7) == 7,
		 "typed getters of an item");
	cJSON_Delete(h);
}

int main(void)
{
	test_fields();
	test_texts();
	test_numbers();
	test_built();
	return CL_TEST_END();
}
