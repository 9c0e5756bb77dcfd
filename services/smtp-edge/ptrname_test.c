/* ptrname_test.c - which PTR names count as generic (ptrname.c), table-driven. */
#include <stddef.h>

#include "ptrname.h"
#include "util/test.h"

static const struct {
	const char *ip, *name;
	int generic;
} cases[] = {
    {"127.30.2.11", "127-30-2-11.dyn.isp-world.net", 1},
    {"73.12.1.9", "c-73-12-1-9.hsd1.ma.comcast.example.", 1},
    {"3.4.5.6", "ec2-3-4-5-6.compute-1.amazonaws.example", 1},
    {"192.0.2.7", "7.2.0.192.static.example.net", 1}, /* reversed */
    {"192.0.2.7", "host192.0.2.7.example.net", 1},
    {"127.30.2.11", "ip7F1E020B.pool.example", 1}, /* hex, either case */
    {"192.0.2.7", "mail.example.com", 0},
    {"192.0.2.7", "mx1.example.com", 0},
    {"127.20.8.10", "o0.mta.esp-world.net", 0},
    {"192.0.2.7", "2-7.example.net", 0},           /* two octets are not the address */
    {"192.0.2.7", "192-0-2-8.example.net", 0},     /* a neighbour's name */
    {"192.0.2.7", "1192-0-2-7.example.net", 0},    /* 1192 is no octet */
    {"192.0.2.7", "0192-0-2-7.example.net", 0},    /* nor four digits */
    {"2001:db8::1", "2001-db8--1.example.net", 0}, /* IPv6: not judged */
    {"192.0.2.7", "", 0},
    {"not an ip", "1-2-3-4.example", 0},
};

int main(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CL_CHECK(ptrname_generic(cases[i].ip, cases[i].name) == cases[i].generic, "%s %s: want %d", cases[i].ip,
			 cases[i].name, cases[i].generic);
	CL_CHECK(ptrname_generic(NULL, "1-2-3-4.example") == 0 && ptrname_generic("1.2.3.4", NULL) == 0, "NULL");
	return CL_TEST_END();
}
