/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/launch.h"
#include "procbuilder.h"
#include "pipeline/pipeline.h"
#include "core/host.h"

extern char **environ;

/* Replaces NAME=... or appends it. */
static int set_env(struct pb_launch_opts *o, char *assignment)
{
	size_t len = strcspn(assignment, "=");
	char **v;

	if (assignment[len] != '=' || len == 0)
		return -EINVAL;
	for (size_t i = 0; i < o->envc; i++) {
		if (strncmp(o->env[i], assignment, len + 1) == 0) {
			o->env[i] = assignment;
			return 0;
		}
	}
	v = realloc(o->env, (o->envc + 2) * sizeof(char *));
	if (!v)
		return -ENOMEM;
	o->env = v;
	o->env[o->envc++] = assignment;
	o->env[o->envc] = NULL;
	return 0;
}

/* env -u NAME: every NAME=... goes; NAME may not hold '=' (as env says). */
static int unset_env(struct pb_launch_opts *o, const char *name)
{
	size_t len = strlen(name), n = 0;

	if (len == 0 || strchr(name, '='))
		return -EINVAL;
	for (size_t i = 0; i < o->envc; i++)
		if (strncmp(o->env[i], name, len) != 0 || o->env[i][len] != '=')
			o->env[n++] = o->env[i];
	o->envc = n;
	o->env[n] = NULL;
	return 0;
}

static int copy_environ(struct pb_launch_opts *o)
{
	size_t n = 0;

	while (environ[n])
		n++;
	o->env = calloc(n + 1, sizeof(char *));
	if (!o->env)
		return -ENOMEM;
	memcpy(o->env, environ, n * sizeof(char *));
	o->envc = n;
	return 0;
}

/* PATH as the program will have it, or NULL. */
static const char *env_path(const struct pb_launch_opts *o)
{
	for (size_t i = 0; i < o->envc; i++)
		if (strncmp(o->env[i], "PATH=", 5) == 0)
			return o->env[i] + 5;
	return NULL;
}

/* The highest target pb_add_fds takes (it refuses 1 << 20 and up). */
#define FD_TARGET_MAX ((1 << 20) - 1)
#define DUPLICATE (-1)

/*
 * --fd's operators, longest first ("<>" before "<"): a shell's redirections,
 * with its open flags, and our older "=". DUPLICATE: M is our fd.
 */
static const struct {
	const char *op;
	int flags;
} fd_ops[] = {
	{"<&", DUPLICATE}, {">&", DUPLICATE}, {"=&", DUPLICATE},
	{">>", O_WRONLY | O_CREAT | O_APPEND},
	{"<>", O_RDWR | O_CREAT},	/* as POSIX sh: created if missing, never truncated */
	{"<", O_RDONLY},
	{">", O_WRONLY | O_CREAT | O_TRUNC},
	{"=", O_RDONLY},		/* ours, as "<" (it was O_RDWR | O_CREAT: too much) */
};

/* The number s[0..len) spells: digits only, at most max; or -1. */
static long fd_number(const char *s, size_t len, long max)
{
	long v = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int digit = s[i] - '0';
		if (digit < 0 || digit > 9 || v > (max - digit) / 10)
			return -1;
		v = v * 10 + digit;
	}
	return v;
}

/*
 * The highest N: also below our open-files limit, which the program inherits
 * (a shell refuses such an N too; the stub would fail later, less clearly).
 */
static long fd_target_max(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur <= FD_TARGET_MAX)
		return (long)rl.rlim_cur - 1;
	return FD_TARGET_MAX;
}

/* -EINVAL, after saying what is wrong with the --fd spec. */
__attribute__((format(printf, 3, 4)))
static int bad_fd_spec(const char *cmd, const char *spec, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	pb_cli_error(cmd, "--fd '%s': %s", spec, why);
	return -EINVAL;
}

/*
 * One --fd, checked; 0, or -EINVAL after saying why. M is checked before we
 * open anything: later, a closed M could be the number of one of our own fds.
 */
static int parse_fd_spec(const char *spec, const char *cmd, struct pb_fd_spec *ret)
{
	size_t nlen = strspn(spec, "0123456789"), i = 0;
	long max = fd_target_max(), n = fd_number(spec, nlen, max), m;
	const char *rest;

	if (n < 0)
		return bad_fd_spec(cmd, spec, "N must be a file descriptor number from 0 to %ld", max);
	while (i < sizeof(fd_ops) / sizeof(fd_ops[0]) && strncmp(spec + nlen, fd_ops[i].op, strlen(fd_ops[i].op)))
		i++;
	if (i == sizeof(fd_ops) / sizeof(fd_ops[0]))
		return bad_fd_spec(cmd, spec, "wants N<PATH, N>PATH, N>>PATH, N<>PATH, N=PATH, N<&M, N>&M or N=&M");
	rest = spec + nlen + strlen(fd_ops[i].op);
	if (fd_ops[i].flags != DUPLICATE) {
		if (!*rest)
			return bad_fd_spec(cmd, spec, "PATH is empty");
		*ret = (struct pb_fd_spec){.spec = spec, .path = rest, .flags = fd_ops[i].flags, .target = (int)n};
		return 0;
	}
	m = fd_number(rest, strlen(rest), INT_MAX);
	if (m < 0 || fcntl((int)m, F_GETFD) < 0)
		return bad_fd_spec(cmd, spec, "M must be an open file descriptor number");
	*ret = (struct pb_fd_spec){.spec = spec, .target = (int)n, .dup_of = (int)m};
	return 0;
}

/* Parsed now, so that a bad --fd is a usage error before anything is built; opened by add_fd_specs. */
static int parse_fd_option(struct pb_launch_opts *o, const char *spec, const char *cmd)
{
	struct pb_fd_spec s;

	if (o->nfd_specs == 64) {
		pb_cli_error(cmd, "at most 64 --fd");
		return -EINVAL;
	}
	if (parse_fd_spec(spec, cmd, &s) < 0)
		return -EINVAL;
	for (int i = 0; i < o->nfd_specs; i++)
		if (o->fd_specs[i].target == s.target)
			return bad_fd_spec(cmd, spec, "fd %d is already given by --fd '%s'", s.target,
					   o->fd_specs[i].spec);
	o->fd_specs[o->nfd_specs++] = s;
	return 0;
}

