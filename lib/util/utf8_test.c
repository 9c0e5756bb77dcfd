/* utf8_test.c - cl_utf8_len and cl_utf8_valid against RFC 3629's table (section 4): each
 * boundary of each row, the forms just outside it, and sequences cut short. */
#include <string.h>

#include "util/test.h"
#include "util/utf8.h"

static const struct {
	const char *s;
	size_t len; /* cl_utf8_len of s (whole string as n) */
	const char *what;
} cases[] = {
    {"a", 1, "ASCII"},
    {"\x7f", 1, "DEL is ASCII (control characters are the caller's business)"},
    {"\xc2\x80", 2, "U+0080, the first two-octet form"},
    {"\xdf\xbf", 2, "U+07FF, the last two-octet form"},
    {"\xc0\x80", 0, "overlong NUL (c0)"},
    {"\xc1\xbf", 0, "overlong (c1)"},
    {"\xe0\xa0\x80", 3, "U+0800, the first three-octet form"},
    {"\xe0\x9f\xbf", 0, "overlong three-octet (e0 9f)"},
    {"\xed\x9f\xbf", 3, "U+D7FF, just below the surrogates"},
    {"\xed\xa0\x80", 0, "U+D800, a surrogate"},
    {"\xed\xbf\xbf", 0, "U+DFFF, a surrogate"},
    {"\xee\x80\x80", 3, "U+E000, just above the surrogates"},
    {"\xef\xbf\xbd", 3, "U+FFFD"},
    {"\xf0\x90\x80\x80", 4, "U+10000, the first four-octet form"},
    {"\xf0\x8f\xbf\xbf", 0, "overlong four-octet (f0 8f)"},
    {"\xf4\x8f\xbf\xbf", 4, "U+10FFFF, the last code point"},
    {"\xf4\x90\x80\x80", 0, "U+110000, beyond Unicode"},
    {"\xf5\x80\x80\x80", 0, "lead f5"},
    {"\xff", 0, "lead ff"},
    {"\x80", 0, "a lone continuation byte"},
    {"\xc3", 0, "two-octet form cut short"},
    {"\xe2\x82", 0, "three-octet form cut short"},
    {"\xe2\x28\xa1", 0, "bad continuation byte"},
};

int main(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const unsigned char *s = (const unsigned char *)cases[i].s;
		size_t n = strlen(cases[i].s);
		CL_CHECK(cl_utf8_len(s, n) == cases[i].len, "%s: length %zu", cases[i].what, cl_utf8_len(s, n));
		CL_CHECK(cl_utf8_valid(s, n) == (cases[i].len == n), "%s: validity", cases[i].what);
	}
	/* n bounds the sequence even when more bytes follow */
	CL_CHECK(cl_utf8_len((const unsigned char *)"\xc3\xa9", 1) == 0, "n cuts the sequence");
	/* a NUL inside a sequence ends it: reading stops there */
	CL_CHECK(cl_utf8_len((const unsigned char *)"\xe2\0\xac", 3) == 0, "NUL is no continuation byte");
	const char *mixed = "gr\xc3\xbc\xc3\x9f dich \xe2\x82\xac \xf0\x9f\x98\x80";
	CL_CHECK(cl_utf8_valid((const unsigned char *)mixed, strlen(mixed)), "mixed text");
	CL_CHECK(!cl_utf8_valid((const unsigned char *)mixed, strlen(mixed) - 1), "cut in the last character");
	CL_CHECK(cl_utf8_valid((const unsigned char *)"", 0), "empty text");
	return CL_TEST_END();
}
