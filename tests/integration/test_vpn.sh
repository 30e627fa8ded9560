#!/bin/sh
# The IP VPN end to end (cvpn-server --tun, cvpn-client --tun), in network namespaces made and
# removed here: a server namespace joined by veth pairs to 20 client namespaces, one for a client
# over TCP, one for a spoofing attacker, and one behind impair.py's user-space link. Addresses are
# 10.x and TEST-NET, inside the namespaces only.
#   - 20 clients at once over UDP: ping both ways, a fixed address= for one key, client to client
#     refused (and counted) without --client-to-client;
#   - TCP and UDP with iperf3 through the tunnel, and a file whose SHA-256 must match;
#   - after setup, /proc shows both programs as nobody with an empty CapEff, no_new_privs and seccomp;
#   - roaming: the client's source address changes in the middle and the traffic goes on;
#   - on a 1280-byte path the client takes the MTU that fits one datagram; a client over IPv6;
#   - over impair.py: a replayed and a bit-flipped datagram each dropped and counted; with
#     duplication and reordering, no duplicate delivered (ping sees no DUP!) and nothing lost;
#     with 5% loss, a new handshake and a SHA-256-checked file;
#   - a flood of INITs from spoofed addresses: the cookie path answers it, a client's traffic
#     goes on, and a new client completes its handshake meanwhile;
#   - --transport tcp: ping and the file;
#   - the dissector (captures/wireshark/cvpn.lua) on real captures of both transports, with the
#     key logs the programs write: the pings inside, and nothing without the log;
#   - the server restarted with --client-to-client: the clients hand-shake again by themselves,
#     and client to client goes through;
#   - a forbidden system call under the sandbox (a hidden --sandbox-test, SIGUSR2) kills only the
#     process that made it, client or server; SIGTERM undoes each TUN.
# Needs root (network namespaces, /dev/net/tun); reported as a skip otherwise. Needs iproute2,
# iperf3 and iputils-ping (tests/deps.sh): a failure without them.
#   BUILD=build sh tests/integration/test_vpn.sh
. tests/lib.sh

need_package iproute2 "the tunnel between network namespaces" || finish
need_package iperf3 "TCP and UDP through the tunnel" || finish
need_package iputils-ping "pings through the tunnel" || finish
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
	echo "ok - # SKIP needs root and /dev/net/tun for network namespaces and TUN interfaces"
	finish
fi
# LeakSanitizer's check at exit stops the world with ptrace, which the sandbox forbids (an ASan build).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS
CLIENTS=20
STARTED=$(date +%s)
elapsed() { echo "# $(( $(date +%s) - STARTED )) s"; }
NS=cvpn-vpn-$$
NSS=$NS-s
NSX=$NS-x
NSL=$NS-l
NST=$NS-t
NSLIST="$NSS $NSX $NSL $NST"
k=1
while [ $k -le $CLIENTS ]; do NSLIST="$NSLIST $NS-c$k"; k=$((k + 1)); done
vpn_cleanup() {
	cleanup
	for n in $NSLIST; do ip netns del "$n" 2>/dev/null; done
}
trap vpn_cleanup EXIT

elapsed
# --- the namespaces: the server's, joined by a veth pair to each of the others
# link NS K: a veth pair between the server's namespace (10.98.K.1/24) and NS (10.98.K.2/24, eth0).
link() {
	ip link add "v$2" netns "$NSS" type veth peer name eth0 netns "$1" &&
	ip -n "$NSS" addr add "10.98.$2.1/24" dev "v$2" && ip -n "$NSS" link set "v$2" up &&
	ip -n "$1" addr add "10.98.$2.2/24" dev eth0 && ip -n "$1" link set eth0 up
}
setup() {
	for n in $NSLIST; do ip netns add "$n" && ip -n "$n" link set lo up || return 1; done
	k=1
	while [ $k -le $CLIENTS ]; do link "$NS-c$k" "$k" || return 1; k=$((k + 1)); done
	link "$NST" 30 && link "$NSX" 40 || return 1
	# Spoofed sources arrive on the attacker's link: no reverse-path filter drops them, and the
	# server's answers to them go back that way, to nobody.
	ip netns exec "$NSS" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.v40.rp_filter=0 &&
	ip -n "$NSS" route add 10.66.0.0/16 via 10.98.40.2
}
check "make $((CLIENTS + 4)) namespaces and their links" setup || finish