/* prlimit(1)'s names for the resources. */
static int rlimit_of(const char *name)
{
	static const struct { const char *name; int resource; } names[] = {
		{"as", RLIMIT_AS}, {"core", RLIMIT_CORE}, {"cpu", RLIMIT_CPU}, {"data", RLIMIT_DATA},
		{"fsize", RLIMIT_FSIZE}, {"locks", RLIMIT_LOCKS}, {"memlock", RLIMIT_MEMLOCK},
		{"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE}, {"nofile", RLIMIT_NOFILE},
		{"nproc", RLIMIT_NPROC}, {"rss", RLIMIT_RSS}, {"rtprio", RLIMIT_RTPRIO}, {"rttime", RLIMIT_RTTIME},
		{"sigpending", RLIMIT_SIGPENDING}, {"stack", RLIMIT_STACK},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i].name, name) == 0)
			return names[i].resource;
	return -1;
}

/* A limit's value: a number or "unlimited". */
static int rlimit_value(const char *s, uint64_t *ret)
{
	char *end;

	if (strcmp(s, "unlimited") == 0 || strcmp(s, "infinity") == 0) {
		*ret = RLIM_INFINITY;
		return 0;
	}
	errno = 0;
	*ret = strtoull(s, &end, 0);
	return errno || end == s || *end || s[0] == '-' ? -1 : 0;
}

/* --rlimit NAME=SOFT[:HARD] (HARD defaults to SOFT, as prlimit's single value) */
static int parse_rlimit(struct pb_launch_opts *o, const char *spec)
{
	char name[32], *eq = strchr(spec, '='), *colon;
	uint64_t soft, hard;

	if (!eq || (size_t)(eq - spec) >= sizeof(name) || o->nrlimits == 16)
		return -1;
	memcpy(name, spec, (size_t)(eq - spec));
	name[eq - spec] = 0;
	colon = strchr(eq + 1, ':');
	if (colon) {
		char soft_s[32];
		if ((size_t)(colon - eq - 1) >= sizeof(soft_s))
			return -1;
		memcpy(soft_s, eq + 1, (size_t)(colon - eq - 1));
		soft_s[colon - eq - 1] = 0;
		if (rlimit_value(soft_s, &soft) < 0 || rlimit_value(colon + 1, &hard) < 0)
			return -1;
	} else if (rlimit_value(eq + 1, &soft) < 0) {
		return -1;
	} else {
		hard = soft;
	}
	if (rlimit_of(name) < 0 || soft > hard)
		return -1;
	o->rlimits[o->nrlimits].resource = rlimit_of(name);
	o->rlimits[o->nrlimits].soft = soft;
	o->rlimits[o->nrlimits++].hard = hard;
	return 0;
}

/*
 * env --default-signal[=SIG,...]: none given means every signal env can
 * set, that is all but SIGKILL, SIGSTOP and the C library's own 32 and 33
 * (SIGRTMIN is 34), which env leaves as they are.
 */
static int parse_signals(const char *list, uint64_t *mask)
{
	char buf[256], *save = NULL;

	if (!list || !list[0]) {
		*mask |= ~0ull & ~(1ull << (SIGKILL - 1)) & ~(1ull << (SIGSTOP - 1)) & ~(3ull << 31);
		return 0;
	}
	if (strlen(list) >= sizeof(buf))
		return -1;
	strcpy(buf, list);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;
		long sig = strtol(t, &end, 10);
		if (*end) { /* a name, with or without SIG */
			const char *name = strncmp(t, "SIG", 3) == 0 ? t + 3 : t;
			sig = 0;
			for (int s = 1; s < 65 && !sig; s++)
				if (sigabbrev_np(s) && strcmp(sigabbrev_np(s), name) == 0)
					sig = s;
		}
		if (sig < 1 || sig > 64 || sig == SIGKILL || sig == SIGSTOP)
			return -1;
		*mask |= 1ull << (sig - 1);
	}
	return 0;
}

/* taskset -c: "0-3,6" into a 1024-CPU mask. */
static int parse_cpu_list(const char *list, uint64_t cpus[16])
{
	const char *p = list;

	memset(cpus, 0, 16 * sizeof(uint64_t));
	while (*p) {
		char *end;
		long lo = strtol(p, &end, 10), hi = lo;
		if (end == p || lo < 0)
			return -1;
		if (*end == '-') {
			p = end + 1;
			hi = strtol(p, &end, 10);
			if (end == p)
				return -1;
		}
		if (hi < lo || hi >= 1024 || (*end && *end != ','))
			return -1;
		for (long c = lo; c <= hi; c++)
			cpus[c / 64] |= 1ull << (c % 64);
		p = *end ? end + 1 : end;
	}
	return p == list ? -1 : 0;
}

/* chrt's policies: --sched other|fifo|rr|batch|idle, --sched-priority N, --sched-reset-on-fork. */
static int parse_sched_opt(struct pb_launch_opts *o, int c, const char *arg, const char *cmd)
{
	static const struct { const char *name; int policy; } policies[] = {
		{"other", SCHED_OTHER}, {"fifo", SCHED_FIFO}, {"rr", SCHED_RR}, {"batch", SCHED_BATCH},
		{"idle", SCHED_IDLE},
	};
	char *end;
	long v;

	o->attrs_given = true;
	if (c == PB_OPT_SCHED_RESET_ON_FORK) {
		o->sched_reset_on_fork = true;
		return 0;
	}
	if (c == PB_OPT_SCHED) {
		for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++)
			if (strcmp(arg, policies[i].name) == 0)
				o->sched_policy = policies[i].policy;
		if (o->sched_policy >= 0)
			return 0;
		pb_cli_error(cmd, "--sched wants other, fifo, rr, batch or idle (as chrt names them), not '%s'", arg);
		return -1;
	}
	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 0 || v > 99) {
		pb_cli_error(cmd, "--sched-priority wants a number from 0 to 99 (1 to 99 for fifo and rr), not '%s'", arg);
		return -1;
	}
	o->sched_priority = (int)v;
	return 0;
}

/* The process attributes' options; -1 after saying what is wrong. */
static int parse_attr_opt(struct pb_launch_opts *o, int c, const char *arg, const char *cmd)
{
	char *end;
	long v;

	o->attrs_given = true;
	switch (c) {
	case 'D': o->chdir = arg; return 0;
	case 'Z': o->setsid = true; return 0;
	case 'g':
		if (parse_signals(arg, &o->sigdefault) == 0)
			return 0;
		pb_cli_error(cmd, "--default-signal wants SIG[,SIG...] (names as kill -l, or numbers), not '%s'", arg);
		return -1;
	case 'k':
		if (parse_cpu_list(arg, o->cpus) == 0) {
			o->cpus_given = true;
			return 0;
		}
		pb_cli_error(cmd, "--cpu-list wants CPU numbers and ranges as taskset -c takes them (0-3,6), not '%s'", arg);
		return -1;
	case 'Q': o->no_new_privs = true; return 0;
	case 'l':
		if (parse_rlimit(o, arg) == 0)
			return 0;
		pb_cli_error(cmd, "--rlimit wants NAME=SOFT[:HARD] (NAME as prlimit names it: nofile, stack, core, "
			     "...; a number or unlimited), not '%s'", arg);
		return -1;
	}
	errno = 0;
	v = strtol(arg, &end, c == 'U' ? 8 : 10);
	if (errno || end == arg || *end || (c == 'U' && (v < 0 || v > 0777)) || (c == 'Y' && (v < -20 || v > 19))) {
		pb_cli_error(cmd, c == 'U' ? "--umask wants an octal mode 0 to 0777, not '%s'"
					   : "--nice wants a number from -20 to 19, not '%s'", arg);
		return -1;
	}
	*(c == 'U' ? &o->umask : &o->nice) = (int)v;
	return 0;
}

