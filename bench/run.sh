#!/bin/bash
# SPDX-License-Identifier: MIT
# The runner behind `make bench`: measures cvpn-server and its references
# side by side in one run on loopback, server and load generator pinned to
# different cores, and prints a table of ratios against the targets of
# docs/PERFORMANCE.md; everything it measured goes to BUILD/bench.json.
#
#   bench/run.sh [--smoke] [BUILD]
#
# --smoke runs every section with tiny counts and durations (a check that
# the machinery works, not a measurement). Every process is bounded by
# `timeout`, only processes started here are stopped, by PID, and only
# 127.0.0.1 is used, but in section 8, which runs in network namespaces it
# makes and removes (as root; skipped otherwise). The packages of the
# references come from bench/deps.sh, run first; the forwarding section (7)
# is bench/forward.sh, the IP VPN section (8) bench/vpn.sh.
# See docs/PERFORMANCE.md.
set -u

SMOKE=0
[ "${1:-}" = "--smoke" ] && { SMOKE=1; shift; }
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 2

LG=$BUILD/bench/loadgen
ECHO=$BUILD/bench/echo
DHB=$BUILD/bench/dhbound
FWD=$BUILD/bench/fwdperf
SERVER=$BUILD/cvpn-server
CLIENT=$BUILD/cvpn-client
PY=/usr/bin/python3
for f in "$LG" "$ECHO" "$DHB" "$FWD" "$SERVER" "$CLIENT"; do
	[ -x "$f" ] || { echo "bench: $f is missing (make all bench-tools)" >&2; exit 2; }
done
# The references' packages: installed as root, else the apt-get line is printed and the rows
# of a missing reference say "not available".
bench/deps.sh || echo "bench: the forwarding references that are missing will not be measured" >&2
for t in taskset ss openssl timeout pgrep awk; do
	command -v $t >/dev/null || { echo "bench: needs $t" >&2; exit 2; }
done

# Sizes of the run: full, or smoke.
if [ $SMOKE -eq 1 ]; then
	REPS=1 RTT_REPS=1 DUR=1 WARM=0.3 HS_DUR=2 DHB_DUR=0.3 HOLD_SECURE=200 HOLD_LAB=10 LAT_DUR=2 PY_N=1 PY_SERVER_DUR=3
	TLS_DUR=2 TLS_PAIRS=1 QUIET_WAIT=0
else
	REPS=3 RTT_REPS=5 DUR=6 WARM=1 HS_DUR=8 DHB_DUR=2 HOLD_SECURE=10000 HOLD_LAB=1000 LAT_DUR=15 PY_N=3 PY_SERVER_DUR=8
	TLS_DUR=4 TLS_PAIRS=6 QUIET_WAIT=60
fi

. bench/lib.sh

# The secure profile's server key, made for this run only.
"$CLIENT" genkey >"$TMP/server.key" 2>/dev/null && chmod 600 "$TMP/server.key"
PUB=$("$CLIENT" pubkey <"$TMP/server.key") || { log "bench: cannot make a server key"; exit 2; }

# start_server NAME: a fresh cvpn-server on SCPU; sets SPID and SPORT.
start_server() {
	SPORT=$(free_port) || return 1
	taskset -c $SCPU timeout 1800 "$SERVER" -q -l 127.0.0.1 -p "$SPORT" --key "$TMP/server.key" \
		--max-clients 12000 --max-handshakes 4096 --max-source-handshakes 4096 --max-failures 1000000 --idle-timeout 1200 \
		>"$TMP/$1.server.log" 2>&1 &
	SPID=$!
	PIDS="$PIDS $SPID"
	wait_listen "$SPORT" || { log "bench: cvpn-server did not start"; cat "$TMP/$1.server.log" >&2; return 1; }
	# The server's pid, not timeout's: hold reads its memory.
	SPID_REAL=$(pgrep -P "$SPID" -x cvpn-server | head -n 1)
	SPID_REAL=${SPID_REAL:-$SPID}
}

