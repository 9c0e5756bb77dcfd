/* buf_test.c - bounds of cl_buf and the checked string copies. */
#include <string.h>

#include "util/buf.h"
#include "util/test.h"

int main(void)
{
	struct cl_buf b;
	cl_buf_init(&b, 10);
	CL_CHECK(cl_buf_append(&b, "hello", 5) == 0, "append within bound");
	CL_CHECK(cl_buf_append(&b, "world", 5) == 0, "append up to the bound");
	CL_CHECK(cl_buf_append(&b, "!", 1) == -1, "one byte over the bound is refused");
	CL_CHECK(b.len == 10 && memcmp(b.data, "helloworld", 10) == 0 && b.data[10] == '\0', "content kept");
	cl_buf_consume(&b, 5);
	CL_CHECK(b.len == 5 && strcmp(b.data, "world") == 0, "consume keeps the tail");
	CL_CHECK(cl_buf_printf(&b, "%d", 12345) == 0 && strcmp(b.data, "world12345") == 0, "printf appends");
	CL_CHECK(cl_buf_printf(&b, "x") == -1 && b.len == 10, "printf over the bound is refused whole");
	cl_buf_free(&b);

	char small[4];
	CL_CHECK(cl_strlcpy(small, "abc", sizeof small) == 0, "fits");
	CL_CHECK(cl_strlcpy(small, "abcd", sizeof small) == -1 && strcmp(small, "abc") == 0, "truncation reported");
	CL_CHECK(cl_snprintf(small, sizeof small, "%s", "12345") == -1, "snprintf truncation reported");
	return CL_TEST_END();
}
