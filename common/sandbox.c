/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the packet loop's seccomp allow-list (sandbox.h), through libseccomp.
 *
 * How the list was found: tests/helpers/osprobe runs the loop the VPN runs
 * (libuv 1.44: a uv_poll on a TUN, a uv_udp with UV_UDP_RECVMMSG, a timer,
 * a signal watcher, 200 datagrams out through the TUN and back), marking
 * with getppid() where the sandbox begins; `strace -f -o trace osprobe`
 * listed what came after the mark: read, write, epoll_wait, epoll_ctl,
 * recvmmsg, sendmmsg, close, rt_sigprocmask, rt_sigaction, then sendto and
 * recvmsg (tundev_free's netlink requests) and exit_group. `strace -f -c`
 * over the whole run shows the rest happened before the mark (socket, bind,
 * openat, ioctl, pipe2, eventfd2, epoll_create1). The others below are what
 * the same loop reaches on other paths: malloc growing, a signal, a thread,
 * OpenSSL reseeding, a slow clock; each says why.
 *
 * Two things a program must do before sandbox_enter, because they need
 * system calls that are not here: send a first datagram, or call
 * uv_udp_using_recvmmsg() on a handle made with UV_UDP_RECVMMSG (libuv 1.44
 * learns whether sendmmsg works with a socket of its own, once); and write a
 * first line to stdout (stdio calls fstat on a stream's first output). A
 * libuv that uses io_uring (1.45 and later) needs UV_USE_IO_URING=0: the
 * list has no io_uring_enter, and should not, since the requests it carries
 * are not system calls that seccomp could check. Under AddressSanitizer,
 * LeakSanitizer's check at exit stops the world with ptrace: a sandboxed
 * program built with it runs with ASAN_OPTIONS=detect_leaks=0.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "err.h"
#include "sandbox.h"

static const char *const allowed[] = {
	/* The loop itself: libuv waits on epoll, and changes what it waits for. */
	"epoll_wait",
	"epoll_pwait",          /* libuv's choice with a signal mask, and the only one on arm64 */
	"epoll_ctl",
	/* Packets: one read or write per packet on the TUN; libuv's wake-up pipe and eventfd; the logs. */
	"read",
	"write",
	"readv",                /* libuv's stream writes, and a TUN read in pieces */
	"writev",
	/* The UDP socket: libuv sends and receives batches, or single datagrams without mmsg. */
	"recvmmsg",
	"sendmmsg",
	"recvmsg",              /* also tundev's netlink acknowledgements, when it undoes its routes */
	"sendmsg",
	"recvfrom",
	"sendto",               /* also tundev's netlink requests */
	/* Shutting down: libuv closes its handles' descriptors. */
	"close",
	/* Signals: libuv starts and stops its watchers (SIGTERM), and every handler returns. */
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"restart_syscall",      /* a call a signal interrupted, resumed by the kernel */
	"sigaltstack",          /* AddressSanitizer asks for it before every call that does not return (exit) */
	/* Time: in the vDSO, without a system call, except on clocks it cannot read (some hypervisors). */
	"clock_gettime",
	"clock_getres",
	"gettimeofday",
	/* Threads: libuv's once and locks, the server's worker pool, malloc's arenas. */
	"futex",
	/* malloc: the heap grows with brk, large blocks are mmap'd and mremap'd, freed memory madvise'd. */
	"brk",
	"mmap",
	"munmap",
	"mremap",
	"mprotect",             /* a thread's arena grows by making reserved pages usable */
	"madvise",
	/* OpenSSL reseeds its generator from the kernel now and then. */
	"getrandom",
	/* abort(), as a failed assertion calls it: its own ids, then tgkill (only to us) to raise SIGABRT. */
	"getpid",
	"gettid",
	/* Leaving. */
	"exit",
	"exit_group",
};

const char *const *
sandbox_syscalls(size_t *n)
{
	*n = sizeof(allowed) / sizeof(allowed[0]);
	return allowed;
}

/* Checks the caller's names before anything is built, so that a typo leaves the process as it was. */
static int
check_extra(const char *const *extra, size_t nextra, char *why, size_t whylen)
{
	size_t i;

	for (i = 0; i < nextra; i++)
		if (seccomp_syscall_resolve_name(extra[i]) == __NR_SCMP_ERROR)
			return cvpn_why(CVPN_ERR_INVALID_ARG, why, whylen,
			    "no system call '%s' (give names as strace writes them, e.g. openat)", extra[i]);
	return 0;
}

/*
 * Allows the system call name. One that libseccomp knows but this
 * architecture lacks (epoll_wait on arm64) has a negative number and is
 * skipped: nothing can call it.
 */
static int
allow(scmp_filter_ctx ctx, const char *name, char *why, size_t whylen)
{
	int nr = seccomp_syscall_resolve_name(name), r;

	if (nr == __NR_SCMP_ERROR)
		return cvpn_why(CVPN_ERR_INVALID_ARG, why, whylen, "no system call '%s'", name);
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) != 0 && nr >= 0)
		return cvpn_why(CVPN_ERR_SYSTEM, why, whylen, "cannot allow system call %s: %s", name, strerror(-r));
	return 0;
}

/* Fills the filter: the list, tgkill to this process only, the caller's extras. */
static int
fill(scmp_filter_ctx ctx, const char *const *extra, size_t nextra, char *why, size_t whylen)
{
	/* Spelt out, not SCMP_A0(): its compound literal leaves fields to clang's -Wmissing-field-initializers. */
	const struct scmp_arg_cmp self = { .arg = 0, .op = SCMP_CMP_EQ, .datum_a = (scmp_datum_t)getpid() };
	size_t i, n;
	int r;

	sandbox_syscalls(&n);
	for (i = 0; i < n; i++)
		if ((r = allow(ctx, allowed[i], why, whylen)) != 0)
			return r;
	/* abort() signals its own thread; a signal to another process would be one the loop never sends. */
	if ((r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, &self)) != 0)
		return cvpn_why(CVPN_ERR_SYSTEM, why, whylen, "cannot allow tgkill: %s", strerror(-r));
	for (i = 0; i < nextra; i++)
		if ((r = allow(ctx, extra[i], why, whylen)) != 0)
			return r;
	return 0;
}

int
sandbox_enter(const char *const *extra, size_t nextra, char *why, size_t whylen)
{
	scmp_filter_ctx ctx;
	int r;

	if ((r = check_extra(extra, nextra, why, whylen)) != 0)
		return r;
	/* Killing the process, not the thread: a loop with one thread gone would go on half-working. */
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return cvpn_why(CVPN_ERR_NOMEM, why, whylen, "cannot start a seccomp filter: out of memory");
	/* Every thread, those started before too (the server's workers); libseccomp sets no_new_privs itself. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0) {
		r = cvpn_why(CVPN_ERR_SYSTEM, why, whylen, "cannot ask seccomp to cover every thread: %s", strerror(-r));
		goto out;
	}
	if ((r = fill(ctx, extra, nextra, why, whylen)) != 0)
		goto out;
	if ((r = seccomp_load(ctx)) != 0) {
		r = cvpn_why(CVPN_ERR_SYSTEM, why, whylen, "cannot load the seccomp filter: %s (is the kernel built "
		    "with CONFIG_SECCOMP_FILTER?)", strerror(-r));
		goto out;
	}
	r = 0;
out:
	seccomp_release(ctx);
	return r;
}
