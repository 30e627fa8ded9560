#!/bin/bash
# SPDX-License-Identifier: MIT
# The IP VPN section of make bench (docs/PERFORMANCE.md, target 8): two
# network namespaces made here and joined by a veth pair (10.96.0.1 and
# 10.96.0.2, inside them only), and through them in turn: the bare veth (the
# ceiling), cvpn over UDP, cvpn --transport tcp, wireguard-go configured with
# wg (ChaCha20-Poly1305), and OpenVPN 2.6 over UDP with AES-256-GCM (a TLS
# point-to-point setup with certificates made here, no DCO). Every tunnel has
# an MTU of 1420. The tunnel's server end and iperf3's server run on cpu 0,
# its client end, iperf3's client and ping on cpu 1 (taskset). For each, in
# every repetition: bring the tunnel up, wait until a ping crosses it, an
# iperf3 TCP run from the client to the server (with the CPU both tunnel ends
# spent meanwhile, from /proc/PID/stat), pings idle and pings under another
# iperf3 run, and take it down. The repetitions are interleaved, each
# starting one system further on. Then cvpn-server's memory per connected
# client: its VmRSS with 1 client and with N, each client in a namespace of
# its own.
#
#   bench/vpn.sh [--smoke] [BUILD [RESULTS]]
#
# Needs root and /dev/net/tun. With RESULTS (bench/run.sh's) the rows are
# appended there; alone, the section's part of the report is printed and
# BUILD/bench-vpn.json written. The namespaces are removed at the end, also
# on an error or an interrupt; every process runs under `timeout`, and only
# the processes started here are stopped, by PID.
set -u

SMOKE=0
[ "${1:-}" = "--smoke" ] && { SMOKE=1; shift; }
BUILD=${1:-build}
OUT=${2:-}
cd "$(dirname "$0")/.." || exit 2

SERVER=$BUILD/cvpn-server
CLIENT=$BUILD/cvpn-client
PY=/usr/bin/python3
for f in "$SERVER" "$CLIENT"; do
	[ -x "$f" ] || { echo "bench: $f is missing (make all)" >&2; exit 2; }
done
for t in ip iperf3 ping taskset timeout pgrep awk openssl; do
	command -v $t >/dev/null || { echo "bench: needs $t (bench/deps.sh installs it)" >&2; exit 2; }
done
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
	echo "bench: the IP VPN section needs root and /dev/net/tun (network namespaces, TUN interfaces)" >&2
	exit 2
fi

# Sizes: iperf3's seconds per run, pings per repetition (idle and under load), clients held.
if [ $SMOKE -eq 1 ]; then
	REPS=1 TPUT_S=1 PINGS=5 MEM_N=2 QUIET_WAIT=0
else
	REPS=3 TPUT_S=4 PINGS=70 MEM_N=20 QUIET_WAIT=60
fi
# Standalone, wait (bounded) for a quiet machine as bench/run.sh does; under it, it has.
[ -n "$OUT" ] && QUIET_WAIT=0
. bench/lib.sh
[ -n "$OUT" ] && RESULTS=$OUT

# The namespaces: S (the servers) and C (the clients) on the veth pair, M1..MN for the memory part.
NS=cvpn-vb-$$
NSS=$NS-s NSC=$NS-c
NSLIST="$NSS $NSC"
# wireguard-go's control sockets are in one folder for every namespace: names of this run only.
WGS=wgs$$ WGC=wgc$$
vpn_cleanup() {
	cleanup
	for n in $NSLIST; do ip netns del "$n" 2>/dev/null; done
	rm -f "/var/run/wireguard/$WGS.sock" "/var/run/wireguard/$WGC.sock"
}
trap vpn_cleanup EXIT
SADDR=10.96.0.1 CADDR=10.96.0.2

