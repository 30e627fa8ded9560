#!/bin/sh
# The IP VPN's operating-system layer (common/tundev.c, privdrop.c, sandbox.c), driven by
# $BUILD/tests/osprobe (make unit) inside a network namespace made and removed here, and checked
# from outside with `ip -j` and /proc:
#   - a TUN named by the kernel, with an MTU, IPv4 and IPv6 addresses and routes: they are there;
#     a route deleted, an address twice and a route with host bits refused; undo takes away what
#     was added, and at the end the interface goes with all of it;
#   - a persistent TUN made by `ip tuntap`: what the probe added goes when it ends, the interface stays;
#   - a drop to nobody: /proc/PID/status shows its ids, no groups, empty capability sets and
#     no_new_privs, and routes are refused; kept, CAP_NET_ADMIN alone, which still adds routes;
#   - the sandbox: the packet loop (libuv, the TUN and a UDP socket) goes on, after a drop too, and
#     the TUN is taken down at the end; socket(), execve() or a call not allowed kills with SIGSYS,
#     unless it is among the extras.
# Needs root (network namespaces, /dev/net/tun); reported as a skip otherwise. Needs iproute2
# (tests/deps.sh): a failure without it.
#   BUILD=build sh tests/integration/test_tundev.sh
. tests/lib.sh

need_package iproute2 "TUN interfaces in a network namespace" || finish
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
	echo "ok - # SKIP needs root and /dev/net/tun for network namespaces and TUN interfaces"
	finish
fi
PROBE=$BUILD/tests/osprobe
if [ ! -x "$PROBE" ]; then
	not_ok "$PROBE is built (make unit builds it)"
	finish
fi
NS=cvpn-tun-$$
tun_cleanup() {
	cleanup
	ip netns del "$NS" 2>/dev/null
}
trap tun_cleanup EXIT
if ! ip netns add "$NS" || ! ip -n "$NS" link set lo up; then
	not_ok "create the namespace $NS"
	finish
fi
# LeakSanitizer's check at exit stops the world with ptrace, which the sandbox forbids (an ASan build).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)

# probe_start NAME: starts osprobe in the namespace, its commands through a FIFO held open on fd 3;
# sets OUT (its replies), PRB (the PID started) and PROBE_PID (the one it reports).
probe_start() {
	OUT=$TMP/$1.out
	rm -f "$TMP/in"
	mkfifo "$TMP/in"
	ip netns exec "$NS" "$PROBE" <"$TMP/in" >"$OUT" 2>&1 &
	PRB=$!
	PIDS="$PIDS $PRB"
	exec 3>"$TMP/in"
	REPLIES=0
	wait_for "$OUT" '^ready' 10 || return 1
	PROBE_PID=$(sed -n 's/^ready \([0-9]*\)$/\1/p' "$OUT")
}

# say COMMAND...: sends a command and waits (bounded) for its reply, kept in LAST; true when it is "ok".
say() {
	echo "$*" >&3
	REPLIES=$((REPLIES + 1))
	if ! wait_count "$OUT" '^\(ok\|error\)' "$REPLIES" 10; then
		LAST="(no reply)"
		echo "# $*: no reply"
		return 1
	fi
	LAST=$(grep '^\(ok\|error\)' "$OUT" | sed -n "${REPLIES}p")
	case $LAST in
	ok*) return 0 ;;
	*) echo "# $*: $LAST"; return 1 ;;
	esac
}

# refused COMMAND... -- WORDS: the command gets an error reply that holds WORDS.
refused() {
	words=""
	cmd=""
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do cmd="$cmd $1"; shift; done
	shift
	words=$*
	! say $cmd && case $LAST in *"$words"*) true ;; *) echo "# expected: $words"; false ;; esac
}

# probe_end: closes the probe's input (it frees the TUN and exits) and waits (bounded); sets STATUS.
probe_end() {
	exec 3>&-
	if ! wait_gone "$PRB" 10; then
		echo "# the probe did not exit at the end of its input; killing it"
		kill -KILL "$PRB" 2>/dev/null
	fi
	wait "$PRB"
	STATUS=$?
}

# killed_by SIGNAL: the probe ended by that signal (as its exit status, 128 + the signal, says).
killed_by() {
	[ "$STATUS" -gt 128 ] && [ "$(kill -l "$STATUS")" = "$1" ] || { echo "# exit status $STATUS"; false; }
}

# addrs IF: its addresses, "inet 10.99.0.1/24" a line (ip -j addr); false when the interface is gone.
addrs() {
	ip -n "$NS" -j addr show dev "$1" >"$TMP/addr.json" 2>/dev/null || return 1
	$PY -c 'import json, sys
for link in json.load(open(sys.argv[1])):
    for a in link.get("addr_info", []):
        print(a["family"], "%s/%d" % (a["local"], a["prefixlen"]))' "$TMP/addr.json"
}

