/* SPDX-License-Identifier: MIT */
/*
 * cvpn: TUN interfaces (tundev.h). The interface comes from /dev/net/tun;
 * everything else goes through one rtnetlink socket per interface, opened
 * with it, so that a program that later loses the right to open sockets (the
 * sandbox) can still take its routes away. libmnl builds the messages: it is
 * a thin, small library over the same bytes a hand-written version would
 * send, and spares this file netlink's alignment arithmetic.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>

#include "err.h"
#include "tundev.h"

#define TUN_PATH "/dev/net/tun"
/* Requests are a header and a few attributes; an acknowledgement with the kernel's message fits in a page. */
#define NL_REQUEST_MAX 512
#define NL_REPLY_MAX 8192
/* The longest message we keep from an extended acknowledgement. */
#define NL_TEXT_MAX 160
/* What a tundev may add: a handful of addresses and the routes a server pushes. */
#define ADDED_MAX 4096

enum added_kind {
	ADDED_ADDRESS,
	ADDED_ROUTE
};

/* One address or route this program added, to take away again. */
struct added {
	enum added_kind kind;
	struct tundev_prefix p;
};

struct tundev {
	int fd;
	unsigned index;
	char name[TUNDEV_NAME_MAX];
	struct mnl_socket *nl;
	unsigned portid, seq;
	struct added *added;
	size_t n, cap;
	/* The kernel's own words for the last refused request (an extended ack), or "". */
	char kernel[NL_TEXT_MAX];
};

/* The address length of a family, 0 for one we do not handle. */
static size_t
family_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

int
tundev_prefix_parse(const char *text, struct tundev_prefix *out)
{
	struct tundev_prefix p = { 0 };
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	unsigned long len;
	char *end;

	if (alen == 0 || alen >= sizeof(addr))
		return CVPN_ERR_INVALID_ARG;
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, p.addr) == 1)
		p.family = AF_INET;
	else if (inet_pton(AF_INET6, addr, p.addr) == 1)
		p.family = AF_INET6;
	else
		return CVPN_ERR_INVALID_ARG;
	p.len = 8 * family_len(p.family);
	if (slash != NULL) {
		/* Digits only: strtoul alone would take " 24", "+24" and "0x18". */
		if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3)
			return CVPN_ERR_INVALID_ARG;
		len = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || len > p.len)
			return CVPN_ERR_INVALID_ARG;
		p.len = (unsigned)len;
	}
	*out = p;
	return 0;
}

void
tundev_prefix_format(const struct tundev_prefix *p, char *out, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	if (family_len(p->family) == 0 || inet_ntop(p->family, p->addr, addr, sizeof(addr)) == NULL)
		snprintf(out, len, "?");
	else
		snprintf(out, len, "%s/%u", addr, p->len);
}

bool
tundev_prefix_is_network(const struct tundev_prefix *p)
{
	size_t i, n = family_len(p->family);
	unsigned bits;

	if (n == 0 || p->len > 8 * n)
		return false;
	for (i = p->len / 8; i < n; i++) {
		bits = i == p->len / 8 ? p->len % 8 : 0;
		if ((p->addr[i] & (0xffu >> bits)) != 0)
			return false;
	}
	return true;
}

/* The advice that goes with an errno, for the end of a why line. */
static const char *
advice(int e)
{
	switch (e) {
	case EPERM:
		return " (run as root or grant CAP_NET_ADMIN: setcap cap_net_admin+ep on the program)";
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return " (is the tun module loaded? modprobe tun)";
	case EBUSY:
		return " (another program holds the interface)";
	case EEXIST:
		return " (it is there already, and not this program's to change)";
	case EACCES:
		return " (for IPv6: is it disabled? sysctl net.ipv6.conf.all.disable_ipv6)";
	default:
		return "";
	}
}

/*
 * Writes "cannot WHAT: strerror(e) [kernel: MSG] (ADVICE)" to why, and
 * returns the code for e: CVPN_ERR_PRIVILEGE for EPERM, else CVPN_ERR_SYSTEM.
 */
static int __attribute__((format(printf, 5, 6)))
refused(char *why, size_t whylen, int e, const char *kernel, const char *fmt, ...)
{
	char what[160];
	bool said = kernel != NULL && *kernel != '\0';
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return cvpn_why(e == EPERM ? CVPN_ERR_PRIVILEGE : CVPN_ERR_SYSTEM, why, whylen, "cannot %s: %s%s%s%s%s",
	    what, strerror(e), said ? " (kernel: " : "", said ? kernel : "", said ? ")" : "", advice(e));
}

