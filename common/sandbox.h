/* SPDX-License-Identifier: MIT */
/*
 * cvpn: a seccomp allow-list for the packet loop, entered once the TUN, the
 * UDP socket and the loop are set up and privileges are dropped: what the
 * loop never needs (opening files or sockets, running programs, tracing)
 * becomes impossible, and trying it ends the process.
 */
#ifndef CVPN_SANDBOX_H
#define CVPN_SANDBOX_H

#include <stddef.h>

/*
 * Returns the names of the system calls the sandbox allows of itself (a
 * libuv loop reading and writing a TUN and a UDP socket, malloc, exit) and
 * sets *n to their number. sandbox.c says why each is there.
 */
const char *const *sandbox_syscalls(size_t *n);

/*
 * Confines every thread of the process, for good, to sandbox_syscalls() and
 * the nextra names in extra (as strace writes them, e.g. "openat"); any other
 * system call kills the whole process with SIGSYS. Sets no_new_privs, so it
 * needs no privilege. Returns 0, CVPN_ERR_INVALID_ARG (a name libseccomp does
 * not know), CVPN_ERR_SYSTEM (the kernel refused the filter) or
 * CVPN_ERR_NOMEM, and on failure writes a line saying why to why (when it is
 * not NULL); the process is unconfined then.
 */
int sandbox_enter(const char *const *extra, size_t nextra, char *why, size_t whylen);

#endif
