/* SPDX-License-Identifier: MIT */
/*
 * DOC: who the program is. The ids, supplementary groups and capability
 * sets a launcher changes before the exec (setpriv's --ruid, --euid,
 * --rgid, --egid, --groups, --inh-caps, --ambient-caps, --bounding-set;
 * posix_spawn's RESETIDS). Each is checked when it is set against what the
 * stub will hold after its own exec (a plain file run by this process), as
 * setresuid(2), setgroups(2), capset(2) and PR_CAPBSET_DROP would check
 * it; capabilities are only ever dropped. The exec's credentials are then
 * computed from these (launch/creds.c), and the stub applies the result.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <linux/capability.h>

#include "launch/creds.h"
#include "launch/launch.h"

#define CAP(n) (1ull << (n))

static bool holds(const uint32_t ids[3], uint32_t id)
{
	return id == ids[0] || id == ids[1] || id == ids[2];
}

/* setresuid/setresgid's rule: each new id one we hold, or the capability. */
static int check_ids(uint32_t r, uint32_t e, bool gid)
{
	struct pb_exec_creds s;
	int rc = pb_stub_creds(&s);
	const uint32_t *ids = gid ? s.gid : s.uid;

	if (rc < 0)
		return rc;
	if (s.eff & CAP(gid ? CAP_SETGID : CAP_SETUID))
		return 0;
	if ((r != PB_ID_UNCHANGED && !holds(ids, r)) || (e != PB_ID_UNCHANGED && !holds(ids, e)))
		return -EPERM;
	return 0;
}

PB_API int pb_set_uids(struct pb_builder *b, uint32_t ruid, uint32_t euid)
{
	int r = check_ids(ruid, euid, false);

	if (r < 0)
		return r;
	b->ids.flags &= ~(PB_REQ_RUID | PB_REQ_EUID);
	b->ids.flags |= (ruid != PB_ID_UNCHANGED ? PB_REQ_RUID : 0) | (euid != PB_ID_UNCHANGED ? PB_REQ_EUID : 0);
	b->ids.ruid = ruid;
	b->ids.euid = euid;
	return 0;
}

PB_API int pb_set_gids(struct pb_builder *b, uint32_t rgid, uint32_t egid)
{
	int r = check_ids(rgid, egid, true);

	if (r < 0)
		return r;
	b->ids.flags &= ~(PB_REQ_RGID | PB_REQ_EGID);
	b->ids.flags |= (rgid != PB_ID_UNCHANGED ? PB_REQ_RGID : 0) | (egid != PB_ID_UNCHANGED ? PB_REQ_EGID : 0);
	b->ids.rgid = rgid;
	b->ids.egid = egid;
	return 0;
}

PB_API int pb_set_groups(struct pb_builder *b, const uint32_t *groups, size_t n)
{
	struct pb_exec_creds s;
	int r;

	if (n > PB_CREDS_MAX_GROUPS)
		return -E2BIG;
	if (n && !groups)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (groups[i] == PB_ID_UNCHANGED)
			return -EINVAL; /* (gid_t)-1 is no group: setgroups(2) says EINVAL */
	r = pb_stub_creds(&s);
	if (r < 0)
		return r;
	if (!(s.eff & CAP(CAP_SETGID)))
		return -EPERM;
	if (n)
		memcpy(b->ids.groups, groups, n * sizeof(groups[0]));
	b->ids.ngroups = (uint32_t)n;
	b->ids.flags |= PB_REQ_GROUPS;
	return 0;
}

PB_API int pb_set_resetids(struct pb_builder *b, int on)
{
	/* the real ids are ours: setting the effective ones to them needs nothing */
	b->ids.flags = on ? b->ids.flags | PB_REQ_RESETIDS : b->ids.flags & ~PB_REQ_RESETIDS;
	return 0;
}

/* which: PB_REQ_INH, _AMBIENT or _BOUNDING; caps must be a subset of ours (drop only). */
static int set_cap_set(struct pb_builder *b, uint32_t which, uint64_t caps)
{
	struct pb_exec_creds s;
	uint64_t inh, amb, bnd, now;
	int r = pb_self_cap_sets(&inh, &amb, &bnd);

	if (r < 0)
		return r;
	now = which == PB_REQ_INH ? inh : which == PB_REQ_AMBIENT ? amb : bnd;
	if (caps & ~now)
		return -EPERM; /* that would raise: we never give more */
	if (which == PB_REQ_BOUNDING && caps != bnd && ((r = pb_stub_creds(&s)) < 0 || !(s.eff & CAP(CAP_SETPCAP))))
		return r < 0 ? r : -EPERM; /* PR_CAPBSET_DROP needs CAP_SETPCAP */
	b->ids.flags |= which;
	*(which == PB_REQ_INH ? &b->ids.inh : which == PB_REQ_AMBIENT ? &b->ids.amb : &b->ids.bnd) = caps;
	return 0;
}

PB_API int pb_set_cap_inheritable(struct pb_builder *b, uint64_t caps)
{
	return set_cap_set(b, PB_REQ_INH, caps);
}

PB_API int pb_set_cap_ambient(struct pb_builder *b, uint64_t caps)
{
	return set_cap_set(b, PB_REQ_AMBIENT, caps);
}

PB_API int pb_set_cap_bounding(struct pb_builder *b, uint64_t caps)
{
	return set_cap_set(b, PB_REQ_BOUNDING, caps);
}

const struct pb_creds_request *pb_ids_request(struct pb_builder *b)
{
	b->ids.nnp = b->attrs.flags & PB_ATTR_NNP;
	b->ids.in_place = b->in_place;
	return &b->ids;
}