elapsed
# --- keys: the server's, one per client (the authorized-clients file names them all)
KEYS=$TMP/keys
mkdir -p "$KEYS"
keys() {
	umask 077
	"$CLIENT" genkey >"$KEYS/server.key" || return 1
	SERVER_PUB=$("$CLIENT" pubkey <"$KEYS/server.key") || return 1
	: >"$KEYS/authorized"
	for who in $(seq 1 $CLIENTS) t l new; do
		"$CLIENT" genkey >"$KEYS/c$who.key" || return 1
		pub=$("$CLIENT" pubkey <"$KEYS/c$who.key") || return 1
		# Client 1 has a fixed address; the others take one from the pool.
		if [ "$who" = 1 ]; then
			echo "$pub client-1 address=10.77.0.5" >>"$KEYS/authorized"
		else
			echo "$pub client-$who" >>"$KEYS/authorized"
		fi
	done
	chmod 644 "$KEYS/authorized"
	umask 022
}
check "make the keys and the authorized-clients file" keys || finish

# server_start NAME [ARGS...]: the server in its namespace on port 4600; sets SRV and SLOG.
server_start() {
	SLOG=$TMP/$1.server.log
	shift
	ip netns exec "$NSS" "$SERVER" --tun --tun-net 10.77.0.0/24 --key "$KEYS/server.key" \
		--authorized-clients "$KEYS/authorized" --push-route 10.200.0.0/16 --sandbox-test "$@" >"$SLOG" 2>&1 &
	SRV=$!
	PIDS="$PIDS $SRV"
	wait_for "$SLOG" '^Sandbox on' 10 || { sed 's/^/#   /' "$SLOG"; return 1; }
}

# client_start NS KEY NAME HOST [ARGS...]: a tunnel client in NS; sets CPID and CLOG, and keeps
# the PID in PID_<NAME>.
client_start() {
	# Not "name": check() keeps its test's name there.
	c_ns=$1 c_key=$2 c_name=$3 c_host=$4
	shift 4
	CLOG=$TMP/$c_name.client.log
	ip netns exec "$c_ns" "$CLIENT" --tun -H "$c_host" --server-key "$SERVER_PUB" --key "$KEYS/$c_key.key" \
		"$@" >"$CLOG" 2>&1 &
	CPID=$!
	PIDS="$PIDS $CPID"
	eval "PID_$c_name=$CPID"
}

# tunnel_address NAME: the address the client NAME's log says its tunnel has now (a restarted
# server may lease another: the client then says "Tunnel reconfigured").
tunnel_address() {
	sed -n 's/^Tunnel \(up\|reconfigured\): [^ ]* \([0-9.]*\)\/.*/\2/p' "$TMP/$1.client.log" | tail -n 1
}

# reach NS ADDRESS [SECONDS]: a ping from NS to ADDRESS is answered within SECONDS (default 10),
# each try a packet of data, as a user's traffic would be.
reach() {
	i=0
	limit=$(( $(bound "${3:-10}") / 20 ))
	while [ $i -lt "$limit" ]; do
		ip netns exec "$1" ping -c 1 -W 1 -n "$2" >/dev/null 2>&1 && return 0
		i=$((i + 1))
	done
	return 1
}

# unreachable NS ADDRESS: three pings from NS to ADDRESS go unanswered.
unreachable() { ! ip netns exec "$1" ping -c 3 -i 0.2 -W 1 -n "$2" >/dev/null 2>&1; }

# counter LOG WORDS: the number before WORDS on the last counter line of LOG that has them.
counter() {
	n=$(grep -o "[0-9][0-9]* $2" "$1" | tail -n 1 | cut -d' ' -f1)
	echo "${n:-0}"
}

# report PID LOG: asks the program for its counters (SIGUSR1) and waits for a new report in LOG.
report() {
	before=$(grep -c '^Tunnel UDP:' "$2")
	kill -USR1 "$1" && wait_count "$2" '^Tunnel UDP:' $((before + 1)) 10
}

# all_clients CMD: runs CMD K for every client K at once (each bounded itself); true when every
# one succeeds.
all_clients() {
	k=1
	jobs_started=""
	while [ $k -le $CLIENTS ]; do
		( "$@" "$k" && touch "$TMP/ok.$k" ) &
		jobs_started="$jobs_started $!"
		k=$((k + 1))
	done
	for j in $jobs_started; do wait "$j"; done
	n=$(ls "$TMP"/ok.* 2>/dev/null | wc -l)
	rm -f "$TMP"/ok.*
	[ "$n" -eq $CLIENTS ] || { echo "# $n of $CLIENTS"; false; }
}