# start_echo: the plain TCP echo (EPID, EPORT), the lab's primitives alone (PRPID, PRPORT) and the
# secure profile's (SPRPID, SPRPORT), all on SCPU.
start_echo() {
	EPORT=$(free_port) || return 1
	taskset -c $SCPU timeout 1800 "$ECHO" -p "$EPORT" -t 1800 >"$TMP/echo.log" 2>&1 &
	EPID=$!
	PIDS="$PIDS $EPID"
	wait_listen "$EPORT" || { log "bench: echo did not start"; return 1; }
	PRPORT=$(free_port) || return 1
	taskset -c $SCPU timeout 1800 "$ECHO" --lab-primitives -p "$PRPORT" -t 1800 >"$TMP/echo.prim.log" 2>&1 &
	PRPID=$!
	PIDS="$PIDS $PRPID"
	wait_listen "$PRPORT" || { log "bench: echo --lab-primitives did not start"; return 1; }
	SPRPORT=$(free_port) || return 1
	taskset -c $SCPU timeout 1800 "$ECHO" --secure-primitives -p "$SPRPORT" -t 1800 >"$TMP/echo.sprim.log" 2>&1 &
	SPRPID=$!
	PIDS="$PIDS $SPRPID"
	wait_listen "$SPRPORT" || { log "bench: echo --secure-primitives did not start"; return 1; }
}

# lg NAME PORT ARGS...: one load generator run on CCPU; its JSON line goes to the results.
lg() {
	local name=$1 port=$2 out
	shift 2
	out=$(taskset -c $CCPU timeout 900 "$LG" -p "$port" "$@" 2>>"$TMP/loadgen.log")
	[ -n "$out" ] || out='{"error":"no output"}'
	record "$name" "$out"
}

STARTED=$(date +%s)
log "bench: $( [ $SMOKE -eq 1 ] && echo smoke run || echo full run), server on cpu $SCPU, load generator on cpu $CCPU, fd limit $FDLIMIT"
BUSY0=$(wait_quiet)
[ "$BUSY0" -gt 10 ] && log "bench: warning: the machine is ${BUSY0}% busy with other work; numbers will be noisy"

# ---- 1. Lab handshakes against the DH bound and the Python peer ----
log "bench: [1/8] lab handshakes (group 18) vs the DH bound and the Python peer"
start_server lab || exit 1
record background "{\"section\":\"lab\",\"busy_pct\":$(cpu_busy)}"
for r in $(seq 1 $REPS); do
	record dhbound "$(taskset -c $SCPU timeout 300 "$DHB" -d $DHB_DUR)"
	lg lab_handshakes "$SPORT" handshakes -P lab -c 8 -d $HS_DUR -w $WARM --verify-every 16
done
# The Python peer as a client: whole sessions (start, handshake, one message), one after another.
t0=$(date +%s.%N); ok=0
for i in $(seq 1 $PY_N); do
	taskset -c $CCPU timeout 120 $PY tests/interop/labpeer.py client --port "$SPORT" --ciphers AES:256 --newline \
		-m hello >>"$TMP/labpeer.log" 2>&1 && ok=$((ok + 1))
done
t1=$(date +%s.%N)
record python_client "$(rate "$ok" "$(elapsed "$t0" "$t1")")"
stop "$SPID"
# The Python peer as a server (one session at a time), driven by the same load generator.
PPORT=$(free_port)
taskset -c $SCPU timeout 300 $PY tests/interop/labpeer.py server --port "$PPORT" --ciphers AES:256 --newline \
	>"$TMP/labpeer.server.log" 2>&1 &
PPID_=$!
PIDS="$PIDS $PPID_"
if wait_listen "$PPORT"; then
	lg python_server "$PPORT" handshakes -P lab -c 1 -d $PY_SERVER_DUR -w 0 --verify-every 0 --timeout 30000
fi
stop "$PPID_"

# ---- 2. Secure handshakes against X25519 and TLS 1.3 ----
log "bench: [2/8] secure handshakes vs the X25519 bound and TLS 1.3 (openssl s_server / s_time)"
mkdir -p "$TMP/tls"
openssl req -x509 -newkey ed25519 -keyout "$TMP/tls/key.pem" -out "$TMP/tls/cert.pem" -days 1 -nodes \
	-subj /CN=127.0.0.1 >/dev/null 2>&1 || log "bench: cannot make an Ed25519 certificate"