# routes IF: the networks routed through it, "10.98.0.0/16 static" a line (ip -j route, both
# families); false when the interface is gone.
routes() {
	for f in -4 -6; do
		ip -n "$NS" -j $f route show dev "$1" >"$TMP/route.json" 2>/dev/null || return 1
		$PY -c 'import json, sys
for r in json.load(open(sys.argv[1])):
    print(r["dst"], r.get("protocol", "?"))' "$TMP/route.json" || return 1
	done
}

# has LISTER IF LINE: LISTER (addrs or routes) shows LINE for IF.
has() { "$1" "$2" >"$TMP/list" && grep -qxF -- "$3" "$TMP/list"; }
# lacks LISTER IF LINE: the interface is there, and LISTER does not show LINE for it.
lacks() { "$1" "$2" >"$TMP/list" && ! grep -qxF -- "$3" "$TMP/list"; }

# link_is IF MTU: the interface is up with that MTU (ip -j link).
link_is() {
	ip -n "$NS" -j link show dev "$1" >"$TMP/link.json" 2>/dev/null &&
	$PY -c 'import json, sys
l = json.load(open(sys.argv[1]))[0]
sys.exit(0 if l["mtu"] == int(sys.argv[2]) and "UP" in l["flags"] else 1)' "$TMP/link.json" "$2"
}

link_there() { ip -n "$NS" link show dev "$1" >/dev/null 2>&1; }
link_gone() { ! link_there "$1"; }
# kernel_named IF: the name is TUNDEV_DEFAULT_NAME as the kernel completes it.
kernel_named() { expr "$1" : 'cvpn[0-9][0-9]*$' >/dev/null; }

# status_is FIELD VALUE...: the probe's /proc status line FIELD holds the values, tabs or spaces apart.
status_is() {
	field=$1
	shift
	got=$(sed -n "s/^$field:[[:space:]]*//p" "/proc/$PROBE_PID/status" | tr -s '\t ' '  ' | sed 's/ *$//')
	[ "$got" = "$*" ] || { echo "# $field: '$got', expected '$*'"; false; }
}

