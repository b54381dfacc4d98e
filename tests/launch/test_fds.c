/* SPDX-License-Identifier: MIT */
/* Startup fds: the seed's handle tests, and socket activation with a real listener. */
#include <criterion/criterion.h>
#include <sys/resource.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procbuilder.h"
#include "tests/common/built.h"
#include "tests/common/proc.h"
#include "tests/common/run.h"

#define PB "build/procbuilder"
#define H "build/tests/helpers/pbhelper-static"
#define H_DYN "build/tests/helpers/pbhelper-dynamic"

static struct pb_builder *builder(const char *path, const char *mode)
{
	struct pb_builder *b;
	struct pb_error err;
	const char *argv[] = {path, mode};
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	cr_assert_eq(pb_builder_new(path, -1, fd, &b, &err), 0, "%s", err.msg);
	close(fd);
	pb_add_arguments(b, argv, 2);
	return b;
}

/* Runs b's program (helper "report"); returns what it printed. */
static char *report_of(struct pb_builder *b)
{
	static char *out;
	struct pb_error err;
	int status;

	free(out);
	cr_assert_eq(build_and_collect(b, &out, &status, &err), 0, "%s: %s", err.stage, err.msg);
	return out;
}

Test(seed, correct_handles_present)
{
	struct pb_builder *b = builder(H_DYN, "report");
	struct pb_error err;
	int pfd[2];
	char *out;

	cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
	struct pb_startup_fd f[] = {{pfd[0], PB_FD_NUMBERED, 9, NULL}, {pfd[1], PB_FD_NAMED, 0, "user0"}};
	cr_assert_eq(pb_add_fds(b, f, 2, &err), 0, "%s", err.msg);
	out = report_of(b);
	cr_assert(strstr(out, "\"fds\": [0,1,2,3,9]"), "exactly 0, 1, 2 and what was added: %s", out);
	cr_assert(strstr(out, "\"LISTEN_FDS=1\"") && strstr(out, "\"LISTEN_FDNAMES=user0\""), "%s", out);
	pb_builder_free(b);
	close(pfd[0]);
	close(pfd[1]);
	cr_assert(no_children());
}

Test(seed, start_util_with_lifecycle_channel)
{
	struct pb_builder *b = builder(H, "report");
	struct pb_error err;
	int sv[2];
	char *out;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	struct pb_startup_fd f = {sv[1], PB_FD_LIFECYCLE, 0, NULL};
	cr_assert_eq(pb_add_fds(b, &f, 1, &err), 0);
	out = report_of(b);
	cr_assert(strstr(out, "\"LISTEN_FDNAMES=lifecycle\""), "%s", out);
	cr_assert(strstr(out, "\"fds\": [0,1,2,3]"), "%s", out);
	pb_builder_free(b);
	close(sv[0]);
	close(sv[1]);
}

Test(seed, start_util_with_no_lifecycle_channel)
{
	struct pb_builder *b = builder(H, "report");
	char *out = report_of(b);

	cr_assert_null(strstr(out, "LISTEN_"), "%s", out);
	cr_assert(strstr(out, "\"fds\": [0,1,2]"), "%s", out);
	pb_builder_free(b);
}

Test(seed, add_handles_rejects_automatic_handle_types)
{
	static const enum pb_fd_type automatic[] = {PB_FD_PROCESS_SELF, PB_FD_THREAD_SELF, PB_FD_ROOT_VMAR,
						     PB_FD_LOADED_VMAR, PB_FD_STACK, PB_FD_EXECUTABLE, PB_FD_NAMESPACE_DIR};
	struct pb_builder *b = builder(H, "report");
	struct pb_error err;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	for (size_t i = 0; i < sizeof(automatic) / sizeof(automatic[0]); i++) {
		struct pb_startup_fd f = {fd, automatic[i], 0, NULL};
		cr_assert_eq(pb_add_fds(b, &f, 1, &err), -EINVAL, "type %d", automatic[i]);
		cr_assert_eq(err.code, PB_EINVAL);
	}
	close(fd);
	pb_builder_free(b);
}

