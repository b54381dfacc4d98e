/* SPDX-License-Identifier: MIT */
/*
 * DOC: credentials. What execve of the program would give the process, by
 * the kernel's rules (fs/exec.c bprm_fill_uid, security/commoncap.c
 * cap_bprm_creds_from_file, as of 6.18): set-id bits unless nosuid or
 * no_new_privs, file capabilities, root's full set unless SECBIT_NOROOT,
 * the downgrade of an unsafe (traced, no_new_privs) exec, ambient cleared by
 * file caps or an id change, AT_SECURE, dumpability.
 *
 * The stub is exec'd as a plain file, so the kernel gives it that result for
 * a file without privileges. Where the program's result is reachable from
 * there by dropping (set an id to one the stub already holds, drop
 * capabilities, set AT_SECURE), the stub does it; where it needs raising, the
 * build is refused with a line that names the file and the privilege.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/securebits.h>

#include "launch/creds.h"

#define CAP(n) (1ull << (n))
#define PER_CLEAR_ON_SETID (READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE | ADDR_COMPAT_LAYOUT | MMAP_PAGE_ZERO)

static bool in_group(const struct pb_creds *c, uint32_t gid)
{
	if (gid == c->fsgid)
		return true;
	for (size_t i = 0; i < c->ngroups; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}

/* bprm_fill_uid: the set-id bits, unless the mount or no_new_privs says no. */
static bool fill_ids(const struct pb_creds *old, const struct pb_file_privs *f, struct pb_exec_creds *n)
{
	bool per_clear = false;

	if (f->nosuid || old->nnp)
		return false;
	if (f->mode & S_ISUID) {
		n->uid[1] = f->uid;
		per_clear = true;
	}
	if ((f->mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP)) {
		n->gid[1] = f->gid;
		per_clear = true;
	}
	return per_clear;
}

/* get_file_caps + handle_privileged_root: pP' before ambient, and whether pE' = pP'. */
static uint64_t file_permitted(const struct pb_creds *old, const struct pb_file_privs *f,
			       const struct pb_exec_creds *n, bool *effective, bool *refused)
{
	bool has_fcap = f->has_fcap && !f->nosuid;
	uint64_t prm = 0;

	*effective = false;
	if (has_fcap) {
		prm = (old->bnd & f->fcap_prm) | (old->inh & f->fcap_inh);
		*effective = f->fcap_eff;
		*refused = f->fcap_eff && (f->fcap_prm & ~prm); /* "insufficient to execute correctly" */
	}
	if (old->securebits & SECBIT_NOROOT)
		return prm;
	if (has_fcap && n->uid[1] == 0 && n->uid[0] != 0)
		return prm; /* set-user-ID root with file caps: the file caps alone */
	if (n->uid[1] == 0 || n->uid[0] == 0)
		prm = old->bnd | old->inh;
	if (n->uid[1] == 0)
		*effective = true;
	return prm;
}

void pb_exec_creds(const struct pb_creds *old, const struct pb_file_privs *f, struct pb_exec_creds *n)
{
	bool effective, id_changed, has_fcap = f->has_fcap && !f->nosuid;
	uint64_t gained;

	memset(n, 0, sizeof(*n));
	memcpy(n->uid, old->uid, sizeof(n->uid));
	memcpy(n->gid, old->gid, sizeof(n->gid));
	n->inh = old->inh;
	n->amb = old->amb;
	n->per_clear = fill_ids(old, f, n);
	n->prm = file_permitted(old, f, n, &effective, &n->refused);
	gained = n->prm & ~old->prm;
	n->per_clear |= gained != 0;
	id_changed = n->uid[1] != old->uid[1] || !in_group(old, n->gid[1]);
	if ((id_changed || gained) && (old->nnp || old->traced)) {
		/* the downgrade: no more than it had, and maybe less */
		if (!(old->eff & CAP(CAP_SETUID)) || old->nnp) {
			n->uid[1] = n->uid[0];
			n->gid[1] = n->gid[0];
		}
		n->prm &= old->prm;
	}
	n->uid[2] = n->uid[1];
	n->gid[2] = n->gid[1];
	if (has_fcap || id_changed)
		n->amb = 0;
	n->prm |= n->amb;
	n->eff = effective ? n->prm : n->amb;
	n->secure = id_changed || n->uid[1] != old->uid[0] || n->gid[1] != old->gid[0] ||
		    (n->uid[0] != 0 && (effective || (n->prm & ~n->amb)));
	n->suid_dumpable = n->uid[1] != n->uid[0] || n->gid[1] != n->gid[0];
}

