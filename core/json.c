/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "core/json.h"

void pb_json_strn(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void pb_json_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	pb_json_strn(f, s, strlen(s));
}

void pb_json_format(FILE *f, const char *name, int version)
{
	fprintf(f, "\"format\":\"procbuilder-%s\",\"format_version\":%d", name, version);
}
