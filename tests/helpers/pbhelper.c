/* SPDX-License-Identifier: MIT */
/*
 * pbhelper: a program that reports what it sees, built static (glibc),
 * static-pie (glibc) and static (musl). Started by execve and by procbuilder,
 * its reports must be identical: nothing here prints a value the kernel
 * randomizes.
 *
 *   pbhelper report [ARGS...]   one JSON field per line on stdout
 *   pbhelper exit N             exit with status N
 *   pbhelper echo               copy stdin to stdout
 *   pbhelper sleep              wait for a signal (default action)
 *   pbhelper kill SIG           kill itself with SIG
 *   pbhelper listen             socket activation: accept one connection on
 *                               fd 3 (LISTEN_PID must be ours), echo a line
 *   pbhelper state              the process attributes execve keeps or resets:
 *                               ids on the first line, the rest comparable
 *   pbhelper siginfo SIG        waits for SIG and prints its si_code, si_pid, value
 *   pbhelper traceme SIG [h]    PTRACE_TRACEME, then raise(SIG) (h: with a handler
 *                               printing "handled SIG"); prints "after SIG"
 *   pbhelper maps               its mappings as "perms name", sorted (no addresses)
 *   pbhelper attrs              cwd, umask, nice, session, no_new_privs, two rlimits
 *   pbhelper creds              AT_SECURE, ids, capabilities, dumpable, pdeathsig,
 *                               RLIMIT_STACK: what exec decides about privilege
 *   pbhelper ids                AT_SECURE, the auxv's ids, dumpable and the Uid, Gid,
 *                               Groups, Cap* and NoNewPrivs lines of /proc/self/status
 *   pbhelper count              counts SIGINT and SIGRTMIN+1; reads lines from
 *                               stdin: k = kill(0, SIGRTMIN+1), p = print the
 *                               counts, q = print them and exit
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <stddef.h>
#include <sys/auxv.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Registers at the very first instruction, saved before libc's _start runs. */
struct entry_state {
	uint64_t gpr[15];	/* rax rbx rcx rdx rsi rdi rbp r8..r15 */
	uint64_t rsp, rflags;
	uint32_t mxcsr;
	uint16_t fcw, pad;
	uint64_t fs_base;
	uint8_t xmm[16][16];
};
__attribute__((used)) struct entry_state entry_state;

__asm__(".text\n"
	".globl helper_entry\n"
	"helper_entry:\n"
	"	mov %rax, entry_state+0(%rip)\n"
	"	mov %rbx, entry_state+8(%rip)\n"
	"	mov %rcx, entry_state+16(%rip)\n"
	"	mov %rdx, entry_state+24(%rip)\n"
	"	mov %rsi, entry_state+32(%rip)\n"
	"	mov %rdi, entry_state+40(%rip)\n"
	"	mov %rbp, entry_state+48(%rip)\n"
	"	mov %r8, entry_state+56(%rip)\n"
	"	mov %r9, entry_state+64(%rip)\n"
	"	mov %r10, entry_state+72(%rip)\n"
	"	mov %r11, entry_state+80(%rip)\n"
	"	mov %r12, entry_state+88(%rip)\n"
	"	mov %r13, entry_state+96(%rip)\n"
	"	mov %r14, entry_state+104(%rip)\n"
	"	mov %r15, entry_state+112(%rip)\n"
	"	mov %rsp, entry_state+120(%rip)\n"
	"	pushfq\n"
	"	popq entry_state+128(%rip)\n"
	"	stmxcsr entry_state+136(%rip)\n"
	"	fnstcw entry_state+140(%rip)\n"
	"	movdqu %xmm0, entry_state+152(%rip)\n"
	"	movdqu %xmm1, entry_state+168(%rip)\n"
	"	movdqu %xmm2, entry_state+184(%rip)\n"
	"	movdqu %xmm3, entry_state+200(%rip)\n"
	"	movdqu %xmm4, entry_state+216(%rip)\n"
	"	movdqu %xmm5, entry_state+232(%rip)\n"
	"	movdqu %xmm6, entry_state+248(%rip)\n"
	"	movdqu %xmm7, entry_state+264(%rip)\n"
	"	movdqu %xmm8, entry_state+280(%rip)\n"
	"	movdqu %xmm9, entry_state+296(%rip)\n"
	"	movdqu %xmm10, entry_state+312(%rip)\n"
	"	movdqu %xmm11, entry_state+328(%rip)\n"
	"	movdqu %xmm12, entry_state+344(%rip)\n"
	"	movdqu %xmm13, entry_state+360(%rip)\n"
	"	movdqu %xmm14, entry_state+376(%rip)\n"
	"	movdqu %xmm15, entry_state+392(%rip)\n"
	"	mov $158, %eax\n"		/* arch_prctl(ARCH_GET_FS, &fs_base) */
	"	mov $0x1003, %edi\n"
	"	lea entry_state+144(%rip), %rsi\n"
	"	syscall\n"
	"	mov entry_state+0(%rip), %rax\n"
	"	mov entry_state+16(%rip), %rcx\n"
	"	mov entry_state+32(%rip), %rsi\n"
	"	mov entry_state+40(%rip), %rdi\n"
	"	mov entry_state+80(%rip), %r11\n"
	"	jmp _start\n");

