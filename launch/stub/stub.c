/* SPDX-License-Identifier: MIT */
/*
 * The stub: the first program of every process procbuilder builds. It is
 * freestanding (no libc), runs on a stack in its own .bss, reports what the
 * kernel gave it, applies the plan it receives, and stops itself to be
 * finalized by its tracer. Exec'd in place (argv[1] is the plan memfd), it is
 * the caller's own process: it shifts the plan to where the kernel put it,
 * applies it the same way, and enters the program itself.
 * It never touches the SIMD registers (-mgeneral-regs-only), so the program
 * starts with the FPU state exec left.
 */
#include <linux/capability.h>
#include <linux/fcntl.h>
#include <linux/mman.h>
#include <linux/prctl.h>
#include <linux/uio.h>

#include "launch/gadget.h"
#include "launch/stub/stub.h"

#define AT_NULL 0
#define PAGE 4096ul
#define SOL_SOCKET 1
#define SCM_RIGHTS 1
#define MSG_CMSG_CLOEXEC 0x40000000

/* The kernel's struct msghdr and cmsghdr (uapi has no freestanding copy). */
struct k_msghdr {
	void *name;
	int namelen;
	struct iovec *iov;
	size_t iovlen;
	void *control;
	size_t controllen;
	unsigned flags;
};
struct k_cmsghdr {
	size_t len;
	int level, type;
};
#define K_CMSG_LEN(n) (sizeof(struct k_cmsghdr) + (n))

extern const char __ehdr_start[] __attribute__((visibility("hidden")));
extern const char _end[] __attribute__((visibility("hidden")));
extern const char stub_syscall_insn[] __attribute__((visibility("hidden")));
__attribute__((noreturn)) void stub_enter_vdso(uint64_t lo, uint64_t len, uint64_t frame, uint64_t gadget)
	__attribute__((visibility("hidden")));

/*
 * Our first act blocks every signal (rt_sigprocmask, the mask we came with
 * kept in stub_entry_mask): while the process is being built, nothing sent
 * to it or to its group may run or stop it in the middle. A traced process
 * enters a signal-delivery-stop even for an ignored signal, which the
 * builder would take for a failure; a blocked one stays pending, for the
 * program, as across execve. SIGSTOP and SIGKILL cannot be blocked: the
 * tracer takes a SIGSTOP (launch/stops.c). Spawned, the mask the program
 * starts with is set by the tracer (or restored here without one); in place
 * it is restored just before the program's entry, so what is pending then
 * acts as it would have on the program itself.
 */
__attribute__((used, visibility("hidden"))) const uint64_t stub_all_signals = ~0ull;
__attribute__((used, visibility("hidden"))) uint64_t stub_entry_mask;
uint32_t stub_nsys;

__asm__(".text\n"
	".globl _start\n"
	"_start:\n"
	"	mov $14, %eax\n" /* rt_sigprocmask(SIG_SETMASK, &all, &entry, 8) */
	"	mov $2, %edi\n"
	"	lea stub_all_signals(%rip), %rsi\n"
	"	lea stub_entry_mask(%rip), %rdx\n"
	"	mov $8, %r10d\n"
	"	syscall\n"
	/* out of the mmap area (vacate.c), then on in the moved copy: rsi how far, rdx its frame's low end */
	"	mov %rsp, %rbx\n"
	"	mov %rsp, %rdi\n"
	"	call stub_vacate\n"
	"	lea 1f(%rip), %rcx\n"
	"	add %rax, %rcx\n"
	"	jmp *%rcx\n"
	"1:	mov %rbx, %rdi\n"
	"	mov %rax, %rsi\n"
	"	lea stub_stack+65536(%rip), %rsp\n"
	"	call stub_main\n"
	"	hlt\n"
	/* in place: rdi, rsi the stub's image, rdx the frame below the entry rsp, rcx the vDSO's
	   "syscall; leave; xor...; ret": munmap returns into the vDSO, which pops the entry */
	".globl stub_enter_vdso\n"
	".hidden stub_enter_vdso\n"
	"stub_enter_vdso:\n"
	"	mov %rdx, %rbp\n"
	"	xor %ebx, %ebx\n"
	"	xor %edx, %edx\n"
	"	xor %r8d, %r8d\n"
	"	xor %r9d, %r9d\n"
	"	xor %r10d, %r10d\n"
	"	xor %r11d, %r11d\n"
	"	xor %r12d, %r12d\n"
	"	xor %r13d, %r13d\n"
	"	xor %r14d, %r14d\n"
	"	xor %r15d, %r15d\n"
	"	mov $11, %eax\n" /* munmap */
	"	jmp *%rcx\n"
	".globl stub_syscall_insn\n"
	".hidden stub_syscall_insn\n"
	"stub_syscall_insn:\n"
	"	syscall\n"
	"	hlt\n");

__attribute__((used, aligned(16))) char stub_stack[65536];

/*
 * The string instructions, not a loop the compiler would turn back into a
 * call to us; and fast (a zero step clears most of a page: a byte loop took
 * a microsecond and more of it).
 */
void *memset(void *d, int c, size_t n)
{
	void *p = d;

	__asm__ volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(c) : "memory");
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	void *p = d;

	__asm__ volatile("rep movsb" : "+D"(p), "+S"(s), "+c"(n) : : "memory");
	return d;
}

static __attribute__((noreturn)) void die(void)
{
	for (;;)
		sys3(__NR_exit_group, 127, 0, 0);
}

static struct pb_hello hello;
static struct pb_wire_step steps[64];
static int sock = PB_STUB_SOCK_FD; /* (or argv[1]'s "s<N>"); moves above the startup fds' numbers; -1 in place */
static uint32_t exe_set;	/* our exe is the program's file now (finish) */
static uint32_t leaves;		/* traced: we leave through the vDSO (leave_way) */
static long dumpable;		/* as the credentials left it, asked before a seccomp filter only for leave_way */
static int planfd_inplace = -1;	/* in place: errors are told on fd 2, from the plan's notes */
static uint64_t notes_off, ns_notes_off;

/*
 * In place: the plan's template windows and how far the kernel's real
 * layout is from them (all zero when spawned: nothing moves).
 */
static struct {
	uint64_t mlo, mhi, dm, slo, shi, ds;
	uint64_t sp0;		/* our own first sp */
} rel;