TPORT=$(free_port)
taskset -c $SCPU timeout 1800 openssl s_server -accept "127.0.0.1:$TPORT" -cert "$TMP/tls/cert.pem" \
	-key "$TMP/tls/key.pem" -tls1_3 -groups X25519 -quiet -no_ticket >"$TMP/tls/server.log" 2>&1 &
TPID=$!
PIDS="$PIDS $TPID"
wait_listen "$TPORT" || log "bench: openssl s_server did not start"
# s_time: N "connections in T real seconds" (T whole seconds), so the wall time is taken here.
stime() {
	local t0 t1 out n
	t0=$(date +%s.%N)
	out=$(taskset -c $CCPU timeout 120 openssl s_time -connect "127.0.0.1:$TPORT" -new -time "$1" 2>&1)
	t1=$(date +%s.%N)
	n=$(echo "$out" | sed -n 's/^\([0-9]*\) connections in .* real seconds.*/\1/p' | head -n 1)
	[ -n "$n" ] && rate "$n" "$(elapsed "$t0" "$t1")"
}
start_server secure || exit 1
record background "{\"section\":\"secure\",\"busy_pct\":$(cpu_busy)}"
# In pairs, each cvpn run next to an s_time run of the same length: the report takes the
# median of the pairs' ratios, so that a phase of the machine hits both sides of a ratio.
for r in $(seq 1 $TLS_PAIRS); do
	lg secure_handshakes "$SPORT" handshakes -P secure --server-key "$PUB" -c 16 -d $TLS_DUR -w $WARM
	record tls_stime "$(stime $TLS_DUR)"
done
lg secure_handshakes_c1 "$SPORT" handshakes -P secure --server-key "$PUB" -c 1 -d $HS_DUR -w $WARM
# Four s_time clients at once, to see what s_server does when it is the one under load.
t0=$(date +%s.%N)
par=""
for i in 1 2 3 4; do
	taskset -c $CCPU timeout 120 openssl s_time -connect "127.0.0.1:$TPORT" -new -time $TLS_DUR \
		>"$TMP/tls/par$i.log" 2>&1 &
	par="$par $!"
done
for p in $par; do wait "$p"; done
t1=$(date +%s.%N)
n=$(cat "$TMP"/tls/par*.log | sed -n 's/^\([0-9]*\) connections in .* real seconds.*/\1/p' | awk '{s+=$1} END {print s+0}')
record tls_stime_x4 "$(rate "$n" "$(elapsed "$t0" "$t1")")"
stop "$TPID"

# ---- 3. and 4. Round trips and throughput against plain TCP echo ----
log "bench: [3/8] round trips on one connection (64 B, 1 KiB) vs TCP echo, paired"
start_echo || exit 1
record background "{\"section\":\"traffic\",\"busy_pct\":$(cpu_busy)}"
# Paired runs: the plain echo clients and the measured ones take turns every
# 50 ms inside one load generator, so that the VM's swings hit both alike,
# and so do the clients of the profile's primitives alone (the ceiling), a
# third group in the same turns: --ceiling-port.
for size in 64 1024; do
	for r in $(seq 1 $RTT_REPS); do
		lg "rtt_lab_$size" "$SPORT" rtt --baseline-port "$EPORT" --ceiling-port "$PRPORT" -P lab -s $size \
			-d $DUR -w $WARM
		lg "rtt_secure_$size" "$SPORT" rtt --baseline-port "$EPORT" --ceiling-port "$SPRPORT" -P secure \
			--server-key "$PUB" -s $size -d $DUR -w $WARM
		# For context, the lab's messages through the whole client engine (as cvpn-client sends
		# them) instead of the record layer alone; then the other suite: AES-256-GCM has hardware
		# support here.
		[ $size = 64 ] && lg rtt_lab_engine_64 "$SPORT" rtt --baseline-port "$EPORT" --ceiling-port "$PRPORT" \
			-P lab --client engine -s $size -d $DUR -w $WARM
		[ $size = 64 ] && lg rtt_secure_aesgcm_64 "$SPORT" rtt --baseline-port "$EPORT" --ceiling-port "$SPRPORT" \
			-P secure --server-key "$PUB" --suites AESGCM -s $size -d $DUR -w $WARM
	done