client_up() { wait_for "$TMP/$1.client.log" '^Tunnel up' 20; }
pings_server() { reach "$NS-c$1" 10.77.0.1 20; }
server_pings() { reach "$NSS" "$(tunnel_address "$1")" 10; }

# status_is PID FIELD VALUE...: the /proc status line FIELD of PID holds the values.
status_is() {
	pid=$1 field=$2
	shift 2
	got=$(sed -n "s/^$field:[[:space:]]*//p" "/proc/$pid/status" | tr -s '\t ' '  ' | sed 's/ *$//')
	[ "$got" = "$*" ] || { echo "# $field of $pid: '$got', expected '$*'"; false; }
}
confined() {
	status_is "$1" Uid "$NOBODY $NOBODY $NOBODY $NOBODY" && status_is "$1" CapEff 0000000000000000 &&
	status_is "$1" NoNewPrivs 1 && status_is "$1" Seccomp 2
}
NOBODY=$(id -u nobody)

# killed_by PID SIGNAL: PID (a child of this shell) ended by SIGNAL.
killed_by() {
	wait_gone "$1" 10 || return 1
	wait "$1"
	st=$?
	[ "$st" -gt 128 ] && [ "$(kill -l "$st")" = "$2" ] || { echo "# exit status $st"; false; }
}

# sha_file NS: a 3 MiB file from the server (10.77.0.1:7000) to NS through the tunnel, SHA-256 checked.
sha_file() {
	[ -f "$TMP/file" ] || head -c 3145728 /dev/urandom >"$TMP/file"
	rm -f "$TMP/file.out" "$TMP/send.out"
	ip netns exec "$NSS" $PY tests/integration/vpnfile.py send 10.77.0.1 7000 "$TMP/file" >"$TMP/send.out" 2>&1 &
	sender=$!
	wait_for "$TMP/send.out" '^listening' 10 &&
	ip netns exec "$1" timeout 60 $PY tests/integration/vpnfile.py receive 10.77.0.1 7000 "$TMP/file.out" || {
		kill "$sender" 2>/dev/null; wait "$sender"; return 1; }
	wait "$sender"
	[ "$(sha256sum <"$TMP/file")" = "$(sha256sum <"$TMP/file.out")" ]
}