/* vfs_cap_data v1/v2 (v3: for the root of another user namespace). */
static void parse_fcaps(const uint32_t *v, ssize_t len, struct pb_file_privs *f)
{
	uint32_t rev = v[0] & VFS_CAP_REVISION_MASK;

	if (len < 12 || (rev != VFS_CAP_REVISION_1 && len < 20))
		return;
	if (rev == VFS_CAP_REVISION_3 && len >= 24 && v[5] != 0) {
		/* as seen from here, its root is not ours: the kernel ignores it for us */
		f->fcap_v3_root = v[5];
		return;
	}
	if (rev != VFS_CAP_REVISION_1 && rev != VFS_CAP_REVISION_2 && rev != VFS_CAP_REVISION_3)
		return;
	f->has_fcap = true;
	f->fcap_eff = v[0] & VFS_CAP_FLAGS_EFFECTIVE;
	f->fcap_prm = v[1];
	f->fcap_inh = v[2];
	if (rev != VFS_CAP_REVISION_1) {
		f->fcap_prm |= (uint64_t)v[3] << 32;
		f->fcap_inh |= (uint64_t)v[4] << 32;
	}
}

int pb_file_privs_of(int fd, struct pb_file_privs *f)
{
	uint32_t v[6] = {0};
	struct statvfs sv;
	struct stat st;
	ssize_t len;

	memset(f, 0, sizeof(*f));
	if (fstat(fd, &st) < 0)
		return -errno;
	f->mode = st.st_mode;
	f->uid = st.st_uid;
	f->gid = st.st_gid;
	f->nosuid = fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_NOSUID);
	len = fgetxattr(fd, "security.capability", v, sizeof(v));
	if (len > 0)
		parse_fcaps(v, len, f);
	return 0;
}

bool pb_file_privs_matter(const struct pb_file_privs *f)
{
	return !f->nosuid && (f->has_fcap || (f->mode & S_ISUID) ||
			      (f->mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP));
}

/* The caller's ambient and bounding sets, by prctl (no /proc needed). */
static void read_amb_bnd(struct pb_creds *c)
{
	for (int i = 0; i < 64; i++) {
		int bnd = prctl(PR_CAPBSET_READ, i, 0, 0, 0);
		if (bnd < 0)
			break;
		if (bnd)
			c->bnd |= CAP(i);
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, i, 0, 0) == 1)
			c->amb |= CAP(i);
	}
}

bool pb_self_traced(void)
{
	char buf[1024], *p; /* TracerPid is in the first few hundred bytes */
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return true;
	buf[n] = 0;
	p = strstr(buf, "\nTracerPid:");
	return !p || strtol(p + 11, NULL, 10) != 0;
}

int pb_creds_of_self(struct pb_creds *c, gid_t **groups)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {0};
	int n;

	memset(c, 0, sizeof(*c));
	*groups = NULL;
	if (getresuid(&c->uid[0], &c->uid[1], &c->uid[2]) < 0 || getresgid(&c->gid[0], &c->gid[1], &c->gid[2]) < 0 ||
	    syscall(SYS_capget, &h, d) < 0)
		return -errno;
	c->fsgid = (uint32_t)setfsgid((gid_t)-1); /* an invalid id changes nothing and returns the current one */
	c->eff = d[0].effective | (uint64_t)d[1].effective << 32;
	c->prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	c->inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	read_amb_bnd(c);
	c->securebits = (uint32_t)prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	c->nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
	/* a traced caller: its tracer may follow the spawned child too, so both ways */
	c->traced = pb_self_traced();
	n = getgroups(0, NULL);
	if (n > 0) {
		*groups = calloc((size_t)n, sizeof(gid_t));
		if (!*groups)
			return -ENOMEM;
		n = getgroups(n, *groups);
		if (n < 0)
			return -errno;
	}
	c->groups = *groups;
	c->ngroups = n > 0 ? (size_t)n : 0;
	return 0;
}