extern const unsigned int __rseq_size __attribute__((weak));

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_strv(const char *key, char **v, size_t n)
{
	printf("\"%s\": [", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			putchar(',');
		json_str(v[i]);
	}
	printf("],\n");
}

/* Reads up to cap - 1 bytes and NUL-terminates them. */
static size_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	buf[0] = 0;
	if (fd < 0)
		return 0;
	while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	close(fd);
	return len;
}

/* NUL-separated strings in buf equal to v[0..n)? */
static int nul_list_equals(const char *buf, size_t len, char **v, size_t n)
{
	size_t off = 0;

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(v[i]) + 1;
		if (off + l > len || memcmp(buf + off, v[i], l) != 0)
			return 0;
		off += l;
	}
	return off == len;
}

static char g_buf[1 << 20];

static void report_fds(void)
{
	printf("\"fds\": [");
	for (int fd = 0, first = 1; fd < 1024; fd++) {
		if (fcntl(fd, F_GETFD) < 0)
			continue;
		printf("%s%d", first ? "" : ",", fd);
		first = 0;
	}
	printf("],\n");
}

static void report_signals(void)
{
	char disp[65];
	sigset_t mask;
	stack_t ss;

	for (int sig = 1; sig <= 64; sig++) {
		struct sigaction sa;
		char c = '-';
		if (sigaction(sig, NULL, &sa) == 0) {
			int clean = sa.sa_flags == 0;
			for (int s = 1; s <= 64 && clean; s++)
				clean = !sigismember(&sa.sa_mask, s) || s == 32 || s == 33;
			c = sa.sa_handler == SIG_DFL ? 'D' : sa.sa_handler == SIG_IGN ? 'I' : 'H';
			if (!clean && c != 'H')
				c = c == 'D' ? 'd' : 'i';
		}
		disp[sig - 1] = c;
	}
	disp[64] = 0;
	sigprocmask(SIG_SETMASK, NULL, &mask);
	printf("\"sigdisp\": \"%s\",\n", disp);
	printf("\"sigmask\": \"");
	for (int sig = 1; sig <= 64; sig++)
		putchar(sigismember(&mask, sig) == 1 ? '1' : '0');
	printf("\",\n");
	sigaltstack(NULL, &ss);
	printf("\"sigaltstack_disabled\": %s,\n", ss.ss_flags & SS_DISABLE ? "true" : "false");
}