# --- a TUN the kernel names, configured, undone, closed
check "the probe starts in the namespace" probe_start tun
check "the name of an interface of another kind is refused" refused open lo -- "is not a TUN"
check "open a TUN the kernel names" say open -
IF=${LAST#ok }
check "the kernel named it cvpnN" kernel_named "$IF"
check "set MTU 1400" say mtu 1400
check "bring it up" say up
check "ip sees it up with MTU 1400" link_is "$IF" 1400
check "add address 10.99.0.1/24" say address 10.99.0.1/24
check "add address fd99::1/64" say address fd99::1/64
check "add route 10.98.0.0/16" say route 10.98.0.0/16
check "add route 192.0.2.0/24" say route 192.0.2.0/24
check "add route fd98::/48" say route fd98::/48
check "ip sees 10.99.0.1/24" has addrs "$IF" "inet 10.99.0.1/24"
check "ip sees fd99::1/64" has addrs "$IF" "inet6 fd99::1/64"
check "ip sees the route to 10.98.0.0/16, static" has routes "$IF" "10.98.0.0/16 static"
check "ip sees the route to 192.0.2.0/24" has routes "$IF" "192.0.2.0/24 static"
check "ip sees the route to fd98::/48" has routes "$IF" "fd98::/48 static"
check "delete the route to 192.0.2.0/24" say del 192.0.2.0/24
check "the deleted route is gone" lacks routes "$IF" "192.0.2.0/24 static"
check "the other routes stay" has routes "$IF" "10.98.0.0/16 static"
check "an address twice is refused, in the kernel's words" refused address 10.99.0.1/24 -- "File exists"
check "a route with host bits is refused" refused route 10.98.0.1/16 -- "give its network"
check "a route that is not there cannot be deleted" refused del 203.0.113.0/24 -- "cannot delete route"
check "undo" say undo
check "undo took 10.99.0.1/24 away" lacks addrs "$IF" "inet 10.99.0.1/24"
check "undo took fd99::1/64 away" lacks addrs "$IF" "inet6 fd99::1/64"
check "undo took the routes away" lacks routes "$IF" "10.98.0.0/16 static"
check "undo took the IPv6 route away" lacks routes "$IF" "fd98::/48 static"
check "add the address and route again" say address 10.99.0.1/24
check "add the route again" say route 10.98.0.0/16
probe_end
check "the probe exits 0 at the end of its input" [ "$STATUS" -eq 0 ]
check "the TUN is gone with its descriptor" link_gone "$IF"
check "no route to 10.98.0.0/16 is left in the namespace" [ -z "$(ip -n "$NS" route show 10.98.0.0/16)" ]

# --- a persistent TUN: the interface stays, what the probe added goes
if ip -n "$NS" tuntap add mode tun name cvpnp0; then
	check "the probe starts" probe_start persist
	check "open the persistent TUN cvpnp0" say open cvpnp0
	check "bring it up" say up
	check "add 10.97.0.1/24" say address 10.97.0.1/24
	check "add the route to 10.96.0.0/16" say route 10.96.0.0/16
	check "ip sees the route" has routes cvpnp0 "10.96.0.0/16 static"
	probe_end
	check "the probe exits 0" [ "$STATUS" -eq 0 ]
	check "the persistent TUN stays" link_there cvpnp0
	check "its address went with the probe" lacks addrs cvpnp0 "inet 10.97.0.1/24"
	check "its route went with the probe" lacks routes cvpnp0 "10.96.0.0/16 static"
	ip -n "$NS" tuntap del mode tun name cvpnp0
else
	not_ok "make a persistent TUN with ip tuntap"
fi

# --- a drop to nobody, with nothing kept
check "the probe starts" probe_start drop
check "open a TUN and bring it up" say open -
IF=${LAST#ok }
check "add 10.95.0.1/24" say address 10.95.0.1/24
check "bring it up" say up
check "it may create a TUN before the drop" say checktun
check "drop to nobody" say drop nobody
check "uids are nobody's" status_is Uid "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID"
check "gids are nobody's" status_is Gid "$NOBODY_GID $NOBODY_GID $NOBODY_GID $NOBODY_GID"
check "no supplementary groups" status_is Groups ""
check "CapEff is empty" status_is CapEff 0000000000000000
check "CapPrm is empty" status_is CapPrm 0000000000000000
check "CapBnd is empty" status_is CapBnd 0000000000000000
check "CapAmb is empty" status_is CapAmb 0000000000000000
check "no_new_privs is set" status_is NoNewPrivs 1
check "a route is refused now, saying what to grant" refused route 10.94.0.0/16 -- "CAP_NET_ADMIN"
check "the check for a TUN says what to grant" refused checktun -- "setcap cap_net_admin+ep"
probe_end
check "the probe exits 0" [ "$STATUS" -eq 0 ]
check "the TUN is gone with its descriptor, though undo was refused" link_gone "$IF"

# --- a drop to nobody keeping CAP_NET_ADMIN (bit 12)
check "the probe starts" probe_start keep
check "open a TUN" say open -
IF=${LAST#ok }
check "add 10.95.0.1/24" say address 10.95.0.1/24
check "bring it up" say up
check "drop to nobody, keeping cap_net_admin" say drop nobody cap_net_admin
check "uids are nobody's" status_is Uid "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID"
check "CapEff is CAP_NET_ADMIN alone" status_is CapEff 0000000000001000
check "CapPrm is CAP_NET_ADMIN alone" status_is CapPrm 0000000000001000
check "CapInh is empty" status_is CapInh 0000000000000000
check "no_new_privs is set" status_is NoNewPrivs 1
check "a route can still be added" say route 10.94.0.0/16
check "ip sees it" has routes "$IF" "10.94.0.0/16 static"
check "and undone" say undo
check "undo took it away" lacks routes "$IF" "10.94.0.0/16 static"
probe_end
check "the probe exits 0" [ "$STATUS" -eq 0 ]

# --- the sandbox
# sandboxed CALL [EXTRA...]: a TUN with an address, the loop under the sandbox (with the extras),
# then CALL; the probe must die of SIGSYS there.
sandboxed() {
	call=$1
	shift
	probe_start "sandbox-$call" && say open - && say address 10.93.0.1/24 && say up || return 1
	say loop 200 "$@" || return 1
	echo "call $call" >&3
	probe_end
	killed_by SYS || return 1
	case $(tail -n 1 "$OUT") in
	"ok 200 round trips") true ;;
	*) echo "# the probe answered the forbidden call: $(tail -n 1 "$OUT")"; false ;;
	esac
}
check "under the sandbox the loop runs, and socket() kills with SIGSYS" sandboxed socket
check "under the sandbox execve() kills with SIGSYS" sandboxed execve
check "a call not on the list (getppid) kills with SIGSYS" sandboxed getppid
check "with socket among the extras, socket() is allowed and execve() still kills" sandboxed execve socket

check "the probe starts" probe_start extra
check "open a TUN" say open -
IF=${LAST#ok }
check "add 10.93.0.1/24" say address 10.93.0.1/24
check "bring it up" say up
check "add the route to 10.92.0.0/16" say route 10.92.0.0/16
check "drop to nobody, keeping cap_net_admin, as a server would" say drop nobody cap_net_admin
check "the loop runs under the sandbox with getppid as an extra" say loop 100 getppid
check "getppid is allowed" say call getppid
check "undo works under the sandbox (netlink on the socket opened before)" say undo
check "undo took the route away" lacks routes "$IF" "10.92.0.0/16 static"
probe_end
check "the probe exits 0 under the sandbox" [ "$STATUS" -eq 0 ]
check "the TUN is gone" link_gone "$IF"
finish
