/* proxy.c - PROXY protocol v1/v2 parsing. See proxy.h. */
#include "proxy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/buf.h"

static const unsigned char v2sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* parse_v1 - "PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n", at most 107 octets with
 * the CRLF (so the CR is at most at offset 105): a longer line is refused whether it came
 * in one piece or two. */
static long parse_v1(const unsigned char *p, size_t len, char *ip, size_t iplen, int *port)
{
	const unsigned char *crlf = NULL;
	for (size_t i = 0; i + 1 < len && i < 106; i++)
		if (p[i] == '\r' && p[i + 1] == '\n') {
			crlf = p + i;
			break;
		}
	if (!crlf)
		return len >= 107 ? -1 : 0;
	char line[108];
	size_t n = (size_t)(crlf - p);
	memcpy(line, p, n);
	line[n] = '\0';
	if (strncmp(line, "PROXY UNKNOWN", 13) == 0)
		return (long)n + 2;
	char proto[8], src[64], dst[64];
	unsigned sport, dport;
	char extra;
	if (sscanf(line, "PROXY %7s %63s %63s %u %u%c", proto, src, dst, &sport, &dport, &extra) != 5 ||
	    sport > 65535 || dport > 65535)
		return -1;
	unsigned char a[16], b[16];
	int fam = strcmp(proto, "TCP4") == 0 ? AF_INET : strcmp(proto, "TCP6") == 0 ? AF_INET6 : -1;
	if (fam < 0 || inet_pton(fam, src, a) != 1 || inet_pton(fam, dst, b) != 1)
		return -1;
	if (!inet_ntop(fam, a, ip, (socklen_t)iplen)) /* canonical text, never the peer's */
		return -1;
	*port = (int)sport;
	return (long)n + 2;
}

/* parse_v2 - the binary header: signature, version/command, family, length, addresses. */
static long parse_v2(const unsigned char *p, size_t len, char *ip, size_t iplen, int *port)
{
	if (len < 16)
		return 0;
	size_t alen = ((size_t)p[14] << 8) | p[15];
	if ((p[12] >> 4) != 2 || alen > 1024)
		return -1;
	if (len < 16 + alen)
		return 0;
	int cmd = p[12] & 0x0F;
	if (cmd == 0)
		return (long)(16 + alen); /* LOCAL: the balancer's own health check */
	if (cmd != 1)
		return -1;
	const unsigned char *a = p + 16;
	if (p[13] == 0x11 && alen >= 12) {
		if (!inet_ntop(AF_INET, a, ip, (socklen_t)iplen))
			return -1;
		*port = (a[8] << 8) | a[9];
	} else if (p[13] == 0x21 && alen >= 36) {
		if (!inet_ntop(AF_INET6, a, ip, (socklen_t)iplen))
			return -1;
		*port = (a[32] << 8) | a[33];
	} else if ((p[13] & 0xF0) != 0x00) {
		return -1; /* unix sockets and the like make no sense here */
	}
	return (long)(16 + alen);
}

long proxy_parse(const unsigned char *p, size_t len, char *ip, size_t iplen, int *port)
{
	size_t k = len < 12 ? len : 12;
	if (memcmp(p, v2sig, k) == 0)
		return len < 12 ? 0 : parse_v2(p, len, ip, iplen, port);
	k = len < 6 ? len : 6;
	if (memcmp(p, "PROXY ", k) == 0)
		return len < 6 ? 0 : parse_v1(p, len, ip, iplen, port);
	return -1;
}
