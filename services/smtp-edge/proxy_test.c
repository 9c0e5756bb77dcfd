/* proxy_test.c - the PROXY header parser: v1 and v2 headers, incomplete and malformed ones,
 * and the 107-octet bound of a v1 line (found by proxy_fuzz: a 108-octet line was accepted
 * whole but refused when its first 107 octets arrived alone). */
#include <string.h>

#include "proxy.h"
#include "util/test.h"

static const struct {
	const char *in;
	size_t len; /* 0: strlen */
	long want;
	const char *ip;
	int port;
} CASES[] = {
    {"PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\nEHLO", 0, 44, "192.0.2.1", 56324},
    {"PROXY TCP6 2001:DB8::1 2001:db8::2 4000 25\r\n", 0, 44, "2001:db8::1", 4000},
    {"PROXY UNKNOWN\r\n", 0, 15, "", -1},
    {"PROXY TCP4 192.0.2.1 198.51.100.2 56324", 0, 0, "", -1},
    {"PROX", 0, 0, "", -1},
    {"PROXY TCP4 192.0.2.1 198.51.100.2 70000 25\r\n", 0, -1, "", -1},
    {"PROXY TCP4 2001:db8::1 198.51.100.2 1 25\r\n", 0, -1, "", -1},
    {"EHLO x\r\n", 0, -1, "", -1},
    {"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c\xc0\x00\x02\x01\xc6\x33\x64\x02\xdc\x04\x00\x19", 28, 28, "192.0.2.1",
     56324},
    {"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00", 16, 16, "", -1},
    {"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c\xc0\x00", 18, 0, "", -1},
    {"\r\n\r\n\0\r\nQUIT\n\x31\x11\x00\x0c", 16, -1, "", -1},
};

/* v1_of - a "PROXY UNKNOWN" line padded to total octets with its CRLF. */
static void v1_of(char *out, size_t total)
{
	memset(out, 'x', total);
	memcpy(out, "PROXY UNKNOWN ", 14);
	memcpy(out + total - 2, "\r\n", 2);
}

int main(void)
{
	for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
		char ip[64] = "";
		int port = -1;
		size_t len = CASES[i].len ? CASES[i].len : strlen(CASES[i].in);
		long r = proxy_parse((const unsigned char *)CASES[i].in, len, ip, sizeof ip, &port);
		CL_CHECK(r == CASES[i].want && strcmp(ip, CASES[i].ip) == 0 && port == CASES[i].port,
			 "case %zu: %ld %s %d", i, r, ip, port);
	}
	char line[120], ip[64];
	int port;
	v1_of(line, 107);
	CL_CHECK(proxy_parse((unsigned char *)line, 107, ip, sizeof ip, &port) == 107, "107 octets: the longest line");
	CL_CHECK(proxy_parse((unsigned char *)line, 106, ip, sizeof ip, &port) == 0, "its first 106 octets: wait");
	v1_of(line, 108);
	CL_CHECK(proxy_parse((unsigned char *)line, 108, ip, sizeof ip, &port) == -1, "108 octets: refused whole");
	CL_CHECK(proxy_parse((unsigned char *)line, 107, ip, sizeof ip, &port) == -1, "and in part");
	return CL_TEST_END();
}