setup_ns() {
	ip netns add "$NSS" && ip netns add "$NSC" &&
	ip -n "$NSS" link set lo up && ip -n "$NSC" link set lo up &&
	ip link add vb0 netns "$NSS" type veth peer name vb0 netns "$NSC" &&
	ip -n "$NSS" addr add $SADDR/24 dev vb0 && ip -n "$NSC" addr add $CADDR/24 dev vb0 &&
	ip -n "$NSS" link set vb0 up && ip -n "$NSC" link set vb0 up
}
setup_ns || { log "bench: cannot make the network namespaces"; exit 1; }

V=$TMP/vpn
mkdir -p "$V"
log "bench: [8/8] IP VPN: iperf3 TCP, ping idle and under load, CPU per Gbit/s vs the veth, wireguard-go, OpenVPN"
record background "{\"section\":\"vpn\",\"busy_pct\":$(wait_quiet)}"

# ---- What each system needs, made once ----

PEERS="veth cvpn-udp cvpn-tcp wireguard-go openvpn"
AVAILABLE="veth"
unavailable() {
	log "bench: vpn: $1 is not available: $2"
	record vpn_peer '{"available":false}' peer="$1" why="$2"
}

# cvpn: the server's key and one key per client, all in the authorized-clients file.
K=$V/keys
mkdir -p "$K"
cvpn_keys() {
	local i pub
	(umask 077 && "$CLIENT" genkey >"$K/server.key") || return 1
	CVPN_PUB=$("$CLIENT" pubkey <"$K/server.key") || return 1
	: >"$K/authorized"
	for i in $(seq 0 "$MEM_N"); do
		(umask 077 && "$CLIENT" genkey >"$K/c$i.key") || return 1
		pub=$("$CLIENT" pubkey <"$K/c$i.key") || return 1
		echo "$pub bench-$i" >>"$K/authorized"
	done
	chmod 644 "$K/authorized"
}
if cvpn_keys; then
	AVAILABLE="$AVAILABLE cvpn-udp cvpn-tcp"
else
	for p in cvpn-udp cvpn-tcp; do unavailable $p "cannot make the keys"; done
fi

# wireguard-go: a key pair for each end.
if ! command -v wireguard-go >/dev/null || ! command -v wg >/dev/null; then
	unavailable wireguard-go "no wireguard-go or wg (bench/deps.sh installs wireguard-go wireguard-tools)"
elif (umask 077 && wg genkey >"$V/wg-s.key" && wg genkey >"$V/wg-c.key") &&
	WG_SPUB=$(wg pubkey <"$V/wg-s.key") && WG_CPUB=$(wg pubkey <"$V/wg-c.key"); then
	AVAILABLE="$AVAILABLE wireguard-go"
else
	unavailable wireguard-go "wg genkey failed"
fi

# OpenVPN: a CA and a certificate for each end (P-256), for a TLS point-to-point link.
ovpn_certs() {
	local o=$V/ovpn who
	mkdir -p "$o"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bench-ca \
		-keyout "$o/ca.key" -out "$o/ca.crt" >/dev/null 2>&1 || return 1
	for who in server client; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=bench-$who" \
			-keyout "$o/$who.key" -out "$o/$who.csr" >/dev/null 2>&1 &&
		printf 'keyUsage = critical, digitalSignature, keyAgreement\nextendedKeyUsage = %s\n' \
			"$([ $who = server ] && echo serverAuth || echo clientAuth)" >"$o/$who.ext" &&
		openssl x509 -req -in "$o/$who.csr" -CA "$o/ca.crt" -CAkey "$o/ca.key" -CAcreateserial -days 1 \
			-extfile "$o/$who.ext" -out "$o/$who.crt" >/dev/null 2>&1 || return 1
	done
}
if ! command -v openvpn >/dev/null; then
	unavailable openvpn "no openvpn (bench/deps.sh installs it)"
elif ! openvpn --version 2>/dev/null | head -n 1 | grep -q '^OpenVPN 2\.[6-9]'; then
	unavailable openvpn "not OpenVPN 2.6 or later: $(openvpn --version 2>/dev/null | head -n 1)"
elif ovpn_certs; then
	AVAILABLE="$AVAILABLE openvpn"
else
	unavailable openvpn "cannot make the certificates"
