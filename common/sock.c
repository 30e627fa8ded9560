/* SPDX-License-Identifier: MIT */
/* cvpn: connecting and naming addresses (sock.h). */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "sock.h"

int
sock_connect_start(const struct sockaddr *sa, socklen_t len)
{
	int fd, one = 1, err;

	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return -1;
	/* Best effort: without it the session is slower, not wrong. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, sa, len) == 0 || errno == EINPROGRESS)
		return fd;
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

int
sock_connect(const struct sockaddr *sa, socklen_t len, unsigned timeout_ms)
{
	struct pollfd pfd = { .events = POLLOUT };
	socklen_t errlen = sizeof(int);
	int fd, err = 0, r;

	if ((fd = sock_connect_start(sa, len)) < 0)
		return -1;
	pfd.fd = fd;
	while ((r = poll(&pfd, 1, (int)timeout_ms)) < 0 && errno == EINTR)
		;
	if (r <= 0) {
		err = r == 0 ? ETIMEDOUT : errno;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
		err = errno;
	if (err != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	errno = err;
	return -1;
}

void
sock_format_address(const struct sockaddr *sa, char *out, size_t len, char *host, size_t hostlen)
{
	char name[NI_MAXHOST], port[NI_MAXSERV];
	const char *shown = name;
	socklen_t salen = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	bool v6 = sa->sa_family == AF_INET6;

	if ((sa->sa_family != AF_INET && sa->sa_family != AF_INET6) ||
	    getnameinfo(sa, salen, name, sizeof(name), port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(name, sizeof(name), "?");
		snprintf(out, len, "?");
	} else {
		if (v6 && strncmp(name, "::ffff:", 7) == 0 && strchr(name + 7, '.') != NULL) {
			shown = name + 7;
			v6 = false;
		}
		snprintf(out, len, v6 ? "[%s]:%s" : "%s:%s", shown, port);
	}
	if (host != NULL)
		snprintf(host, hostlen, "%s", shown);
}
