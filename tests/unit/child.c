/* SPDX-License-Identifier: MIT */
/* cvpn unit tests: checks in a child process (child.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <sys/resource.h>
#include <sys/wait.h>

#include "child.h"

int
child_run(int (*fn)(void *), void *arg, unsigned timeout_s)
{
	struct rlimit none = { 0, 0 };
	pid_t pid;
	int status;

	/* What the parent printed must not be printed again by the child's exit. */
	fflush(NULL);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		/* A check that ends in a signal on purpose leaves no core behind. */
		(void)setrlimit(RLIMIT_CORE, &none);
		alarm(timeout_s);
		_exit(fn(arg));
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}
