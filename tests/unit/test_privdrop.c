/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: dropping privileges (common/privdrop.c), each in a child
 * since a drop is for good. A user that does not exist, root as the target
 * and a capability the kernel lacks are refused before anything changes. As
 * root: the drop to nobody leaves its ids, no groups, no capabilities and
 * no_new_privs, or exactly CAP_NET_ADMIN when it is kept; a second drop to
 * the same user changes nothing and succeeds. Not as root: the drop to
 * another user is refused, the one to oneself only gives capabilities up.
 * A capability kept can be lowered out of the effective set and raised
 * again; one not kept cannot be raised.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <linux/capability.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "child.h"
#include "err.h"
#include "privdrop.h"

#define CHILD_TIMEOUT 30
#define WHY_MAX 300

/* What a child drops to, what it keeps, and the answer and words it expects. */
struct drop_case {
	const char *user;
	int keep[2];
	size_t nkeep;
	int expect;
	const char *said;       /* a piece of the why line on failure */
};

/* True when the calling thread holds exactly the capabilities of c as permitted and effective. */
static bool
holds_only(const struct drop_case *c)
{
	cap_t want, have;
	bool same;

	if ((want = cap_init()) == NULL || (have = cap_get_proc()) == NULL)
		return false;
	if (c->nkeep > 0) {
		(void)cap_set_flag(want, CAP_PERMITTED, (int)c->nkeep, c->keep, CAP_SET);
		(void)cap_set_flag(want, CAP_EFFECTIVE, (int)c->nkeep, c->keep, CAP_SET);
	}
	same = cap_compare(want, have) == 0;
	cap_free(want);
	cap_free(have);
	return same;
}

/* Drops as the case says, and checks what the kernel holds afterwards. */
static int
drop(void *p)
{
	const struct drop_case *c = p;
	const struct passwd *pw;
	char why[WHY_MAX] = "";
	uid_t r, e, s;
	int got;

	got = privdrop_drop(c->user, c->keep, c->nkeep, why, sizeof(why));
	if (got != c->expect)
		return 1;
	if (got != 0)
		return c->said != NULL && strstr(why, c->said) == NULL ? 2 : 0;
	if ((pw = getpwnam(c->user != NULL ? c->user : PRIVDROP_DEFAULT_USER)) == NULL)
		return 3;
	if (getresuid(&r, &e, &s) != 0 || r != pw->pw_uid || e != pw->pw_uid || s != pw->pw_uid)
		return 4;
	if (getegid() != pw->pw_gid || getgid() != pw->pw_gid)
		return 5;
	if (!holds_only(c))
		return 6;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) != 1)
		return 7;
	/* A TUN is for CAP_NET_ADMIN alone, and the refusal says what to grant. */
	got = privdrop_check_tun("cvpn-server", why, sizeof(why));
	if ((c->nkeep > 0) != (got == 0) || (got != 0 && strstr(why, "setcap cap_net_admin+ep cvpn-server") == NULL))
		return 8;
	/* Dropping again to the same user changes no ids, and succeeds. */
	if (privdrop_drop(c->user, c->keep, c->nkeep, why, sizeof(why)) != 0 || !holds_only(c))
		return 9;
	return 0;
}

static void
expect_child(struct drop_case *c)
{
	int status = child_run(drop, c, CHILD_TIMEOUT);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_refused_before_anything(void **state)
{
	struct drop_case no_user = { "cvpn-no-such-user", { 0 }, 0, CVPN_ERR_INVALID_ARG, "cvpn-no-such-user" };
	struct drop_case root = { "root", { 0 }, 0, CVPN_ERR_INVALID_ARG, "gives nothing up" };
	struct drop_case bad_cap = { NULL, { 4000, CAP_NET_ADMIN }, 2, CVPN_ERR_INVALID_ARG, "capability 4000" };

	(void)state;
	expect_child(&no_user);
	expect_child(&root);
	expect_child(&bad_cap);
}

/* Whether the calling thread has cap in its effective set. */
static bool
effective(cap_value_t cap)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t have = cap_get_proc();

	if (have == NULL)
		return false;
	(void)cap_get_flag(have, cap, CAP_EFFECTIVE, &v);
	cap_free(have);
	return v == CAP_SET;
}

/* Keeps CAP_NET_ADMIN, lowers it (the TUN check fails), raises it (it passes), and cannot raise another. */
static int
bracket(void *p)
{
	const int keep[] = { CAP_NET_ADMIN };
	char why[WHY_MAX] = "";

	(void)p;
	if (privdrop_drop(NULL, keep, 1, why, sizeof(why)) != 0)
		return 1;
	if (privdrop_effective(CAP_NET_ADMIN, false, why, sizeof(why)) != 0 || effective(CAP_NET_ADMIN))
		return 2;
	if (privdrop_check_tun("cvpn-client", why, sizeof(why)) != CVPN_ERR_PRIVILEGE)
		return 3;
	if (privdrop_effective(CAP_NET_ADMIN, true, why, sizeof(why)) != 0 || !effective(CAP_NET_ADMIN))
		return 4;
	if (privdrop_check_tun("cvpn-client", why, sizeof(why)) != 0)
		return 5;
	if (privdrop_effective(CAP_SYS_ADMIN, true, why, sizeof(why)) != CVPN_ERR_PRIVILEGE || effective(CAP_SYS_ADMIN))
		return 6;
	return 0;
}

static void
test_effective(void **state)
{
	int status;

	(void)state;
	if (geteuid() != 0 || getpwnam(PRIVDROP_DEFAULT_USER) == NULL)
		skip();
	status = child_run(bracket, NULL, CHILD_TIMEOUT);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_drop(void **state)
{
	const struct passwd *pw = getpwuid(geteuid()), *nobody = getpwnam(PRIVDROP_DEFAULT_USER);
	struct drop_case all = { NULL, { 0 }, 0, 0, NULL };
	struct drop_case keep = { "nobody", { CAP_NET_ADMIN }, 1, 0, NULL };
	struct drop_case self = { NULL, { 0 }, 0, 0, NULL };

	(void)state;
	if (nobody == NULL)
		skip();
	if (geteuid() != 0) {
		/* Only root may change user, and keep what it does not hold: the refusals say so. */
		assert_non_null(pw);
		if (pw->pw_uid != nobody->pw_uid) {
			all.expect = CVPN_ERR_PRIVILEGE;
			all.said = "run as root";
		}
		keep.expect = CVPN_ERR_PRIVILEGE;
		keep.said = "cap_net_admin";
		/* Oneself is no change of user; as root, each case's second drop takes this path. */
		self.user = pw->pw_name;
		expect_child(&self);
	}
	expect_child(&all);
	expect_child(&keep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_before_anything),
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_effective),
	};

	return cmocka_run_group_tests_name("privdrop", tests, NULL, NULL);
}
