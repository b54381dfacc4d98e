/* SPDX-License-Identifier: MIT */
/*
 * run's identity options, named as setpriv(1) names them: --ruid, --euid,
 * --reuid, --rgid, --egid, --regid (a name or a number), --groups,
 * --clear-groups, --keep-groups, --inh-caps, --ambient-caps,
 * --bounding-set (+CAP/-CAP lists, "all"), and posix_spawn's RESETIDS as
 * --reset-ids. Parsed into struct pb_ids_opts, applied with pb_set_uids,
 * pb_set_gids, pb_set_groups, pb_set_resetids and pb_set_cap_*.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "cli/cli.h"
#include "cli/launch.h"
#include "procbuilder.h"

/* libcap-ng's names, as setpriv --list-caps prints them: index = capability number. */
static const char *const cap_names[] = {
	"chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap",
	"linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw", "ipc_lock", "ipc_owner",
	"sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
	"sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write", "audit_control", "setfcap",
	"mac_override", "mac_admin", "syslog", "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf",
	"checkpoint_restore",
};
#define NCAP_NAMES ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

/*
 * A user or group: a number, else a name the system knows (setpriv looks
 * names up first; a number first keeps NSS, and its modules' stacks, out of
 * the common case: procbuilder runs on 16 KiB).
 */
static int parse_id(const char *s, bool group, uint32_t *ret)
{
	struct passwd *pw;
	struct group *gr;
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!errno && end != s && !*end && s[0] != '-' && v < PB_ID_UNCHANGED) {
		*ret = (uint32_t)v;
		return 0;
	}
	pw = group ? NULL : getpwnam(s);
	gr = group ? getgrnam(s) : NULL;
	if (!pw && !gr)
		return -1;
	*ret = pw ? pw->pw_uid : gr->gr_gid;
	return 0;
}

/* --groups 4,24,GROUP: at most 256, each a name or a number. */
static int parse_groups(struct pb_ids_opts *o, const char *list)
{
	char *copy = strdup(list), *save = NULL;
	int r = copy ? 0 : -1;

	free(o->groups);
	o->groups = calloc(256, sizeof(uint32_t));
	o->ngroups = 0;
	if (!o->groups)
		r = -1;
	for (char *t = r ? NULL : strtok_r(copy, ",", &save); t && r == 0; t = strtok_r(NULL, ",", &save))
		r = o->ngroups == 256 || parse_id(t, true, &o->groups[o->ngroups++]) < 0 ? -1 : 0;
	free(copy);
	return r;
}

/* The caller's set of this kind, as the list's starting point (setpriv edits the current set). */
static uint64_t current_set(int kind)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {0};
	uint64_t set = 0;

	if (kind == PB_OPT_INH_CAPS)
		return syscall(SYS_capget, &h, d) == 0 ? d[0].inheritable | (uint64_t)d[1].inheritable << 32 : 0;
	for (int i = 0; i < 64; i++) {
		int on = kind == PB_OPT_BOUNDING ? prctl(PR_CAPBSET_READ, i, 0, 0, 0)
						 : prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, i, 0, 0);
		if (on < 0)
			break;
		if (on == 1)
			set |= 1ull << i;
	}
	return set;
}

/* The capabilities this kernel has: "all". */
static uint64_t all_caps(void)
{
	uint64_t all = 0;

	for (int i = 0; i < 64 && prctl(PR_CAPBSET_READ, i, 0, 0, 0) >= 0; i++)
		all |= 1ull << i;
	return all;
}

/* "+net_raw,-all,...": applied in order to the current set. */
static int parse_caps(const char *list, int kind, uint64_t *ret)
{
	char *copy = strdup(list), *save = NULL;
	uint64_t set = current_set(kind);
	int r = copy ? 0 : -1;

	for (char *t = r ? NULL : strtok_r(copy, ",", &save); t && r == 0; t = strtok_r(NULL, ",", &save)) {
		const char *name = t + 1;
		uint64_t bits = 0;
		if ((t[0] != '+' && t[0] != '-') || !*name) {
			r = -1;
			break;
		}
		if (strncmp(name, "cap_", 4) == 0)
			name += 4;
		if (strcmp(name, "all") == 0)
			bits = all_caps();
		for (int i = 0; i < NCAP_NAMES && !bits; i++)
			if (strcmp(cap_names[i], name) == 0)
				bits = 1ull << i;
		if (!bits)
			r = -1;
		set = t[0] == '+' ? set | bits : set & ~bits;
	}
	free(copy);
	*ret = set;
	return r;
}

static const char *opt_name(int c)
{
	switch (c) {
	case PB_OPT_RUID: return "--ruid";
	case PB_OPT_EUID: return "--euid";
	case PB_OPT_REUID: return "--reuid";
	case PB_OPT_RGID: return "--rgid";
	case PB_OPT_EGID: return "--egid";
	case PB_OPT_REGID: return "--regid";
	case PB_OPT_INH_CAPS: return "--inh-caps";
	case PB_OPT_AMBIENT_CAPS: return "--ambient-caps";
	}
	return "--bounding-set";
}

