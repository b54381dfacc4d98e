/* SPDX-License-Identifier: MIT */
/*
 * DOC: choosing the installed exe helper. /proc/PID/exe can be set to the
 * program only with CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE. A caller
 * without either gets it from the installed helper (launch/stub/exe.c,
 * docs/security.md): the stub is exec'd as the interpreter of an empty ELF
 * with cap_checkpoint_restore=p, sets exe first, and drops the capability.
 *
 * That exec is a capability-gaining one, so the kernel treats it as a secure
 * exec: it clears ambient capabilities, the parent-death signal and the
 * personality's PER_CLEAR_ON_SETID flags, and clamps RLIMIT_STACK to 8 MiB.
 * The stub undoes what it can (capabilities, AT_SECURE, dumpable; the
 * in-place plan restores the parent-death signal); for what it cannot
 * undo the caller keeps today's path (exe stays the stub's memfd), and so do
 * callers for whom the file's capability counts for nothing (root, no_new_privs,
 * traced, not in the bounding set). Each refusal has its reason, for the trace.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/capability.h>

#include "core/json.h"
#include "core/util.h"
#include "launch/creds.h"
#include "launch/exehelper.h"

#ifndef PB_EXE_HELPER_PATH
#define PB_EXE_HELPER_PATH "/usr/local/libexec/procbuilder/exe-helper"
#endif
#define CAP_CR 40 /* CAP_CHECKPOINT_RESTORE */
#define PER_CLEAR_ON_SETID (READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE | ADDR_COMPAT_LAYOUT | MMAP_PAGE_ZERO)
#define STK_LIM (8ull << 20)

const char *pb_exe_helper_path(void)
{
	const char *env = secure_getenv("PROCBUILDER_EXE_HELPER");

	if (env)
		return *env ? env : NULL;
	return PB_EXE_HELPER_PATH;
}

static bool say(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return false;
}

/* Whether the helper file gives CAP_CHECKPOINT_RESTORE in permitted (v2/v3 security.capability). */
static bool grants_cr(int fd)
{
	uint32_t v[6] = {0};
	ssize_t n = fgetxattr(fd, "security.capability", v, sizeof(v));

	return n >= 20 && (v[3] & (1u << (CAP_CR - 32)));
}

/* The helper as installed: a file with the capability, on a mount where file capabilities count. */
static bool helper_installed(const char *path, char *why, size_t len)
{
	struct statvfs sv;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok = false;

	if (fd < 0)
		return say(why, len, "no installed exe helper at %s (%s)", path, strerror(errno));
	if (!grants_cr(fd))
		say(why, len, "%s lacks its capability (as root: setcap cap_checkpoint_restore=p %s)", path, path);
	else if (fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_NOSUID))
		say(why, len, "%s is on a nosuid mount, where the kernel ignores file capabilities", path);
	else
		ok = true;
	close(fd);
	return ok;
}

static bool has_ambient(void)
{
	for (int i = 0; i < 64; i++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, i, 0, 0) == 1)
			return true;
	return false;
}

/* What the caller is: the helper's exec must give it the capability and take nothing it cannot restore. */
static bool caller_fits(char *why, size_t len)
{
	uid_t r, e, s;
	struct rlimit st;
	int per = personality(0xffffffff);

	getresuid(&r, &e, &s);
	if (r == 0 || e == 0)
		return say(why, len, "the caller is uid 0: exec gives root its bounding set, the file's capability adds nothing");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1)
		return say(why, len, "the caller has no_new_privs: the kernel ignores file capabilities");
	if (prctl(PR_CAPBSET_READ, CAP_CR, 0, 0, 0) != 1)
		return say(why, len, "CAP_CHECKPOINT_RESTORE is not in the caller's bounding set");
	if (has_ambient())
		return say(why, len, "the caller has ambient capabilities, which the helper's exec would clear");
	if (pb_self_traced()) /* the helper's exec would then gain nothing */
		return say(why, len, "the caller is traced (or /proc cannot say): the kernel would not give the capability");
	if (per > 0 && (per & PER_CLEAR_ON_SETID))
		return say(why, len, "the caller's personality 0x%x would lose flags in the helper's exec", per);
	if (getrlimit(RLIMIT_STACK, &st) == 0 && st.rlim_cur > STK_LIM)
		return say(why, len, "RLIMIT_STACK above 8 MiB, which the helper's exec would clamp");
	return true;
}

/*
 * The program as the helper will take it (launch/stub/exe.c, the same
 * checks, so that an in-place trace that says "set" is right): readable,
 * regular, no set-id bits, known to have no file capabilities, executable
 * by the kernel's own check.
 */
static bool program_fits(int fd, char *why, size_t len)
{
	static char *const empty[] = {NULL};
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || (fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY)
		return say(why, len, "the program's fd is not open for reading");
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return say(why, len, "the program is not a regular file");
	if (st.st_mode & (S_ISUID | S_ISGID))
		return say(why, len, "the program is set-user-ID or set-group-ID: the helper never sets exe to such a file");
	if (fgetxattr(fd, "security.capability", NULL, 0) >= 0 || errno != ENODATA)
		return say(why, len, "the program has file capabilities (or its file system cannot say): "
			   "the helper never sets exe to such a file");
	if (syscall(SYS_execveat, fd, "", empty, empty, AT_EMPTY_PATH | PB_AT_EXECVE_CHECK) < 0)
		return say(why, len, "the kernel's exec check of the program (AT_EXECVE_CHECK, Linux 6.14) says %s",
			   strerror(errno));
	return true;
}

const char *pb_exe_helper_choose(int prog_fd, char *why, size_t len)
{
	const char *path = pb_exe_helper_path();

	if (!path) {
		say(why, len, "no exe helper (PROCBUILDER_EXE_HELPER is empty)");
		return NULL;
	}
	if (!helper_installed(path, why, len) || !caller_fits(why, len) || !program_fits(prog_fd, why, len))
		return NULL;
	snprintf(why, len, "set by the installed helper %s", path);
	return path;
}

void pb_exe_trace(const char *trace_file, int trace, const char *note)
{
	FILE *out = trace_file && trace_file[0] ? fopen(trace_file, "ae") : stderr;

	if (!out || trace == 0)
		goto out;
	if (trace == 2) {
		fputc('{', out);
		pb_json_format(out, "trace", PB_JSON_TRACE_VERSION);
		fputs(",\"stage\":\"exe\",\"ns\":0,\"ok\":true,\"steps\":[],\"changed\":{},\"note\":", out);
		pb_json_str(out, note);
		fputs("}\n", out);
	} else {
		fprintf(out, "[exe] %s\n", note);
	}
	fflush(out);
out:
	if (out && out != stderr)
		fclose(out);
}
