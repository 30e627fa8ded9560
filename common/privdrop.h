/* SPDX-License-Identifier: MIT */
/*
 * cvpn: giving up privileges once a program has opened what it needs (the
 * TUN, its sockets), and checking beforehand that it has them. The drop is
 * checked afterwards: one that half-worked is an error, never a warning.
 *
 * Functions that can fail return 0 or a negative code of err.h, and on
 * failure write one line to why (when it is not NULL) saying what failed and
 * what to do.
 */
#ifndef CVPN_PRIVDROP_H
#define CVPN_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>

/* The user a program drops to when it is given none. */
#define PRIVDROP_DEFAULT_USER "nobody"

/*
 * Becomes user (NULL: PRIVDROP_DEFAULT_USER) for good: its uid and primary
 * group as real, effective and saved ids, no supplementary groups; keeps
 * only the capabilities in keep (nkeep of them, CAP_NET_ADMIN and the like
 * from <linux/capability.h>) as permitted and effective, none inheritable,
 * ambient or in the bounding set beyond them; sets no_new_privs. A process
 * that is already user changes no ids and only gives up capabilities (a
 * program given cap_net_admin+ep by setcap). Call it before starting
 * threads: capabilities belong to the calling thread. Returns 0,
 * CVPN_ERR_INVALID_ARG (no such user, a capability this kernel lacks),
 * CVPN_ERR_PRIVILEGE (not allowed to change user, or a capability to keep
 * that the process does not hold), CVPN_ERR_SYSTEM, or
 * CVPN_ERR_DROP_INCOMPLETE when the check afterwards finds an id, a group or
 * a capability left over; after a failure the process must not go on.
 */
int privdrop_drop(const char *user, const int *keep, size_t nkeep, char *why, size_t whylen);

/*
 * Raises (on) or lowers capability cap in the calling thread's effective
 * set, within its permitted set: a capability kept by privdrop_drop can stay
 * lowered while unused, raised only around the calls that need it. Returns
 * 0, CVPN_ERR_INVALID_ARG or CVPN_ERR_PRIVILEGE (cap is not permitted).
 */
int privdrop_effective(int cap, bool on, char *why, size_t whylen);

/*
 * Checks that this process may create a TUN interface and set its routes:
 * CAP_NET_ADMIN in its effective set (root has it). Returns 0 or
 * CVPN_ERR_PRIVILEGE, saying to run program as root or to grant it
 * (setcap cap_net_admin+ep).
 */
int privdrop_check_tun(const char *program, char *why, size_t whylen);

#endif