static bool holds_id(const uint32_t held[3], uint32_t id)
{
	return id == held[0] || id == held[1] || id == held[2];
}

/* Whether stub's credentials reach want by dropping; if not, err names what would be raised. */
static int check_reachable(const struct pb_exec_creds *stub, const struct pb_exec_creds *want, const char *name,
			   struct pb_error *err)
{
	for (int i = 0; i < 3; i++)
		if (!holds_id(stub->uid, want->uid[i]) && !(stub->eff & CAP(CAP_SETUID)))
			return pb_err_set(err, "builder", PB_EACCES, 0,
					  "%s is set-user-ID (owner uid %u): execve would run it as that user, and "
					  "procbuilder cannot become it (not one of our uids, no CAP_SETUID)",
					  name, want->uid[i]);
	for (int i = 0; i < 3; i++)
		if (!holds_id(stub->gid, want->gid[i]) && !(stub->eff & CAP(CAP_SETGID)))
			return pb_err_set(err, "builder", PB_EACCES, 0,
					  "%s is set-group-ID (group %u): execve would run it with that group, and "
					  "procbuilder cannot take it (not our real or effective group, no CAP_SETGID)",
					  name, want->gid[i]);
	if (want->prm & ~stub->prm)
		return pb_err_set(err, "builder", PB_EACCES, 0,
				  "%s has file capabilities (0x%llx) that execve would grant and procbuilder does not hold",
				  name, (unsigned long long)(want->prm & ~stub->prm));
	return 0;
}

static void split(uint32_t out[2], uint64_t v)
{
	out[0] = (uint32_t)v;
	out[1] = (uint32_t)(v >> 32);
}

/* fs.suid_dumpable: 0, 1 or 2 (2 cannot be set by prctl: we give 0, less). */
static int suid_dumpable(void)
{
	char c = '0';
	int fd = open("/proc/sys/fs/suid_dumpable", O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && read(fd, &c, 1) != 1)
		c = '0';
	if (fd >= 0)
		close(fd);
	return c == '1' ? 1 : 0;
}

/* The changes from stub's credentials to want's, as the stub applies them. */
static void wire_creds(const struct pb_exec_creds *stub, const struct pb_exec_creds *want, struct pb_wire_creds *w)
{
	memset(w, 0, sizeof(*w));
	memcpy(w->uid, want->uid, sizeof(w->uid));
	memcpy(w->gid, want->gid, sizeof(w->gid));
	if (memcmp(stub->gid, want->gid, sizeof(want->gid)) != 0)
		w->flags |= PB_CREDS_GIDS;
	if (memcmp(stub->uid, want->uid, sizeof(want->uid)) != 0)
		w->flags |= PB_CREDS_UIDS;
	if ((w->flags & PB_CREDS_UIDS) || stub->eff != want->eff || stub->prm != want->prm || stub->inh != want->inh)
		w->flags |= PB_CREDS_CAPS;
	if (stub->amb && !want->amb)
		w->flags |= PB_CREDS_CLEAR_AMBIENT;
	if (want->secure)
		w->flags |= PB_CREDS_SECURE;
	split(w->eff, want->eff);
	split(w->prm, want->prm);
	split(w->inh, want->inh);
	/* set-id calls make the kernel set it from fs.suid_dumpable; exec's rule decides */
	w->dumpable = -1;
	if (want->suid_dumpable != stub->suid_dumpable || (w->flags & (PB_CREDS_UIDS | PB_CREDS_GIDS)))
		w->dumpable = want->suid_dumpable ? suid_dumpable() : 1;
	w->per_clear = want->per_clear ? PER_CLEAR_ON_SETID : 0;
	w->secure = want->secure;
}