int pb_launch_parse(int argc, char **argv, const char *cmd, bool plan_outputs,
		    void (*help)(FILE *), struct pb_launch_opts *o)
{
	static const struct option longopts[] = {
		{"env", required_argument, NULL, 'e'},
		{"ignore-environment", no_argument, NULL, 'i'},
		{"unset", required_argument, NULL, 'u'},
		{"argv0", required_argument, NULL, 'a'},
		{"seed", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"map", optional_argument, NULL, 'm'},
		{"interp", required_argument, NULL, 'I'},
		{"sysroot", required_argument, NULL, 'S'},
		{"vdso", required_argument, NULL, 'V'},
		{"reserve", required_argument, NULL, 'R'},
		{"keep-reservation", no_argument, NULL, 'K'},
		{"pipeline", required_argument, NULL, 'P'},
		{"no-plugins", no_argument, NULL, 'p'},
		{"trace", optional_argument, NULL, 'T'},
		{"trace-file", required_argument, NULL, 't'},
		{"chdir", required_argument, NULL, 'D'},
		{"umask", required_argument, NULL, 'U'},
		{"nice", required_argument, NULL, 'Y'},
		{"rlimit", required_argument, NULL, 'l'},
		{"setsid", no_argument, NULL, 'Z'},
		{"no-new-privs", no_argument, NULL, 'Q'},
		{"default-signal", optional_argument, NULL, 'g'},
		{"cpu-list", required_argument, NULL, 'k'},
		{"gdb", no_argument, NULL, 'G'},
		{"no-ptrace", no_argument, NULL, 'N'},
		{"spawn", no_argument, NULL, 'W'},
		{"stopped", no_argument, NULL, 'O'},
		{"close-fds", no_argument, NULL, 'c'},
		{"fd", required_argument, NULL, 'F'},
		{"listen", required_argument, NULL, 'L'},
		{"cgroup", required_argument, NULL, 'C'},
		{"gdb-ex", required_argument, NULL, 'X'},
		{"ns", required_argument, NULL, PB_OPT_NS},
		{"ro-ns", required_argument, NULL, PB_OPT_RO_NS},
		{"proc", required_argument, NULL, PB_OPT_PROC},
		{"dev", required_argument, NULL, PB_OPT_DEV},
		{"tmpfs", required_argument, NULL, PB_OPT_TMPFS},
		{"size", required_argument, NULL, PB_OPT_SIZE},
		{"perms", required_argument, NULL, PB_OPT_PERMS},
		{"symlink", required_argument, NULL, PB_OPT_SYMLINK},
		{"ns-mode", required_argument, NULL, 'M'},
		{"ruid", required_argument, NULL, PB_OPT_RUID},
		{"euid", required_argument, NULL, PB_OPT_EUID},
		{"reuid", required_argument, NULL, PB_OPT_REUID},
		{"rgid", required_argument, NULL, PB_OPT_RGID},
		{"egid", required_argument, NULL, PB_OPT_EGID},
		{"regid", required_argument, NULL, PB_OPT_REGID},
		{"groups", required_argument, NULL, PB_OPT_GROUPS},
		{"clear-groups", no_argument, NULL, PB_OPT_CLEAR_GROUPS},
		{"keep-groups", no_argument, NULL, PB_OPT_KEEP_GROUPS},
		{"reset-ids", no_argument, NULL, PB_OPT_RESET_IDS},
		{"inh-caps", required_argument, NULL, PB_OPT_INH_CAPS},
		{"ambient-caps", required_argument, NULL, PB_OPT_AMBIENT_CAPS},
		{"bounding-set", required_argument, NULL, PB_OPT_BOUNDING},
		{"sched", required_argument, NULL, PB_OPT_SCHED},
		{"sched-priority", required_argument, NULL, PB_OPT_SCHED_PRIORITY},
		{"sched-reset-on-fork", no_argument, NULL, PB_OPT_SCHED_RESET_ON_FORK},
		{"chdir-fd", required_argument, NULL, PB_OPT_CHDIR_FD},
		{"seccomp", required_argument, NULL, PB_OPT_SECCOMP},
		{"landlock-ruleset", required_argument, NULL, PB_OPT_LANDLOCK},
		{"die-with-parent", no_argument, NULL, PB_OPT_DIE_WITH_PARENT},
		{"personality", required_argument, NULL, PB_OPT_PERSONA},
		{"uname-2.6", no_argument, NULL, PB_OPT_PERSONA},
		{"fdpic-funcptrs", no_argument, NULL, PB_OPT_PERSONA},
		{"mmap-page-zero", no_argument, NULL, PB_OPT_PERSONA},
		{"addr-compat-layout", no_argument, NULL, PB_OPT_PERSONA},
		{"read-implies-exec", no_argument, NULL, PB_OPT_PERSONA},
		{"32bit", no_argument, NULL, PB_OPT_PERSONA},
		{"short-inode", no_argument, NULL, PB_OPT_PERSONA},
		{"whole-seconds", no_argument, NULL, PB_OPT_PERSONA},
		{"sticky-timeouts", no_argument, NULL, PB_OPT_PERSONA},
		{"3gb", no_argument, NULL, PB_OPT_PERSONA},
		{"addr-no-randomize", no_argument, NULL, PB_OPT_PERSONA},
		{"foreground", required_argument, NULL, PB_OPT_FOREGROUND},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	char *end;
	int c, e, li;

	memset(o, 0, sizeof(*o));
	o->umask = -1;
	o->nice = INT_MIN;
	o->sched_policy = -1;
	o->chdir_fd = o->foreground_fd = o->seccomp_fd = o->landlock_fd = -1;
	o->sched_priority = INT_MIN;
	if (copy_environ(o) < 0)
		return PB_EXIT_ERROR;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:e:iu:h", longopts, &li)) != -1) {
		switch (c) {
		case 'e':
			if (set_env(o, optarg) < 0) {
				pb_cli_error(cmd, "-e wants NAME=VALUE, not '%s'", optarg);
				return PB_EXIT_USAGE;
			}
			break;
		case 'u':
			if (unset_env(o, optarg) < 0) {
				pb_cli_error(cmd, "-u wants a variable name without '=', not '%s'", optarg);
				return PB_EXIT_USAGE;
			}
			break;
		case 'i':
			o->envc = 0;
			o->env[0] = NULL;
			break;
		case 'a': o->argv0 = optarg; break;
		case 's':
			errno = 0;
			o->seed = strtoull(optarg, &end, 0);
			if (errno || *end || end == optarg) {
				pb_cli_error(cmd, "--seed wants a number, not '%s'", optarg);
				return PB_EXIT_USAGE;
			}
			o->seeded = true;
			break;
		case 'j':
			if (!plan_outputs)
				goto usage;
			o->json = true;
			break;
		case 'm':
			if (!plan_outputs)
				goto usage;
			if (!optarg || strcmp(optarg, "text") == 0) {
				o->map = 1;
			} else if (strcmp(optarg, "svg") == 0) {
				o->map = 2;
			} else {
				pb_cli_error(cmd, "--map is text or svg, not '%s'", optarg);
				return PB_EXIT_USAGE;
			}
			break;
		case 'I': o->interp = optarg; break;
		case 'S': o->sysroot = optarg; break;
		case 'V': o->vdso = optarg; break;
		case 'R': o->reserve = optarg; break;
		case 'K': o->keep_reservation = true; break;
		case 'P': o->pipeline = optarg; break;
		case 'p': o->no_plugins = true; break;
		case 'T':
			if (!optarg || strcmp(optarg, "text") == 0)
				o->trace = 1;
			else if (strcmp(optarg, "json") == 0)
				o->trace = 2;
			else {
				pb_cli_error(cmd, "--trace is text or json, not '%s'", optarg);
				return PB_EXIT_USAGE;
			}
			break;
		case 't':
			if (!optarg[0] || strlen(optarg) >= sizeof(((struct pb_pipeline *)0)->trace_file)) {
				pb_cli_error(cmd, "--trace-file wants a path (shorter than 256 bytes)");
				return PB_EXIT_USAGE;
			}
			o->trace_file = optarg;
			break;
		case 'D': case 'U': case 'Y': case 'l': case 'Z': case 'Q': case 'g': case 'k':
			if (parse_attr_opt(o, c, optarg, cmd) < 0)
				return PB_EXIT_USAGE;
			break;
		case PB_OPT_RUID: case PB_OPT_EUID: case PB_OPT_REUID: case PB_OPT_RGID: case PB_OPT_EGID:
		case PB_OPT_REGID: case PB_OPT_GROUPS: case PB_OPT_CLEAR_GROUPS: case PB_OPT_KEEP_GROUPS:
		case PB_OPT_RESET_IDS: case PB_OPT_INH_CAPS: case PB_OPT_AMBIENT_CAPS: case PB_OPT_BOUNDING:
			o->attrs_given = true;
			if (pb_ids_parse_opt(&o->ids, c, optarg, cmd) < 0)
				return PB_EXIT_USAGE;
			break;
		case PB_OPT_PERSONA:
			o->attrs_given = true;
			if (pb_persona_parse_opt(&o->persona, longopts[li].name, optarg, cmd) < 0)
				return PB_EXIT_USAGE;
			break;
		case PB_OPT_DIE_WITH_PARENT:
			o->attrs_given = o->die_with_parent = true;
			break;
		case PB_OPT_CHDIR_FD: case PB_OPT_FOREGROUND: case PB_OPT_SECCOMP: case PB_OPT_LANDLOCK:
			o->attrs_given = true;
			e = (int)fd_number(optarg, strlen(optarg), INT_MAX);
			*(c == PB_OPT_CHDIR_FD ? &o->chdir_fd : c == PB_OPT_SECCOMP ? &o->seccomp_fd :
			  c == PB_OPT_LANDLOCK ? &o->landlock_fd : &o->foreground_fd) = e;
			if (e < 0) {
				pb_cli_error(cmd, "%s wants an open file descriptor number, not '%s'",
					     c == PB_OPT_CHDIR_FD ? "--chdir-fd" : c == PB_OPT_SECCOMP ? "--seccomp" :
					     c == PB_OPT_LANDLOCK ? "--landlock-ruleset" : "--foreground", optarg);
				return PB_EXIT_USAGE;
			}
			break;
		case PB_OPT_SCHED: case PB_OPT_SCHED_PRIORITY: case PB_OPT_SCHED_RESET_ON_FORK:
			if (parse_sched_opt(o, c, optarg, cmd) < 0)
				return PB_EXIT_USAGE;
			break;
		case 'G': o->gdb = o->spawn = true; break;
		case 'N': o->no_ptrace = true; break;
		case 'W': o->spawn = true; break;
		case 'O': o->stopped = o->spawn = true; break;
		case 'c': o->close_fds = true; break;
		case 'C': o->cgroup = optarg; break;
		case 'F':
			if (parse_fd_option(o, optarg, cmd) < 0)
				return PB_EXIT_USAGE;
			break;
		case 'L':
			if (o->nlisten_specs == 32)
				goto usage;
			o->listen_specs[o->nlisten_specs++] = optarg;
			break;
		case 'X':
			if (o->ngdb_ex == 16) {
				pb_cli_error(cmd, "at most 16 --gdb-ex");
				return PB_EXIT_USAGE;
			}
			o->gdb_ex[o->ngdb_ex++] = optarg;
			o->gdb = o->spawn = true;
			break;
		case PB_OPT_NS: case PB_OPT_RO_NS: case PB_OPT_PROC: case PB_OPT_DEV: case PB_OPT_TMPFS:
		case PB_OPT_SIZE: case PB_OPT_PERMS: case PB_OPT_SYMLINK:
			if (pb_ns_parse_opt(o, c, optarg, cmd) < 0)
				return PB_EXIT_USAGE;
			break;
		case 'M':
			if (strcmp(optarg, "isolated") && strcmp(optarg, "overlay")) {
				pb_cli_error(cmd, "--ns-mode is isolated or overlay, not '%s'", optarg);
				return PB_EXIT_USAGE;
			}
			o->ns_mode = optarg[0] == 'o' ? PB_NS_OVERLAY : PB_NS_ISOLATED;
			break;
		case 'h': help(stdout); return 1;
		case '?': case ':': return pb_cli_bad_option(cmd, c, argv);
		default: goto usage;
		}
	}
	if (pb_ns_parse_done(o, cmd) < 0)
		return PB_EXIT_USAGE;
	if (o->trace_file && !o->trace)
		o->trace = 1; /* --trace-file alone: the text trace, there */
	if (pb_ids_check(&o->ids, cmd) < 0)
		return PB_EXIT_USAGE;
	if (optind >= argc) {
		pb_cli_error(cmd, "no program given (try 'procbuilder %s --help')", cmd);
		return PB_EXIT_USAGE;
	}
	o->args = argv + optind;
	o->nargs = argc - optind;
	e = -pb_find_program(o->args[0], env_path(o), &o->path); /* as execvp, in the program's environment */
	if (e) {
		pb_cli_error(cmd, "%s: %s", o->args[0], strerror(e));
		return e == ENOENT ? 127 : 126;
	}
	return 0;
usage:
	help(stderr);
	return PB_EXIT_USAGE;
}

