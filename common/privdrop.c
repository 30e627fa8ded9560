/* SPDX-License-Identifier: MIT */
/*
 * cvpn: dropping privileges (privdrop.h). The order matters: the bounding
 * set while CAP_SETPCAP is still ours, then the groups and ids (with
 * PR_SET_KEEPCAPS when a capability must outlive the change of uid, which
 * otherwise empties the permitted set), then the capability sets, then
 * no_new_privs; last, the kernel is asked what it holds now.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/capability.h>
#include <sys/prctl.h>

#include "err.h"
#include "privdrop.h"

/* A password entry is a few hundred bytes; a buffer past this means something is wrong. */
#define PW_BUF_MAX (1 << 20)

/* What a drop aims at. */
struct target {
	const char *user;
	uid_t uid;
	gid_t gid;
	const int *keep;
	size_t nkeep;
	bool change_ids;        /* false when the process already is user */
	bool bound;             /* the bounding set was cut down to keep */
};

/* True when the calling thread has capability c in set. */
static bool
has_cap(cap_value_t c, cap_flag_t set)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t caps;

	if ((caps = cap_get_proc()) == NULL)
		return false;
	if (cap_get_flag(caps, c, set, &v) != 0)
		v = CAP_CLEAR;
	cap_free(caps);
	return v == CAP_SET;
}

/* True when c is among the capabilities to keep. */
static bool
kept(const struct target *t, cap_value_t c)
{
	size_t i;

	for (i = 0; i < t->nkeep; i++)
		if (t->keep[i] == c)
			return true;
	return false;
}

/* Sets uid and gid of user only on success. */
static int
lookup(const char *user, uid_t *uid, gid_t *gid, char *why, size_t whylen)
{
	struct passwd pw, *found = NULL;
	long size = sysconf(_SC_GETPW_R_SIZE_MAX);
	char *buf = NULL, *more;
	int e, r;

	if (size <= 0)
		size = 1024;
	for (;;) {
		if (size > PW_BUF_MAX || (more = realloc(buf, (size_t)size)) == NULL) {
			r = CVPN_ERR_NOMEM;
			goto out;
		}
		buf = more;
		if ((e = getpwnam_r(user, &pw, buf, (size_t)size, &found)) != ERANGE)
			break;
		size *= 2;
	}
	if (e != 0) {
		r = cvpn_why(CVPN_ERR_SYSTEM, why, whylen, "cannot look up user '%s': %s", user, strerror(e));
		goto out;
	}
	if (found == NULL) {
		r = cvpn_why(CVPN_ERR_INVALID_ARG, why, whylen,
		    "no user '%s' in the password database: create it (useradd --system), or name another", user);
		goto out;
	}
	/* Root is where the drop starts from: "dropping" to it keeps everything. */
	if (pw.pw_uid == 0 || pw.pw_gid == 0) {
		r = cvpn_why(CVPN_ERR_INVALID_ARG, why, whylen,
		    "user '%s' is root or in group root: dropping to it gives nothing up", user);
		goto out;
	}
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	r = 0;
out:
	free(buf);
	return r;
}

/* Says that capability c cannot be kept, by its name. */
static int
cannot_keep(cap_value_t c, char *why, size_t whylen)
{
	char *name = cap_to_name(c);
	int r;

	r = cvpn_why(CVPN_ERR_PRIVILEGE, why, whylen, "cannot keep %s: this process does not hold it "
	    "(run it as root, or grant it: sudo setcap %s+ep PROGRAM)", name != NULL ? name : "it",
	    name != NULL ? name : "CAP");
	cap_free(name);
	return r;
}

/* Refuses, before anything changes, capabilities the kernel lacks or this process does not hold. */
static int
check_keep(const struct target *t, char *why, size_t whylen)
{
	size_t i;

	for (i = 0; i < t->nkeep; i++) {
		if (t->keep[i] < 0 || t->keep[i] >= (int)cap_max_bits())
			return cvpn_why(CVPN_ERR_INVALID_ARG, why, whylen,
			    "capability %d is not one this kernel knows (0 to %d)", t->keep[i], (int)cap_max_bits() - 1);
		if (!has_cap(t->keep[i], CAP_PERMITTED))
			return cannot_keep(t->keep[i], why, whylen);
	}
	return 0;
}

/* True when the real, effective and saved uids and gids all are the target's. */
static bool
ids_are(uid_t uid, gid_t gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0)
		return false;
	return ru == uid && eu == uid && su == uid && rg == gid && eg == gid && sg == gid;
}

