/* SPDX-License-Identifier: MIT */
/* cvpn-mitm: TCP connections, non-blocking, each with a buffer of bytes to send. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "mitm.h"
#include "sock.h"

/* What one connection may have queued: far more than any lab or secure exchange needs. */
#define LINK_MAX_OUT ((size_t)1 << 20)

uint64_t
link_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int
link_listen(const char *host, const char *port, int *fd, char *name, size_t len)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res, *ai;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	int one = 1, s = -1, err = EADDRNOTAVAIL;

	if (getaddrinfo(host, port, &hints, &res) != 0) {
		errno = EADDRNOTAVAIL;
		return -1;
	}
	for (ai = res; ai != NULL && s < 0; ai = ai->ai_next) {
		if ((s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0)
			continue;
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s, ai->ai_addr, ai->ai_addrlen) == 0 && listen(s, 16) == 0)
			break;
		err = errno;
		close(s);
		s = -1;
	}
	freeaddrinfo(res);
	if (s < 0) {
		errno = err;
		return -1;
	}
	getsockname(s, (struct sockaddr *)&ss, &sslen);
	sock_format_address((struct sockaddr *)&ss, name, len, NULL, 0);
	*fd = s;
	return 0;
}

int
link_accept(int lfd, struct link *l)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	int fd;

	while ((fd = accept4(lfd, (struct sockaddr *)&ss, &sslen, SOCK_CLOEXEC | SOCK_NONBLOCK)) < 0)
		if (errno != EINTR || mitm_stop)
			return -1;
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->last_rx = link_now();
	nodelay(fd);
	sock_format_address((struct sockaddr *)&ss, l->name, sizeof(l->name), NULL, 0);
	return 0;
}

int
link_connect(const char *host, const char *port, unsigned timeout_ms, struct link *l, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, r, e = ECONNREFUSED;

	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s port %s: %s", host, port, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		if ((fd = sock_connect(ai->ai_addr, ai->ai_addrlen, timeout_ms)) >= 0)
			sock_format_address(ai->ai_addr, l->name, sizeof(l->name), NULL, 0);
		else
			e = errno;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to the server %s port %s: %s", host, port, strerror(e));
		return -1;
	}
	l->fd = fd;
	l->last_rx = link_now();
	return 0;
}

int
link_queue(struct link *l, const void *p, size_t n)
{
	return buf_append(&l->out, p, n, LINK_MAX_OUT);
}

void
link_close(struct link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	buf_clear(&l->out);
}