fi

# One iperf3 server for the whole section, in the servers' namespace on cpu 0.
ip netns exec "$NSS" taskset -c $SCPU timeout 3600 iperf3 -s -p 5201 >"$V/iperf3-s.log" 2>&1 &
IPERF_SRV=$!
PIDS="$PIDS $IPERF_SRV"

wait_listen 5201 "$NSS" || { log "bench: iperf3 -s did not start: $(tail -n 2 "$V/iperf3-s.log")"; exit 1; }

# ---- Bringing one system up and down ----

# up NAME NS CPU CMD...: CMD in NS on CPU under timeout, its output in V/NAME.log; UP_PID is
# timeout's PID (ip netns exec and taskset exec, so timeout is what $! is).
up() {
	local name=$1 ns=$2 cpu=$3
	shift 3
	# Emptied here, not by the background job's redirection: a wait for its first line must not
	# find the last repetition's.
	: >"$V/$name.log"
	ip netns exec "$ns" taskset -c "$cpu" timeout 1800 "$@" >>"$V/$name.log" 2>&1 </dev/null &
	UP_PID=$!
	PIDS="$PIDS $UP_PID"
}

# child PID: the process timeout PID runs (the one whose CPU and memory count), waited for (5 s).
child() {
	local i=0 c=""
	while [ -z "$c" ] && [ $i -lt 100 ]; do
		c=$(pgrep -P "$1" | head -n 1)
		[ -n "$c" ] || sleep 0.05
		i=$((i + 1))
	done
	echo "${c:-$1}"
}

# reach ADDRESS SECONDS: a ping from the clients' namespace to ADDRESS is answered within SECONDS.
reach() {
	local i=0
	while [ $i -lt "$2" ]; do
		ip netns exec "$NSC" ping -c 1 -W 1 -n "$1" >/dev/null 2>&1 && return 0
		i=$((i + 1))
	done
	return 1
}