/* How far vacate.c moved the image at the start (0: not), and what that says of the layout. */
static uint64_t moved;
static uint64_t mmap_base;
static int bottom_up;

static uint64_t reloc(uint64_t a)
{
	if (a >= rel.slo && a <= rel.shi)
		return a + rel.ds;
	if (a >= rel.mlo && a <= rel.mhi)
		return a + rel.dm;
	return a;
}

/* Our own image, page aligned: what the last munmap removes. */
static uint64_t image_lo(void)
{
	return (uint64_t)__ehdr_start & ~(PAGE - 1);
}

static uint64_t image_hi(void)
{
	return ((uint64_t)_end + PAGE - 1) & ~(PAGE - 1);
}

static long send_msg(const void *buf, size_t len)
{
	long r;
	do
		r = sys6(__NR_sendto, sock, (long)buf, (long)len, 0, 0, 0);
	while (r == -EINTR);
	return r;
}

static char *put(char *p, char *end, const char *s)
{
	while (*s && p < end)
		*p++ = *s++;
	return p;
}

static const char *errno_text(long e)
{
	switch (e) {
	case 1: return "Operation not permitted";
	case 2: return "No such file or directory";
	case 5: return "Input/output error";
	case 9: return "Bad file descriptor";
	case 12: return "Cannot allocate memory";
	case 13: return "Permission denied";
	case 14: return "Bad address";
	case 17: return "File exists";
	case 22: return "Invalid argument";
	case 24: return "Too many open files";
	case 28: return "No space left on device";
	case 95: return "Operation not supported";
	}
	return "error";
}

/* (a switch, not a table: nothing relocates the stub's pointers) */
static const char *phase_text(int phase)
{
	switch (phase) {
	case PB_PHASE_RECV: return "apply: reading the plan";
	case PB_PHASE_MM: return "apply: PR_SET_MM_MAP";
	case PB_PHASE_NAME: return "apply: PR_SET_NAME";
	case PB_PHASE_FDS: return "apply: setting up fds";
	case PB_PHASE_LAYOUT: return "apply: the kernel's layout is not the template's";
	case PB_PHASE_CREDS: return "apply: setting the ids, groups and capabilities (the credentials execve gives the program)";
	case PB_PHASE_ATTRS: return "apply: setting the process attributes (setsid, rlimit, scheduling, nice, chdir, no_new_privs)";
	}
	return "apply";
}

static const char *ns_where_text(int where)
{
	switch (where) {
	case PB_NS_AT_UNSHARE: return "namespace: unshare";
	case PB_NS_AT_IDMAP: return "namespace: writing uid_map/gid_map";
	case PB_NS_AT_PRIVATE: return "namespace: making the mounts private";
	case PB_NS_AT_TMPFS: return "namespace: mounting the root tmpfs";
	case PB_NS_AT_PIVOT: return "namespace: pivot_root into the new root";
	case PB_NS_AT_CAPS: return "namespace: dropping capabilities";
	}
	return "namespace: reading the namespace ops";
}

/* The note the library wrote for this step or namespace op, into note; 0 if there is none. */
static int read_note(int phase, int step, char *note)
{
	uint64_t off;

	if (step < 0 || (phase != PB_PHASE_STEP && phase != PB_PHASE_NS))
		return 0;
	off = phase == PB_PHASE_STEP ? notes_off : ns_notes_off;
	if (!off || sys6(__NR_pread64, planfd_inplace, (long)note, PB_NOTE_LEN,
			 (long)(off + (uint64_t)step * PB_NOTE_LEN), 0, 0) != PB_NOTE_LEN)
		return 0;
	note[PB_NOTE_LEN - 1] = 0;
	return 1;
}

/*
 * In place there is nobody to report to: like the kernel past exec's point
 * of no return, the process ends, with one line naming what failed.
 */
static __attribute__((noreturn)) void fail_in_place(int phase, int step, long err)
{
	char line[PB_NOTE_LEN + 96], note[PB_NOTE_LEN], *p = line, *end = line + sizeof(line) - 1;

	p = put(p, end, "procbuilder: ");
	if (read_note(phase, step, note))
		p = put(p, end, note);
	else
		p = put(p, end, phase == PB_PHASE_NS ? ns_where_text(step) : phase_text(phase));
	p = put(p, end, ": ");
	p = put(p, end, err == -116 ? "the directory there is not the one the entry's fd names (moved or replaced)"
				     : errno_text(-err));
	*p++ = '\n';
	sys3(__NR_write, 2, line, p - line);
	for (;;)
		sys3(__NR_exit_group, 125, 0, 0);
}

static void report(int phase, int step, long err)
{
	struct pb_result res = {PB_PROTO_MAGIC, phase, step, (int32_t)err, stub_nsys + 1 /* this send */, exe_set,
				leaves, 0};

	if (planfd_inplace >= 0 && phase != PB_PHASE_OK)
		fail_in_place(phase, step, err);
	send_msg(&res, sizeof(res));
}

static const uint64_t *auxv_of(const uint64_t *sp0);

static void say_hello(uint64_t *sp0)
{
	const uint64_t *p = auxv_of(sp0);
	long fd, n;

	hello.magic = PB_PROTO_MAGIC;
	hello.pid = (int32_t)sys3(__NR_getpid, 0, 0, 0);
	hello.sp0 = (uint64_t)sp0;
	hello.stub_lo = image_lo();
	hello.stub_hi = image_hi();
	hello.syscall_insn = (uint64_t)stub_syscall_insn;
	hello.mmap_base = mmap_base;
	hello.bottom_up = (uint32_t)bottom_up;
	for (; p[0] != AT_NULL && hello.nauxv < 64; p += 2, hello.nauxv++) {
		hello.auxv[hello.nauxv][0] = p[0];
		hello.auxv[hello.nauxv][1] = p[1];
	}
	fd = sys3(__NR_open, "/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	while (fd >= 0 && hello.maps_len < sizeof(hello.maps)) {
		n = sys3(__NR_read, fd, hello.maps + hello.maps_len, sizeof(hello.maps) - hello.maps_len);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			break;
		hello.maps_len += (uint32_t)n;
	}
	if (fd >= 0)
		sys3(__NR_close, fd, 0, 0);
	if (send_msg(&hello, offsetof(struct pb_hello, maps) + hello.maps_len) < 0)
		die();
}