/*
 * Empties the bounding set but for the capabilities kept, so that no program
 * this one runs can ever gain the others. A process without CAP_SETPCAP (a
 * setcap'd program run by a user) cannot, and skips it: no_new_privs, set
 * below, keeps what it runs from gaining capabilities all the same.
 */
static int
cut_bounding_set(struct target *t, char *why, size_t whylen)
{
	cap_value_t c;

	if (!has_cap(CAP_SETPCAP, CAP_EFFECTIVE))
		return 0;
	for (c = 0; c < (cap_value_t)cap_max_bits(); c++)
		if (!kept(t, c) && cap_drop_bound(c) != 0)
			return cvpn_why(CVPN_ERR_SYSTEM, why, whylen, "cannot drop capability %d from the bounding set: %s",
			    c, strerror(errno));
	t->bound = true;
	return 0;
}

/* Becomes the target user: no supplementary groups, then its gid, then its uid. */
static int
become(const struct target *t, char *why, size_t whylen)
{
	if (!has_cap(CAP_SETUID, CAP_EFFECTIVE) || !has_cap(CAP_SETGID, CAP_EFFECTIVE))
		return cvpn_why(CVPN_ERR_PRIVILEGE, why, whylen,
		    "cannot become user '%s': only root (CAP_SETUID and CAP_SETGID) may change user; "
		    "run as root, or name the user it runs as", t->user);
	/* Without it the uid change would empty the permitted set, and with it the capabilities to keep. */
	if (t->nkeep > 0 && prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) != 0)
		return cvpn_why(CVPN_ERR_SYSTEM, why, whylen, "cannot keep capabilities across the change of user: %s",
		    strerror(errno));
	if (setgroups(0, NULL) != 0)
		return cvpn_why(CVPN_ERR_SYSTEM, why, whylen, "cannot drop the supplementary groups: %s", strerror(errno));
	if (setresgid(t->gid, t->gid, t->gid) != 0)
		return cvpn_why(CVPN_ERR_SYSTEM, why, whylen, "cannot change group to %lu (of user '%s'): %s",
		    (unsigned long)t->gid, t->user, strerror(errno));
	if (setresuid(t->uid, t->uid, t->uid) != 0)
		return cvpn_why(CVPN_ERR_SYSTEM, why, whylen, "cannot change user to '%s': %s", t->user, strerror(errno));
	if (t->nkeep > 0 && prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) != 0)
		return cvpn_why(CVPN_ERR_SYSTEM, why, whylen, "cannot clear PR_SET_KEEPCAPS: %s", strerror(errno));
	return 0;
}

/* The capability sets the drop ends with: keep as permitted and effective, nothing else. Sets *out only on success. */
static int
wanted_caps(const struct target *t, cap_t *out)
{
	cap_t caps;

	if ((caps = cap_init()) == NULL)
		return CVPN_ERR_NOMEM;
	if (t->nkeep > 0 && (cap_set_flag(caps, CAP_PERMITTED, (int)t->nkeep, t->keep, CAP_SET) != 0 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, (int)t->nkeep, t->keep, CAP_SET) != 0)) {
		cap_free(caps);
		return CVPN_ERR_INTERNAL;
	}
	*out = caps;
	return 0;
}