# iperf NS ARGS...: iperf3 from NS to a one-off iperf3 server on 10.77.0.1; its JSON, with the
# server's, in $TMP/iperf.json.
iperf() {
	ns=$1
	shift
	ip netns exec "$NSS" timeout 60 iperf3 -s -1 -J -B 10.77.0.1 >"$TMP/iperf-s.out" 2>&1 &
	isrv=$!
	# Its output is buffered until it ends: its socket says when it listens.
	listening "$NSS" 5201 &&
	ip netns exec "$ns" timeout 60 iperf3 -c 10.77.0.1 -J --get-server-output "$@" >"$TMP/iperf.json" 2>&1
	r=$?
	wait "$isrv"
	return $r
}
# listening NS PORT: waits (bounded) until a TCP socket listens on PORT in NS.
listening() {
	i=0
	limit=$(bound 10)
	while [ $i -lt "$limit" ]; do
		[ -n "$(ip netns exec "$1" ss -ltnH "sport = :$2")" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# iperf_ok WHAT: iperf3's JSON says it moved bytes; for UDP, that it lost at most 1%; for
# reordered (UDP over a link that reorders), also that its server saw datagrams out of order.
iperf_ok() {
	$PY - "$TMP/iperf.json" "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
end = d["end"]
if "error" in d:
    print(f"# iperf3: {d['error']}")
if sys.argv[2] != "tcp":
    s = end["sum"]
    # The receiver's count, which only the server's own report has.
    server = d.get("server_output_json", {}).get("end", {}).get("streams", [])
    late = sum(st.get("udp", {}).get("out_of_order", 0) for st in server)
    print(f"# UDP: {s['bits_per_second'] / 1e6:.1f} Mbit/s, {s['lost_packets']} of {s['packets']} lost, "
          f"{late} out of order")
    sys.exit(0 if s["packets"] > 0 and s["lost_percent"] <= 1 and (sys.argv[2] == "udp" or late > 0) else 1)
s = end["sum_received"]
print(f"# TCP: {s['bits_per_second'] / 1e6:.1f} Mbit/s, {s['bytes']} bytes")
sys.exit(0 if s["bytes"] > 0 else 1)
EOF
}

elapsed
# --- the server and 20 clients over UDP, without --client-to-client
check "cvpn-server --tun starts, drops and enters its sandbox" server_start first
check "the server says where the tunnel is" grep -q '^Tunnel on cvpn[0-9]* 10.77.0.1/24, MTU 1420, UDP port 4600' "$SLOG"
k=1
while [ $k -le $CLIENTS ]; do
	client_start "$NS-c$k" "c$k" "$k" "10.98.$k.1" --sandbox-test
	k=$((k + 1))
done
check "$CLIENTS clients bring their tunnels up at once" all_clients client_up
check "the client of the key with address= has 10.77.0.5" [ "$(tunnel_address 1)" = 10.77.0.5 ]
check "the server's pushed route is on a client" sh -c "ip -n $NS-c2 route show 10.200.0.0/16 | grep -q cvpn"
check "every client pings the server through the tunnel" all_clients pings_server
check "the server pings every client through the tunnel" all_clients server_pings
check "the server is nobody without capabilities, no_new_privs, seccomp" confined "$SRV"
check "a client is nobody with an empty CapEff, no_new_privs, seccomp" confined "$PID_1"
check "the client keeps CAP_NET_ADMIN lowered (permitted only)" status_is "$PID_1" CapPrm 0000000000001000
ADDR2=$(tunnel_address 2)
check "without --client-to-client, client 1 cannot ping client 2" unreachable "$NS-c1" "$ADDR2"
check "the server reports its counters on SIGUSR1" report "$SRV" "$SLOG"
check "the server counted the packets between clients" [ "$(counter "$SLOG" 'client to client (off)')" -ge 3 ]
check "the server's report lists client 1 with its address" \
	grep -q "^Tunnel client .* 10.77.0.5 UDP from 10.98.1.2:" "$SLOG"

elapsed
# --- traffic through the tunnel
check "iperf3 TCP from client 1 to the server" iperf "$NS-c1" -t 3
check "iperf3 TCP moved bytes" iperf_ok tcp
check "iperf3 UDP (20 Mbit/s) from client 1 to the server" iperf "$NS-c1" -u -b 20M -t 3
check "iperf3 UDP lost at most 1%" iperf_ok udp
check "a 3 MiB file reaches client 2 with its SHA-256" sha_file "$NS-c2"

elapsed
# --- roaming: client 3's packets leave from another address, its session goes on
roam() {
	ip -n "$NS-c3" addr add 10.98.3.3/24 dev eth0 &&
	ip -n "$NS-c3" route replace 10.98.3.1/32 dev eth0 src 10.98.3.3 &&
	reach "$NS-c3" 10.77.0.1 10 && report "$SRV" "$SLOG" &&
	grep -q "^Tunnel client .* $(tunnel_address 3) UDP from 10.98.3.3:" "$SLOG"
}
check "client 3 reaches the server before it roams" reach "$NS-c3" 10.77.0.1 5
check "client 3 roams to 10.98.3.3: the server answers there" roam
check "client 3 keeps its tunnel (one handshake)" [ "$(grep -c '^Tunnel up' "$TMP/3.client.log")" -eq 1 ]

elapsed
# --- the sandbox kills a client that makes a forbidden call, and nothing else
check "client 4 is sent SIGUSR2: it calls getppid(), which its sandbox forbids" kill -USR2 "$PID_4"
check "client 4 was killed by SIGSYS" killed_by "$PID_4" SYS
check "client 4's TUN went with it" sh -c "! ip -n $NS-c4 link show cvpn0 >/dev/null 2>&1"
check "client 5 and the server go on" reach "$NS-c5" 10.77.0.1 5

elapsed
# --- the dissector on a real capture: client 8 starts again with a key log while dumpcap
# records the server's side of its link; tshark with captures/wireshark/cvpn.lua must open
# every ping's DATA and hand its ICMP to Wireshark's IP dissector, and nothing without the log.
LUA=captures/wireshark/cvpn.lua
HAVE_TSHARK=0
need_package tshark "the dissector on real tunnel captures" && HAVE_TSHARK=1
# capture_start NS INTERFACE FILE FILTER: dumpcap in NS until capture_stop; sets CAP.
capture_start() {
	rm -f "$3" "$3.err"
	ip netns exec "$1" timeout 120 dumpcap -q -i "$2" -f "$4" -w "$3" 2>"$3.err" &
	CAP=$!
	PIDS="$PIDS $CAP"
	wait_for "$3.err" '^Capturing on' 10
}
# capture_stop NAME: stops the capture once the dissector reads client NAME's 5 pings each way in
# what dumpcap has written (it holds the last packets back for up to a second, and a SIGTERM loses
# them), or after 15 s, when pings_read then says what was missing.
capture_stop() {
	i=0
	limit=$(bound 15)
	while [ $i -lt "$limit" ]; do
		count_pings "$1" && [ "$up" -ge 5 ] && [ "$down" -ge 5 ] && break
		sleep 1
		i=$((i + 1))
	done
	kill "$CAP" && wait "$CAP"
}
# count_pings NAME: sets up and down, client NAME's pings read in its capture, each way.
count_pings() {
	addr=$(tunnel_address "$1")
	dissect "$TMP/$1.pcapng" "$TMP/$1.keys" -Y 'cvpn && icmp' -T fields -e _ws.col.Info >"$TMP/$1.info" || return 1
	up=$(grep -c "ICMP $addr -> 10.77.0.1" "$TMP/$1.info")
	down=$(grep -c "ICMP 10.77.0.1 -> $addr" "$TMP/$1.info")
}
# dissect FILE KEYLOG [TSHARK OPTIONS...]: the Info column of every cvpn packet (KEYLOG - for none).
dissect() {
	d_file=$1 d_keys=$2
	shift 2
	[ "$d_keys" = - ] || set -- -o "cvpn.keylog_file:$d_keys" "$@"
	timeout 120 tshark -X "lua_script:$LUA" -r "$d_file" "$@" 2>>"$TMP/tshark.err"
}
# pings_read NAME: client NAME's 5 pings, each way, read from its capture by their inner ICMP.
pings_read() {
	count_pings "$1" && dissect "$TMP/$1.pcapng" "$TMP/$1.keys" -Y 'icmp.type == 8' >"$TMP/$1.requests" || return 1
	echo "# $up requests and $down replies read, $(wc -l <"$TMP/$1.requests") echo requests filtered"
	sed -n '1,2s/^/# /p' "$TMP/$1.info"
	[ "$up" -ge 5 ] && [ "$down" -ge 5 ] && [ "$(wc -l <"$TMP/$1.requests")" -ge 5 ]
}
# unread NAME: without the key log the capture shows no inner packet.
unread() {
	dissect "$TMP/$1.pcapng" - -Y 'cvpn && (icmp || ip.src == 10.77.0.1)' >"$TMP/$1.nokeys" &&
	[ ! -s "$TMP/$1.nokeys" ] && [ "$(dissect "$TMP/$1.pcapng" - -Y cvpn | wc -l)" -ge 10 ]
}
# stopped NAME: client NAME ends on SIGTERM with status 0.
stopped() {
	s_pid=$(eval echo "\$PID_$1")
	kill "$s_pid" && wait_gone "$s_pid" 10 || { echo "# client $1 did not end"; return 1; }
	wait "$s_pid"
	s_rc=$?
	[ $s_rc -eq 0 ] || { echo "# client $1 ended with status $s_rc:"; sed 's/^/#   /' "$TMP/$1.client.log"; false; }
}
rekeyed_8() {
	stopped 8 &&
	capture_start "$NSS" v8 "$TMP/8.pcapng" "udp port 4600" || return 1
	client_start "$NS-c8" c8 8 10.98.8.1 --keylog "$TMP/8.keys"
	client_up 8 && ip netns exec "$NS-c8" ping -c 5 -i 0.2 -W 2 -n 10.77.0.1 >/dev/null && capture_stop 8
}
if [ $HAVE_TSHARK -eq 1 ]; then
	check "client 8 starts again with --keylog, captured on the server's side" rekeyed_8
	check "client 8's key log has a CVPN_UDP line" grep -q '^CVPN_UDP 0.0.0.0:[0-9]* 10.98.8.1:4600 Noise_IKpsk2_25519_' "$TMP/8.keys"
	check "the dissector reads client 8's pings inside DATA packets, both ways" pings_read 8
	check "the dissector names the handshake and the DATA" sh -c "grep -q '^DATA to server, handshake 1 (index 0x[0-9a-f]*), counter [0-9]*: IPv4 ICMP' '$TMP/8.info'"
	check "without the key log, no inner packet is read" unread 8
fi

elapsed
# --- the MTU from the path: client 9's link takes 1280-byte packets; its tunnel must carry the
# largest packet that then fits one datagram (1280 - 20 - 8 - 32, down to a multiple of 16: 1216)
# whole, and refuse a larger one before it leaves.
small_path() {
	stopped 9 && ip -n "$NS-c9" link set eth0 mtu 1280 && ip -n "$NSS" link set v9 mtu 1280 || return 1
	client_start "$NS-c9" c9 9 10.98.9.1
	client_up 9 && grep -q "^MTU 1216, not the server's 1420" "$TMP/9.client.log" &&
	grep -q '^Tunnel up: cvpn0 [0-9./]*, MTU 1216' "$TMP/9.client.log" || { sed 's/^/#   /' "$TMP/9.client.log"; false; }
}
check "a client on a 1280-byte path takes MTU 1216" small_path
check "a 1216-byte ping with DF crosses the tunnel both ways" \
	sh -c "ip netns exec $NS-c9 ping -c 2 -i 0.2 -W 2 -M do -s 1188 -n 10.77.0.1 >/dev/null"
check "a 1217-byte one with DF is refused before it leaves" \
	sh -c "! ip netns exec $NS-c9 ping -c 1 -W 1 -M do -s 1189 -n 10.77.0.1 >/dev/null 2>&1"

elapsed
# --- the UDP transport over IPv6: client 10 comes back to the server's IPv6 address (2001:db8::/32,
# documentation addresses, on its link only); 1500 bytes over IPv6 leave room for MTU 1408.
over_ipv6() {
	stopped 10 && ip -n "$NSS" addr add 2001:db8:10::1/64 dev v10 nodad &&
	ip -n "$NS-c10" addr add 2001:db8:10::2/64 dev eth0 nodad || return 1
	client_start "$NS-c10" c10 10 2001:db8:10::1
	client_up 10 && grep -q "^MTU 1408, not the server's 1420" "$TMP/10.client.log" ||
		{ sed 's/^/#   /' "$TMP/10.client.log"; false; }
}
check "a client over IPv6 brings its tunnel up, with MTU 1408" over_ipv6
check "it pings the server through the tunnel" reach "$NS-c10" 10.77.0.1 10
names_v6() { report "$SRV" "$SLOG" && grep -q "^Tunnel client .* $(tunnel_address 10) UDP from \[2001:db8:10::2\]:" "$SLOG"; }
check "the server's report names it by its IPv6 address" names_v6

elapsed
# --- a replayed and a bit-flipped datagram, through impair.py (no loss, no delay at first)
impair_start() {
	rm -f "$TMP/impair.out"
	$PY tests/integration/impair.py "$NSL" "$NSS" "$@" --seconds 300 >"$TMP/impair.out" 2>"$TMP/impair.err" &
	IMP=$!
	PIDS="$PIDS $IMP"
	wait_for "$TMP/impair.out" '^ready' 10
}
impair_stop() {
	kill "$IMP" && wait "$IMP"
	sed 's/^/# impair.py: /' "$TMP/impair.err"
}
check "impair.py joins the lossy client's namespace to the server's" impair_start --loss 0 --dup 0 --delay 0:0
client_start "$NSL" cl l 192.0.2.2
check "a client over impair.py brings its tunnel up" client_up l
inject() {
	reach "$NSL" 10.77.0.1 10 && report "$SRV" "$SLOG" || return 1
	replayed=$(counter "$SLOG" replayed)
	forged=$(counter "$SLOG" 'not authentic')
	kill -USR1 "$IMP" && wait_for "$TMP/impair.err" '^injected a replay' 10 &&
	reach "$NSL" 10.77.0.1 5 && report "$SRV" "$SLOG" || return 1
	echo "# replayed $replayed -> $(counter "$SLOG" replayed), not authentic $forged -> $(counter "$SLOG" 'not authentic')"
	[ "$(counter "$SLOG" replayed)" -eq $((replayed + 1)) ] &&
	[ "$(counter "$SLOG" 'not authentic')" -eq $((forged + 1)) ]
}
check "a replayed datagram and a flipped one are each dropped and counted once" inject
impair_stop

elapsed
# --- duplication and reordering: duplicates are never delivered twice, reordering is taken
check "impair.py again, duplicating 20% and delaying 0-40 ms (reordering)" impair_start --loss 0 --dup 0.2 --delay 0:40
dups() {
	reach "$NSL" 10.77.0.1 20 || return 1
	report "$SRV" "$SLOG" && report "$PID_l" "$TMP/l.client.log" || return 1
	before=$(( $(counter "$SLOG" replayed) + $(counter "$TMP/l.client.log" replayed) ))
	ip netns exec "$NSL" ping -c 50 -i 0.02 -W 2 -n 10.77.0.1 >"$TMP/ping-dup.out" 2>&1
	tail -n 2 "$TMP/ping-dup.out" | sed 's/^/# /'
	report "$SRV" "$SLOG" && report "$PID_l" "$TMP/l.client.log" || return 1
	after=$(( $(counter "$SLOG" replayed) + $(counter "$TMP/l.client.log" replayed) ))
	echo "# the two ends dropped $((after - before)) copies as replayed"
	grep -q ' 50 received' "$TMP/ping-dup.out" && ! grep -q 'DUP!' "$TMP/ping-dup.out" && [ "$after" -gt "$before" ]
}
check "50 pings with duplicates and reordering: all answered, none twice, copies counted" dups
check "iperf3 UDP over the reordering link" iperf "$NSL" -u -b 5M -t 3
check "iperf3 UDP lost at most 1%, and took datagrams out of order" iperf_ok reordered
impair_stop
check "impair.py reordered datagrams (the test is not vacuous)" \
	sh -c "[ \"\$(sed -n 's/.*reordered \([0-9]*\).*/\1/p' '$TMP/impair.err')\" -gt 10 ]"

elapsed
# --- loss: the lossy client hand-shakes again through a link that drops 5% (a lost INIT or
# RESPONSE is sent again), and TCP inside the tunnel delivers a file whole.
check "impair.py again, dropping 5% and delaying 0-10 ms" impair_start --loss 0.05 --dup 0 --delay 0:10
rejoin() {
	kill "$PID_l" && wait_gone "$PID_l" 10 && wait "$PID_l" || return 1
	client_start "$NSL" cl l2 192.0.2.2
	client_up l2
}
check "the lossy client hand-shakes again over the lossy link" rejoin
check "a 3 MiB file reaches it with its SHA-256 despite the loss" sha_file "$NSL"
impair_stop
check "impair.py dropped packets (the test is not vacuous)" \
	sh -c "[ \"\$(sed -n 's/.*dropped \([0-9]*\).*/\1/p' '$TMP/impair.err')\" -gt 10 ]"

elapsed
# --- a flood of INITs from spoofed addresses: cookies, and the real clients go on
flood() {
	report "$SRV" "$SLOG" && cookies=$(counter "$SLOG" 'answered with a cookie')
	ip netns exec "$NSX" timeout 60 $PY tests/integration/vpnflood.py 10.98.40.1 4600 "$SERVER_PUB" \
		--sources 10.66.0.0/16 --rate 2000 --seconds 12 >"$TMP/flood.out" 2>&1 &
	fpid=$!
	# Meanwhile: a new client's handshake (a cookie first, then its INIT again 5 s later with mac2),
	# and client 6's traffic.
	sleep_until_flooding
	kill "$PID_7" && wait "$PID_7"
	client_start "$NS-c7" cnew new 10.98.7.1
	PID_7=$CPID
	ip netns exec "$NS-c6" ping -c 40 -i 0.2 -W 1 -n 10.77.0.1 >"$TMP/ping-flood.out" 2>&1
	client_up new
	up=$?
	report "$PID_7" "$TMP/new.client.log"
	grep '^Tunnel UDP' "$TMP/new.client.log" | tail -n 1 | sed 's/.*; /# the new client: /'
	wait "$fpid"
	sed 's/^/# /' "$TMP/flood.out"
	tail -n 2 "$TMP/ping-flood.out" | sed 's/^/# /'
	report "$SRV" "$SLOG" || return 1
	echo "# the server answered $(( $(counter "$SLOG" 'answered with a cookie') - cookies )) INITs with a cookie"
	[ $up -eq 0 ] && [ "$(counter "$TMP/new.client.log" 'cookie')" -ge 1 ] &&
	[ "$(counter "$SLOG" 'answered with a cookie')" -gt $((cookies + 1000)) ] &&
	! grep -q ' 100% packet loss' "$TMP/ping-flood.out" &&
	[ "$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TMP/ping-flood.out")" -ge 36 ]
}
# sleep_until_flooding: waits (bounded) until the server counts failed or cookie-answered INITs.
sleep_until_flooding() {
	i=0
	while [ $i -lt 100 ]; do
		report "$SRV" "$SLOG" >/dev/null
		[ "$(counter "$SLOG" 'answered with a cookie')" -gt "$cookies" ] && return 0
		i=$((i + 1))
	done
}
check "a spoofed INIT flood: cookies, client 6's pings go on, a new client hand-shakes" flood

elapsed
# --- --transport tcp
[ $HAVE_TSHARK -eq 1 ] && check "dumpcap records the TCP client's link" capture_start "$NSS" v30 "$TMP/t.pcapng" "tcp port 4600"
client_start "$NST" ct t 10.98.30.1 --transport tcp --keylog "$TMP/t.keys"
check "a client over TCP brings its tunnel up" client_up t
check "the TCP client pings the server" reach "$NST" 10.77.0.1 10
check "the server pings the TCP client" reach "$NSS" "$(tunnel_address t)" 10
if [ $HAVE_TSHARK -eq 1 ]; then
	tcp_pings() { ip netns exec "$NST" ping -c 5 -i 0.2 -W 2 -n 10.77.0.1 >/dev/null && capture_stop t && pings_read t; }
	check "the dissector reads the TCP client's pings inside PACKET records, both ways" tcp_pings
	config_shown() {
		dissect "$TMP/t.pcapng" "$TMP/t.keys" -Y cvpn.tunnel.config.address -T fields -e _ws.col.Info |
			grep -q "from server: CONFIG $(tunnel_address t)/24, MTU 1420, route 10.200.0.0/16"
	}
	check "the dissector shows the TCP client's CONFIG" config_shown
	check "without the key log, no inner packet is read (TCP)" unread t
fi
check "a 3 MiB file reaches the TCP client with its SHA-256" sha_file "$NST"
check "the TCP client is nobody without capabilities, in its sandbox" confined "$PID_t"
check "the TCP client keeps no capability" status_is "$PID_t" CapPrm 0000000000000000

elapsed
# --- the server restarts with --client-to-client; the clients hand-shake again by themselves
restart() {
	kill "$SRV" && wait_gone "$SRV" 10 && wait "$SRV" || return 1
	ip -n "$NSS" link show dev cvpn0 >/dev/null 2>&1 && { echo "# the server's TUN outlived it"; return 1; }
	server_start second --client-to-client --keylog "$TMP/server.keys"
}
check "the server stops on SIGTERM and starts again with --client-to-client" restart
check "the server counted its TCP and its UDP clients as it stopped" \
	grep -q '^Shutting down (SIGTERM), closing 1 client and [1-9][0-9]* tunnel clients over UDP$' "$TMP/first.server.log"
check "the TCP client's session ended with the server" wait_gone "$PID_t" 10
still_up() { [ "$1" -eq 4 ] || pings_server "$1"; }
check "every UDP client reaches the new server by itself" all_clients still_up
# same_keys: the server logged client 8's last handshake with the keys and indexes the client did.
same_keys() {
	last=$(grep '^CVPN_UDP' "$TMP/8.keys" | tail -n 1 | cut -d' ' -f4-)
	[ -n "$last" ] && grep '^CVPN_UDP' "$TMP/server.keys" | cut -d' ' -f4- | grep -qxF "$last"
}
check "the new server's key log has a line for each client's handshake" \
	[ "$(grep -c '^CVPN_UDP [^ ]*:[0-9]* [^ ]*:4600 ' "$TMP/server.keys")" -ge $((CLIENTS - 1)) ]
check "the server and client 8 logged the same keys and indexes" same_keys
ADDR2=$(tunnel_address 2)
check "with --client-to-client, client 1 pings client 2" reach "$NS-c1" "$ADDR2" 10
check "client 1 still has its fixed address" [ "$(tunnel_address 1)" = 10.77.0.5 ]

elapsed
# --- the end: the sandbox kills the server alone; SIGTERM ends each client, which undoes its TUN
check "the server is sent SIGUSR2: it calls getppid(), which its sandbox forbids" kill -USR2 "$SRV"
check "the server was killed by SIGSYS" killed_by "$SRV" SYS
check "client 1 lives on" alive "$PID_1"
# stop_clients: SIGTERM to every client still running (all but 4), then each must exit 0 without its TUN.
stop_clients() {
	k=1
	while [ $k -le $CLIENTS ]; do
		[ $k -ne 4 ] && kill "$(eval echo "\$PID_$k")"
		k=$((k + 1))
	done
	k=1
	bad=0
	while [ $k -le $CLIENTS ]; do
		pid=$(eval echo "\$PID_$k")
		if [ $k -ne 4 ]; then
			wait_gone "$pid" 10 && wait "$pid" && ! ip -n "$NS-c$k" link show cvpn0 >/dev/null 2>&1 ||
				{ echo "# client $k"; bad=1; }
		fi
		k=$((k + 1))
	done
	[ $bad -eq 0 ]
}
check "every client exits 0 on SIGTERM and its TUN is gone" stop_clients
check "the clients printed their counters at the end" grep -q '^Tunnel UDP: ' "$TMP/1.client.log"
finish