/* Receives the plan header and its fds (plan memfd first). */
static int recv_plan(struct pb_plan_hdr *hdr, int *fds)
{
	union {
		struct k_cmsghdr h;
		char buf[K_CMSG_LEN(sizeof(int) * (1 + PB_PLAN_MAX_FILES + PB_PLAN_MAX_FDS)) + 8];
	} cbuf;
	struct iovec iov = {hdr, sizeof(*hdr)};
	struct k_msghdr msg = {0, 0, &iov, 1, &cbuf, sizeof(cbuf), 0};
	long n;

	do
		n = sys3(__NR_recvmsg, sock, &msg, MSG_CMSG_CLOEXEC);
	while (n == -EINTR);
	if (n != sizeof(*hdr) || hdr->magic != PB_PROTO_MAGIC || hdr->nfiles > PB_PLAN_MAX_FILES ||
	    hdr->nfds > PB_PLAN_MAX_FDS)
		return n < 0 ? (int)n : -22;
	if (msg.controllen < K_CMSG_LEN(sizeof(int)) || cbuf.h.level != SOL_SOCKET ||
	    cbuf.h.type != SCM_RIGHTS || cbuf.h.len != K_CMSG_LEN(sizeof(int) * (1 + hdr->nfiles + hdr->nfds)))
		return -9;
	memcpy(fds, cbuf.buf + sizeof(struct k_cmsghdr), sizeof(int) * (1 + hdr->nfiles + hdr->nfds));
	return 0;
}

/* Every fd we hold goes to fd_high or above, out of the way of the startup fds' numbers. */
static int move_high(int *fds, unsigned n, int high)
{
	for (unsigned i = 0; i <= n; i++) {
		int *fd = i < n ? &fds[i] : &sock;
		long r;
		if (*fd >= high)
			continue;
		r = sys3(__NR_fcntl, *fd, F_DUPFD_CLOEXEC, high);
		if (r < 0)
			return (int)r;
		sys3(__NR_close, *fd, 0, 0);
		*fd = (int)r;
	}
	return 0;
}

/*
 * Ranges this plan mapped. MAP_FIXED may replace only these; anything else
 * is mapped with MAP_FIXED_NOREPLACE, so the stub never clobbers a mapping
 * it did not make.
 */
static struct { uint64_t lo, hi; } owned[256];
static unsigned nowned;

static int covered(uint64_t lo, uint64_t hi)
{
	for (int moved = 1; lo < hi && moved;) {
		moved = 0;
		for (unsigned i = 0; i < nowned; i++) {
			if (owned[i].lo <= lo && lo < owned[i].hi) {
				lo = owned[i].hi;
				moved = 1;
			}
		}
	}
	return lo >= hi;
}

static void own(uint64_t lo, uint64_t hi)
{
	if (nowned < 256) {
		owned[nowned].lo = lo;
		owned[nowned].hi = hi;
		nowned++;
	}
}

static long map(const struct pb_wire_step *s, long flags, long fd, long off)
{
	long r;

	flags |= MAP_PRIVATE | (covered(s->addr, s->addr + s->len) ? MAP_FIXED : MAP_FIXED_NOREPLACE);
	r = sys6(__NR_mmap, (long)s->addr, (long)s->len, s->prot, flags, fd, off);
	if (r < 0)
		return r;
	if ((uint64_t)r != s->addr) { /* a kernel without MAP_FIXED_NOREPLACE */
		sys3(__NR_munmap, r, s->len, 0);
		return -17;
	}
	own(s->addr, s->addr + s->len);
	return 0;
}

/*
 * The one mapping at from to [to, to + len), never over anything: a
 * placeholder there first (a hint: the kernel takes it only if it is free),
 * which the move replaces.
 */
