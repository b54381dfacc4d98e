/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

/*
 * One --fd, as parsed: fd target in the new process is path opened with
 * flags (N<PATH, N>PATH, N>>PATH, N<>PATH, N=PATH), or a duplicate of our
 * fd dup_of (N<&M, N>&M, N=&M; path NULL).
 */
struct pb_fd_spec {
	const char *spec;	/* as given, for messages */
	const char *path;
	int flags;
	int target;
	int dup_of;
};

/* run's identity options (cli/ids_opts.c): getopt codes above any character. */
enum {
	PB_OPT_RUID = 0x100, PB_OPT_EUID, PB_OPT_REUID, PB_OPT_RGID, PB_OPT_EGID, PB_OPT_REGID,
	PB_OPT_GROUPS, PB_OPT_CLEAR_GROUPS, PB_OPT_KEEP_GROUPS, PB_OPT_RESET_IDS,
	PB_OPT_INH_CAPS, PB_OPT_AMBIENT_CAPS, PB_OPT_BOUNDING,	/* in this order: caps_given's bits */
	PB_OPT_SCHED, PB_OPT_SCHED_PRIORITY, PB_OPT_SCHED_RESET_ON_FORK, PB_OPT_CHDIR_FD, PB_OPT_FOREGROUND,
	PB_OPT_DIE_WITH_PARENT, PB_OPT_SECCOMP, PB_OPT_LANDLOCK, PB_OPT_PERSONA,	/* PB_OPT_PERSONA: every personality option, by name */
};
struct pb_ids_opts {
	bool given;
	bool have_ruid, have_euid, have_rgid, have_egid, reset_ids;
	uint32_t ruid, euid, rgid, egid;
	int groups_mode;	/* 0, or PB_OPT_GROUPS, _CLEAR_GROUPS, _KEEP_GROUPS */
	uint32_t *groups;	/* --groups (owned, 256 slots) */
	size_t ngroups;
	unsigned caps_given;	/* bit 0 inh, 1 ambient, 2 bounding */
	uint64_t inh, amb, bnd;	/* the sets as the lists make them */
};
/* One of those options; 0, or -1 after saying what is wrong. */
int pb_ids_parse_opt(struct pb_ids_opts *o, int c, const char *arg, const char *cmd);
/* What is checked once all are read (setpriv's: a gid needs a groups option); 0 or -1. */
int pb_ids_check(const struct pb_ids_opts *o, const char *cmd);
struct pb_builder;
/* Applied to b: 0, or -errno after saying which option the library refused. */
int pb_ids_apply(const struct pb_ids_opts *o, struct pb_builder *b, const char *cmd);
extern const char pb_ids_help[];

struct pb_persona_opts {
	bool given, value_given;
	unsigned long value, flags;	/* --personality, and the setarch flags or-ed on top */
};
/* One of the personality options, by its long name; 0, or -1 after saying what is wrong. */
int pb_persona_parse_opt(struct pb_persona_opts *o, const char *name, const char *arg, const char *cmd);
/* pb_set_personality, if any was given; 0 or -errno after saying why (the layout bits: why not). */
int pb_persona_apply(const struct pb_persona_opts *o, struct pb_builder *b, const char *cmd);
extern const char pb_persona_help[];

/* Options shared by run and plan. */
struct pb_launch_opts {
	char **env;		/* the environment (owned array, borrowed strings) */
	size_t envc;
	const char *argv0;	/* --argv0, or NULL */
	bool seeded, json;
	int map;		/* plan --map: 0, 1 text, 2 svg */
	uint64_t seed;
	const char *interp;	/* --interp PATH */
	const char *sysroot;	/* --sysroot DIR */
	const char *vdso;	/* --vdso system|none|FILE */
	const char *reserve;	/* --reserve RANGE */
	bool keep_reservation;	/* --keep-reservation */
	const char *pipeline;	/* --pipeline NAME|FILE */
	bool no_plugins;	/* --no-plugins: refuse a pipeline that names plugins */
	int trace;		/* --trace: 0, 1 text, 2 json */
	const char *trace_file;	/* --trace-file: the trace goes there, not to stderr */
	bool gdb;		/* --gdb: hand the process to gdb */
	bool no_ptrace;		/* --no-ptrace */
	bool spawn;		/* --spawn: a child, with us as its proxy (also --gdb, --stopped) */
	bool stopped;		/* --stopped: the child starts stopped at its entry */
	bool close_fds;		/* --close-fds: only 0, 1, 2 and the --fd/--listen fds pass */
	const char *cgroup;	/* --cgroup DIR */
	struct pb_fd_spec fd_specs[64];	/* --fd */
	int nfd_specs;
	const char *listen_specs[32];	/* --listen NAME=ADDR */
	int nlisten_specs;
	struct pb_ns_spec {	/* --ns, --ro-ns, --proc, --dev, --tmpfs, --symlink, in order */
		int kind;	/* enum pb_ns_kind */
		unsigned flags;	/* PB_NS_RDONLY */
		const char *arg;	/* PATH=DIR for binds, PATH=TARGET for symlinks, else PATH (borrowed) */
		uint64_t size, mode;	/* --tmpfs: the --size and --perms before it */
	} *ns_specs;		/* owned array */
	int nns_specs;
	int ns_mode;		/* --ns-mode: enum pb_ns_mode */
	uint64_t tmpfs_size, tmpfs_mode;	/* --size, --perms for the next --tmpfs */
	const char *tmpfs_pending;	/* the last of them given, until a --tmpfs takes it */
	const char *gdb_ex[16];	/* --gdb-ex CMD: gdb -batch -ex CMD ... */
	/* process attributes (run only): --chdir, --umask, --nice, --rlimit, --setsid, --no-new-privs */
	const char *chdir;
	int umask, nice;	/* -1 / INT_MIN: not given */
	struct { int resource; uint64_t soft, hard; } rlimits[16];
	int nrlimits;
	bool setsid, no_new_privs;
	uint64_t sigdefault;	/* --default-signal: bit n-1, signal n */
	uint64_t cpus[16];	/* --cpu-list */
	bool cpus_given;
	int sched_policy, sched_priority;	/* --sched, --sched-priority: -1 / INT_MIN when not given */
	bool sched_reset_on_fork;
	int chdir_fd, foreground_fd;	/* --chdir-fd, --foreground: -1 when not given */
	int seccomp_fd;		/* --seccomp: -1 when not given */
	int landlock_fd;	/* --landlock-ruleset: -1 when not given */
	bool die_with_parent;	/* --die-with-parent (spawned, the proxy asks it anyway) */
	struct pb_persona_opts persona;	/* --personality and setarch's flags */
	bool attrs_given;	/* any of them (plan refuses them: it makes no process) */
	struct pb_ids_opts ids;	/* --ruid ... --bounding-set (run only) */
	int ngdb_ex;
	char *path;		/* the program as found in PATH (owned) */
	char **args;		/* PROG ARGS... from the command line */
	int nargs;
};