/* The registers execve leaves: every GPR zero but rsp, rflags 0x202, FPU at init. */
static void report_entry(void)
{
	static const uint8_t zero[16];
	int gprs_zero = 1, xmm_zero = 1;

	/* Behind an interpreter, _start sees ld.so's registers (flags depend on random addresses). */
	if (getauxval(AT_BASE)) {
		printf("\"entry\": \"after the interpreter\",\n");
		return;
	}
	for (int i = 0; i < 15; i++)
		gprs_zero &= entry_state.gpr[i] == 0;
	for (int i = 0; i < 16; i++)
		xmm_zero &= memcmp(entry_state.xmm[i], zero, 16) == 0;
	printf("\"entry_gprs_zero\": %s,\n", gprs_zero ? "true" : "false");
	printf("\"entry_rflags\": \"0x%llx\",\n", (unsigned long long)entry_state.rflags);
	printf("\"entry_rsp_mod16\": %llu,\n", (unsigned long long)(entry_state.rsp % 16));
	printf("\"entry_mxcsr\": \"0x%x\",\n", entry_state.mxcsr);
	printf("\"entry_fcw\": \"0x%x\",\n", entry_state.fcw);
	/* ld.so sets up TLS before a dynamic program's entry: only zero or not is comparable */
	printf("\"entry_fs_base\": \"%s\",\n", entry_state.fs_base ? "set" : "0x0");
	printf("\"entry_xmm_zero\": %s,\n", xmm_zero ? "true" : "false");
}

static const char *layout_problem(uint64_t *sp, uint64_t *auxv, size_t nauxv, char **argv,
				  int argc, char **envp, int envc)
{
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	const char *platform = (const char *)getauxval(AT_PLATFORM);
	const char *random = (const char *)getauxval(AT_RANDOM);
	uint64_t top = (uint64_t)execfn + strlen(execfn) + 1 + 8, auxv_end = (uint64_t)(auxv + 2 * nauxv);
	const char *p;
	unsigned long long arg_start = 0;
	char *f;

	if (top % 4096)
		return "stack top is not a page boundary after AT_EXECFN";
	if (*(uint64_t *)(top - 8) != 0)
		return "top 8 bytes are not zero";
	p = execfn;
	for (int i = envc; i-- > 0;) {
		p -= strlen(envp[i]) + 1;
		if (p != envp[i])
			return "env strings are not contiguous below AT_EXECFN";
	}
	for (int i = argc; i-- > 0;) {
		p -= strlen(argv[i]) + 1;
		if (p != argv[i])
			return "arg strings are not contiguous below the env strings";
	}
	if (strcmp(platform, "x86_64") != 0 || platform != random + 16)
		return "AT_PLATFORM is not \"x86_64\" right above the AT_RANDOM bytes";
	if ((uint64_t)random < auxv_end || (uint64_t)random - auxv_end >= 16)
		return "the pad between auxv and AT_RANDOM is not under 16 bytes";
	if ((uint64_t)sp % 16 || sp[0] != (uint64_t)argc)
		return "rsp is not 16-aligned on argc";
	/* /proc/self/stat field 48 is arg_start */
	read_file("/proc/self/stat", g_buf, sizeof(g_buf) - 1);
	f = strrchr(g_buf, ')');
	for (int field = 2; f && field < 48; field++)
		f = strchr(f + 1, ' ');
	if (!f || sscanf(f + 1, "%llu", &arg_start) != 1 || arg_start != (uint64_t)argv[0])
		return "arg_start in /proc/self/stat is not argv[0]";
	return "";
}

/* The size of the [stack] VMA: the kernel makes it the string pages plus 128 KiB. */
static unsigned long stack_vma_kib(void)
{
	size_t len = read_file("/proc/self/maps", g_buf, sizeof(g_buf) - 1);
	unsigned long long lo, hi;
	char *line;

	g_buf[len] = 0;
	for (line = strtok(g_buf, "\n"); line; line = strtok(NULL, "\n"))
		if (strstr(line, "[stack]") && sscanf(line, "%llx-%llx", &lo, &hi) == 2)
			return (unsigned long)((hi - lo) / 1024);
	return 0;
}

