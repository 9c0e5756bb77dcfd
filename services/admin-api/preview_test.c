/* preview_test.c - the quarantine preview never lets through invalid UTF-8 or control bytes,
 * unfolds headers, and bounds the body. */
#include <stdlib.h>
#include <string.h>

#include "preview.h"
#include "util/test.h"

static const struct {
	const char *in;
	size_t len;
	int keep_nl;
	const char *out;
} CLEAN[] = {
    {"plain", 5, 0, "plain"},
    {"a\r\nb", 4, 1, "a\nb"},
    {"a\r\nb", 4, 0, "a b"},
    {"tab\there", 8, 1, "tab\there"},
    {"x\x01y", 3, 1, "x\xef\xbf\xbdy"},
    {"caf\xc3\xa9", 5, 1, "caf\xc3\xa9"},
    {"bad\xc3(", 5, 1, "bad\xef\xbf\xbd("},
    {"\xed\xa0\x80", 3, 1, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate */
    {"\xc0\xaf", 2, 1, "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong '/' */
    {"nul\0x", 5, 1, "nul\xef\xbf\xbdx"},
    /* found by preview_fuzz: f5-ff were taken for the lead of a three-octet sequence */
    {"\xff\xb6\xb6", 3, 1, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"\xf8\x88\x80\x80\x80", 5, 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
};

static void test_clean(void)
{
	for (size_t i = 0; i < sizeof CLEAN / sizeof CLEAN[0]; i++) {
		char *s = preview_clean((const unsigned char *)CLEAN[i].in, CLEAN[i].len, CLEAN[i].keep_nl);
		CL_CHECK(s && strcmp(s, CLEAN[i].out) == 0, "case %zu: got \"%s\"", i, s ? s : "(null)");
		free(s);
	}
}

static void test_build(void)
{
	const char msg[] = "Subject: one\r\n two\r\nFrom: <a@b.test>\r\nBroken line\r\n\r\nHello\r\nworld";
	cJSON *o = preview_build((const unsigned char *)msg, sizeof msg - 1);
	cJSON *h = cJSON_GetObjectItem(o, "headers");
	CL_CHECK(cJSON_GetArraySize(h) == 2, "headers: %d", cJSON_GetArraySize(h));
	const char *v = cJSON_GetObjectItem(cJSON_GetArrayItem(h, 0), "value")->valuestring;
	CL_CHECK(strcmp(v, "one  two") == 0, "unfolded: \"%s\"", v);
	CL_CHECK(strcmp(cJSON_GetObjectItem(o, "text")->valuestring, "Hello\nworld") == 0, "text");
	CL_CHECK(cJSON_IsFalse(cJSON_GetObjectItem(o, "truncated")), "not truncated");
	cJSON_Delete(o);

	size_t n = PREVIEW_MAX_BODY * 2;
	char *big = malloc(n + 4);
	memcpy(big, "\n\n", 2);
	memset(big + 2, 'x', n);
	o = preview_build((const unsigned char *)big, n + 2);
	CL_CHECK(strlen(cJSON_GetObjectItem(o, "text")->valuestring) == PREVIEW_MAX_BODY, "bounded body");
	CL_CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "truncated")), "truncated");
	CL_CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(o, "headers")) == 0, "no headers");
	cJSON_Delete(o);
	free(big);

	/* found by preview_fuzz: a line of only CR before its colon gave a header without a name */
	o = preview_build((const unsigned char *)"\r: x\r\nSubject: s\r\n\r\nb", 21);
	h = cJSON_GetObjectItem(o, "headers");
	CL_CHECK(cJSON_GetArraySize(h) == 1 &&
		     strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(h, 0), "name")->valuestring, "Subject") == 0,
		 "nameless field skipped");
	cJSON_Delete(o);

	o = preview_build((const unsigned char *)"", 0);
	CL_CHECK(o && strcmp(cJSON_GetObjectItem(o, "text")->valuestring, "") == 0, "empty message");
	cJSON_Delete(o);
}

int main(void)
{
	test_clean();
	test_build();
	return CL_TEST_END();
}