static bool request_changes(const struct pb_creds_request *req)
{
	return req && (req->flags & (PB_REQ_RUID | PB_REQ_EUID | PB_REQ_RGID | PB_REQ_EGID | PB_REQ_GROUPS |
				     PB_REQ_RESETIDS | PB_REQ_INH | PB_REQ_AMBIENT | PB_REQ_BOUNDING));
}

/* cap_emulate_setxuid: what setresuid does to the capability sets. */
static void setxuid_caps(struct pb_creds *c, const uint32_t old[3])
{
	bool was_root = old[0] == 0 || old[1] == 0 || old[2] == 0;

	if (c->securebits & SECBIT_NO_SETUID_FIXUP)
		return;
	if (was_root && c->uid[0] && c->uid[1] && c->uid[2]) {
		if (!(c->securebits & SECBIT_KEEP_CAPS))
			c->prm = c->eff = 0;
		c->amb = 0; /* "setresuid to nonroot followed by exec drops capabilities" */
	}
	if (old[1] == 0 && c->uid[1] != 0)
		c->eff = 0;
	if (old[1] != 0 && c->uid[1] == 0)
		c->eff = c->prm;
}

/* setresXid(r or -1, e or -1, e or -1) as setpriv does, then resetids' setresXid(-1, r, -1). */
static void set_ids(uint32_t ids[3], uint32_t flags, uint32_t r, uint32_t e, uint32_t fr, uint32_t fe)
{
	if (flags & fr)
		ids[0] = r;
	if (flags & fe)
		ids[1] = e;
	if (flags & (fr | fe))
		ids[2] = ids[1];
	if (flags & PB_REQ_RESETIDS)
		ids[1] = ids[0];
}

void pb_creds_apply_request(struct pb_creds *c, const struct pb_creds_request *req)
{
	uint32_t old[3];

	if (req->flags & PB_REQ_BOUNDING)
		c->bnd = req->bnd;
	if (req->flags & PB_REQ_INH)
		c->inh = req->inh;
	c->amb &= c->inh & c->prm; /* the kernel keeps ambient within both */
	if (req->flags & PB_REQ_AMBIENT)
		c->amb &= req->amb;
	if (req->flags & PB_REQ_GROUPS) {
		c->groups = req->groups;
		c->ngroups = req->ngroups;
	}
	set_ids(c->gid, req->flags, req->rgid, req->egid, PB_REQ_RGID, PB_REQ_EGID);
	c->fsgid = c->gid[1];
	memcpy(old, c->uid, sizeof(old));
	set_ids(c->uid, req->flags, req->ruid, req->euid, PB_REQ_RUID, PB_REQ_EUID);
	setxuid_caps(c, old);
}

int pb_self_cap_sets(uint64_t *inh, uint64_t *amb, uint64_t *bnd)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {0};
	struct pb_creds c = {0};

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	read_amb_bnd(&c);
	*inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	*amb = c.amb;
	*bnd = c.bnd;
	return 0;
}

int pb_stub_creds(struct pb_exec_creds *out)
{
	static const struct pb_file_privs plain = {.mode = S_IFREG | 0755};
	struct pb_creds self;
	gid_t *groups = NULL;
	int r = pb_creds_of_self(&self, &groups);

	if (r == 0)
		pb_exec_creds(&self, &plain, out);
	free(groups);
	return r;
}

/* What the request itself asks of the stub beyond ids and caps: CAP_SETGID for groups, CAP_SETPCAP for the bounding set. */
static int check_request(const struct pb_exec_creds *stub, const struct pb_creds *self,
			 const struct pb_creds_request *req, struct pb_error *err)
{
	if ((req->flags & PB_REQ_GROUPS) && !(stub->eff & CAP(CAP_SETGID)))
		return pb_err_set(err, "builder", PB_EACCES, EPERM,
				  "setting the supplementary groups needs CAP_SETGID: Operation not permitted");
	if ((req->flags & PB_REQ_BOUNDING) && (self->bnd & ~req->bnd) && !(stub->eff & CAP(CAP_SETPCAP)))
		return pb_err_set(err, "builder", PB_EACCES, EPERM,
				  "dropping from the capability bounding set needs CAP_SETPCAP: Operation not permitted");
	return 0;
}