void pb_launch_opts_free(struct pb_launch_opts *o)
{
	free(o->env);
	free(o->path);
	free(o->ns_specs);
	free(o->ids.groups);
}

char **pb_launch_argv(const struct pb_launch_opts *o)
{
	char **v = calloc((size_t)o->nargs + 1, sizeof(char *));

	if (!v)
		return NULL;
	for (int i = 0; i < o->nargs; i++)
		v[i] = o->args[i];
	if (o->argv0)
		v[0] = (char *)o->argv0;
	return v;
}

const char pb_launch_build_help[] =
	"      --pipeline NAME|FILE  the stages to run: a file, or a name found in\n"
	"                            $PB_PIPELINE_DIR or pipelines/ (default, sanitizer,\n"
	"                            debug, novdso); default: the compiled-in default\n"
	"      --no-plugins          refuse a pipeline that names plugins (loading one runs\n"
	"                            its code), before anything is loaded or started: for\n"
	"                            pipeline files you do not trust\n"
	"      --trace[=text|json]   tell the story of the build on stderr\n"
	"      --chdir DIR           run in DIR (env --chdir)\n"
	"      --die-with-parent     SIGKILL when its parent dies (bwrap's; setpriv --pdeathsig\n"
	"                            KILL): in place our parent, spawned procbuilder (always so)\n"
	"      --seccomp FD          install the compiled seccomp filter read from FD, last,\n"
	"                            after the ids (bwrap's; needs --no-new-privs or\n"
	"                            CAP_SYS_ADMIN; it must allow close, rt_sigprocmask,\n"
	"                            sendto, recvfrom, pause and munmap, which follow it)\n"
	"      --landlock-ruleset FD  restrict it with the Landlock ruleset open as FD, after\n"
	"                            the ids and before --seccomp (needs --no-new-privs or\n"
	"                            CAP_SYS_ADMIN; the ruleset is made by the caller)\n"
	"      --chdir-fd FD         run in the directory open as FD (posix_spawn's fchdir)\n"
	"      --foreground FD       its process group becomes the foreground one of the\n"
	"                            terminal at FD (posix_spawn's tcsetpgrp)\n"
	"      --umask MODE          the file mode mask, octal (as the shell's umask)\n"
	"      --nice N              the nice value, -20 to 19 (nice -n; lower needs privilege)\n"
	"      --rlimit NAME=SOFT[:HARD]  a resource limit, NAME as prlimit names it (nofile,\n"
	"                            stack, core, as, ...), a number or unlimited (repeatable)\n"
	"      --setsid              a new session (setsid)\n"
	"      --default-signal[=SIG,...]  those signals (all, without a list) back to their\n"
	"                            default action, not ignored (env --default-signal)\n"
	"      --cpu-list LIST       run on these CPUs: 0-3,6 (taskset -c)\n"
	"      --sched POLICY        scheduling policy: other, fifo, rr, batch or idle (chrt's)\n"
	"      --sched-priority N    its priority (fifo, rr: 1 to 99); alone, the priority in our\n"
	"                            policy (posix_spawn's SETSCHEDPARAM)\n"
	"      --sched-reset-on-fork with --sched: SCHED_RESET_ON_FORK (chrt --reset-on-fork)\n"
	"      --no-new-privs        set no_new_privs before the exec (setpriv --no-new-privs):\n"
	"                            set-id bits and file capabilities then give nothing\n"
	"      --trace-file PATH     ... appended to PATH instead, away from the program's\n"
	"                            output (implies --trace; over a pipeline's trace_file:)\n"
	"      --fd 'N<PATH'         fd N reads PATH (quoted: a shell would take N<PATH itself)\n"
	"      --fd 'N>PATH'         fd N writes PATH, created (0666 & ~umask) or truncated\n"
	"      --fd 'N>>PATH'        fd N appends to PATH, created if missing\n"
	"      --fd 'N<>PATH'        fd N reads and writes PATH, created if missing, not truncated\n"
	"      --fd 'N<&M'           fd N is a duplicate of our open fd M\n"
	"      --fd 'N>&M'           the same (as in a shell, M's access mode is not checked)\n"
	"      --fd N=PATH           as N<PATH: read-only, never created\n"
	"      --fd 'N=&M'           as N<&M\n"
	"      --listen NAME=ADDR    bind and listen on ADDR (unix:PATH, unix:@ABSTRACT,\n"
	"                            tcp:HOST:PORT, tcp:[IPV6]:PORT, or PORT on 127.0.0.1) and\n"
	"                            pass it named NAME at 3, 4, ... with LISTEN_FDS/LISTEN_PID/\n"
	"                            LISTEN_FDNAMES (socket activation); a stale socket file at\n"
	"                            PATH (nobody listening) is replaced\n"
	"      --cgroup DIR          create the process in this cgroup v2 directory (absolute,\n"
	"                            or relative to the cgroup2 mount), limits apply from its\n"
	"                            first instruction\n"
	"      --ns PATH=DIR         run in a new mount namespace where PATH shows DIR\n"
	"                            (repeatable; user namespace when not privileged;\n"
	"                            bwrap's --bind DIR PATH)\n"
	"      --ro-ns PATH=DIR      the same, read-only with every mount below it\n"
	"                            (bwrap's --ro-bind DIR PATH)\n"
	"      --proc PATH           a procfs at PATH (ours as root, else the host's /proc\n"
	"                            bound), sys, sysrq-trigger, irq, bus read-only (bwrap's)\n"
	"      --dev PATH            bwrap's minimal /dev at PATH: null, zero, full, random,\n"
	"                            urandom, tty, stdin/stdout/stderr/fd links, shm, pts, ptmx\n"
	"      --tmpfs PATH          an empty tmpfs at PATH (bwrap's), mode 0755\n"
	"      --size BYTES          the next --tmpfs's size limit (bwrap's --size)\n"
	"      --perms OCTAL         the next --tmpfs's permissions (bwrap's --perms)\n"
	"      --symlink PATH=TARGET a symlink at PATH in procbuilder's own tmpfs, e.g.\n"
	"                            /lib=usr/lib (bwrap's --symlink TARGET PATH)\n"
	"      --ns-mode isolated|overlay  the root holds only the namespace entries (isolated,\n"
	"                            the default) or the host's top level under them (overlay)\n"
	"      --no-ptrace           spawned: finish without ptrace (automatic when it is\n"
	"                            refused): one trampoline page stays mapped\n"
	"      --interp PATH         use PATH as the interpreter, whatever PT_INTERP says\n"
	"      --sysroot DIR         resolve PT_INTERP under DIR (as if chrooted); not with --interp\n"
	"      --vdso system|none|FILE  keep the kernel's vDSO, drop it, or map FILE as the vDSO\n"
	"      --reserve RANGE       keep RANGE free while placing: low-half (default for dynamic\n"
	"                            programs, unless the layout maps there: ulimit -s unlimited,\n"
	"                            setarch -L), none, asan, tsan, msan, or START-END (hex)\n"
	"      --keep-reservation    hold the reservation until the program starts\n";