static int parse_one_id(struct pb_ids_opts *o, int c, const char *arg, const char *cmd)
{
	bool group = c == PB_OPT_RGID || c == PB_OPT_EGID || c == PB_OPT_REGID;
	uint32_t id;

	if (parse_id(arg, group, &id) < 0) {
		pb_cli_error(cmd, "%s wants a %s name or number, not '%s'", opt_name(c), group ? "group" : "user", arg);
		return -1;
	}
	if (c == PB_OPT_RUID || c == PB_OPT_REUID)
		o->ruid = id, o->have_ruid = true;
	if (c == PB_OPT_EUID || c == PB_OPT_REUID)
		o->euid = id, o->have_euid = true;
	if (c == PB_OPT_RGID || c == PB_OPT_REGID)
		o->rgid = id, o->have_rgid = true;
	if (c == PB_OPT_EGID || c == PB_OPT_REGID)
		o->egid = id, o->have_egid = true;
	return 0;
}

int pb_ids_parse_opt(struct pb_ids_opts *o, int c, const char *arg, const char *cmd)
{
	uint64_t *set = c == PB_OPT_INH_CAPS ? &o->inh : c == PB_OPT_AMBIENT_CAPS ? &o->amb : &o->bnd;

	o->given = true;
	switch (c) {
	case PB_OPT_RUID: case PB_OPT_EUID: case PB_OPT_REUID: case PB_OPT_RGID: case PB_OPT_EGID: case PB_OPT_REGID:
		return parse_one_id(o, c, arg, cmd);
	case PB_OPT_CLEAR_GROUPS: case PB_OPT_KEEP_GROUPS: case PB_OPT_GROUPS:
		if (o->groups_mode && o->groups_mode != c) {
			pb_cli_error(cmd, "--clear-groups, --keep-groups and --groups exclude each other");
			return -1;
		}
		o->groups_mode = c;
		if (c == PB_OPT_GROUPS && parse_groups(o, arg) < 0) {
			pb_cli_error(cmd, "--groups wants at most 256 groups, names or numbers, comma-separated, not '%s'",
				     arg);
			return -1;
		}
		return 0;
	case PB_OPT_RESET_IDS:
		o->reset_ids = true;
		return 0;
	}
	if (parse_caps(arg, c, set) < 0) {
		pb_cli_error(cmd, "%s wants +CAP or -CAP, comma-separated (names as setpriv --list-caps prints them, "
			     "or all), not '%s'", opt_name(c), arg);
		return -1;
	}
	o->caps_given |= 1u << (c - PB_OPT_INH_CAPS);
	return 0;
}

int pb_ids_check(const struct pb_ids_opts *o, const char *cmd)
{
	if ((o->have_rgid || o->have_egid) && !o->groups_mode) {
		/* setpriv's rule: the groups must be said, or they would silently stay root's */
		pb_cli_error(cmd, "--[re]gid requires --keep-groups, --clear-groups, or --groups");
		return -1;
	}
	return 0;
}

static int said_for(const char *cmd, const char *opt, int r)
{
	if (r < 0)
		pb_cli_error(cmd, "%s: %s", opt, strerror(-r));
	return r;
}

int pb_ids_apply(const struct pb_ids_opts *o, struct pb_builder *b, const char *cmd)
{
	int r = 0;

	if (o->caps_given & 4)
		r = said_for(cmd, "--bounding-set", pb_set_cap_bounding(b, o->bnd));
	if (r == 0 && (o->caps_given & 1))
		r = said_for(cmd, "--inh-caps", pb_set_cap_inheritable(b, o->inh));
	if (r == 0 && (o->caps_given & 2))
		r = said_for(cmd, "--ambient-caps", pb_set_cap_ambient(b, o->amb));
	if (r == 0 && o->groups_mode != 0 && o->groups_mode != PB_OPT_KEEP_GROUPS)
		r = said_for(cmd, o->groups_mode == PB_OPT_GROUPS ? "--groups" : "--clear-groups",
			     pb_set_groups(b, o->groups, o->groups_mode == PB_OPT_GROUPS ? o->ngroups : 0));
	if (r == 0 && (o->have_rgid || o->have_egid))
		r = said_for(cmd, "--rgid/--egid", pb_set_gids(b, o->have_rgid ? o->rgid : PB_ID_UNCHANGED,
							       o->have_egid ? o->egid : PB_ID_UNCHANGED));
	if (r == 0 && (o->have_ruid || o->have_euid))
		r = said_for(cmd, "--ruid/--euid", pb_set_uids(b, o->have_ruid ? o->ruid : PB_ID_UNCHANGED,
							       o->have_euid ? o->euid : PB_ID_UNCHANGED));
	if (r == 0 && o->reset_ids)
		r = said_for(cmd, "--reset-ids", pb_set_resetids(b, 1));
	return r;
}

const char pb_ids_help[] =
	"      --ruid, --euid, --reuid USER   the real, effective or both uids (setpriv's;\n"
	"                            the saved one follows the effective one)\n"
	"      --rgid, --egid, --regid GROUP  the same for the gids; with one of:\n"
	"      --groups G,G,...      the supplementary groups (setpriv --groups)\n"
	"      --clear-groups        none (setpriv --clear-groups)\n"
	"      --keep-groups         ours (setpriv --keep-groups)\n"
	"      --reset-ids           effective ids back to the real ones (posix_spawn's\n"
	"                            POSIX_SPAWN_RESETIDS)\n"
	"      --inh-caps, --ambient-caps, --bounding-set -CAP,...  drop capabilities\n"
	"                            from those sets (setpriv's; -all, +CAP only for one\n"
	"                            we have); AT_SECURE, set-id bits and file capabilities\n"
	"                            then act as execve would under setpriv\n";
