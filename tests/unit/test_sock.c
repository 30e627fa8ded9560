/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: sockets (common/sock.c): addresses named the same way
 * in every program (IPv4, IPv6, an IPv4 client of a dual-stack socket,
 * what cannot be named), and connecting on loopback, refused or accepted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "sock.h"

static void
test_format(void **state)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(4600) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(1) };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char out[SOCK_ADDRESS_MAX], host[SOCK_ADDRESS_MAX];

	(void)state;
	inet_pton(AF_INET, "127.0.0.1", &a4.sin_addr);
	sock_format_address((struct sockaddr *)&a4, out, sizeof(out), host, sizeof(host));
	assert_string_equal(out, "127.0.0.1:4600");
	assert_string_equal(host, "127.0.0.1");
	inet_pton(AF_INET6, "::1", &a6.sin6_addr);
	sock_format_address((struct sockaddr *)&a6, out, sizeof(out), host, sizeof(host));
	assert_string_equal(out, "[::1]:1");
	assert_string_equal(host, "::1");
	/* An IPv4 client of a dual-stack listener is shown as the IPv4 it is. */
	inet_pton(AF_INET6, "::ffff:192.0.2.7", &a6.sin6_addr);
	a6.sin6_port = htons(65535);
	sock_format_address((struct sockaddr *)&a6, out, sizeof(out), NULL, 0);
	assert_string_equal(out, "192.0.2.7:65535");
	sock_format_address((struct sockaddr *)&un, out, sizeof(out), host, sizeof(host));
	assert_string_equal(out, "?");
	assert_string_equal(host, "?");
	/* Truncated, never overrun. */
	sock_format_address((struct sockaddr *)&a4, out, 5, NULL, 0);
	assert_string_equal(out, "127.");
}

/* A listener on a free loopback port; its address in *sa. */
static int
listener(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)sa, sizeof(*sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)sa, &len), 0);
	return fd;
}

static void
test_connect(void **state)
{
	struct sockaddr_in sa;
	int lfd = listener(&sa), fd, afd;

	(void)state;
	/* Generous: loopback answers at once, but a busy machine may not schedule us. */
	fd = sock_connect((struct sockaddr *)&sa, sizeof(sa), 30000);
	assert_true(fd >= 0);
	assert_true((afd = accept(lfd, NULL, NULL)) >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	close(afd);
	close(lfd);
	/* The port is closed now: refused, with errno saying so. */
	errno = 0;
	assert_int_equal(sock_connect((struct sockaddr *)&sa, sizeof(sa), 30000), -1);
	assert_int_equal(errno, ECONNREFUSED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_connect),
	};

	return cmocka_run_group_tests_name("sock", tests, NULL, NULL);
}