/* Keeps the message string of an extended acknowledgement. */
static int
on_ack_attr(const struct nlattr *attr, void *arg)
{
	struct tundev *t = arg;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		snprintf(t->kernel, sizeof(t->kernel), "%s", mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

/*
 * Reads an acknowledgement: sets errno to the kernel's error and keeps its
 * message, which libmnl's own handler would drop.
 */
static int
on_ack(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t offset = sizeof(*e);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	/* Without NETLINK_CAP_ACK the request comes back before the attributes. */
	if ((nlh->nlmsg_flags & NLM_F_CAPPED) == 0)
		offset += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) != 0 && mnl_nlmsg_size(offset) <= nlh->nlmsg_len)
		(void)mnl_attr_parse(nlh, offset, on_ack_attr, arg);
	errno = -e->error;
	return MNL_CB_ERROR;
}

/* Starts a request of type with flags; the caller adds its header and attributes. */
static struct nlmsghdr *
nl_start(struct tundev *t, char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++t->seq;
	return nlh;
}

/*
 * Sends a request and reads its acknowledgement. Returns 0, or -1 with
 * errno the kernel's answer and t->kernel its message.
 */
static int
nl_talk(struct tundev *t, const struct nlmsghdr *nlh)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = on_ack };
	char reply[NL_REPLY_MAX];
	ssize_t n;
	int r;

	t->kernel[0] = '\0';
	if (mnl_socket_sendto(t->nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	/* rtnetlink answers in the sending call: the acknowledgement is queued already. */
	for (;;) {
		if ((n = mnl_socket_recvfrom(t->nl, reply, sizeof(reply))) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		r = mnl_cb_run2(reply, (size_t)n, nlh->nlmsg_seq, t->portid, NULL, t, ctl, NLMSG_MIN_TYPE);
		if (r <= MNL_CB_STOP)
			return r == MNL_CB_STOP ? 0 : -1;
	}
}

/* Opens the rtnetlink socket, asking for the kernel's words with its refusals. */
static int
nl_open(struct tundev *t, char *why, size_t whylen)
{
	int one = 1;

	if ((t->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC)) == NULL ||
	    mnl_socket_bind(t->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return refused(why, whylen, errno, NULL, "open an rtnetlink socket");
	t->portid = mnl_socket_get_portid(t->nl);
	/* Best effort: older kernels answer without them, only less clearly. */
	(void)mnl_socket_setsockopt(t->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(t->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	return 0;
}

int
tundev_open(const char *name, struct tundev **out, char *why, size_t whylen)
{
	struct ifreq ifr;
	struct tundev *t;
	int r, e;

	if (name == NULL)
		name = TUNDEV_DEFAULT_NAME;
	if (*name == '\0' || strlen(name) >= TUNDEV_NAME_MAX || strchr(name, '/') != NULL)
		return cvpn_why(CVPN_ERR_INVALID_ARG, why, whylen, "interface name '%s' must be 1 to %d bytes without '/'",
		    name, TUNDEV_NAME_MAX - 1);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return CVPN_ERR_NOMEM;
	/* Non-blocking for the event loop; close-on-exec so that no child keeps the interface alive. */
	if ((t->fd = open(TUN_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK)) < 0) {
		e = errno;
		/* The node is usually 0666, the ioctl below being what needs CAP_NET_ADMIN; here it is not. */
		if (e == EACCES)
			r = cvpn_why(CVPN_ERR_PRIVILEGE, why, whylen, "cannot open %s: %s (run as root, or let the user "
			    "open it: chmod 0666 %s, as most systems have it)", TUN_PATH, strerror(e), TUN_PATH);
		else
			r = refused(why, whylen, e, NULL, "open %s", TUN_PATH);
		goto out;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name));
	/* No IFF_PERSIST: the interface goes with the last descriptor, and all that was set on it. */
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		/* The kernel's EINVAL here means the name belongs to an interface of another kind. */
		if (e == EINVAL)
			r = cvpn_why(CVPN_ERR_INVALID_ARG, why, whylen, "cannot create TUN interface %s: an interface "
			    "of that name exists and is not a TUN (name another)", name);
		else
			r = refused(why, whylen, e, NULL, "create TUN interface %s", name);
		goto out;
	}
	memcpy(t->name, ifr.ifr_name, sizeof(t->name));
	t->name[sizeof(t->name) - 1] = '\0';
	if ((t->index = if_nametoindex(t->name)) == 0) {
		r = refused(why, whylen, errno, NULL, "find the index of %s", t->name);
		goto out;
	}
	if ((r = nl_open(t, why, whylen)) != 0)
		goto out;
	*out = t;
	t = NULL;
	r = 0;
out:
	tundev_free(t);
	return r;
}

int
tundev_fd(const struct tundev *t)
{
	return t->fd;
}

int
tundev_write(struct tundev *t, const uint8_t *p, size_t n)
{
	/* A TUN takes a packet whole or not at all: a short count is a failure too. */
	return write(t->fd, p, n) == (ssize_t)n ? 0 : CVPN_ERR_SYSTEM;
}

const char *
tundev_name(const struct tundev *t)
{
	return t->name;
}

unsigned
tundev_index(const struct tundev *t)
{
	return t->index;
}

/* Starts an RTM_NEWLINK request for the interface. */
static struct nlmsghdr *
link_start(struct tundev *t, char *buf, unsigned flags, unsigned change)
{
	struct nlmsghdr *nlh = nl_start(t, buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)t->index;
	ifi->ifi_flags = flags;
	ifi->ifi_change = change;
	return nlh;
}

int
tundev_set_mtu(struct tundev *t, unsigned mtu, char *why, size_t whylen)
{
	char buf[NL_REQUEST_MAX];
	struct nlmsghdr *nlh = link_start(t, buf, 0, 0);

	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (nl_talk(t, nlh) < 0)
		return refused(why, whylen, errno, t->kernel, "set the MTU of %s to %u", t->name, mtu);
	return 0;
}

int
tundev_set_up(struct tundev *t, bool up, char *why, size_t whylen)
{
	char buf[NL_REQUEST_MAX];
	struct nlmsghdr *nlh = link_start(t, buf, up ? IFF_UP : 0, IFF_UP);

	if (nl_talk(t, nlh) < 0)
		return refused(why, whylen, errno, t->kernel, "bring %s %s", t->name, up ? "up" : "down");
	return 0;
}

/* Sends an RTM_NEWADDR or RTM_DELADDR for p. Returns 0, or -1 with errno. */
static int
address_request(struct tundev *t, uint16_t type, uint16_t flags, const struct tundev_prefix *p)
{
	char buf[NL_REQUEST_MAX];
	struct nlmsghdr *nlh = nl_start(t, buf, type, flags);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	size_t alen = family_len(p->family);

	ifa->ifa_family = (unsigned char)p->family;
	ifa->ifa_prefixlen = (unsigned char)p->len;
	/* No duplicate address detection: a TUN has no neighbours to ask, and the address is usable at once. */
	ifa->ifa_flags = p->family == AF_INET6 ? IFA_F_NODAD : 0;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = t->index;
	mnl_attr_put(nlh, IFA_LOCAL, alen, p->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, p->addr);
	return nl_talk(t, nlh);
}

/* Sends an RTM_NEWROUTE or RTM_DELROUTE for dst through the interface. Returns 0, or -1 with errno. */
static int
route_request(struct tundev *t, uint16_t type, uint16_t flags, const struct tundev_prefix *dst)
{
	char buf[NL_REQUEST_MAX];
	struct nlmsghdr *nlh = nl_start(t, buf, type, flags);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	bool add = type == RTM_NEWROUTE;

	rtm->rtm_family = (unsigned char)dst->family;
	rtm->rtm_dst_len = (unsigned char)dst->len;
	rtm->rtm_table = RT_TABLE_MAIN;
	/* Ours are "static", as an administrator's; a delete matches any protocol and scope. */
	rtm->rtm_protocol = add ? RTPROT_STATIC : RTPROT_UNSPEC;
	rtm->rtm_scope = add ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
	rtm->rtm_type = RTN_UNICAST;
	if (dst->len > 0)
		mnl_attr_put(nlh, RTA_DST, family_len(dst->family), dst->addr);
	mnl_attr_put_u32(nlh, RTA_OIF, t->index);
	return nl_talk(t, nlh);
}

/* Makes room to remember one more addition. Returns 0 or CVPN_ERR_NOMEM. */
static int
make_room(struct tundev *t)
{
	size_t cap;
	void *a;

	if (t->n < t->cap)
		return 0;
	cap = t->cap ? 2 * t->cap : 8;
	if (cap > ADDED_MAX || (a = realloc(t->added, cap * sizeof(*t->added))) == NULL)
		return CVPN_ERR_NOMEM;
	t->added = a;
	t->cap = cap;
	return 0;
}

/* Forgets entry i, keeping the others in the order they were added. */
static void
forget(struct tundev *t, size_t i)
{
	memmove(&t->added[i], &t->added[i + 1], (t->n - i - 1) * sizeof(*t->added));
	t->n--;
}

/*
 * Adds (type RTM_NEWADDR or RTM_NEWROUTE) and remembers p. The room to
 * remember it is made first: added and then forgotten, it would outlive us.
 */
static int
add_and_remember(struct tundev *t, enum added_kind kind, const struct tundev_prefix *p, char *why, size_t whylen)
{
	char text[TUNDEV_PREFIX_TEXT_MAX];
	int r, e;

	if ((r = make_room(t)) != 0)
		return r;
	r = kind == ADDED_ADDRESS ? address_request(t, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, p) :
	    route_request(t, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, p);
	if (r < 0) {
		e = errno;
		tundev_prefix_format(p, text, sizeof(text));
		return refused(why, whylen, e, t->kernel, "add %s %s %s %s",
		    kind == ADDED_ADDRESS ? "address" : "route to", text,
		    kind == ADDED_ADDRESS ? "to" : "through", t->name);
	}
	t->added[t->n].kind = kind;
	t->added[t->n++].p = *p;
	return 0;
}

/* Checks that p is an IPv4 or IPv6 prefix of a valid length. */
static int
check_prefix(const struct tundev_prefix *p, bool network, char *why, size_t whylen)
{
	char text[TUNDEV_PREFIX_TEXT_MAX];

	if (family_len(p->family) == 0 || p->len > 8 * family_len(p->family))
		return cvpn_why(CVPN_ERR_INVALID_ARG, why, whylen, "not an IPv4 or IPv6 prefix (family %d, length %u)",
		    p->family, p->len);
	if (!network || tundev_prefix_is_network(p))
		return 0;
	tundev_prefix_format(p, text, sizeof(text));
	return cvpn_why(CVPN_ERR_INVALID_ARG, why, whylen, "route %s has bits set past its prefix length: give its network",
	    text);
}

int
tundev_add_address(struct tundev *t, const struct tundev_prefix *addr, char *why, size_t whylen)
{
	int r;

	if ((r = check_prefix(addr, false, why, whylen)) != 0)
		return r;
	return add_and_remember(t, ADDED_ADDRESS, addr, why, whylen);
}

int
tundev_add_route(struct tundev *t, const struct tundev_prefix *dst, char *why, size_t whylen)
{
	int r;

	if ((r = check_prefix(dst, true, why, whylen)) != 0)
		return r;
	return add_and_remember(t, ADDED_ROUTE, dst, why, whylen);
}

/* Where dst is among the routes added here, or t->n when it is not. */
static size_t
find_route(const struct tundev *t, const struct tundev_prefix *dst)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->added[i].kind == ADDED_ROUTE && t->added[i].p.family == dst->family &&
		    t->added[i].p.len == dst->len && memcmp(t->added[i].p.addr, dst->addr, sizeof(dst->addr)) == 0)
			return i;
	return t->n;
}

int
tundev_del_route(struct tundev *t, const struct tundev_prefix *dst, char *why, size_t whylen)
{
	char text[TUNDEV_PREFIX_TEXT_MAX];
	size_t i;
	int r, e;

	if ((r = check_prefix(dst, true, why, whylen)) != 0)
		return r;
	if (route_request(t, RTM_DELROUTE, 0, dst) < 0) {
		e = errno;
		tundev_prefix_format(dst, text, sizeof(text));
		return refused(why, whylen, e, t->kernel, "delete route to %s through %s", text, t->name);
	}
	if ((i = find_route(t, dst)) < t->n)
		forget(t, i);
	return 0;
}

/* True for the answers that mean a route or address is not there (any more). */
static bool
gone(int e)
{
	return e == ESRCH || e == ENOENT || e == EADDRNOTAVAIL || e == ENODEV;
}

int
tundev_undo(struct tundev *t, char *why, size_t whylen)
{
	char text[TUNDEV_PREFIX_TEXT_MAX];
	size_t i;
	int r = 0, sent, e;

	/* Newest first: a route may lean on an address added before it. */
	for (i = t->n; i-- > 0;) {
		const struct added *a = &t->added[i];

		sent = a->kind == ADDED_ADDRESS ? address_request(t, RTM_DELADDR, 0, &a->p) :
		    route_request(t, RTM_DELROUTE, 0, &a->p);
		e = errno;
		if (sent == 0 || gone(e)) {
			forget(t, i);
			continue;
		}
		if (r == 0) {
			tundev_prefix_format(&a->p, text, sizeof(text));
			r = refused(why, whylen, e, t->kernel, "remove %s %s from %s",
			    a->kind == ADDED_ADDRESS ? "address" : "route to", text, t->name);
		}
	}
	return r;
}

void
tundev_free(struct tundev *t)
{
	if (t == NULL)
		return;
	if (t->nl != NULL) {
		(void)tundev_undo(t, NULL, 0);
		mnl_socket_close(t->nl);
	}
	if (t->fd >= 0)
		close(t->fd);
	free(t->added);
	free(t);
}