/* Leaves only the capabilities kept, and no ambient ones for a program this one might run. */
static int
limit_caps(const struct target *t, char *why, size_t whylen)
{
	cap_t caps;
	int r;

	if ((r = wanted_caps(t, &caps)) != 0)
		return r;
	if (cap_set_proc(caps) != 0)
		r = cvpn_why(CVPN_ERR_SYSTEM, why, whylen, "cannot give up capabilities: %s", strerror(errno));
	cap_free(caps);
	if (r != 0)
		return r;
	/* EINVAL: a kernel before 4.3 has no ambient set to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0L, 0L, 0L) != 0 && errno != EINVAL)
		return cvpn_why(CVPN_ERR_SYSTEM, why, whylen, "cannot clear the ambient capabilities: %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0)
		return cvpn_why(CVPN_ERR_SYSTEM, why, whylen, "cannot set no_new_privs: %s", strerror(errno));
	return 0;
}

/* Checks the ids and the groups; the ids must stay even when the process asks for root back. */
static int
verify_ids(const struct target *t, char *why, size_t whylen)
{
	if (!ids_are(t->uid, t->gid))
		return cvpn_why(CVPN_ERR_DROP_INCOMPLETE, why, whylen,
		    "after the drop to '%s' a real, effective or saved uid or gid is another", t->user);
	if (t->change_ids && getgroups(0, NULL) != 0)
		return cvpn_why(CVPN_ERR_DROP_INCOMPLETE, why, whylen, "after the drop to '%s' supplementary groups remain",
		    t->user);
	/* A kept CAP_SETUID would make this succeed by right, and is the caller's to answer for. */
	if (!kept(t, CAP_SETUID) && setuid(0) == 0)
		return cvpn_why(CVPN_ERR_DROP_INCOMPLETE, why, whylen, "after the drop to '%s' the process could become root "
		    "again", t->user);
	return 0;
}

/*
 * Checks the capability sets against the wanted ones, the bounding set when
 * it was cut, and no_new_privs. The ambient set needs no check: the kernel
 * keeps it within the inheritable set, which is now empty.
 */
static int
verify_caps(const struct target *t, char *why, size_t whylen)
{
	cap_t want, have;
	cap_value_t c;
	int r, diff;

	if ((r = wanted_caps(t, &want)) != 0)
		return r;
	if ((have = cap_get_proc()) == NULL) {
		cap_free(want);
		return cvpn_why(CVPN_ERR_SYSTEM, why, whylen, "cannot read the capabilities back: %s", strerror(errno));
	}
	diff = cap_compare(want, have);
	cap_free(want);
	cap_free(have);
	if (diff != 0)
		return cvpn_why(CVPN_ERR_DROP_INCOMPLETE, why, whylen,
		    "after the drop to '%s' the capability sets hold more than was kept", t->user);
	for (c = 0; t->bound && c < (cap_value_t)cap_max_bits(); c++)
		if (!kept(t, c) && cap_get_bound(c) != 0)
			return cvpn_why(CVPN_ERR_DROP_INCOMPLETE, why, whylen,
			    "after the drop capability %d is still in the bounding set", c);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) != 1)
		return cvpn_why(CVPN_ERR_DROP_INCOMPLETE, why, whylen, "after the drop no_new_privs is not set");
	return 0;
}

int
privdrop_drop(const char *user, const int *keep, size_t nkeep, char *why, size_t whylen)
{
	struct target t = { .user = user != NULL ? user : PRIVDROP_DEFAULT_USER, .keep = keep, .nkeep = nkeep };
	int r;

	if ((r = check_keep(&t, why, whylen)) != 0 || (r = lookup(t.user, &t.uid, &t.gid, why, whylen)) != 0)
		return r;
	t.change_ids = !ids_are(t.uid, t.gid);
	if ((r = cut_bounding_set(&t, why, whylen)) != 0)
		return r;
	if (t.change_ids && (r = become(&t, why, whylen)) != 0)
		return r;
	if ((r = limit_caps(&t, why, whylen)) != 0)
		return r;
	if ((r = verify_ids(&t, why, whylen)) != 0)
		return r;
	return verify_caps(&t, why, whylen);
}

int
privdrop_check_tun(const char *program, char *why, size_t whylen)
{
	if (has_cap(CAP_NET_ADMIN, CAP_EFFECTIVE))
		return 0;
	return cvpn_why(CVPN_ERR_PRIVILEGE, why, whylen, "%s cannot create TUN interfaces: it lacks CAP_NET_ADMIN "
	    "(run it as root, or grant it: sudo setcap cap_net_admin+ep %s)", program, program);
}

int
privdrop_effective(int cap, bool on, char *why, size_t whylen)
{
	cap_value_t c = cap;
	cap_t caps;
	int r = 0;

	if ((caps = cap_get_proc()) == NULL)
		return cvpn_why(CVPN_ERR_SYSTEM, why, whylen, "cannot read the capabilities: %s", strerror(errno));
	if (cap_set_flag(caps, CAP_EFFECTIVE, 1, &c, on ? CAP_SET : CAP_CLEAR) != 0)
		r = cvpn_why(CVPN_ERR_INVALID_ARG, why, whylen, "capability %d is not one this kernel knows", cap);
	else if (cap_set_proc(caps) != 0)
		r = cvpn_why(CVPN_ERR_PRIVILEGE, why, whylen, "cannot %s capability %d: %s (it is not among the "
		    "capabilities kept)", on ? "raise" : "lower", cap, strerror(errno));
	cap_free(caps);
	return r;
}