static int open_for(const char *cmd, const char *what, const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0)
		pb_cli_error(cmd, "%s %s: %s", what, path, strerror(errno));
	return fd;
}

/* r, after saying what it means when it is an error nobody has reported yet. */
static int said(const char *cmd, int r)
{
	if (r < 0)
		pb_cli_error(cmd, "%s", strerror(-r));
	return r;
}

static int bind_and_listen(int fd, const struct sockaddr *sa, socklen_t len)
{
	int e;

	if (fd >= 0 && bind(fd, sa, len) == 0 && listen(fd, 128) == 0)
		return fd;
	e = -errno;
	if (fd >= 0)
		close(fd);
	return e;
}

/*
 * A socket file left by an earlier run: a socket at path nobody listens on.
 * (In place, nobody is left to remove ours at exit.) Anything else stays.
 */
static bool stale_socket(const struct sockaddr_un *sun, socklen_t len)
{
	struct stat st;
	int fd, r;

	if (lstat(sun->sun_path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	r = fd < 0 ? 0 : connect(fd, (const struct sockaddr *)sun, len);
	if (fd >= 0)
		close(fd);
	return fd >= 0 && r < 0 && errno == ECONNREFUSED;
}

/* unix:PATH, or unix:@NAME in the abstract namespace (no file). */
static int listen_unix(const char *name)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t n = strlen(name);
	socklen_t len;
	int r;

	if (n == 0 || n >= sizeof(sun.sun_path))
		return n ? -ENAMETOOLONG : -EINVAL;
	memcpy(sun.sun_path, name, n);
	if (name[0] == '@')
		sun.sun_path[0] = 0;
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '@' ? 0 : 1));
	r = bind_and_listen(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), (struct sockaddr *)&sun, len);
	if (r == -EADDRINUSE && name[0] != '@' && stale_socket(&sun, len) && unlink(sun.sun_path) == 0)
		r = bind_and_listen(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), (struct sockaddr *)&sun, len);
	return r;
}