Test(seed, rejects_invalid_handles)
{
	struct pb_builder *b = builder(H, "report");
	struct pb_error err;
	int closed = open("/dev/null", O_RDONLY), ok = open("/dev/null", O_RDONLY | O_CLOEXEC);
	char *out;

	close(closed);
	struct pb_startup_fd bad[] = {{-1, PB_FD_NUMBERED, 5, NULL}};
	cr_assert_eq(pb_add_fds(b, bad, 1, &err), -EBADF);
	cr_assert_eq(err.code, PB_EBADF);
	/* all or nothing: a good entry before a bad one is not added either */
	struct pb_startup_fd mixed[] = {{ok, PB_FD_NUMBERED, 5, NULL}, {closed, PB_FD_NUMBERED, 6, NULL}};
	cr_assert_eq(pb_add_fds(b, mixed, 2, &err), -EBADF);
	struct pb_startup_fd twice[] = {{ok, PB_FD_NUMBERED, 5, NULL}, {ok, PB_FD_NUMBERED, 5, NULL}};
	cr_assert_eq(pb_add_fds(b, twice, 2, &err), -EINVAL);
	cr_assert(strstr(err.msg, "fd 5 is given twice"), "%s", err.msg);
	struct pb_startup_fd clash[] = {{ok, PB_FD_NUMBERED, 3, NULL}, {ok, PB_FD_NAMED, 0, "x"}};
	cr_assert_eq(pb_add_fds(b, clash, 2, &err), -EINVAL, "the named fd would land on 3 too");
	out = report_of(b);
	cr_assert(strstr(out, "\"fds\": [0,1,2]"), "nothing was added: %s", out);
	close(ok);
	pb_builder_free(b);
	/* the executable and the job, as the seed's test does for them too */
	cr_assert_eq(pb_builder_new("x", -1, closed, &b, &err), -EBADF);
	ok = open(H, O_RDONLY | O_CLOEXEC);
	cr_assert_eq(pb_builder_new("x", closed, ok, &b, &err), -EBADF);
	close(ok);
	cr_assert(no_children());
}

Test(fds, numbered_replaces_stdin_and_fds_do_not_leak)
{
	int fds = count_open_fds();
	struct pb_builder *b = builder(H, "report");
	struct pb_error err;
	int in = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	char *out;

	struct pb_startup_fd f = {in, PB_FD_NUMBERED, 0, NULL};
	cr_assert_eq(pb_add_fds(b, &f, 1, &err), 0);
	close(in);
	out = report_of(b);
	cr_assert(strstr(out, "\"fds\": [0,1,2]"), "%s", out);
	pb_builder_free(b);
	cr_assert_eq(count_open_fds(), fds, "fd leak");
}

/* procbuilder run --listen spec H listen: connects to sa (retrying until it listens), pings, checks the reply. */
static void activated(const char *spec, const struct sockaddr *sa, socklen_t len)
{
	char reply[256] = {0};
	char *argv[] = {PB, "run", "--listen", (char *)spec, H, "listen", NULL};
	posix_spawn_file_actions_t fa;
	int c = -1, status;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	cr_assert_eq(posix_spawn(&pid, PB, &fa, NULL, argv, (char *[]){"PATH=/usr/bin:/bin", NULL}), 0);
	posix_spawn_file_actions_destroy(&fa);
	for (int tries = 0; tries < 200; tries++) { /* until the listener is there */
		c = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(c, sa, len) == 0)
			break;
		close(c);
		c = -1;
		usleep(20000);
	}
	cr_assert_geq(c, 0, "could not connect to %s", spec);
	cr_assert_eq(write(c, "ping\n", 5), 5);
	cr_assert_gt(read(c, reply, sizeof(reply) - 1), 0);
	cr_assert_str_eq(reply, "activated web: ping\n");
	close(c);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %x", status);
}

/* A real socket-activated server, started by procbuilder run --listen. */
Test(fds, socket_activation_with_a_real_listener, .timeout = 30)
{
	char path[] = "/tmp/pb-sock-XXXXXX", spec[128];
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	cr_assert_not_null(mkdtemp(path));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/web.sock", path);
	snprintf(spec, sizeof(spec), "web=unix:%s", sun.sun_path);
	activated(spec, (struct sockaddr *)&sun, sizeof(sun));
	/* the socket file is left, as by any server: the next run replaces it (nobody listens) */
	activated(spec, (struct sockaddr *)&sun, sizeof(sun));
	unlink(sun.sun_path);
	/* but never a file that is not a socket */
	{
		int f = open(sun.sun_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		struct run_result r;
		struct stat st;
		close(f);
		cr_assert_eq(run_cmd((char *[]){PB, "run", "--listen", spec, H, "exit", "0", NULL},
				     (char *[]){"PATH=/usr/bin:/bin", NULL}, &r), 0);
		cr_assert_neq(r.exit_code, 0, "a regular file was replaced");
		cr_assert(strstr(r.err, "Address already in use"), "%s", r.err);
		cr_assert(stat(sun.sun_path, &st) == 0 && S_ISREG(st.st_mode));
		run_result_free(&r);
	}
	unlink(sun.sun_path);
	rmdir(path);
}

Test(fds, socket_activation_abstract_and_ipv6, .timeout = 30)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct sockaddr_in6 six = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	socklen_t len = sizeof(six);
	char spec[128];
	int probe;

	/* unix:@NAME: the abstract namespace, no file */
	snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1, "pb-test-%d", getpid());
	snprintf(spec, sizeof(spec), "web=unix:@%s", sun.sun_path + 1);
	activated(spec, (struct sockaddr *)&sun,
		  (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sun.sun_path + 1)));
	/* tcp:[::1]:PORT, with a port the kernel says is free */
	probe = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0 || bind(probe, (struct sockaddr *)&six, sizeof(six)) < 0)
		cr_skip_test("no IPv6 loopback here");
	cr_assert_eq(getsockname(probe, (struct sockaddr *)&six, &len), 0);
	close(probe);
	snprintf(spec, sizeof(spec), "web=tcp:[::1]:%u", ntohs(six.sin6_port));
	activated(spec, (struct sockaddr *)&six, sizeof(six));
}