done
log "bench: [4/8] messages per second with 100 clients vs TCP echo with 100 clients, paired"
for r in $(seq 1 $REPS); do
	lg thr_lab "$SPORT" throughput --baseline-port "$EPORT" --ceiling-port "$PRPORT" -P lab -c 100 -d $DUR -w $WARM
	lg thr_secure "$SPORT" throughput --baseline-port "$EPORT" --ceiling-port "$SPRPORT" -P secure \
		--server-key "$PUB" -c 100 -d $DUR -w $WARM
	# For context, the secure messages through the whole client engine, and the other suite.
	lg thr_secure_engine "$SPORT" throughput --baseline-port "$EPORT" --ceiling-port "$SPRPORT" -P secure \
		--server-key "$PUB" --client engine -c 100 -d $DUR -w $WARM
	lg thr_secure_aesgcm "$SPORT" throughput --baseline-port "$EPORT" --ceiling-port "$SPRPORT" -P secure \
		--server-key "$PUB" --suites AESGCM -c 100 -d $DUR -w $WARM
done
stop "$SPRPID"
stop "$PRPID"
stop "$EPID"
stop "$SPID"

# ---- 5. Sessions held, memory per session (a fresh server each, so that its memory starts clean) ----
log "bench: [5/8] established sessions held and memory per session"
start_server hold_secure || exit 1
sleep 0.5
lg hold_secure "$SPORT" hold -P secure --server-key "$PUB" -n $HOLD_SECURE -c 64 --server-pid "$SPID_REAL"
stop "$SPID"
start_server hold_lab || exit 1
sleep 0.5
lg hold_lab "$SPORT" hold -P lab -n $HOLD_LAB -c 16 --server-pid "$SPID_REAL"
stop "$SPID"

# ---- 6. Latency of established sessions under a handshake flood ----
log "bench: [6/8] p99 round trip under a handshake flood vs idle"
start_server latency || exit 1
record background "{\"section\":\"latency\",\"busy_pct\":$(cpu_busy)}"
lg latency_lab "$SPORT" latency -P lab -c 4 --rate 200 -d $LAT_DUR -w $WARM --flood-profile lab --flood-concurrency 8
lg latency_secure "$SPORT" latency -P secure --server-key "$PUB" -c 4 --rate 200 -d $LAT_DUR -w $WARM \
	--flood-profile secure --flood-concurrency 16
stop "$SPID"

# ---- 7. Port forwarding against plain TCP, ssh -L and stunnel (bench/forward.sh) ----
BENCH_NESTED=1 bench/forward.sh $([ $SMOKE -eq 1 ] && echo --smoke) "$BUILD" "$RESULTS"

# ---- 8. The IP VPN against wireguard-go and OpenVPN, in network namespaces (bench/vpn.sh) ----
if [ "$(id -u)" -eq 0 ] && [ -c /dev/net/tun ]; then
	BENCH_NESTED=1 bench/vpn.sh $([ $SMOKE -eq 1 ] && echo --smoke) "$BUILD" "$RESULTS"
else
	log "bench: [8/8] the IP VPN section needs root and /dev/net/tun: not run"
	record vpn_peer '{"available":false}' peer=cvpn-udp why="not root or no /dev/net/tun"
	record vpn_peer '{"available":false}' peer=cvpn-tcp why="not root or no /dev/net/tun"
fi

record background "{\"section\":\"end\",\"busy_pct\":$(cpu_busy)}"
ELAPSED=$(($(date +%s) - STARTED))
grep -h "Closing\|Refusing" "$TMP"/*.server.log 2>/dev/null | sed 's/^\[[0-9]*\] //; s/ [0-9.]*:[0-9]*:/ CLIENT:/' |
	sort | uniq -c | sort -rn | head -n 5 | sed 's/^/bench: server log: /' >&2
$PY bench/report.py "$RESULTS" "$BUILD/bench.json" --elapsed "$ELAPSED" --smoke "$SMOKE" \
	--server-cpu "$SCPU" --client-cpu "$CCPU" --fd-limit "$FDLIMIT" --busy-start "$BUSY0"