# tunnel_up PEER: starts PEER's server end (in S, on SCPU) and client end (in C, on CCPU) and waits
# until a ping crosses them. Sets DST (the server end's address inside the tunnel), TUN_SERVER and
# TUN_CLIENT (timeout's PIDs), SRV_PID and CLI_PID (the programs'); returns 1 with WHY set.
tunnel_up() {
	local o=$V/ovpn
	TUN_SERVER="" TUN_CLIENT="" SRV_PID="" CLI_PID="" WHY=""
	case $1 in
	veth)
		DST=$SADDR
		return 0
		;;
	cvpn-*)
		DST=10.77.0.1
		up "$1.server" "$NSS" $SCPU "$SERVER" --tun --tun-net 10.77.0.0/24 --mtu 1420 --key "$K/server.key" \
			--authorized-clients "$K/authorized"
		TUN_SERVER=$UP_PID
		wait_log "$V/$1.server.log" '^Sandbox on' 10 || { WHY="cvpn-server: $(tail -n 2 "$V/$1.server.log")"; return 1; }
		up "$1.client" "$NSC" $CCPU "$CLIENT" --tun -H $SADDR --server-key "$CVPN_PUB" --key "$K/c0.key" \
			--transport "${1#cvpn-}"
		TUN_CLIENT=$UP_PID
		wait_log "$V/$1.client.log" '^Tunnel up' 20 || { WHY="cvpn-client: $(tail -n 2 "$V/$1.client.log")"; return 1; }
		;;
	wireguard-go)
		DST=10.78.0.1
		# Userspace even where the kernel has its own WireGuard (the reference is wireguard-go).
		up "$1.server" "$NSS" $SCPU env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "$WGS"
		TUN_SERVER=$UP_PID
		up "$1.client" "$NSC" $CCPU env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "$WGC"
		TUN_CLIENT=$UP_PID
		local i=0
		while { [ ! -S "/var/run/wireguard/$WGS.sock" ] || [ ! -S "/var/run/wireguard/$WGC.sock" ]; } && [ $i -lt 200 ]; do
			sleep 0.05; i=$((i + 1))
		done
		ip netns exec "$NSS" wg set "$WGS" listen-port 51820 private-key "$V/wg-s.key" \
			peer "$WG_CPUB" allowed-ips 10.78.0.2/32 &&
		ip -n "$NSS" addr add 10.78.0.1/24 dev "$WGS" && ip -n "$NSS" link set "$WGS" mtu 1420 up &&
		ip netns exec "$NSC" wg set "$WGC" private-key "$V/wg-c.key" \
			peer "$WG_SPUB" allowed-ips 10.78.0.0/24 endpoint $SADDR:51820 &&
		ip -n "$NSC" addr add 10.78.0.2/24 dev "$WGC" && ip -n "$NSC" link set "$WGC" mtu 1420 up ||
			{ WHY="wg: $(tail -n 2 "$V/$1.server.log" "$V/$1.client.log" | tr '\n' ' ')"; return 1; }
		;;
	openvpn)
		DST=10.79.0.1
		# Point to point over TLS; the data channel negotiated to AES-256-GCM alone; no DCO (the
		# kernel's data channel): userspace, as wireguard-go and cvpn are.
		cat >"$V/ovpn-common.conf" <<-EOF
			dev tun
			proto udp
			tun-mtu 1420
			mssfix 0
			data-ciphers AES-256-GCM
			disable-dco
			ca $o/ca.crt
			verb 3
		EOF
		up "$1.server" "$NSS" $SCPU openvpn --config "$V/ovpn-common.conf" --tls-server --dh none \
			--cert "$o/server.crt" --key "$o/server.key" --local $SADDR --lport 1194 \
			--ifconfig 10.79.0.1 10.79.0.2 --remote-cert-tls client
		TUN_SERVER=$UP_PID
		up "$1.client" "$NSC" $CCPU openvpn --config "$V/ovpn-common.conf" --tls-client --nobind \
			--cert "$o/client.crt" --key "$o/client.key" --remote $SADDR 1194 \
			--ifconfig 10.79.0.2 10.79.0.1 --remote-cert-tls server
		TUN_CLIENT=$UP_PID
		wait_log "$V/$1.client.log" 'Initialization Sequence Completed' 30 ||
			{ WHY="openvpn: $(tail -n 2 "$V/$1.client.log" "$V/$1.server.log" | tr '\n' ' ')"; return 1; }
		;;
	esac
	SRV_PID=$(child "$TUN_SERVER") CLI_PID=$(child "$TUN_CLIENT")
	reach "$DST" 30 || { WHY="no ping crossed it: $(tail -n 2 "$V/$1.client.log" "$V/$1.server.log" | tr '\n' ' ')"; return 1; }
}

# tunnel_down: the client end first, then the server's (each undoes its interface on SIGTERM).
tunnel_down() {
	[ -n "$TUN_CLIENT" ] && stop "$TUN_CLIENT"
	[ -n "$TUN_SERVER" ] && stop "$TUN_SERVER"
	TUN_CLIENT="" TUN_SERVER=""
}

# cpu_ticks PID: utime and stime of PID so far (all its threads), in clock ticks; 0 0 without one.
cpu_ticks() {
	[ -n "$1" ] || { echo 0 0; return; }
	# After the command's name, which may hold spaces: utime and stime are fields 12 and 13.
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12, $13 } END { if (NR == 0) print 0, 0 }'
}

# cpu_spent SIDE BEFORE AFTER: SIDE's CPU seconds between two cpu_ticks, in all and in the kernel.
cpu_spent() {
	awk -v side="$1" -v a="$2" -v b="$3" -v hz="$TICKS" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		printf "%s_cpu_s=%.3f %s_sys_s=%.3f", side, (y[1] + y[2] - x[1] - x[2]) / hz, side, (y[2] - x[2]) / hz
	}'
}
TICKS=$(getconf CLK_TCK 2>/dev/null || echo 100)