static long move_mapping(uint64_t from, uint64_t len, uint64_t to)
{
	long r = sys6(__NR_mmap, (long)to, (long)len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (r >= 0 && (uint64_t)r != to) {
		sys3(__NR_munmap, r, len, 0);
		return -17;
	}
	if (r < 0)
		return r;
	r = sys6(__NR_mremap, (long)from, (long)len, (long)len, MREMAP_MAYMOVE | MREMAP_FIXED, (long)to, 0);
	if (r < 0)
		sys3(__NR_munmap, to, len, 0);
	return r < 0 ? r : 0;
}

/* Whether a step among the first n maps anything in [lo, hi). */
static int mapped_before(uint32_t n, uint64_t lo, uint64_t hi)
{
	for (uint32_t k = 0; k < n; k++) {
		uint64_t a = reloc(steps[k].addr);
		if (steps[k].kind != PB_WIRE_WRITE && steps[k].kind != PB_WIRE_ZERO &&
		    steps[k].kind != PB_WIRE_PROTECT && a < hi && a + steps[k].len > lo)
			return 1;
	}
	return 0;
}

/*
 * The MOVE step among the first nread that takes what is parked at `to`
 * (len long) on to its place, if that place may take it now: no earlier
 * step maps there, and it does not overlap where the piece is. Its index,
 * or -1.
 */
static int straight_move(uint32_t nread, uint64_t from, uint64_t to, uint64_t len)
{
	for (uint32_t j = 0; j < nread; j++) {
		uint64_t dst = reloc(steps[j].addr);
		if (steps[j].kind != PB_WIRE_MOVE || reloc(steps[j].off) != to || steps[j].len != len)
			continue;
		if ((dst < from + len && dst + len > from) || mapped_before(j, dst, dst + len))
			return -1;
		return (int)j;
	}
	return -1;
}

/*
 * The kernel's vDSO run, out of the mmap area before the plan fills it
 * (core/host.h). A piece whose MOVE step is in the first batch of steps
 * goes straight to that step's place where it is free, and the step is
 * then done (done[]): one move of the run instead of two, each about 8 us
 * here (a probe: mremap of a [vvar] run costs the same in one call or per
 * VMA). Where the place is taken, parked as planned.
 */
static int park_vdso(const struct pb_plan_hdr *hdr, uint32_t nread, uint8_t *done)
{
	for (uint32_t i = 0; i < hdr->npark && i < PB_PARK_MAX; i++) {
		uint64_t from = reloc(hdr->park[i].from), to = reloc(hdr->park[i].to), len = hdr->park[i].len;
		int j = straight_move(nread, from, to, len);
		long r = -1;

		if (j >= 0 && (r = move_mapping(from, len, reloc(steps[j].addr))) == 0)
			done[j] = 1;
		if (r < 0)
			r = move_mapping(from, len, to);
		if (r < 0) {
			report(PB_PHASE_LAYOUT, -1, r);
			return -1;
		}
	}
	return 0;
}

/* Steps first .. first + 64 (or fewer, to the last) into steps[]: how many, or 0 with the failure reported. */
static uint32_t read_steps(const struct pb_plan_hdr *hdr, int planfd, uint32_t first)
{
	uint32_t n = hdr->nsteps - first < 64 ? hdr->nsteps - first : 64;
	long r = sys6(__NR_pread64, planfd, (long)steps, (long)(n * sizeof(steps[0])),
		      (long)(hdr->steps_off + first * sizeof(steps[0])), 0, 0);

	if (r != (long)(n * sizeof(steps[0]))) {
		report(PB_PHASE_STEP, (int)first, r < 0 ? r : -5);
		return 0;
	}
	return n;
}

static long write_step(const struct pb_wire_step *s, long planfd, uint64_t data_off)
{
	uint64_t done = 0;
	long n;

	while (done < s->len) {
		n = sys6(__NR_pread64, planfd, (long)(s->addr + done), (long)(s->len - done),
			 (long)(data_off + s->off + done), 0, 0);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? n : -5;
		done += (uint64_t)n;
	}
	return 0;
}

/*
 * One fault at the lowest address extends a grows-down VMA down to it in one
 * go; dropping that page again leaves what setup_arg_pages leaves: the VMA's
 * extent, with nothing populated below the start message.
 */
static long grow_step(const struct pb_wire_step *s)
{
	uint64_t lo = s->addr & ~(PAGE - 1);

	(void)*(volatile char *)lo;
	return sys3(__NR_madvise, lo, PAGE, MADV_DONTNEED);
}

static long zero_step(const struct pb_wire_step *s)
{
	uint64_t page = s->addr & ~(PAGE - 1), end = (s->addr + s->len + PAGE - 1) & ~(PAGE - 1);
	int ro = s->prot && !(s->prot & PROT_WRITE);
	long r;

	if (ro && (r = sys3(__NR_mprotect, page, end - page, PROT_READ | PROT_WRITE)) < 0)
		return r;
	memset((void *)s->addr, 0, s->len);
	return ro ? sys3(__NR_mprotect, page, end - page, s->prot) : 0;
}

static long apply_step(const struct pb_wire_step *s, const int *fds, unsigned nfiles,
		       uint64_t data_off)
{
	long r;

	switch (s->kind) {
	case PB_WIRE_RESERVE:
		return map(s, MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	case PB_WIRE_RELEASE:
		if (!covered(s->addr, s->addr + s->len))
			return -1; /* EPERM: only what this plan reserved */
		return sys3(__NR_munmap, s->addr, s->len, 0);
	case PB_WIRE_UNMAP:
		return sys3(__NR_munmap, s->addr, s->len, 0);
	case PB_WIRE_MAP_FILE:
		if (s->file < 0 || (unsigned)s->file >= nfiles)
			return -9;
		return map(s, 0, fds[1 + s->file], (long)s->off);
	case PB_WIRE_MAP_ANON:
		return map(s, MAP_ANONYMOUS | (s->flags & PB_WIRE_GROWSDOWN ? MAP_GROWSDOWN | MAP_STACK : 0), -1, 0);
	case PB_WIRE_ZERO:
		return zero_step(s);
	case PB_WIRE_WRITE:
		return write_step(s, fds[0], data_off);
	case PB_WIRE_GROW:
		return grow_step(s);
	case PB_WIRE_MOVE:
		return move_mapping(s->off, s->len, s->addr);
	case PB_WIRE_PROTECT:
		r = s->prot | (s->flags & PB_WIRE_GROWSDOWN ? PROT_GROWSDOWN : 0);
		return sys3(__NR_mprotect, s->addr, s->len, r);
	}
	return -22;
}

/*
 * A step where it lands in this process: shifted with its window in place
 * (a reservation of the user's starts outside both windows, the placeholder
 * of an image inside one, like the image); the stub's start message is cleared
 * from our own first sp. False: nothing is left to do.
 */
static int place_step(struct pb_wire_step *s)
{
	s->addr = reloc(s->addr);
	if (s->kind == PB_WIRE_MOVE)
		s->off = reloc(s->off);
	if ((s->flags & PB_WIRE_FROM_SP0) && rel.sp0 > s->addr) {
		uint64_t skip = rel.sp0 - s->addr;
		if (skip >= s->len)
			return 0;
		s->addr += skip;
		s->len -= skip;
	}
	return 1;
}

static int apply_plan(const struct pb_plan_hdr *hdr, const int *fds)
{
	uint8_t done[64] = {0}; /* of the first batch: moved already by park_vdso */
	uint32_t nread = hdr->nsteps ? read_steps(hdr, fds[0], 0) : 0;

	if ((hdr->nsteps && !nread) || park_vdso(hdr, nread, done) < 0)
		return -1;
	for (uint32_t i = 0; i < hdr->nsteps; i++) {
		unsigned slot = i % 64;
		long r;
		if (slot == 0 && i > 0 && !read_steps(hdr, fds[0], i))
			return -1;
		if (i < 64 && done[i])
			continue;
		r = place_step(&steps[slot]) ? apply_step(&steps[slot], fds, hdr->nfiles, hdr->data_off) : 0;
		if (r == 0 && (steps[slot].flags & PB_WIRE_TRAMPOLINE) && hdr->in.rip) {
			char *page = (char *)steps[slot].addr;
			*(uint64_t *)(page + PB_TRAMPOLINE_SLOT_RSP) = reloc(hdr->in.rsp);
			*(uint64_t *)(page + PB_TRAMPOLINE_SLOT_ENTRY) = reloc(hdr->in.rip);
		}
		if (r < 0) {
			report(PB_PHASE_STEP, (int)i, r);
			return -1;
		}
	}
	return 0;
}

static uint64_t auxv_get(const uint64_t *auxv, uint64_t id);

/* PR_CAPBSET_DROP or PR_CAP_AMBIENT_LOWER for each capability in mask (low and high words). */
static long drop_each(const uint32_t mask[2], long option, long arg2)
{
	long r;

	for (long cap = 0; cap < 64; cap++) {
		if (!(mask[cap / 32] >> (cap % 32) & 1))
			continue;
		r = arg2 ? sys6(__NR_prctl, option, arg2, cap, 0, 0, 0) : sys6(__NR_prctl, option, cap, 0, 0, 0, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Only ever down from what the kernel gave us (launch/creds.c checked that
 * it is reachable so): the bounding set while we hold CAP_SETPCAP, groups,
 * gids and uids while we hold CAP_SETGID and CAP_SETUID (setpriv's and
 * glibc's order), then the capability sets the program's exec gives.
 */
static long set_creds(const struct pb_wire_creds *c, int *at)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {{c->eff[0], c->prm[0], c->inh[0]}, {c->eff[1], c->prm[1], c->inh[1]}};
	long r = 0;

	*at = PB_CREDS_AT_BOUNDING;
	if ((c->flags & PB_CREDS_BOUNDING) && (r = drop_each(c->bnd_drop, PR_CAPBSET_DROP, 0)) < 0)
		return r;
	*at = PB_CREDS_AT_GROUPS;
	if ((c->flags & PB_CREDS_GROUPS) && (r = sys3(__NR_setgroups, c->ngroups, c->groups, 0)) < 0)
		return r;
	*at = PB_CREDS_AT_GIDS;
	if ((c->flags & PB_CREDS_GIDS) && (r = sys3(__NR_setresgid, c->gid[0], c->gid[1], c->gid[2])) < 0)
		return r;
	*at = PB_CREDS_AT_UIDS;
	if (c->flags & PB_CREDS_UIDS) {
		sys3(__NR_prctl, PR_SET_KEEPCAPS, 1, 0); /* capset below decides what stays */
		r = sys3(__NR_setresuid, c->uid[0], c->uid[1], c->uid[2]);
		sys3(__NR_prctl, PR_SET_KEEPCAPS, 0, 0); /* exec clears it */
		if (r < 0)
			return r;
	}
	*at = PB_CREDS_AT_CAPS;
	if ((c->flags & PB_CREDS_CAPS) && (r = sys3(__NR_capset, &h, d, 0)) < 0)
		return r;
	*at = PB_CREDS_AT_AMBIENT;
	if (c->flags & PB_CREDS_CLEAR_AMBIENT)
		return sys6(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, 0);
	if (c->flags & PB_CREDS_AMBIENT)
		return drop_each(c->amb_drop, PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER);
	return 0;
}

/*
 * What exec does besides the ids: dumpable, a secure exec's resets (the
 * kernel did them for our own exec, before the plan set a parent-death
 * signal), personality.
 */
static void exec_side_effects(const struct pb_wire_creds *c, int secure)
{
	uint64_t lim[2];
	long per;

	if (c->dumpable >= 0)
		sys3(__NR_prctl, PR_SET_DUMPABLE, c->dumpable, 0);
	if (secure) {
		sys3(__NR_prctl, PR_SET_PDEATHSIG, 0, 0);
		if (sys6(__NR_prlimit64, 0, 3 /* RLIMIT_STACK */, 0, (long)lim, 0, 0) == 0 && lim[0] > (8ull << 20)) {
			lim[0] = 8ull << 20;
			sys6(__NR_prlimit64, 0, 3, (long)lim, 0, 0, 0);
		}
	}
	if (c->flags & PB_CREDS_RESTORE) {
		/* our own exec was secure and the program's is not: what it took, execve keeps */
		if (c->pdeathsig)
			sys3(__NR_prctl, PR_SET_PDEATHSIG, c->pdeathsig, 0);
		if (sys6(__NR_prlimit64, 0, 3 /* RLIMIT_STACK */, 0, (long)lim, 0, 0) == 0) {
			lim[0] = c->stack_cur < lim[1] ? c->stack_cur : lim[1];
			sys6(__NR_prlimit64, 0, 3, (long)lim, 0, 0, 0);
		}
	}
	per = c->per_clear ? sys3(__NR_personality, 0xffffffff, 0, 0) : 0;
	if (per > 0 && (per & c->per_clear))
		sys3(__NR_personality, per & ~(long)c->per_clear, 0, 0);
}

/* The program's auxv (at auxv) says who it is and whether to be careful; own is ours from the kernel. */
static void patch_auxv(const struct pb_wire_creds *c, uint64_t *auxv, const uint64_t *own)
{
	for (; auxv && auxv[0] != AT_NULL; auxv += 2) {
		switch (auxv[0]) {
		case 11: case 12: /* AT_UID AT_EUID */
			if (c->flags & PB_CREDS_UIDS)
				auxv[1] = c->uid[auxv[0] - 11];
			break;
		case 13: case 14: /* AT_GID AT_EGID */
			if (c->flags & PB_CREDS_GIDS)
				auxv[1] = c->gid[auxv[0] - 13];
			break;
		case 23: /* AT_SECURE */
			auxv[1] = c->secure || (!(c->flags & PB_CREDS_SECURE_EXACT) && auxv_get(own, 23));
			break;
		}
	}
}

/* What a launcher sets after fork and before exec, in posix_spawn's order; the step that failed in *at. */
static long set_attrs(const struct pb_wire_attrs *a, const int *files, int *at)
{
	long r = 0;

	*at = PB_ATTR_AT_SIGDEF;
	for (int sig = 1; (a->flags & PB_ATTR_SIGDEF) && sig <= 64; sig++) {
		uint64_t dfl[4] = {0, 0, 0, 0}; /* struct k_sigaction: SIG_DFL, no flags, no restorer, empty mask */
		if ((a->sigdefault >> (sig - 1) & 1) && (r = sys6(__NR_rt_sigaction, sig, (long)dfl, 0, 8, 0, 0)) < 0)
			return r;
	}
	*at = PB_ATTR_AT_SETSID;
	if ((a->flags & PB_ATTR_SETSID) && (r = sys3(__NR_setsid, 0, 0, 0)) < 0)
		return r;
	*at = PB_ATTR_AT_PGID;
	if ((a->flags & PB_ATTR_PGID) && (r = sys3(__NR_setpgid, 0, a->pgid, 0)) < 0)
		return r;
	*at = PB_ATTR_AT_FOREGROUND;
	if (a->flags & PB_ATTR_FOREGROUND) {
		/* every signal is blocked here, so a background group gets no SIGTTOU, as in posix_spawn's child */
		int pgrp = (int)sys3(__NR_getpgid, 0, 0, 0);
		if ((r = sys3(__NR_ioctl, files[a->fg_file], 0x5410 /* TIOCSPGRP */, &pgrp)) < 0)
			return r;
	}
	for (uint32_t i = 0; i < a->nrlimits && i < PB_ATTR_MAX_RLIMITS; i++) {
		*at = PB_ATTR_AT_RLIMIT + (int)i;
		r = sys6(__NR_prlimit64, 0, a->rlimits[i].resource, (long)&a->rlimits[i].cur, 0, 0, 0);
		if (r < 0)
			return r;
	}
	*at = PB_ATTR_AT_SCHED;
	if ((a->flags & PB_ATTR_SCHED) &&
	    (r = sys3(__NR_sched_setscheduler, 0, a->sched_policy, &a->sched_priority)) < 0)
		return r;
	if ((a->flags & PB_ATTR_SCHEDPARAM) && (r = sys3(__NR_sched_setparam, 0, &a->sched_priority, 0)) < 0)
		return r;
	*at = PB_ATTR_AT_NICE;
	if ((a->flags & PB_ATTR_NICE) && (r = sys3(__NR_setpriority, 0 /* PRIO_PROCESS */, 0, a->nice)) < 0)
		return r;
	*at = PB_ATTR_AT_AFFINITY;
	if ((a->flags & PB_ATTR_AFFINITY) && (r = sys3(__NR_sched_setaffinity, 0, sizeof(a->cpus), a->cpus)) < 0)
		return r;
	if (a->flags & PB_ATTR_UMASK)
		sys3(__NR_umask, a->umask, 0, 0);
	*at = PB_ATTR_AT_CWD;
	if ((a->flags & PB_ATTR_CWD) && (r = sys3(__NR_chdir, a->cwd, 0, 0)) < 0)
		return r;
	if ((a->flags & PB_ATTR_CWD_FD) && (r = sys3(__NR_fchdir, files[a->cwd_file], 0, 0)) < 0)
		return r;
	*at = PB_ATTR_AT_NNP;
	if ((a->flags & PB_ATTR_NNP) && (r = sys6(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0)) < 0)
		return r;
	*at = PB_ATTR_AT_PERSONALITY;
	if ((a->flags & PB_ATTR_PERSONALITY) && (r = sys3(__NR_personality, a->personality, 0, 0)) < 0)
		return r;
	return 0;
}

/* The seccomp filter, read from the plan before its fd is closed (BPF_MAXINSNS instructions of 8 bytes). */
static uint64_t seccomp_filter[PB_SECCOMP_MAX_INSNS];

static long read_seccomp(const struct pb_wire_attrs *a, int planfd)
{
	if (!(a->flags & PB_ATTR_SECCOMP))
		return 0;
	if (a->seccomp_len > sizeof(seccomp_filter) || a->seccomp_len % 8)
		return -22;
	return sys6(__NR_pread64, planfd, (long)seccomp_filter, a->seccomp_len, (long)a->seccomp_off, 0, 0) ==
			       (long)a->seccomp_len ? 0 : -5;
}

/* Our last act before the program: from here on, the filter judges every call. */
static long install_seccomp(const struct pb_wire_attrs *a)
{
	struct { unsigned short len; void *filter; } prog = {(unsigned short)(a->seccomp_len / 8), seccomp_filter};

	if (!(a->flags & PB_ATTR_SECCOMP))
		return 0;
	return sys3(__NR_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, &prog);
}

/* The plan memfd, its files and the startup fds' copies: after the attributes, which may use the files. */
static void close_plan_fds(const struct pb_plan_hdr *hdr, const int *fds)
{
	for (uint32_t i = 0; i < 1 + hdr->nfiles + hdr->nfds; i++)
		sys3(__NR_close, fds[i], 0, 0);
}

static int apply_creds(const struct pb_plan_hdr *hdr, const int *fds, uint64_t *auxv, const uint64_t *own)
{
	int at;
	long r = set_attrs(&hdr->attrs, fds + 1, &at);

	if (r < 0) {
		report(PB_PHASE_ATTRS, at, r);
		return -1;
	}
	r = set_creds(&hdr->creds, &at);
	if (r < 0) {
		report(PB_PHASE_CREDS, at, r);
		return -1;
	}
	exec_side_effects(&hdr->creds, hdr->creds.secure ||
				       (!(hdr->creds.flags & PB_CREDS_SECURE_EXACT) && auxv_get(own, 23)));
	patch_auxv(&hdr->creds, auxv, own);
	/* Landlock before seccomp: a filter may refuse the Landlock calls; after the ids, as setpriv's order */
	r = (hdr->attrs.flags & PB_ATTR_LANDLOCK) ? sys3(446 /* landlock_restrict_self */,
							 fds[1 + hdr->attrs.landlock_file], 0, 0) : 0;
	if (r < 0) {
		close_plan_fds(hdr, fds);
		report(PB_PHASE_ATTRS, PB_ATTR_AT_LANDLOCK, r);
		return -1;
	}
	if (hdr->leave.gadget) /* (a filter may refuse prctl) */
		dumpable = sys3(__NR_prctl, PR_GET_DUMPABLE, 0, 0);
	r = read_seccomp(&hdr->attrs, fds[0]);
	close_plan_fds(hdr, fds);
	if (r == 0)
		r = install_seccomp(&hdr->attrs);
	if (r < 0) {
		report(PB_PHASE_ATTRS, PB_ATTR_AT_SECCOMP, r);
		return -1;
	}
	return 0;
}

static int finish(const struct pb_plan_hdr *hdr, int *fds)
{
	long r;

	struct pb_wire_mm mm;

	/* with exe: /proc/PID/exe becomes the program (said in our report: the kernel's yes) */
	memcpy(&mm, &hdr->mm, sizeof(mm));
	mm.exe_fd = hdr->exe_in_mm && hdr->nfiles > 0 ? (uint32_t)fds[1] : (uint32_t)-1;
	r = sys6(__NR_prctl, PR_SET_MM, PR_SET_MM_MAP, (long)&mm, sizeof(mm), 0, 0);
	exe_set = r == 0 && mm.exe_fd != (uint32_t)-1;
	if (r < 0 && mm.exe_fd != (uint32_t)-1) {
		mm.exe_fd = (uint32_t)-1;
		r = sys6(__NR_prctl, PR_SET_MM, PR_SET_MM_MAP, (long)&mm, sizeof(mm), 0, 0);
	}
	if (r < 0) {
		report(PB_PHASE_MM, -1, r);
		return -1;
	}
	if (hdr->pdeathsig) {
		sys3(__NR_prctl, PR_SET_PDEATHSIG, hdr->pdeathsig, 0);
		if (sys3(__NR_getppid, 0, 0, 0) != hdr->ppid) /* it died before we asked */
			sys3(__NR_kill, sys3(__NR_getpid, 0, 0, 0), hdr->pdeathsig, 0);
	}
	r = sys3(__NR_prctl, PR_SET_NAME, hdr->comm, 0);
	if (r < 0) {
		report(PB_PHASE_NAME, -1, r);
		return -1;
	}
	if (hdr->ns_flags & PB_NS_ON) {
		int where = 0;
		r = stub_setup_ns(hdr, fds[0], &where);
		if (r < 0) {
			report(PB_PHASE_NS, where, r);
			return -1;
		}
	}
	/* the startup fds into place: dup3 clears CLOEXEC, as the program wants them */
	for (uint32_t i = 0; i < hdr->nfds; i++) {
		r = sys3(__NR_dup3, fds[1 + hdr->nfiles + i], hdr->fd_target[i], 0);
		if (r < 0) {
			report(PB_PHASE_FDS, (int)i, r);
			return -1;
		}
	}
	return 0;
}

static uint64_t auxv_get(const uint64_t *auxv, uint64_t id)
{
	for (; auxv[0] != AT_NULL; auxv += 2)
		if (auxv[0] == id)
			return auxv[1];
	return 0;
}

static const uint64_t *auxv_of(const uint64_t *sp0)
{
	const uint64_t *p = sp0 + 1 + sp0[0] + 1; /* past argc, argv, NULL */

	while (*p)
		p++;
	return p + 1;
}

/*
 * In place, the program's initial stack was written in template terms:
 * its pointers move with their windows, and what the kernel decided for
 * this exec (credentials, AT_SECURE, the CPU's) is taken from ours.
 */
static void fix_stack(uint64_t *sp, const uint64_t *own)
{
	uint64_t argc = sp[0], *p = sp + 1;

	for (uint64_t i = 0; i < argc; i++, p++)
		*p = reloc(*p);
	for (p++; *p; p++)
		*p = reloc(*p);
	for (p++; p[0] != AT_NULL; p += 2) {
		switch (p[0]) {
		case 3: case 7: case 9: case 15: case 24: case 25: case 31: case 33:
			/* AT_PHDR AT_BASE AT_ENTRY AT_PLATFORM AT_BASE_PLATFORM AT_RANDOM AT_EXECFN AT_SYSINFO_EHDR */
			p[1] = reloc(p[1]);
			break;
		case 6: case 11: case 12: case 13: case 14: case 16: case 17: case 23: case 26: case 51:
			/* AT_PAGESZ AT_UID AT_EUID AT_GID AT_EGID AT_HWCAP AT_CLKTCK AT_SECURE AT_HWCAP2 AT_MINSIGSTKSZ */
			p[1] = auxv_get(own, p[0]);
			break;
		}
	}
}

/* In place: from the plan memfd at planfd, with nobody to talk to. */
static __attribute__((noreturn)) void run_in_place(uint64_t *sp0, int planfd)
{
	static struct pb_plan_hdr hdr;
	static int fds[1 + PB_PLAN_MAX_FILES + PB_PLAN_MAX_FDS];
	static uint64_t own[2 * 64 + 2]; /* our auxv: the plan writes the program's stack over it */
	const uint64_t *kernel_auxv = auxv_of(sp0);
	uint64_t lo = image_lo(), hi = image_hi();
	uint64_t vdso, stack_end, rip, rsp;
	uint64_t *mm = &hdr.mm.start_code;

	for (unsigned i = 0; i < 2 * 64 && kernel_auxv[i] != AT_NULL; i += 2) {
		own[i] = kernel_auxv[i];
		own[i + 1] = kernel_auxv[i + 1];
	}
	vdso = auxv_get(own, 33);
	stack_end = (auxv_get(own, 31) | (PAGE - 1)) + 1; /* AT_EXECFN is in its top page */

	planfd_inplace = planfd;
	sock = -1;
	if (sys6(__NR_pread64, planfd, (long)&hdr, sizeof(hdr), 0, 0, 0) != sizeof(hdr) ||
	    hdr.magic != PB_PROTO_MAGIC || hdr.nfiles > PB_PLAN_MAX_FILES || hdr.nfds > PB_PLAN_MAX_FDS)
		fail_in_place(PB_PHASE_RECV, -1, -22);
	notes_off = hdr.in.notes_off;
	ns_notes_off = hdr.in.ns_notes_off;
	if (!moved) /* the template has the stub outside the mmap area (vacate.c) */
		fail_in_place(PB_PHASE_LAYOUT, -1, -22);
	rel.mlo = hdr.in.mmap_lo;
	rel.mhi = hdr.in.mmap_hi;
	rel.dm = lo - moved - hdr.in.stub_lo; /* where the kernel put us, before vacate.c */
	rel.slo = hdr.in.stack_lo;
	rel.shi = hdr.in.stack_hi;
	rel.ds = stack_end - hdr.in.stack_end;
	rel.sp0 = (uint64_t)sp0 & ~15ull;
	if (hdr.in.vdso && vdso != hdr.in.vdso + rel.dm)
		fail_in_place(PB_PHASE_LAYOUT, -1, -22);
	for (unsigned i = 0; i < 12; i++) /* start_code .. auxv */
		mm[i] = reloc(mm[i]);
	rip = reloc(hdr.in.rip);
	rsp = reloc(hdr.in.rsp);
	memcpy(fds, hdr.in.fds, sizeof(fds));
	if (apply_plan(&hdr, fds) < 0)
		die();
	fix_stack((uint64_t *)rsp, own);
	if (finish(&hdr, fds) < 0 || apply_creds(&hdr, fds, (uint64_t *)hdr.mm.auxv, own) < 0)
		die();
	/* what came while we were building acts now, as on the program (exec reset its handlers) */
	sys6(__NR_rt_sigprocmask, 2 /* SIG_SETMASK */, (long)&stub_entry_mask, 0, 8, 0, 0);
	vdso = auxv_get((const uint64_t *)hdr.mm.auxv, 33); /* the program's: the plan may have moved it */
	if (hdr.in.gadget && vdso && pb_is_vdso_gadget((const unsigned char *)(vdso + hdr.in.gadget), 64)) {
		uint64_t *frame = (uint64_t *)(rsp - 16); /* leave: rbp <- 0; ret: rip <- entry, rsp <- rsp */
		frame[0] = 0;
		frame[1] = rip;
		stub_enter_vdso(lo, hi - lo, (uint64_t)frame, vdso + hdr.in.gadget);
	}
	if (!hdr.tramp)
		fail_in_place(PB_PHASE_LAYOUT, -1, -22);
	__asm__ volatile("jmp *%2" : : "D"(lo), "S"(hi - lo), "r"(reloc(hdr.tramp)));
	__builtin_unreachable();
}

/*
 * Traced, the way out through the program's vDSO (struct pb_wire_leave):
 * its gadget's address, the frame to it written right below the entry sp;
 * 0: we wait to be stopped. Only where the frame lies in sp's own page
 * (nothing more faulted in or grown) and we are dumpable, so that our
 * tracer may clear it.
 */
static uint64_t leave_way(const struct pb_plan_hdr *hdr)
{
	const struct pb_wire_leave *l = &hdr->leave;
	uint64_t vdso = l->gadget ? auxv_get((const uint64_t *)hdr->mm.auxv, 33) : 0;
	uint64_t *frame = (uint64_t *)(l->sp - 16);

	if (!vdso || (l->sp & (PAGE - 1)) < 16 || !pb_is_vdso_gadget((const unsigned char *)(vdso + l->gadget), 64) ||
	    *(const unsigned char *)(vdso + l->trap) != 0xcc || dumpable != 1)
		return 0;
	frame[0] = 0; /* leave: rbp <- 0; ret: rip <- the int3, rsp <- sp */
	frame[1] = vdso + l->trap;
	return vdso + l->gadget;
}

int stub_parse_num(const char *s)
{
	int v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1 << 20)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/*
 * After vacate.c: the old image goes, and where it was says where the mmap
 * area starts (top-down: the vDSO lies below us; bottom-up: above).
 */
static void settle_layout(const uint64_t *sp0, uint64_t delta)
{
	uint64_t lo = image_lo(), hi = image_hi(), vdso = auxv_get(auxv_of(sp0), 33);

	moved = delta;
	if (delta)
		sys3(__NR_munmap, lo - delta, hi - lo, 0);
	bottom_up = vdso > lo;
	if (delta)
		mmap_base = bottom_up ? hi : lo;
	else
		mmap_base = bottom_up ? lo : hi;
}

__attribute__((used, noreturn)) void stub_main(uint64_t *sp0, uint64_t delta, uint64_t low);

void stub_main(uint64_t *sp0, uint64_t delta, uint64_t low)
{
	static struct pb_plan_hdr hdr;
	static int fds[1 + PB_PLAN_MAX_FILES + PB_PLAN_MAX_FDS];
	const char *arg = sp0[0] >= 2 ? (const char *)sp0[2] : "";
	uint64_t gadget = 0;
	int r;

	/* vacate.c's frame below our first sp goes: below its sp a program finds what execve leaves, zeros */
	memset((void *)low, 0, (uint64_t)sp0 - low);
	/* before anything else: as the installed helper, set exe and drop what the file gave */
	stub_exe_helper(sp0, (uint64_t *)auxv_of(sp0), image_lo(), image_hi());
	settle_layout(sp0, delta);
	r = stub_parse_num(arg);
	if (r >= 0) /* argv[1] is the plan memfd: exec'd in place */
		run_in_place(sp0, r);
	if (arg[0] == 's' && (r = stub_parse_num(arg + 1)) >= 0)
		sock = r; /* posix_spawn's: "s<N>", our socket left above the caller's fds (launch/spawn.c) */
	say_hello(sp0);
	r = recv_plan(&hdr, fds);
	if (r == 0)
		r = move_high(fds, 1 + hdr.nfiles + hdr.nfds, hdr.fd_high);
	if (r < 0) {
		report(PB_PHASE_RECV, -1, r);
		die();
	}
	if (apply_plan(&hdr, fds) < 0 || finish(&hdr, fds) < 0 ||
	    apply_creds(&hdr, fds, (uint64_t *)hdr.mm.auxv, &hello.auxv[0][0]) < 0)
		die();
	if (!hdr.tramp)
		gadget = leave_way(&hdr);
	leaves = gadget != 0;
	report(PB_PHASE_OK, -1, 0);
	if (hdr.tramp) {
		/* no tracer: wait for "go" (EOF: the builder is gone, and so are we) */
		char go;
		long n;
		do
			n = sys6(__NR_recvfrom, sock, (long)&go, 1, 0, 0, 0);
		while (n == -EINTR);
		if (n != 1)
			die();
		sys6(__NR_rt_sigprocmask, 2 /* SIG_SETMASK */, (long)&hdr.sigmask, 0, 8, 0, 0);
		sys3(__NR_close, sock, 0, 0);
		/* it unmaps [rdi, rdi + rsi): us */
		__asm__ volatile("jmp *%2" : : "D"(hello.stub_lo), "S"(hello.stub_hi - hello.stub_lo), "r"(hdr.tramp));
	}
	/*
	 * Traced: done, said on the socket. Out through the vDSO to its int3,
	 * where our tracer finds us stopped and sets the program's registers
	 * and mask; or we wait for it to stop us with PTRACE_INTERRUPT (a
	 * SIGSTOP of our own could merge with one sent to the group, and one
	 * of them would be lost) and unmap us.
	 */
	sys3(__NR_close, sock, 0, 0);
	if (gadget)
		stub_enter_vdso(hello.stub_lo, hello.stub_hi - hello.stub_lo, hdr.leave.sp - 16, gadget);
	for (;;)
		sys3(__NR_pause, 0, 0, 0); /* (every signal is blocked: only the tracer ends this) */
}
