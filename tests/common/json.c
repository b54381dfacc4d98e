/* SPDX-License-Identifier: MIT */
/* A strict JSON syntax checker, so tests can parse back what procbuilder prints. */
#include <string.h>

#include "tests/common/json.h"

struct in {
	const char *p, *end;
	int depth;
};

static void ws(struct in *in)
{
	while (in->p < in->end && strchr(" \t\r\n", *in->p))
		in->p++;
}

static bool lit(struct in *in, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(in->end - in->p) < n || memcmp(in->p, w, n) != 0)
		return false;
	in->p += n;
	return true;
}

static bool string(struct in *in)
{
	if (in->p >= in->end || *in->p++ != '"')
		return false;
	while (in->p < in->end && *in->p != '"') {
		unsigned char c = (unsigned char)*in->p++;
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (in->p >= in->end)
				return false;
			c = (unsigned char)*in->p++;
			if (c == 'u') {
				for (int i = 0; i < 4; i++, in->p++)
					if (in->p >= in->end || !strchr("0123456789abcdefABCDEF", *in->p))
						return false;
			} else if (!strchr("\"\\/bfnrt", c)) {
				return false;
			}
		}
	}
	return in->p++ < in->end;
}

static bool number(struct in *in)
{
	const char *start = in->p;

	if (in->p < in->end && *in->p == '-')
		in->p++;
	while (in->p < in->end && strchr("0123456789.eE+-", *in->p))
		in->p++;
	return in->p > start && (start[0] != '-' || in->p > start + 1);
}

static bool value(struct in *in);

static bool members(struct in *in, char close, bool object)
{
	ws(in);
	if (in->p < in->end && *in->p == close) {
		in->p++;
		return true;
	}
	for (;;) {
		ws(in);
		if (object) {
			if (!string(in))
				return false;
			ws(in);
			if (in->p >= in->end || *in->p++ != ':')
				return false;
		}
		if (!value(in))
			return false;
		ws(in);
		if (in->p >= in->end)
			return false;
		if (*in->p == ',') {
			in->p++;
			continue;
		}
		return *in->p++ == close;
	}
}

static bool value(struct in *in)
{
	bool ok;

	ws(in);
	if (in->p >= in->end || ++in->depth > 64)
		return false;
	switch (*in->p) {
	case '{': in->p++; ok = members(in, '}', true); break;
	case '[': in->p++; ok = members(in, ']', false); break;
	case '"': ok = string(in); break;
	case 't': ok = lit(in, "true"); break;
	case 'f': ok = lit(in, "false"); break;
	case 'n': ok = lit(in, "null"); break;
	default: ok = number(in); break;
	}
	in->depth--;
	return ok;
}

bool json_valid(const char *s, size_t len)
{
	struct in in = {s, s + len, 0};

	if (!value(&in))
		return false;
	ws(&in);
	return in.p == in.end;
}
