/* SPDX-License-Identifier: MIT */
#include <string.h> /* libbsd overlay: strlcpy */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

static const struct {
	const char *name;
	int neg_errno;
	const char *symbol;	/* the enum's name: stable, for machine-read output */
} codes[_PB_CODE_MAX] = {
	[PB_OK] = {"success", 0, "PB_OK"},
	[PB_EPARSE] = {"malformed or unsupported ELF", -ENOEXEC, "PB_EPARSE"},
	[PB_ELOAD] = {"cannot load image", -EINVAL, "PB_ELOAD"},
	[PB_EINVAL] = {"invalid argument", -EINVAL, "PB_EINVAL"},
	[PB_EBADF] = {"bad file descriptor", -EBADF, "PB_EBADF"},
	[PB_ELOADER_MISSING] = {"dynamic program but no interpreter resolver", -EINVAL, "PB_ELOADER_MISSING"},
	[PB_E2BIG] = {"argument list too long", -E2BIG, "PB_E2BIG"},
	[PB_ENOMEM] = {"out of memory or address space", -ENOMEM, "PB_ENOMEM"},
	[PB_EINTERP] = {"unusable interpreter", -ELIBBAD, "PB_EINTERP"},
	[PB_EACCES] = {"permission denied", -EACCES, "PB_EACCES"},
	[PB_ESTUB] = {"process under construction died", -ECHILD, "PB_ESTUB"},
	[PB_ESYS] = {"system call failed", -EIO, "PB_ESYS"},
};

static const char *const details[_PB_PARSE_MAX] = {
	[PB_PARSE_NONE] = "none",
	[PB_PARSE_TRUNCATED] = "truncated",
	[PB_PARSE_BAD_MAGIC] = "bad-magic",
	[PB_PARSE_BAD_CLASS] = "bad-class",
	[PB_PARSE_BAD_DATA] = "bad-data",
	[PB_PARSE_BAD_VERSION] = "bad-version",
	[PB_PARSE_BAD_OSABI] = "bad-osabi",
	[PB_PARSE_BAD_TYPE] = "bad-type",
	[PB_PARSE_BAD_MACHINE] = "bad-machine",
	[PB_PARSE_FOREIGN_MACHINE] = "foreign-machine",
	[PB_PARSE_BAD_EHSIZE] = "bad-ehsize",
	[PB_PARSE_BAD_PHENTSIZE] = "bad-phentsize",
	[PB_PARSE_BAD_PHNUM] = "bad-phnum",
	[PB_PARSE_PHDRS_OUTSIDE] = "phdrs-outside-file",
	[PB_PARSE_PHOFF_ALIGN] = "phoff-misaligned",
	[PB_PARSE_NO_LOAD] = "no-load",
	[PB_PARSE_FILESZ_GT_MEMSZ] = "filesz-gt-memsz",
	[PB_PARSE_SEG_OVERFLOW] = "segment-overflow",
	[PB_PARSE_SEG_OUTSIDE_FILE] = "segment-outside-file",
	[PB_PARSE_BAD_ALIGN] = "bad-align",
	[PB_PARSE_SEG_MISALIGNED] = "segment-misaligned",
	[PB_PARSE_SEG_ORDER] = "segment-order",
	[PB_PARSE_SEG_OVERLAP] = "segment-overlap",
	[PB_PARSE_MULTIPLE_INTERP] = "multiple-interp",
	[PB_PARSE_INTERP_SIZE] = "interp-size",
	[PB_PARSE_INTERP_UNTERMINATED] = "interp-unterminated",
	[PB_PARSE_INTERP_OUTSIDE] = "interp-outside-file",
	[PB_PARSE_MULTIPLE_STACK] = "multiple-gnu-stack",
	[PB_PARSE_BAD_STACK] = "bad-gnu-stack",
	[PB_PARSE_BAD_ENTRY] = "bad-entry",
	[PB_PARSE_NOT_REGULAR] = "not-regular-file",
	[PB_PARSE_COMPAT32] = "compat32",
};

const char *pb_code_symbol(enum pb_code code)
{
	return (unsigned)code < _PB_CODE_MAX ? codes[code].symbol : "PB_UNKNOWN";
}

PB_API const char *pb_strerror(enum pb_code code)
{
	if ((unsigned)code >= _PB_CODE_MAX)
		return "unknown error";
	return codes[code].name;
}

PB_API const char *pb_parse_detail_name(int detail)
{
	if (detail < 0 || detail >= _PB_PARSE_MAX)
		return "unknown";
	return details[detail];
}

PB_API int pb_error_errno(const struct pb_error *err)
{
	if (!err || (unsigned)err->code >= _PB_CODE_MAX)
		return -EINVAL;
	if (err->code == PB_ESYS && err->sys_errno > 0)
		return -err->sys_errno;
	return codes[err->code].neg_errno;
}

PB_API char *pb_error_format(const struct pb_error *err, char *buf, size_t size)
{
	if (size == 0)
		return buf;
	snprintf(buf, size, "%s: %s", err->stage[0] ? err->stage : "procbuilder",
		 err->msg[0] ? err->msg : pb_strerror(err->code));
	return buf;
}

PB_API const char *pb_version(void)
{
	return PB_VERSION_STRING;
}

static int err_vset(struct pb_error *err, const char *stage, enum pb_code code,
		    int detail, int sys_errno, const char *fmt, va_list ap)
{
	err->code = code;
	err->detail = detail;
	err->sys_errno = sys_errno;
	if (stage)
		strlcpy(err->stage, stage, sizeof(err->stage));
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return pb_error_errno(err);
}

int pb_err_set(struct pb_error *err, const char *stage, enum pb_code code,
	       int detail, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = err_vset(err, stage, code, detail, 0, fmt, ap);
	va_end(ap);
	return r;
}

int pb_err_sys(struct pb_error *err, const char *stage, int neg_errno,
	       const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	pb_err_set(err, stage, PB_ESYS, 0, "%s: %s", what, strerror(-neg_errno));
	err->sys_errno = -neg_errno;
	return neg_errno;
}

void pb_err_stage(struct pb_error *err, const char *stage)
{
	if (!err->stage[0] && stage)
		strlcpy(err->stage, stage, sizeof(err->stage));
}

void pb_err_clear(struct pb_error *err)
{
	memset(err, 0, sizeof(*err));
}
