/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: the seccomp sandbox (common/sandbox.c). The list names
 * only system calls libseccomp knows, and none that opens, runs or traces;
 * in a child (the filter is for good, and needs no privilege), allowed work
 * goes on, a forbidden call kills the whole process with SIGSYS (a thread
 * started before the filter too), an extra name is allowed, a name that is
 * no system call leaves the process unconfined, abort() still ends in SIGABRT.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/wait.h>

#include "child.h"
#include "err.h"
#include "sandbox.h"

/* Each check in a child gets this long; they take milliseconds. */
#define CHILD_TIMEOUT 30

static void
test_list(void **state)
{
	static const char *const never[] = { "socket", "connect", "bind", "execve", "execveat", "open", "openat",
		"ptrace", "fork", "clone", "clone3", "kill", "ioctl", "setuid", "prctl", "seccomp", "io_uring_setup" };
	const char *const *names;
	size_t n, i, j;

	(void)state;
	names = sandbox_syscalls(&n);
	assert_true(n > 10);
	for (i = 0; i < n; i++) {
		assert_int_not_equal(seccomp_syscall_resolve_name(names[i]), __NR_SCMP_ERROR);
		for (j = 0; j < i; j++)
			assert_string_not_equal(names[i], names[j]);
		for (j = 0; j < sizeof(never) / sizeof(never[0]); j++)
			assert_string_not_equal(names[i], never[j]);
	}
}

/* A pipe the child writes through under the filter, to show allowed work went on. */
struct pipe_arg {
	int fd[2];
	const char *const *extra;
	size_t nextra;
};

/* Enters the sandbox, writes, allocates and frees a large block, then opens a socket. */
static int
forbidden_socket(void *p)
{
	struct pipe_arg *a = p;
	char *big;

	close(a->fd[0]);
	if (sandbox_enter(a->extra, a->nextra, NULL, 0) != 0)
		return 1;
	if (write(a->fd[1], "ok", 2) != 2)
		return 2;
	/* Past malloc's mmap threshold: mmap and munmap. */
	if ((big = malloc(1 << 22)) == NULL)
		return 3;
	memset(big, 1, 1 << 22);
	free(big);
	if (write(a->fd[1], "!", 1) != 1)
		return 4;
	/* Killed here without socket among the extras; with it, execve is next. */
	if (socket(AF_INET, SOCK_DGRAM, 0) < 0)
		return 5;
	execl("/bin/true", "true", (char *)NULL);
	return 6;
}

/* Runs fn with a pipe; returns the wait status, and what the child wrote in got. */
static int
run_with_pipe(int (*fn)(void *), struct pipe_arg *a, char *got, size_t len)
{
	ssize_t n;
	size_t have = 0;
	int status;

	assert_int_equal(pipe(a->fd), 0);
	status = child_run(fn, a, CHILD_TIMEOUT);
	close(a->fd[1]);
	while (have + 1 < len && (n = read(a->fd[0], got + have, len - have - 1)) > 0)
		have += (size_t)n;
	got[have] = '\0';
	close(a->fd[0]);
	return status;
}

/* Runs forbidden_socket with the extras: the work before the end is done, and SIGSYS ends it. */
static void
expect_work_then_sigsys(const char *const *extra, size_t nextra)
{
	struct pipe_arg a = { .extra = extra, .nextra = nextra };
	char got[16];
	int status;

	status = run_with_pipe(forbidden_socket, &a, got, sizeof(got));
	assert_string_equal(got, "ok!");
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

static void
test_forbidden_kills(void **state)
{
	(void)state;
	expect_work_then_sigsys(NULL, 0);
}

static void
test_extra_allowed(void **state)
{
	static const char *const extra[] = { "socket", "read" };

	(void)state;
	/* The socket is allowed now, and the execve after it kills. */
	expect_work_then_sigsys(extra, 2);
}

/* A name that is no system call: refused, and the process is as free as before. */
static int
unknown_extra(void *p)
{
	static const char *const extra[] = { "getppid", "no_such_call" };
	char why[200] = "";
	int fd;

	(void)p;
	if (sandbox_enter(extra, 2, why, sizeof(why)) != CVPN_ERR_INVALID_ARG)
		return 1;
	if (strstr(why, "no_such_call") == NULL)
		return 2;
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
		return 3;
	close(fd);
	return 0;
}

static void
test_unknown_extra(void **state)
{
	int status;

	(void)state;
	status = child_run(unknown_extra, NULL, CHILD_TIMEOUT);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A thread that waits for a byte, then opens a socket. */
static void *
late_socket(void *p)
{
	int *fd = p;
	char c;

	if (read(fd[0], &c, 1) == 1)
		(void)socket(AF_INET, SOCK_DGRAM, 0);
	return NULL;
}

/* Starts the thread, enters the sandbox, lets the thread go: the filter holds it too. */
static int
thread_confined(void *p)
{
	pthread_t t;
	int fd[2];

	(void)p;
	if (pipe(fd) != 0 || pthread_create(&t, NULL, late_socket, fd) != 0)
		return 1;
	if (sandbox_enter(NULL, 0, NULL, 0) != 0)
		return 2;
	if (write(fd[1], "x", 1) != 1)
		return 3;
	(void)pthread_join(t, NULL);
	return 4;
}

static void
test_threads_confined(void **state)
{
	int status;

	(void)state;
	status = child_run(thread_confined, NULL, CHILD_TIMEOUT);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

static int
aborts(void *p)
{
	(void)p;
	if (sandbox_enter(NULL, 0, NULL, 0) != 0)
		return 1;
	abort();
}

static void
test_abort_still_aborts(void **state)
{
	int status;

	(void)state;
	status = child_run(aborts, NULL, CHILD_TIMEOUT);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_forbidden_kills),
		cmocka_unit_test(test_extra_allowed),
		cmocka_unit_test(test_unknown_extra),
		cmocka_unit_test(test_threads_confined),
		cmocka_unit_test(test_abort_still_aborts),
	};

	return cmocka_run_group_tests_name("sandbox", tests, NULL, NULL);
}