static int report(void)
{
	uint64_t *sp = (uint64_t *)entry_state.rsp, *auxv;
	int argc = (int)sp[0], envc = 0;
	char **argv = (char **)(sp + 1), **envp = argv + argc + 1;
	size_t nauxv = 0, len;
	char path[4096];
	ssize_t n;

	while (envp[envc])
		envc++;
	auxv = (uint64_t *)(envp + envc + 1);
	while (auxv[2 * nauxv] != AT_NULL)
		nauxv++;
	nauxv++; /* AT_NULL */
	printf("{\n");
	json_strv("argv", argv, (size_t)argc);
	json_strv("envp", envp, (size_t)envc);
	printf("\"auxv_keys\": [");
	for (size_t i = 0; i < nauxv; i++)
		printf("%s%llu", i ? "," : "", (unsigned long long)auxv[2 * i]);
	printf("],\n");
	len = read_file("/proc/self/auxv", g_buf, sizeof(g_buf));
	printf("\"proc_auxv_matches\": %s,\n",
	       len >= nauxv * 16 && memcmp(g_buf, auxv, nauxv * 16) == 0 ? "true" : "false");
	printf("\"at_execfn\": ");
	json_str((const char *)getauxval(AT_EXECFN));
	printf(",\n\"at_secure\": %lu,\n\"at_base_set\": %s,\n\"at_flags\": %lu,\n", getauxval(AT_SECURE),
	       getauxval(AT_BASE) ? "true" : "false", getauxval(AT_FLAGS));
	printf("\"at_entry_ok\": %s,\n", getauxval(AT_ENTRY) != 0 ? "true" : "false");
	len = read_file("/proc/self/cmdline", g_buf, sizeof(g_buf));
	printf("\"cmdline_matches\": %s,\n", nul_list_equals(g_buf, len, argv, (size_t)argc) ? "true" : "false");
	len = read_file("/proc/self/environ", g_buf, sizeof(g_buf));
	printf("\"environ_matches\": %s,\n", nul_list_equals(g_buf, len, envp, (size_t)envc) ? "true" : "false");
	len = read_file("/proc/self/comm", g_buf, sizeof(g_buf) - 1);
	g_buf[len ? len - 1 : 0] = 0;
	printf("\"comm\": ");
	json_str(g_buf);
	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	path[n < 0 ? 0 : n] = 0;
	printf(",\n\"exe\": ");
	json_str(path);
	printf(",\n");
	report_fds();
	report_signals();
	report_entry();
	printf("\"stack_layout\": ");
	json_str(layout_problem(sp, auxv, nauxv, argv, argc, envp, envc));
	printf(",\n\"stack_vma_kib\": %lu,\n", stack_vma_kib());
	printf("\"personality\": %d,\n", (int)syscall(SYS_personality, 0xffffffff));
	printf("\"dumpable\": %d,\n", prctl(PR_GET_DUMPABLE));
	printf("\"no_new_privs\": %d,\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	printf("\"rseq_registered\": %s,\n", &__rseq_size && __rseq_size ? "true" : "false");
	printf("\"end\": true\n}\n");
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "look": what a program in a namespace sees, without /proc: cwd, fds, caps, and each PATH. */
static int look(int argc, char **argv)
{
	struct { uint32_t version; int pid; } h = {0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0};
	struct { uint32_t eff, prm, inh; } caps[2] = {{0}};
	char cwd[4096], buf[256];

	printf("cwd=%s\nfds=", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	for (int fd = 0, k = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			printf("%s%d", k++ ? "," : "", fd);
	syscall(SYS_capget, &h, caps);
	printf("\ncaps=%llx uid=%d\n", (unsigned long long)caps[1].eff << 32 | caps[0].eff, (int)getuid());
	for (int i = 2; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *e;
		char *names[256];
		size_t n = 0;
		ssize_t len;
		int fd;
		if (!d) {
			fd = open(argv[i], O_RDONLY | O_CLOEXEC);
			len = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
			buf[len < 0 ? 0 : len] = 0;
			printf("%s = %s\n", argv[i], fd < 0 ? strerror(errno) : buf);
			if (fd >= 0)
				close(fd);
			continue;
		}
		while ((e = readdir(d)) && n < 256)
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				names[n++] = strdup(e->d_name);
		closedir(d);
		qsort(names, n, sizeof(names[0]), by_name);
		printf("%s:", argv[i]);
		for (size_t k = 0; k < n; k++) {
			printf(" %s", names[k]);
			free(names[k]);
		}
		printf("\n");
	}
	return 0;
}

/* One line of /proc/self/status, "Name:\tvalue" -> "value", or "?". */
static const char *status_field(const char *name, char *out, size_t len)
{
	size_t n = read_file("/proc/self/status", g_buf, sizeof(g_buf) - 1), nl = strlen(name);
	char *p;

	g_buf[n] = 0;
	snprintf(out, len, "?");
	for (p = g_buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, name, nl) == 0 && p[nl] == ':') {
			char *v = p + nl + 1, *e;
			while (*v == '\t' || *v == ' ')
				v++;
			e = strchr(v, '\n');
			snprintf(out, len, "%.*s", (int)(e ? e - v : (ptrdiff_t)strlen(v)), v);
			break;
		}
	}
	return out;
}

/* "state": what execve(2) keeps (pid, session, timers, pending signals, ...) and what it resets. */
static int state(void)
{
	struct itimerval it;
	struct sched_param sp;
	sigset_t pending, mask;
	int sig = 0, reaper = 0, st, nfds = 0;
	int policy = (int)syscall(SYS_sched_getscheduler, 0); /* (musl's wrapper says ENOSYS) */
	pid_t child = waitpid(-1, &st, WNOHANG);
	stack_t ss;
	char v[128];

	printf("pid=%d ppid=%d pgid=%d sid=%d\n", getpid(), getppid(), getpgrp(), getsid(0));
	prctl(PR_GET_PDEATHSIG, &sig);
	prctl(PR_GET_CHILD_SUBREAPER, &reaper);
	getitimer(ITIMER_REAL, &it);
	printf("pdeathsig=%d subreaper=%d itimer_real=%d\n", sig, reaper, it.it_value.tv_sec > 0);
	sigpending(&pending);
	sigprocmask(SIG_SETMASK, NULL, &mask);
	printf("pending_usr1=%d blocked_usr1=%d\n", sigismember(&pending, SIGUSR1), sigismember(&mask, SIGUSR1));
	syscall(SYS_sched_getparam, 0, &sp);
	printf("sched=%d reset_on_fork=%d prio=%d nice=%d\n", policy & ~SCHED_RESET_ON_FORK,
	       !!(policy & SCHED_RESET_ON_FORK), sp.sched_priority, getpriority(PRIO_PROCESS, 0));
	printf("child_waitable=%d\n", child > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 7);
	printf("threads=%s ", status_field("Threads", v, sizeof(v)));
	printf("vmlck=%s ", status_field("VmLck", v, sizeof(v)));
	printf("sigcgt=%s ", status_field("SigCgt", v, sizeof(v)));
	printf("sigign=%s\n", status_field("SigIgn", v, sizeof(v)));
	printf("timers=%zu\n", read_file("/proc/self/timers", g_buf, sizeof(g_buf)));
	sigaltstack(NULL, &ss);
	printf("altstack_disabled=%d dumpable=%d keepcaps=%d\n", !!(ss.ss_flags & SS_DISABLE),
	       prctl(PR_GET_DUMPABLE), prctl(PR_GET_KEEPCAPS));
	printf("fds=");
	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			printf("%s%d", nfds++ ? "," : "", fd);
	printf("\n");
	return 0;
}

/* "attrs": what a launcher sets between fork and exec (compared with fork+set+execve's). */
static int attrs(void)
{
	char cwd[4096];
	struct rlimit nofile, core;
	mode_t mask = umask(0);

	umask(mask);
	getrlimit(RLIMIT_NOFILE, &nofile);
	getrlimit(RLIMIT_CORE, &core);
	errno = 0;
	printf("cwd=%s umask=%04o nice=%d session_leader=%d nnp=%d\n", getcwd(cwd, sizeof(cwd)) ? cwd : "?",
	       (unsigned)mask, getpriority(PRIO_PROCESS, 0), getsid(0) == getpid(), prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	printf("nofile=%lld:%lld core=%lld:%lld\n", (long long)nofile.rlim_cur, (long long)nofile.rlim_max,
	       (long long)core.rlim_cur, (long long)core.rlim_max);
	return 0;
}

/* "creds": what exec decided about who the program is (compared with execve's). */
static int creds(void)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	struct rlimit rl;
	char inh[32], prm[32], eff[32], amb[32];
	int pd = 0;

	getresuid(&r, &e, &s);
	getresgid(&rg, &eg, &sg);
	getrlimit(RLIMIT_STACK, &rl);
	prctl(PR_GET_PDEATHSIG, &pd);
	printf("secure=%lu auxv_ids=%lu,%lu,%lu,%lu uid=%u,%u,%u gid=%u,%u,%u\n", getauxval(AT_SECURE),
	       getauxval(AT_UID), getauxval(AT_EUID), getauxval(AT_GID), getauxval(AT_EGID), r, e, s, rg, eg, sg);
	printf("caps inh=%s prm=%s eff=%s amb=%s\n", status_field("CapInh", inh, sizeof(inh)),
	       status_field("CapPrm", prm, sizeof(prm)), status_field("CapEff", eff, sizeof(eff)),
	       status_field("CapAmb", amb, sizeof(amb)));
	printf("dumpable=%d pdeathsig=%d stack_cur=%lld keepcaps=%d secure_getenv=%s\n", prctl(PR_GET_DUMPABLE), pd,
	       rl.rlim_cur == RLIM_INFINITY ? -1ll : (long long)rl.rlim_cur, prctl(PR_GET_KEEPCAPS),
	       secure_getenv("HOME") ? "set" : "unset");
	return 0;
}

/* "ids": who exec made the program, as /proc/self/status says it (compared with setpriv's). */
static int ids(void)
{
	static const char *const fields[] = {"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd",
					     "CapAmb", "NoNewPrivs"};
	char v[256];

	printf("secure=%lu auxv_ids=%lu,%lu,%lu,%lu dumpable=%d\n", getauxval(AT_SECURE), getauxval(AT_UID),
	       getauxval(AT_EUID), getauxval(AT_GID), getauxval(AT_EGID), prctl(PR_GET_DUMPABLE));
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		printf("%s: %s\n", fields[i], status_field(fields[i], v, sizeof(v)));
	return 0;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "maps": what is mapped, without where: anything left behind shows as an extra line. */
static int maps(void)
{
	size_t len = read_file("/proc/self/maps", g_buf, sizeof(g_buf) - 1), n = 0;
	char *lines[512], *save = NULL;

	g_buf[len] = 0;
	for (char *l = strtok_r(g_buf, "\n", &save); l && n < 512; l = strtok_r(NULL, "\n", &save)) {
		char perms[8] = "", name[512] = "";
		if (sscanf(l, "%*s %7s %*s %*s %*s %511[^\n]", perms, name) < 1)
			continue;
		if (asprintf(&lines[n], "%s %s", perms, name) > 0)
			n++;
	}
	qsort(lines, n, sizeof(lines[0]), by_str);
	for (size_t i = 0; i < n; i++) {
		printf("%s\n", lines[i]);
		free(lines[i]);
	}
	return 0;
}

static volatile sig_atomic_t n_int, n_rt;

static void counted(int sig)
{
	if (sig == SIGINT)
		n_int++;
	else
		n_rt++;
}

/* "count": one SIGINT or SIGRTMIN+1 sent once must be seen once. */
static int count(void)
{
	struct sigaction sa = {.sa_handler = counted};
	char line[64];

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGRTMIN + 1, &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if (!fgets(line, sizeof(line), stdin)) {
			if (ferror(stdin) && errno == EINTR) {
				clearerr(stdin);
				continue;
			}
			return 3;
		}
		if (line[0] == 'k')
			kill(0, SIGRTMIN + 1);
		if (line[0] == 'p' || line[0] == 'q') {
			printf("int=%d rt=%d\n", (int)n_int, (int)n_rt);
			fflush(stdout);
		}
		if (line[0] == 'q')
			return 0;
	}
}

static void on_traceme_signal(int sig)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "handled %d\n", sig);

	write(1, line, (size_t)n);
}