Test(fds, cli_fd_options)
{
	struct run_result r;
	char *env[] = {"PATH=/usr/bin:/bin", NULL};

	cr_assert_eq(run_cmd((char *[]){PB, "run", "--fd", "5=/etc/hostname", "--fd", "7=&1", H, "report", NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"fds\": [0,1,2,5,7]"), "%s", r.out);
	run_result_free(&r);
	cr_assert_eq(run_cmd((char *[]){PB, "run", "--fd", "x=/etc/hostname", H, "exit", "0", NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 2);
	cr_assert(strstr(r.err, "--fd 'x=/etc/hostname': N must be a file descriptor number"), "%s", r.err);
	run_result_free(&r);
}

/* Settings are checked when they are set, not at build: an O_PATH program, an fd target out of reach. */
Test(fds, refused_when_set_not_at_build)
{
	struct pb_builder *b;
	struct pb_error err;
	struct rlimit rl;
	int path_fd = open(H, O_PATH | O_CLOEXEC), ok = open("/etc/hostname", O_RDONLY | O_CLOEXEC);

	cr_assert_eq(pb_builder_new("x", -1, path_fd, &b, &err), -EBADF);
	cr_assert(strstr(err.msg, "O_PATH") && strstr(err.msg, "open it O_RDONLY"), "%s", err.msg);
	close(path_fd);
	b = builder(H, "report");
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	{
		struct pb_startup_fd far = {ok, PB_FD_NUMBERED, (int)(rl.rlim_cur < 100000 ? 100000 : rl.rlim_cur), NULL};
		struct pb_startup_fd near = {ok, PB_FD_NUMBERED, 9, NULL};
		cr_assert_eq(pb_add_fds(b, &far, 1, &err), -EINVAL);
		cr_assert(strstr(err.msg, "out of reach under RLIMIT_NOFILE"), "%s", err.msg);
		cr_assert_eq(pb_add_fds(b, &near, 1, &err), 0, "%s", err.msg);
	}
	close(ok);
	pb_builder_free(b);
	cr_assert(no_children());
}

/*
 * pb_built_info's stub_syscalls is the stub's own count (the bench's
 * breakdown): every fd placed costs it at least one more call (its dup into
 * place), and a build without any still makes dozens (its move, the hello,
 * the mappings, the report).
 */
static unsigned stub_syscalls_of(struct pb_builder *b)
{
	struct pb_built *p;
	struct pb_error err;
	unsigned n;

	cr_assert_eq(pb_build(b, &p, &err), 0, "%s", err.msg);
	n = pb_built_info(p)->stub_syscalls;
	pb_built_free(p);
	pb_builder_free(b);
	return n;
}

Test(fds, the_stub_counts_its_system_calls)
{
	struct pb_builder *b = builder(H, "report");
	struct pb_startup_fd f[4];
	struct pb_error err;
	unsigned plain, more;
	int pfd[2];

	plain = stub_syscalls_of(builder(H, "report"));
	cr_assert(plain > 20 && plain < 1000, "%u", plain);
	cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
	for (int i = 0; i < 4; i++)
		f[i] = (struct pb_startup_fd){pfd[i % 2], PB_FD_NUMBERED, 10 + i, NULL};
	cr_assert_eq(pb_add_fds(b, f, 4, &err), 0, "%s", err.msg);
	more = stub_syscalls_of(b);
	cr_assert_geq(more, plain + 4, "%u with four fds, %u without", more, plain);
	close(pfd[0]);
	close(pfd[1]);
	cr_assert(no_children());
}
