/* msgutil_test.c - address splitting, header extraction, UTF-8 sanitising, CRLF, delivery headers. */
#include <string.h>

#include "msgutil.h"
#include "util/test.h"

static void test_split(void)
{
	char l[80], d[260];
	CL_CHECK(dl_split_address("Bob@Example.ORG", l, sizeof l, d, sizeof d) == 0 && !strcmp(l, "bob") &&
		     !strcmp(d, "example.org"),
		 "%s %s", l, d);
	const char *bad[] = {
	    "",    "bob", "@x.org", "../x@example.org", "a/b@example.org", "bob@..", "bob@a/b", ".hidden@example.org",
	    "bob@"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CL_CHECK(dl_split_address(bad[i], l, sizeof l, d, sizeof d) == -1, "%s", bad[i]);
}

static void test_header(void)
{
	const char *m = "From: a@b\r\nsubject: Hello\r\n\tworld\r\nX: y\r\n\r\nSubject: body\r\n";
	char v[64];
	CL_CHECK(dl_header_value((const unsigned char *)m, strlen(m), "Subject", v, sizeof v) == 0 &&
		     !strcmp(v, "Hello world"),
		 "%s", v);
	CL_CHECK(dl_header_value((const unsigned char *)m, strlen(m), "To", v, sizeof v) == -1 && !v[0], "no To");
	const char *m2 = "X: 1\r\n\r\nSubject: in body\r\n";
	CL_CHECK(dl_header_value((const unsigned char *)m2, strlen(m2), "Subject", v, sizeof v) == -1, "body");
	char small[4];
	CL_CHECK(dl_header_value((const unsigned char *)m, strlen(m), "Subject", small, sizeof small) == 0 &&
		     !strcmp(small, "Hel"),
		 "%s", small);
}

static void test_sanitize(void)
{
	char s[] = "ok \xc3\xa9 bad \xff\xc3 ctl\x01 end";
	dl_text_sanitize(s);
	CL_CHECK(!strcmp(s, "ok \xc3\xa9 bad ?? ctl? end"), "%s", s);
}

static void test_crlf(void)
{
	const char *cases[][2] = {
	    {"a\nb\r\nc\rd", "a\r\nb\r\nc\r\nd\r\n"}, {"x\r\n", "x\r\n"}, {"", ""}, {"\r\n.\r\n", "\r\n.\r\n"}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct cl_buf b;
		cl_buf_init(&b, 1024);
		CL_CHECK(dl_crlf_normalize((const unsigned char *)cases[i][0], strlen(cases[i][0]), &b) == 0 &&
			     b.len == strlen(cases[i][1]) && (b.len == 0 || !memcmp(b.data, cases[i][1], b.len)),
			 "case %zu", i);
		cl_buf_free(&b);
	}
}

static void test_delivery_headers(void)
{
	char h[128];
	CL_CHECK(dl_delivery_headers("alice@sender.test", "bob@example.org", h, sizeof h) > 0 &&
		     !strcmp(h, "Return-Path: <alice@sender.test>\r\nDelivered-To: bob@example.org\r\n"),
		 "%s", h);
	CL_CHECK(dl_delivery_headers("", "bob@example.org", h, sizeof h) > 0 &&
		     !strcmp(h, "Return-Path: <>\r\nDelivered-To: bob@example.org\r\n"),
		 "%s", h);
	CL_CHECK(dl_delivery_headers("a\r\nBcc: x@y>", "b\n@c", h, sizeof h) > 0 &&
		     !strcmp(h, "Return-Path: <aBcc: x@y>>\r\nDelivered-To: b@c\r\n"),
		 "%s", h);
	char small[20];
	CL_CHECK(dl_delivery_headers("alice@sender.test", "bob@example.org", small, sizeof small) == -1, "small");
}

int main(void)
{
	test_split();
	test_header();
	test_sanitize();
	test_crlf();
	test_delivery_headers();
	return CL_TEST_END();
}