int main(int argc, char **argv)
{
	char buf[4096];
	ssize_t n;

	if (argc >= 2 && strcmp(argv[1], "report") == 0)
		return report();
	if (argc >= 3 && strcmp(argv[1], "exit") == 0)
		return atoi(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "echo") == 0) {
		while ((n = read(0, buf, sizeof(buf))) > 0)
			if (write(1, buf, (size_t)n) != n)
				return 1;
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "sleep") == 0) {
		for (;;)
			pause();
	}
	if (argc >= 2 && strcmp(argv[1], "listen") == 0) {
		const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS"), *names = getenv("LISTEN_FDNAMES");
		char reply[4200];
		int c;
		if (!pid || atoi(pid) != getpid() || !fds || atoi(fds) < 1) {
			fprintf(stderr, "not socket-activated (LISTEN_PID=%s, pid %d)\n", pid ? pid : "-", getpid());
			return 3;
		}
		c = accept(3, NULL, NULL);
		n = c < 0 ? -1 : read(c, buf, sizeof(buf) - 1);
		if (n <= 0)
			return 4;
		buf[n] = 0;
		n = snprintf(reply, sizeof(reply), "activated %s: %s", names ? names : "?", buf);
		return write(c, reply, (size_t)n) == n ? 0 : 5;
	}
	if (argc >= 2 && strcmp(argv[1], "look") == 0)
		return look(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "state") == 0)
		return state();
	if (argc >= 2 && strcmp(argv[1], "count") == 0)
		return count();
	if (argc >= 2 && strcmp(argv[1], "creds") == 0)
		return creds();
	if (argc >= 2 && strcmp(argv[1], "attrs") == 0)
		return attrs();
	if (argc >= 2 && strcmp(argv[1], "ids") == 0)
		return ids();
	if (argc >= 2 && strcmp(argv[1], "maps") == 0)
		return maps();
	if (argc >= 3 && strcmp(argv[1], "siginfo") == 0) {
		sigset_t one;
		siginfo_t si;
		sigemptyset(&one);
		sigaddset(&one, atoi(argv[2]));
		sigprocmask(SIG_BLOCK, &one, NULL);
		printf("ready\n");
		fflush(stdout);
		if (sigwaitinfo(&one, &si) < 0)
			return 3;
		printf("code=%d pid=%d value=%d\n", si.si_code, (int)si.si_pid, si.si_value.sival_int);
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "kill") == 0) {
		kill(getpid(), atoi(argv[2]));
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "traceme") == 0) {
		int sig = atoi(argv[2]);
		if (argc >= 4)
			signal(sig, on_traceme_signal);
		if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
			return 3;
		raise(sig);
		printf("after %d\n", sig);
		return 0;
	}
	fprintf(stderr, "usage: pbhelper report|exit N|echo|sleep|listen|look PATH...|kill SIG|state|count|siginfo SIG|maps|creds|attrs|ids|"
		"traceme SIG [h]\n");
	return 2;
}