/* The request's own parts of the wire: groups, drops, and what the stub's secure exec took that execve keeps. */
static void wire_request(const struct pb_exec_creds *stub, const struct pb_exec_creds *want, const struct pb_creds *self,
			 const struct pb_creds *pre, const struct pb_creds_request *req, struct pb_wire_creds *w)
{
	struct rlimit rl;
	int sig = 0;

	if (req->flags & PB_REQ_GROUPS) {
		w->flags |= PB_CREDS_GROUPS;
		w->ngroups = req->ngroups;
		memcpy(w->groups, req->groups, req->ngroups * sizeof(req->groups[0]));
	}
	if (self->bnd & ~pre->bnd) {
		w->flags |= PB_CREDS_BOUNDING;
		split(w->bnd_drop, self->bnd & ~pre->bnd);
	}
	if (stub->amb & ~want->amb) {
		w->flags |= PB_CREDS_AMBIENT;
		split(w->amb_drop, stub->amb & ~want->amb);
	}
	/* the kernel's AT_SECURE for the stub says nothing of the program's: ours is exact */
	w->flags |= PB_CREDS_SECURE_EXACT;
	if (stub->secure && !want->secure) {
		w->flags |= PB_CREDS_RESTORE;
		if (req->in_place)
			prctl(PR_GET_PDEATHSIG, &sig);
		w->pdeathsig = sig;
		w->stack_cur = getrlimit(RLIMIT_STACK, &rl) == 0 ? rl.rlim_cur : RLIM_INFINITY;
	}
}

int pb_creds_plan(int fd, const char *name, const struct pb_creds_request *req, struct pb_wire_creds *out,
		  struct pb_error *err)
{
	static const struct pb_file_privs plain = {.mode = S_IFREG | 0755};
	struct pb_exec_creds stub, want;
	struct pb_file_privs f;
	struct pb_creds self, pre;
	gid_t *groups = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	out->dumpable = -1;
	r = pb_file_privs_of(fd, &f);
	if (r < 0)
		return pb_err_sys(err, "builder", r, "reading the privileges of %s", name);
	if (!pb_file_privs_matter(&f) && !request_changes(req))
		return 0; /* what the stub's own exec gave it is what this exec gives */
	r = pb_creds_of_self(&self, &groups);
	if (r < 0) {
		free(groups);
		return pb_err_sys(err, "builder", r, "reading our credentials");
	}
	pb_exec_creds(&self, &plain, &stub);
	/* set before the exec, as a launcher would: no set-id, no file caps */
	self.nnp |= req->nnp;
	pre = self;
	pb_creds_apply_request(&pre, req);
	pb_exec_creds(&pre, &f, &want);
	if (want.refused)
		r = pb_err_set(err, "builder", PB_EACCES, EPERM,
			       "%s: its file capabilities (0x%llx, effective) exceed what this process may have; "
			       "execve refuses it too: Operation not permitted",
			       name, (unsigned long long)f.fcap_prm);
	else
		r = check_request(&stub, &self, req, err);
	if (r == 0)
		r = check_reachable(&stub, &want, name, err);
	if (r == 0)
		wire_creds(&stub, &want, out);
	if (r == 0 && request_changes(req))
		wire_request(&stub, &want, &self, &pre, req, out);
	free(groups);
	return r;
}

void pb_creds_explain(const struct pb_creds_request *req, int step, int e, struct pb_error *err)
{
	static const char *const what[] = {"dropping from the capability bounding set", "setgroups", "setresgid",
					   "setresuid", "capset", "lowering ambient capabilities"};
	const char *w = step >= 0 && step <= PB_CREDS_AT_AMBIENT ? what[step] : "setting the credentials";

	(void)req;
	pb_err_set(err, "apply", e == EACCES || e == EPERM ? PB_EACCES : PB_ESYS, e,
		   "%s (the credentials execve gives the program): %s", w, strerror(e));
}