# iperf_run SECONDS OUTFILE: iperf3 TCP from the clients' namespace (cpu 1) to DST, JSON in OUTFILE.
iperf_run() {
	ip netns exec "$NSC" taskset -c $CCPU timeout $(($1 + 30)) iperf3 -c "$DST" -p 5201 -t "$1" -J >"$2" 2>&1
}

# cores: the /proc/stat lines of the two cores (where the rest of their time went: the kernel's
# share, softirq above all, is no process's).
cores() { grep -E "^cpu($SCPU|$CCPU) " /proc/stat | tr '\n' ' '; }

# core_shares BEFORE AFTER: for each of the two cores, its busy and softirq percent in between.
core_shares() {
	awk -v a="$1" -v b="$2" -v s="cpu$SCPU" -v c="cpu$CCPU" 'BEGIN {
		n = split(a, x, " "); split(b, y, " ")
		for (i = 1; i <= n; i += 11) {
			tot = 0
			for (j = 1; j <= 8; j++) tot += y[i + j] - x[i + j]
			idle = (y[i + 4] - x[i + 4]) + (y[i + 5] - x[i + 5])
			side = x[i] == s ? "s" : "c"
			if (tot > 0) printf " %s_core_busy_pct=%.1f %s_core_softirq_pct=%.1f", side, 100 * (tot - idle) / tot,
				side, 100 * (y[i + 7] - x[i + 7]) / tot
		}
	}'
}

# tput PEER REP: one iperf3 run through PEER, with the CPU both its ends spent meanwhile (in all and
# in the kernel), and how busy each core was.
tput() {
	local s0 c0 s1 c1 k0 k1 f=$V/iperf.$1.$2.json
	s0=$(cpu_ticks "$SRV_PID") c0=$(cpu_ticks "$CLI_PID") k0=$(cores)
	iperf_run $TPUT_S "$f"
	s1=$(cpu_ticks "$SRV_PID") c1=$(cpu_ticks "$CLI_PID") k1=$(cores)
	record vpn_tput "$($PY - "$f" <<-'EOF'
		import json, sys
		try:
		    d = json.load(open(sys.argv[1]))
		    e = d["end"]
		    r = e["sum_received"]
		    print(json.dumps({"mbit_per_s": r["bits_per_second"] / 1e6, "bytes": r["bytes"], "seconds": r["seconds"],
		                      "retransmits": e["sum_sent"].get("retransmits"),
		                      "iperf_cpu_client_pct": e["cpu_utilization_percent"]["host_total"],
		                      "iperf_cpu_server_pct": e["cpu_utilization_percent"]["remote_total"]}))
		except (OSError, ValueError, KeyError) as x:
		    print(json.dumps({"error": "iperf3: " + str(d.get("error", x) if "d" in dir() else x)}))
	EOF
	)" peer="$1" rep="$2" $(cpu_spent server "$s0" "$s1") $(cpu_spent client "$c0" "$c1") $(core_shares "$k0" "$k1")
}

# pings PEER REP STATE: PINGS pings at 10 ms from the clients' namespace (cpu 1) to DST; each
# round trip in us, and how many were lost.
pings() {
	local out
	out=$(ip netns exec "$NSC" taskset -c $CCPU timeout 60 ping -n -i 0.01 -W 1 -c "$PINGS" "$DST" 2>&1)
	record vpn_ping "$(echo "$out" | $PY -c '
import json, re, sys
text = sys.stdin.read()
rtts = [round(float(m) * 1000, 1) for m in re.findall(r"time=([0-9.]+) ms", text)]
sent = int(sys.argv[1])
print(json.dumps({"samples_us": rtts, "sent": sent, "lost": sent - len(rtts)} if rtts else {"error": text[-200:]}))' "$PINGS")" \
		peer="$1" rep="$2" state="$3"
}

# loaded_pings PEER REP: pings while an iperf3 run fills the tunnel (pings start once it has).
loaded_pings() {
	local ip_pid
	iperf_run $((PINGS / 100 + 3)) "$V/load.$1.$2.json" &
	ip_pid=$!
	sleep 1
	pings "$1" "$2" loaded
	wait "$ip_pid"
}

