/* preview_fuzz.c - libFuzzer target for the quarantine preview (preview.c): the message is
 * whatever a sender chose to put in it, MIME or not, and admins open it in the browser.
 *
 * fuzz-sources: services/admin-api/preview.c lib/util/buf.c lib/util/utf8.c
 *
 * Invariants: no crash or read past the message; the answer has the documented shape; every
 * header name and value is valid UTF-8 without control characters, the text valid UTF-8
 * whose only control characters are newline and tab; at most PREVIEW_MAX_HEADERS headers,
 * values of at most 2000 input octets, a text of at most PREVIEW_MAX_BODY input octets
 * (each becomes at most 3 output octets); and the whole prints as JSON that parses back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "preview.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* clean_utf8 - s is valid UTF-8 (RFC 3629) with no C0 control, DEL or C1 range character
 * other than those allowed in keep; 1 yes. */
static int clean_utf8(const unsigned char *s, const char *keep)
{
	while (*s) {
		size_t l = *s < 0x80             ? 1
			   : (*s & 0xe0) == 0xc0 ? 2
			   : (*s & 0xf0) == 0xe0 ? 3
			   : (*s & 0xf8) == 0xf0 ? 4
						 : 0;
		if (!l || *s == 0xc0 || *s == 0xc1 || *s > 0xf4)
			return 0;
		if (l == 1 && (*s < 0x20 || *s == 0x7f) && !strchr(keep, *s))
			return 0;
		for (size_t i = 1; i < l; i++)
			if ((s[i] & 0xc0) != 0x80)
				return 0;
		if (l == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)))
			return 0;
		if (l == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90)))
			return 0;
		s += l;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	cJSON *o = preview_build(p, size);
	free(p);
	if (!o)
		abort();
	cJSON *hs = cJSON_GetObjectItem(o, "headers"), *text = cJSON_GetObjectItem(o, "text");
	if (!cJSON_IsArray(hs) || !cJSON_IsString(text) || !cJSON_IsBool(cJSON_GetObjectItem(o, "truncated")))
		abort();
	if (cJSON_GetArraySize(hs) > PREVIEW_MAX_HEADERS)
		abort();
	cJSON *h;
	cJSON_ArrayForEach(h, hs)
	{
		cJSON *n = cJSON_GetObjectItem(h, "name"), *v = cJSON_GetObjectItem(h, "value");
		if (!cJSON_IsString(n) || !cJSON_IsString(v) || !n->valuestring[0] ||
		    strlen(v->valuestring) > 3 * 2000 || !clean_utf8((unsigned char *)n->valuestring, "") ||
		    !clean_utf8((unsigned char *)v->valuestring, ""))
			abort();
	}
	if (strlen(text->valuestring) > 3 * PREVIEW_MAX_BODY || !clean_utf8((unsigned char *)text->valuestring, "\n\t"))
		abort();
	char *json = cJSON_PrintUnformatted(o);
	cJSON *back = json ? cJSON_Parse(json) : NULL;
	if (!back || !cJSON_Compare(o, back, 1))
		abort();
	cJSON_Delete(back);
	free(json);
	cJSON_Delete(o);
	return 0;
}