/* tcp:HOST:PORT, tcp:[V6ADDR]:PORT, or PORT on 127.0.0.1. */
static int listen_tcp(const char *addr, const char *cmd)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
	char host[256] = "127.0.0.1", *colon;
	const char *port = addr;
	int fd, one = 1;

	if (strncmp(addr, "tcp:", 4) == 0) {
		snprintf(host, sizeof(host), "%s", addr + 4);
		colon = strrchr(host, ':');
		if (!colon)
			return -EINVAL;
		*colon = 0;
		port = addr + 4 + (colon - host) + 1;
		if (host[0] == '[' && colon > host + 1 && colon[-1] == ']') { /* [::1]: as in URLs */
			colon[-1] = 0;
			memmove(host, host + 1, strlen(host));
		}
	}
	if (getaddrinfo(host[0] ? host : NULL, port, &hints, &ai) != 0 || !ai) {
		pb_cli_error(cmd, "--listen %s: cannot resolve", addr);
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	fd = bind_and_listen(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return fd;
}

/* A listening socket for ADDR: unix:PATH, unix:@NAME, tcp:HOST:PORT, tcp:[V6]:PORT, or PORT. */
static int listen_on(const char *addr, const char *cmd)
{
	if (strncmp(addr, "unix:", 5) == 0)
		return listen_unix(addr + 5);
	return listen_tcp(addr, cmd);
}

/*
 * Our own fd for one --fd, close-on-exec (pb_add_fds duplicates it); or
 * -errno. 0666 as a shell gives, less the umask. O_NOCTTY: a terminal opened
 * here never becomes our controlling one (dash and bash do not ask that).
 */
static int open_fd_spec(const struct pb_fd_spec *s)
{
	int fd = s->path ? open(s->path, s->flags | O_CLOEXEC | O_NOCTTY, 0666)
			 : fcntl(s->dup_of, F_DUPFD_CLOEXEC, 3);

	return fd < 0 ? -errno : fd;
}

/* --fd and --listen, opened here and handed to pb_add_fds (which duplicates them). */
static int add_fd_specs(const struct pb_launch_opts *o, struct pb_builder *b, const char *cmd)
{
	struct pb_startup_fd *fds = calloc(96, sizeof(*fds)); /* (on the heap: 16 KiB stacks) */
	char (*names)[64] = calloc(32, 64);
	struct pb_error err;
	int n = 0, r = fds && names ? 0 : -ENOMEM;

	for (int i = 0; i < o->nfd_specs && r == 0; i++) {
		const struct pb_fd_spec *s = &o->fd_specs[i];
		fds[n] = (struct pb_startup_fd){.fd = open_fd_spec(s), .type = PB_FD_NUMBERED, .arg = s->target};
		if (fds[n].fd < 0) {
			r = fds[n].fd;
			pb_cli_error(cmd, "--fd '%s': %s", s->spec, strerror(-r));
			break;
		}
		n++;
	}
	for (int i = 0; i < o->nlisten_specs && r == 0; i++) {
		const char *spec = o->listen_specs[i], *eq = strchr(spec, '=');
		if (!eq || eq == spec || eq - spec >= 64) {
			pb_cli_error(cmd, "--listen wants NAME=ADDR, not '%s'", spec);
			r = -EINVAL;
			break;
		}
		snprintf(names[i], 64, "%.*s", (int)(eq - spec), spec);
		fds[n] = (struct pb_startup_fd){.type = PB_FD_NAMED, .name = names[i], .fd = listen_on(eq + 1, cmd)};
		if (fds[n].fd < 0) {
			pb_cli_error(cmd, "--listen %s: %s", spec, strerror(-fds[n].fd));
			r = fds[n].fd;
			break;
		}
		n++;
	}
	if (r == 0 && pb_add_fds(b, fds, (size_t)n, &err) < 0) {
		pb_cli_error(cmd, "%s", err.msg);
		r = pb_error_errno(&err);
	}
	for (int i = 0; i < n; i++)
		close(fds[i].fd);
	free(fds);
	free(names);
	return r < 0 ? r : 0;
}

int pb_launch_open_files(const struct pb_launch_opts *o, const char *cmd, int fds[2])
{
	int r;

	fds[0] = fds[1] = -1;
	if (o->interp && o->sysroot) {
		pb_cli_error(cmd, "--interp and --sysroot exclude each other");
		return -EINVAL;
	}
	if (o->interp || o->sysroot) {
		fds[0] = o->interp ? open_for(cmd, "--interp", o->interp, O_RDONLY)
				   : open_for(cmd, "--sysroot", o->sysroot, O_RDONLY | O_DIRECTORY);
		if (fds[0] < 0)
			return -errno;
	}
	if (o->vdso && strcmp(o->vdso, "system") != 0 && strcmp(o->vdso, "none") != 0) {
		fds[1] = open_for(cmd, "--vdso", o->vdso, O_RDONLY);
		if (fds[1] < 0) {
			r = -errno;
			if (fds[0] >= 0)
				close(fds[0]);
			return r;
		}
	}
	return 0;
}

/* One line naming the option whose value the library refused. */
static int said_for(const char *cmd, const char *opt, const char *value, int r)
{
	if (r < 0)
		pb_cli_error(cmd, "%s %s: %s", opt, value, strerror(-r));
	return r;
}

static int set_reservation(const struct pb_launch_opts *o, struct pb_builder *b, const char *cmd)
{
	int r = pb_set_reservation(b, o->reserve, o->keep_reservation);

	if (r == -EINVAL)
		pb_cli_error(cmd, "--reserve wants low-half, none, asan, tsan, msan or START-END in page-aligned hex, "
			     "not '%s'", o->reserve);
	else
		said(cmd, r);
	return r;
}

/* --seccomp FD: the compiled filter, read from FD to its end (as bwrap reads it). */
static int apply_seccomp(const struct pb_launch_opts *o, struct pb_builder *b, const char *cmd)
{
	size_t cap = 4096 * 8 + 1, len = 0; /* BPF_MAXINSNS instructions, and one byte to see more */
	char *buf = malloc(cap), v[16];
	ssize_t n = 0;
	int r;

	if (!buf)
		return said(cmd, -ENOMEM);
	while (len < cap && ((n = read(o->seccomp_fd, buf + len, cap - len)) > 0 || (n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	snprintf(v, sizeof(v), "%d", o->seccomp_fd);
	r = n < 0 ? -errno : pb_set_seccomp(b, buf, len);
	if (r == -EINVAL)
		pb_cli_error(cmd, "--seccomp %s: not a seccomp filter the kernel takes (%zu bytes: struct sock_filter "
			     "instructions, at most 4096)", v, len);
	else if (r == -EACCES)
		pb_cli_error(cmd, "--seccomp %s: installing a filter needs no_new_privs (--no-new-privs) or "
			     "CAP_SYS_ADMIN", v);
	else
		said_for(cmd, "--seccomp", v, r);
	free(buf);
	return r;
}

/* --landlock-ruleset FD, with what each refusal means. */
static int apply_landlock(struct pb_builder *b, int fd, const char *v, const char *cmd)
{
	int r = pb_set_landlock(b, fd);

	if (r == -EBADFD)
		pb_cli_error(cmd, "--landlock-ruleset %s: not a Landlock ruleset (landlock_create_ruleset makes one)", v);
	else if (r == -EACCES)
		pb_cli_error(cmd, "--landlock-ruleset %s: enforcing a ruleset needs no_new_privs (--no-new-privs) or "
			     "CAP_SYS_ADMIN, and the ruleset must let the program be executed", v);
	else if (r == -EOPNOTSUPP)
		pb_cli_error(cmd, "--landlock-ruleset %s: Landlock is not enabled in this kernel", v);
	else
		said_for(cmd, "--landlock-ruleset", v, r);
	return r;
}

/* --sched (with its priority, 0 if none: chrt wants one for fifo and rr) or --sched-priority alone. */
static int apply_sched(const struct pb_launch_opts *o, struct pb_builder *b, const char *cmd)
{
	int prio = o->sched_priority == INT_MIN ? 0 : o->sched_priority, r;
	char v[48];

	if (o->sched_policy < 0 && o->sched_reset_on_fork) {
		pb_cli_error(cmd, "--sched-reset-on-fork goes with --sched");
		return -EINVAL;
	}
	snprintf(v, sizeof(v), "%d", prio);
	if (o->sched_policy >= 0) {
		r = pb_set_scheduler(b, o->sched_policy | (o->sched_reset_on_fork ? SCHED_RESET_ON_FORK : 0), prio);
		if (r == -EINVAL)
			pb_cli_error(cmd, "--sched: priority %d is not one this policy takes (fifo and rr: 1 to 99; "
				     "the others: 0)", prio);
		return r == -EINVAL ? r : said_for(cmd, "--sched-priority", v, r);
	}
	return o->sched_priority == INT_MIN ? 0 : said_for(cmd, "--sched-priority", v, pb_set_sched_priority(b, prio));
}

static int apply_attrs(const struct pb_launch_opts *o, struct pb_builder *b, const char *cmd)
{
	char v[32];
	int r = 0;

	if (o->chdir)
		r = said_for(cmd, "--chdir", o->chdir, pb_set_cwd(b, o->chdir));
	snprintf(v, sizeof(v), "%o", o->umask);
	if (r == 0 && o->umask >= 0)
		r = said_for(cmd, "--umask", v, pb_set_umask(b, (unsigned)o->umask));
	snprintf(v, sizeof(v), "%d", o->nice);
	if (r == 0 && o->nice != INT_MIN)
		r = said_for(cmd, "--nice", v, pb_set_nice(b, o->nice));
	for (int i = 0; r == 0 && i < o->nrlimits; i++) {
		snprintf(v, sizeof(v), "#%d", i + 1);
		r = said_for(cmd, "--rlimit", v, pb_set_rlimit(b, o->rlimits[i].resource, o->rlimits[i].soft,
							       o->rlimits[i].hard));
	}
	if (r == 0 && o->setsid)
		r = said_for(cmd, "--setsid", "", pb_set_setsid(b, 1));
	if (r == 0 && o->no_new_privs)
		r = said_for(cmd, "--no-new-privs", "", pb_set_no_new_privs(b, 1));
	if (r == 0 && o->sigdefault)
		r = said_for(cmd, "--default-signal", "", pb_set_sigdefault(b, o->sigdefault));
	if (r == 0 && o->cpus_given)
		r = said_for(cmd, "--cpu-list", "", pb_set_affinity(b, o->cpus, 16));
	if (r == 0)
		r = apply_sched(o, b, cmd);
	if (r == 0 && o->die_with_parent) /* in place: our parent's death; spawned: ours (the proxy's) */
		r = said_for(cmd, "--die-with-parent", "", pb_set_pdeathsig(b, SIGKILL));
	snprintf(v, sizeof(v), "%d", o->chdir_fd);
	if (r == 0 && o->chdir_fd >= 0)
		r = said_for(cmd, "--chdir-fd", v, pb_set_cwd_fd(b, o->chdir_fd));
	snprintf(v, sizeof(v), "%d", o->foreground_fd);
	if (r == 0 && o->foreground_fd >= 0)
		r = said_for(cmd, "--foreground", v, pb_set_foreground(b, o->foreground_fd));
	if (r == 0)
		r = pb_persona_apply(&o->persona, b, cmd);
	if (r == 0 && o->ids.given)
		r = pb_ids_apply(&o->ids, b, cmd);
	snprintf(v, sizeof(v), "%d", o->landlock_fd);
	if (r == 0 && o->landlock_fd >= 0)
		r = apply_landlock(b, o->landlock_fd, v, cmd);
	if (r == 0 && o->seccomp_fd >= 0)
		r = apply_seccomp(o, b, cmd);
	return r;
}

int pb_launch_apply(const struct pb_launch_opts *o, struct pb_builder *b, const char *cmd)
{
	int fds[2], r = pb_launch_open_files(o, cmd, fds);

	if (r < 0)
		return r;
	/* the builder keeps duplicates of what it is given */
	if (fds[0] >= 0)
		r = said(cmd, pb_set_interp_resolver(b, o->interp ? PB_INTERP_FD : PB_INTERP_SYSROOT, fds[0]));
	if (r == 0 && o->vdso)
		r = said(cmd, pb_set_vdso(b, fds[1] >= 0 ? PB_VDSO_CUSTOM : o->vdso[0] == 's' ? PB_VDSO_SYSTEM
											: PB_VDSO_NONE, fds[1]));
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (r == 0 && o->no_ptrace)
		r = said(cmd, pb_set_no_ptrace(b, 1));
	if (r == 0 && (o->nfd_specs || o->nlisten_specs))
		r = add_fd_specs(o, b, cmd);
	if (r == 0 && o->nns_specs)
		r = pb_ns_apply(o, b, cmd);
	if (r == 0 && (o->reserve || o->keep_reservation))
		r = set_reservation(o, b, cmd);
	if (r == 0)
		r = apply_attrs(o, b, cmd);
	return r;
}

static int find_pipeline(const char *name, char *path, size_t len)
{
	const char *dir = getenv("PB_PIPELINE_DIR");
	char *exe, *slash;
	ssize_t n;
	int r = -ENOENT;

	if (strchr(name, '/') || strstr(name, ".yaml")) {
		snprintf(path, len, "%s", name);
		return 0;
	}
	if (dir) {
		snprintf(path, len, "%s/%s.yaml", dir, name);
		if (access(path, R_OK) == 0)
			return 0;
	}
	exe = malloc(4096);
	if (!exe)
		return -ENOMEM;
	n = readlink("/proc/self/exe", exe, 4095);
	exe[n < 0 ? 0 : n] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	/* build/procbuilder -> pipelines/; PREFIX/bin -> PREFIX/share/procbuilder/pipelines */
	for (int i = 0; i < 2 && r < 0; i++) {
		const char *rel = i == 0 ? "/../pipelines" : "/../share/procbuilder/pipelines";
		if (snprintf(path, len, "%s%s/%s.yaml", exe, rel, name) < (int)len && access(path, R_OK) == 0)
			r = 0;
	}
	free(exe);
	/* and where `ninja install` put them (configure.py --datadir) */
	if (r < 0 && snprintf(path, len, "%s/%s.yaml", PB_PIPELINE_DATADIR, name) < (int)len && access(path, R_OK) == 0)
		r = 0;
	return r;
}

/* --trace-file over the pipeline's trace_file: (appended to, as the pipeline's; text unless --trace=json) */
static int with_trace_file(const struct pb_launch_opts *o, struct pb_pipeline *p)
{
	if (o->trace_file)
		snprintf(p->trace_file, sizeof(p->trace_file), "%s", o->trace_file);
	return 0;
}

int pb_launch_pipeline(const struct pb_launch_opts *o, struct pb_pipeline **ret, const char *cmd)
{
	struct pb_pipeline_opts opts = {.sz = sizeof(opts), .flags = o->no_plugins ? PB_PIPELINE_NO_PLUGINS : 0};
	struct pb_error err;
	char *path;
	int r = 0;

	if (!o->pipeline)
		return pb_pipeline_default(ret) < 0 ? -ENOMEM : with_trace_file(o, *ret);
	path = malloc(4096);
	if (!path)
		return said(cmd, -ENOMEM);
	if (find_pipeline(o->pipeline, path, 4096) < 0) {
		pb_cli_error(cmd, "no pipeline named '%s' (looked in $PB_PIPELINE_DIR, pipelines/ beside the binary and %s)",
			     o->pipeline, PB_PIPELINE_DATADIR);
		r = -ENOENT;
	} else if (pb_pipeline_load_opts(path, &opts, ret, &err) < 0) {
		fprintf(stderr, "procbuilder: %s: %s\n", err.stage, err.msg);
		r = pb_error_errno(&err);
	}
	free(path);
	return r < 0 ? r : with_trace_file(o, *ret);
}

/* (paths on the heap: the CLI runs with a 16 KiB stack) */
int pb_launch_cgroup_fd(const struct pb_launch_opts *o, const char *cmd)
{
	char *root = NULL, *path = NULL;
	int fd, r;

	if (!o->cgroup)
		return -1;
	if (o->cgroup[0] != '/' && (root = malloc(4096)) && pb_cgroup2_mount(root, 4096) < 0) {
		pb_cli_error(cmd, "--cgroup %s: no cgroup2 mount in /proc/self/mountinfo", o->cgroup);
		free(root);
		return -ENOENT;
	}
	r = o->cgroup[0] == '/' ? asprintf(&path, "%s", o->cgroup) : root ? asprintf(&path, "%s/%s", root, o->cgroup) : -1;
	free(root);
	if (r < 0)
		return said(cmd, -ENOMEM);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		pb_cli_error(cmd, "--cgroup %s: %s", path, strerror(-r));
		free(path);
		return r;
	}
	free(path);
	return fd;
}
