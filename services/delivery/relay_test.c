/* relay_test.c - downstream reply line parsing (table-driven). */
#include <string.h>

#include "relay.h"
#include "util/test.h"

int main(void)
{
	static const struct {
		const char *line;
		int ok, code;
		const char *enh, *text;
	} cases[] = {
	    {"550 5.1.1 No such user", 0, 550, "5.1.1", "No such user"},
	    {"550-5.1.1 first line", 0, 550, "5.1.1", "first line"},
	    {"451 Try later", 0, 451, "", "Try later"},
	    {"554 4.1.1 class mismatch", 0, 554, "", "4.1.1 class mismatch"},
	    {"250", 0, 250, "", ""},
	    {"550 5.7.1 bad\x01"
	     "ctl\xff",
	     0, 550, "5.7.1", "badctl"},
	    {"hello", -1, 0, "", ""},
	    {"55", -1, 0, "", ""},
	    {"650 nope", -1, 0, "", ""},
	    {"550x", -1, 0, "", ""},
	    /* found by relay_reply_fuzz: smtp-edge refuses these enhanced codes, so they stay text */
	    {"550 5.220 x", 0, 550, "", "5.220 x"},
	    {"550 5.... x", 0, 550, "", "5.... x"},
	    {"550 5.1.1234 x", 0, 550, "", "5.1.1234 x"},
	    {"550 55.1.1 x", 0, 550, "", "55.1.1 x"},
	    {"550 5.123.456 x", 0, 550, "5.123.456", "x"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int code = 0;
		char enh[16] = "", text[64] = "";
		int rc = dl_relay_parse_reply(cases[i].line, strlen(cases[i].line), &code, enh, sizeof enh, text,
					      sizeof text);
		CL_CHECK(rc == cases[i].ok, "%s", cases[i].line);
		if (rc == 0)
			CL_CHECK(code == cases[i].code && !strcmp(enh, cases[i].enh) && !strcmp(text, cases[i].text),
				 "%s -> %d [%s] [%s]", cases[i].line, code, enh, text);
	}
	return CL_TEST_END();
}