# ---- The interleaved repetitions ----
for r in $(seq 1 $REPS); do
	order=$(rotated "$r" $AVAILABLE)
	log "bench: vpn, repetition $r of $REPS:$order"
	for p in $order; do
		if ! tunnel_up "$p"; then
			log "bench: vpn: $p did not come up: $WHY"
			record vpn_tput '{"error":"tunnel not ready"}' peer="$p" rep="$r" why="$WHY"
			tunnel_down
			continue
		fi
		# What OpenVPN's data channel really uses, as its log says.
		[ "$p" = openvpn ] && [ "$r" = 1 ] && record vpn_cipher "{\"line\":$($PY -c 'import json, sys; print(json.dumps(sys.argv[1]))' \
			"$(grep -h 'Data Channel: cipher' "$V/openvpn.client.log" | tail -n 1 | sed 's/^.*Data Channel/Data Channel/')")}" peer=openvpn
		tput "$p" "$r"
		pings "$p" "$r" idle
		loaded_pings "$p" "$r"
		tunnel_down
	done
done

# ---- cvpn-server's memory per connected client: VmRSS with 1 client, then with MEM_N ----
rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null; }
memory() {
	local k ns srv one all
	for k in $(seq 1 "$MEM_N"); do
		ns=$NS-m$k
		NSLIST="$NSLIST $ns"
		ip netns add "$ns" && ip -n "$ns" link set lo up &&
		ip link add "vm$k" netns "$NSS" type veth peer name eth0 netns "$ns" &&
		ip -n "$NSS" addr add "10.95.$k.1/24" dev "vm$k" && ip -n "$NSS" link set "vm$k" up &&
		ip -n "$ns" addr add "10.95.$k.2/24" dev eth0 && ip -n "$ns" link set eth0 up || return 1
	done
	up mem.server "$NSS" $SCPU "$SERVER" --tun --tun-net 10.77.0.0/24 --mtu 1420 --key "$K/server.key" \
		--authorized-clients "$K/authorized"
	TUN_SERVER=$UP_PID
	wait_log "$V/mem.server.log" '^Sandbox on' 10 || return 1
	srv=$(child "$TUN_SERVER")
	for k in $(seq 1 "$MEM_N"); do
		up "mem.c$k" "$NS-m$k" $CCPU "$CLIENT" --tun -H "10.95.$k.1" --server-key "$CVPN_PUB" --key "$K/c$k.key"
		wait_log "$V/mem.c$k.log" '^Tunnel up' 20 &&
			ip netns exec "$NS-m$k" ping -c 3 -i 0.2 -W 2 -n 10.77.0.1 >/dev/null 2>&1 || return 1
		[ "$k" = 1 ] && { sleep 0.5; one=$(rss_kib "$srv"); }
	done
	sleep 0.5
	all=$(rss_kib "$srv")
	record vpn_memory "{\"rss_1_kib\":${one:-0},\"rss_n_kib\":${all:-0},\"clients\":$MEM_N,\"kib_per_client\":$(
		awk -v a="${one:-0}" -v b="${all:-0}" -v n="$MEM_N" 'BEGIN { printf "%.2f", (b - a) / (n - 1) }')}" peer=cvpn-udp
}
if echo " $AVAILABLE " | grep -q ' cvpn-udp '; then
	memory || record vpn_memory '{"error":"the clients did not all come up"}' peer=cvpn-udp
	# The clients first, then the server.
	for p in $PIDS; do [ "$p" = "$IPERF_SRV" ] || [ "$p" = "$TUN_SERVER" ] || stop "$p"; done
	stop "$TUN_SERVER"
fi
stop "$IPERF_SRV"
record background "{\"section\":\"vpn_end\",\"busy_pct\":$(cpu_busy)}"

if [ -z "$OUT" ]; then
	$PY bench/report.py "$RESULTS" "$BUILD/bench-vpn.json" --only vpn --smoke "$SMOKE" \
		--server-cpu "$SCPU" --client-cpu "$CCPU" --fd-limit "$FDLIMIT"
fi