/*
 * Parses [options] [--] PROG [ARGS...]; help is printed by the caller's
 * help function; plan_outputs accepts plan's --json and --map. Returns 0,
 * 1 after --help, or the exit status of an error.
 */
int pb_launch_parse(int argc, char **argv, const char *cmd, bool plan_outputs,
		    void (*help)(FILE *), struct pb_launch_opts *o);
void pb_launch_opts_free(struct pb_launch_opts *o);
/*
 * The files --interp/--sysroot and --vdso name, opened: fds[0] the
 * interpreter or sysroot, fds[1] a custom vDSO (-1 when not given). 0, or
 * -errno after saying why (also when --interp and --sysroot are both given).
 */
int pb_launch_open_files(const struct pb_launch_opts *o, const char *cmd, int fds[2]);
/* The options that configure a build, applied to b; 0, or -errno after saying why. */
struct pb_builder;
int pb_launch_apply(const struct pb_launch_opts *o, struct pb_builder *b, const char *cmd);
/*
 * Loads --pipeline (a name looks in $PB_PIPELINE_DIR, then pipelines/ beside the binary), or the default;
 * with --no-plugins, a pipeline that names a plugin is refused before any is loaded. 0, or -errno after
 * saying why.
 */
struct pb_pipeline;
int pb_launch_pipeline(const struct pb_launch_opts *o, struct pb_pipeline **ret, const char *cmd);
/* An fd of the --cgroup directory (absolute, or under the cgroup2 mount), -1 without one, or -errno. */
int pb_launch_cgroup_fd(const struct pb_launch_opts *o, const char *cmd);
/* The namespace options' getopt codes (cli/ns_opts.c), past any character. */
enum { PB_OPT_NS = 'n', PB_OPT_RO_NS = 0x200, /* past the attribute codes at 0x100 */ PB_OPT_PROC, PB_OPT_DEV, PB_OPT_TMPFS, PB_OPT_SIZE, PB_OPT_PERMS,
       PB_OPT_SYMLINK };
/* One of them into o->ns_specs; 0, or -errno after saying why. */
int pb_ns_parse_opt(struct pb_launch_opts *o, int c, const char *arg, const char *cmd);
/* After the last option: -EINVAL after saying so if a --size or --perms has no --tmpfs after it. */
int pb_ns_parse_done(const struct pb_launch_opts *o, const char *cmd);
/* The specs as pb_add_ns_mount calls, and --ns-mode; 0, or -errno after saying why. */
int pb_ns_apply(const struct pb_launch_opts *o, struct pb_builder *b, const char *cmd);
/* Help text for those options. */
extern const char pb_launch_build_help[];
/* argv for the program: --argv0 or PROG, then ARGS. NULL-terminated, owned array. */
char **pb_launch_argv(const struct pb_launch_opts *o);

/* run --spawn (cli/proxy.c). Before the build: our signals queue for the proxy, the child dies with us. */
struct pb_built;
int pb_cli_proxy_prepare(struct pb_builder *b);
/* Passes every inherited fd not marked close-on-exec at its own number, as execve would. */
void pb_cli_pass_inherited_fds(struct pb_builder *b);
/* Proxies for the started program until it ends; its exit status, or dies of its signal. */
int pb_cli_proxy(struct pb_built *p);
/* Becomes gdb -p PID (returns 125 if it cannot). */
int pb_cli_exec_gdb(const struct pb_launch_opts *o, int pid);
