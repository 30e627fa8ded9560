/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: running a check in a child process, for what cannot be
 * undone in the test's own (a privilege drop, a seccomp filter, a network
 * namespace). The child reports by its exit status, never by cmocka's
 * asserts, which would unwind into the parent's copy of the test runner.
 */
#ifndef CVPN_TEST_CHILD_H
#define CVPN_TEST_CHILD_H

/*
 * Runs fn(arg) in a child that exits with its return value (0: all went as
 * expected; another small number says which check failed), within
 * timeout_s seconds (SIGALRM ends it then). Returns its wait status, or -1
 * when it could not be started.
 */
int child_run(int (*fn)(void *), void *arg, unsigned timeout_s);

#endif
