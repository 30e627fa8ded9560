#!/bin/bash
# SPDX-License-Identifier: MIT
# The forwarding section of make bench (docs/PERFORMANCE.md, target 7): one
# sink on loopback (echo --sink), reached straight (plain) and through each
# tunnel: ssh -L with chacha20-poly1305 and with aes256-gcm against an sshd
# started here, stunnel with TLS 1.3 and either suite, and cvpn-client
# --forward with either suite. For each, in every repetition: bring the
# tunnel up, wait until a probe crosses it, bulk with 1 and with 8 streams,
# the connection rate, and take it down. The repetitions are interleaved,
# each starting with the next peer, so that a slow minute of a shared machine
# hits every peer alike; the report takes medians. Then the memory per idle
# channel of each tunnel's server side, and cvpn's channel open over a path
# with 5 ms of delay each way (two namespaces, as root). Tunnels' servers and
# the sink run on the servers' core, their clients and fwdperf on the other
# (taskset).
#
#   bench/forward.sh [--smoke] [BUILD [RESULTS]]
#
# With RESULTS (bench/run.sh's) the rows are appended there; alone, the
# section's part of the report is printed and BUILD/bench-forward.json
# written. Only 127.0.0.1 is used, every process runs under `timeout`, and
# only the processes started here are stopped, by PID.
set -u

SMOKE=0
[ "${1:-}" = "--smoke" ] && { SMOKE=1; shift; }
BUILD=${1:-build}
OUT=${2:-}
cd "$(dirname "$0")/.." || exit 2

FWD=$BUILD/bench/fwdperf
ECHO=$BUILD/bench/echo
SERVER=$BUILD/cvpn-server
CLIENT=$BUILD/cvpn-client
PY=/usr/bin/python3
for f in "$FWD" "$ECHO" "$SERVER" "$CLIENT"; do
	[ -x "$f" ] || { echo "bench: $f is missing (make all bench-tools)" >&2; exit 2; }
done
for t in taskset ss openssl timeout pgrep awk; do
	command -v $t >/dev/null || { echo "bench: needs $t" >&2; exit 2; }
done

# Sizes: bulk moves the same total with 1 and with 8 streams; long enough at
# the slowest tunnel's speed that connecting is a rounding error.
if [ $SMOKE -eq 1 ]; then
	REPS=1 MIB1=32 MIB8=4 RATE_DUR=0.3 HOLD_N=50 QUIET_WAIT=0
else
	REPS=5 MIB1=512 MIB8=64 RATE_DUR=1.5 HOLD_N=1000 QUIET_WAIT=60
fi
# Standalone, wait (bounded) for a quiet machine as bench/run.sh does; under it, it has.
[ -n "$OUT" ] && QUIET_WAIT=0
. bench/lib.sh
[ -n "$OUT" ] && RESULTS=$OUT

# The peers, and for each the AEAD it uses (the report compares like with like).
PEERS="plain ssh-chacha ssh-aes stunnel-chacha stunnel-aes cvpn-chacha cvpn-aes"

# unavailable PEER WHY: the peer is dropped from the runs, and the report says why.
AVAILABLE=""
unavailable() {
	log "bench: forwarding: $1 is not available: $2"
	record fwd_peer '{"available":false}' peer="$1" why="$2"
}

# up CMD...: starts CMD in the background under timeout; its PID (timeout's) in UP_PID.
up() {
	local name=$1 cpu=$2
	shift 2
	taskset -c "$cpu" timeout 1800 "$@" >"$TMP/fwd/$name.log" 2>&1 </dev/null &
	UP_PID=$!
	PIDS="$PIDS $UP_PID"
}

# tree PID: PID and all its descendants, comma-separated (a forking server's sessions).
tree() {
	local all=$1 next=$1 kids p
	while [ -n "$next" ]; do
		kids=""
		for p in $next; do kids="$kids $(pgrep -P "$p" | tr '\n' ' ')"; done
		next=$(echo $kids)
		[ -n "$next" ] && all="$all $next"
	done
	echo $all | tr ' ' ','
}

# cpu_seconds LIST: the CPU time so far of the processes of a comma-separated list (threads
# included), in seconds; what a tunnel's two sides spend shows which core bounds it.
TICKS=$(getconf CLK_TCK 2>/dev/null || echo 100)
cpu_seconds() {
	local p v t=0
	for p in $(echo "$1" | tr ',' ' '); do
		# After the command's name, which may hold spaces: utime and stime are fields 12 and 13.
		v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		t=$((t + ${v:-0}))
	done
	awk -v t="$t" -v hz="$TICKS" 'BEGIN { printf "%.2f", t / hz }'
}

mkdir -p "$TMP/fwd"
log "bench: [7/8] forwarding: bulk, connections/s and memory per channel vs plain TCP, ssh -L and stunnel"
record background "{\"section\":\"forward\",\"busy_pct\":$(wait_quiet)}"

# The sink, for the whole section.
SINKPORT=$(free_port) || { log "bench: no free port"; exit 1; }
taskset -c $SCPU timeout 3600 "$ECHO" --sink -p "$SINKPORT" -t 3600 >"$TMP/fwd/sink.log" 2>&1 &
SINKPID=$!
PIDS="$PIDS $SINKPID"
wait_listen "$SINKPORT" || { log "bench: echo --sink did not start"; exit 1; }

# ---- What each peer needs, made once ----

# ssh: its own host key, client key and configuration; sshd wants an absolute path and, as root, /run/sshd.
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
if [ ! -x "$SSHD" ] || ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then
	for p in ssh-chacha ssh-aes; do unavailable $p "no sshd or ssh (bench/deps.sh installs openssh-server)"; done
else
	S=$TMP/fwd/ssh
	mkdir -p "$S"
	[ "$(id -u)" -eq 0 ] && { mkdir -p /run/sshd && chmod 755 /run/sshd; }
	if ssh-keygen -q -t ed25519 -N '' -f "$S/host" && ssh-keygen -q -t ed25519 -N '' -f "$S/id"; then
		cp "$S/id.pub" "$S/authorized_keys"
		echo "cvpn-bench $(cut -d' ' -f1,2 "$S/host.pub")" >"$S/known_hosts"
		cat >"$S/sshd_config" <<-EOF
			ListenAddress 127.0.0.1
			HostKey $S/host
			PidFile none
			AuthorizedKeysFile $S/authorized_keys
			AuthenticationMethods publickey
			PasswordAuthentication no
			KbdInteractiveAuthentication no
			UsePAM no
			UseDNS no
			StrictModes no
			PermitRootLogin prohibit-password
			AllowTcpForwarding local
			PermitOpen 127.0.0.1:$SINKPORT
			AllowAgentForwarding no
			X11Forwarding no
			PermitTTY no
			Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com
			Compression no
			MaxStartups 100:30:200
			LogLevel ERROR
		EOF
		AVAILABLE="$AVAILABLE ssh-chacha ssh-aes"
	else
		for p in ssh-chacha ssh-aes; do unavailable $p "ssh-keygen failed"; done
	fi
fi

# stunnel: one self-signed certificate, the client verifying it.
STUNNEL=$(command -v stunnel4 || command -v stunnel)
if [ -z "$STUNNEL" ]; then
	for p in stunnel-chacha stunnel-aes; do unavailable $p "no stunnel (bench/deps.sh installs stunnel4)"; done
elif openssl req -x509 -newkey ed25519 -keyout "$TMP/fwd/tls.key" -out "$TMP/fwd/tls.crt" -days 1 -nodes \
	-subj /CN=127.0.0.1 >/dev/null 2>&1; then
	AVAILABLE="$AVAILABLE stunnel-chacha stunnel-aes"
else
	for p in stunnel-chacha stunnel-aes; do unavailable $p "cannot make an Ed25519 certificate"; done
fi

# cvpn: the server's key; forwarding itself only where the programs have it.
if ! "$SERVER" --help 2>&1 | grep -q -- '--allow-forward' || ! "$CLIENT" --help 2>&1 | grep -q -- '--forward-only'; then
	for p in cvpn-chacha cvpn-aes; do
		unavailable $p "cvpn-server has no --allow-forward or cvpn-client no --forward-only (forwarding has not landed)"
	done
elif "$CLIENT" genkey >"$TMP/fwd/server.key" 2>/dev/null && chmod 600 "$TMP/fwd/server.key" &&
	PUB=$("$CLIENT" pubkey <"$TMP/fwd/server.key"); then
	AVAILABLE="$AVAILABLE cvpn-chacha cvpn-aes"
else
	for p in cvpn-chacha cvpn-aes; do unavailable $p "cannot make a server key"; done
fi
AVAILABLE="plain$AVAILABLE"

# ---- Bringing one tunnel up and down ----

# tunnel_up PEER: starts PEER's server (on SCPU) and client (on CCPU) and waits until a probe crosses
# them. Sets LPORT (where fwdperf connects), TUN_SERVER and TUN_CLIENT (PIDs, or empty); returns 1
# with WHY set when it does not come up.
tunnel_up() {
	local sport suite cipher
	TUN_SERVER="" TUN_CLIENT="" TUN_SERVER_ALL="" TUN_CLIENT_ALL="" WHY=""
	if [ "$1" = plain ]; then
		LPORT=$SINKPORT
		return 0
	fi
	sport=$(free_port) && LPORT=$(free_port) || { WHY="no free port"; return 1; }
	case $1 in
	ssh-*)
		[ "$1" = ssh-chacha ] && cipher=chacha20-poly1305@openssh.com || cipher=aes256-gcm@openssh.com
		up "$1.server" $SCPU "$SSHD" -D -e -f "$S/sshd_config" -p "$sport"
		TUN_SERVER=$UP_PID
		wait_listen "$sport" || { WHY="sshd did not start: $(tail -n 2 "$TMP/fwd/$1.server.log")"; return 1; }
		up "$1.client" $CCPU ssh -N -F none -p "$sport" -i "$S/id" -c "$cipher" -o IdentitiesOnly=yes \
			-o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$S/known_hosts" \
			-o GlobalKnownHostsFile=/dev/null -o HostKeyAlias=cvpn-bench -o ExitOnForwardFailure=yes \
			-o Compression=no -o ControlMaster=no -o ControlPath=none -o LogLevel=ERROR \
			-L "127.0.0.1:$LPORT:127.0.0.1:$SINKPORT" "$(id -un)@127.0.0.1"
		TUN_CLIENT=$UP_PID
		;;
	stunnel-*)
		[ "$1" = stunnel-chacha ] && suite=TLS_CHACHA20_POLY1305_SHA256 || suite=TLS_AES_256_GCM_SHA384
		cat >"$TMP/fwd/$1.server.conf" <<-EOF
			foreground = yes
			pid =
			debug = 3
			[fwd]
			accept = 127.0.0.1:$sport
			connect = 127.0.0.1:$SINKPORT
			cert = $TMP/fwd/tls.crt
			key = $TMP/fwd/tls.key
			sslVersionMin = TLSv1.3
			ciphersuites = $suite
			curves = X25519
		EOF
		cat >"$TMP/fwd/$1.client.conf" <<-EOF
			foreground = yes
			pid =
			debug = 3
			[fwd]
			client = yes
			accept = 127.0.0.1:$LPORT
			connect = 127.0.0.1:$sport
			sslVersionMin = TLSv1.3
			ciphersuites = $suite
			curves = X25519
			verifyPeer = yes
			CAfile = $TMP/fwd/tls.crt
		EOF
		up "$1.server" $SCPU "$STUNNEL" "$TMP/fwd/$1.server.conf"
		TUN_SERVER=$UP_PID
		wait_listen "$sport" || { WHY="stunnel (server) did not start: $(tail -n 2 "$TMP/fwd/$1.server.log")"; return 1; }
		up "$1.client" $CCPU "$STUNNEL" "$TMP/fwd/$1.client.conf"
		TUN_CLIENT=$UP_PID
		;;
	cvpn-*)
		[ "$1" = cvpn-chacha ] && suite=ChaChaPoly || suite=AESGCM
		# Room on both sides for hold's channels and its warm-up ones.
		up "$1.server" $SCPU "$SERVER" -q -l 127.0.0.1 -p "$sport" --key "$TMP/fwd/server.key" \
			--allow-forward "127.0.0.1:$SINKPORT" --max-channels $((HOLD_N + 64))
		TUN_SERVER=$UP_PID
		wait_listen "$sport" || { WHY="cvpn-server did not start: $(tail -n 2 "$TMP/fwd/$1.server.log")"; return 1; }
		up "$1.client" $CCPU "$CLIENT" -q -H 127.0.0.1 -p "$sport" --server-key "$PUB" --suites $suite \
			--max-channels $((HOLD_N + 64)) --forward-only --forward "127.0.0.1:$LPORT:127.0.0.1:$SINKPORT"
		TUN_CLIENT=$UP_PID
		;;
	esac
	# Ready when the local port accepts and a probe comes back through the tunnel.
	if ! wait_listen "$LPORT"; then
		WHY="the client did not listen: $(tail -n 2 "$TMP/fwd/$1.client.log" "$TMP/fwd/$1.server.log" | tr '\n' ' ')"
		return 1
	fi
	timeout 60 "$FWD" probe -p "$LPORT" --timeout 20000 ||
		{ WHY="no probe crossed it: $(tail -n 2 "$TMP/fwd/$1.client.log" "$TMP/fwd/$1.server.log" | tr '\n' ' ')"; return 1; }
	# Now that the session is up, a server that forks per session has its processes.
	TUN_CLIENT_ALL=$(tree "$TUN_CLIENT") TUN_SERVER_ALL=$(tree "$TUN_SERVER")
}

# tunnel_down: the client first, so that a server that forks per session sees its session end.
tunnel_down() {
	[ -n "$TUN_CLIENT" ] && stop "$TUN_CLIENT"
	[ -n "$TUN_SERVER" ] && stop "$TUN_SERVER"
	TUN_CLIENT="" TUN_SERVER=""
}

# fwd NAME PEER REP ARGS...: one fwdperf run on CCPU through the tunnel; its JSON to the results,
# with the CPU seconds the tunnel's client and server spent meanwhile.
fwd() {
	local name=$1 peer=$2 rep=$3 out c0 s0
	shift 3
	c0=$(cpu_seconds "$TUN_CLIENT_ALL") s0=$(cpu_seconds "$TUN_SERVER_ALL")
	out=$(taskset -c $CCPU timeout 600 "$FWD" "$@" -p "$LPORT" 2>>"$TMP/fwd/fwdperf.log")
	[ -n "$out" ] || out='{"error":"no output"}'
	record "$name" "$out" peer="$peer" rep="$rep" \
		client_cpu_s="$(awk -v a="$c0" -v b="$(cpu_seconds "$TUN_CLIENT_ALL")" 'BEGIN { printf "%.2f", b - a }')" \
		server_cpu_s="$(awk -v a="$s0" -v b="$(cpu_seconds "$TUN_SERVER_ALL")" 'BEGIN { printf "%.2f", b - a }')"
}

# ---- The interleaved repetitions ----

# The AEAD alone on one core, for each suite: what a single stream's crypto costs wherever it runs.
for a in chacha20-poly1305 aes-256-gcm; do
	bps=$(taskset -c $SCPU timeout 60 openssl speed -mr -seconds 1 -bytes 16384 -aead -evp $a 2>/dev/null |
		sed -n 's/^+F:[0-9]*:[^:]*:\([0-9.]*\)$/\1/p' | tail -n 1)
	record fwd_aead "{\"mb_per_s\":$(awk -v b="${bps:-0}" 'BEGIN { printf "%.1f", b / 1e6 }')}" aead=$a
done

for r in $(seq 1 $REPS); do
	# Each repetition starts one peer further along, so that no peer always goes first.
	order=$(rotated "$r" $AVAILABLE)
	log "bench: forwarding, repetition $r of $REPS:$order"
	for p in $order; do
		if ! tunnel_up "$p"; then
			log "bench: forwarding: $p did not come up: $WHY"
			record fwd_bulk1 '{"error":"tunnel not ready"}' peer="$p" rep="$r" why="$WHY"
			tunnel_down
			continue
		fi
		fwd fwd_bulk1 "$p" "$r" bulk -c 1 -m $MIB1
		fwd fwd_bulk8 "$p" "$r" bulk -c 8 -m $MIB8
		fwd fwd_rate "$p" "$r" rate -d $RATE_DUR
		tunnel_down
	done
done

# ---- Memory per idle channel, each tunnel's server side (its processes added up) ----
for p in $AVAILABLE; do
	case $p in plain | *-aes) continue ;; esac
	if tunnel_up "$p"; then
		fwd fwd_hold "$p" 1 hold -n $HOLD_N --server-pid "$TUN_SERVER_ALL"
	else
		record fwd_hold '{"error":"tunnel not ready"}' peer="$p" why="$WHY"
	fi
	tunnel_down
done
stop "$SINKPID"

# ---- Opening over a path with delay: what loopback cannot show ----

# path_open: on loopback a round trip is CPU time alone, so a protocol that waits for a channel's
# answer and one that does not differ little. Over a path of 5 ms each way (two namespaces joined
# by tests/integration/impair.py, nothing lost) the wait is a whole round trip of the path: cvpn's
# client sends the first bytes right after the OPEN, and its server holds them while it connects.
path_open() {
	local a=$PATH_NS-a b=$PATH_NS-b out why=""
	if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ] || ! command -v ip >/dev/null; then
		record fwd_path '{"error":"needs root, /dev/net/tun and ip for two namespaces"}' peer=cvpn-aes
		return
	fi
	ip netns add "$a" && ip netns add "$b" && ip -n "$a" link set lo up && ip -n "$b" link set lo up ||
		{ record fwd_path '{"error":"cannot make the namespaces"}' peer=cvpn-aes; return; }
	timeout 300 $PY tests/integration/impair.py "$a" "$b" --loss 0 --dup 0 --delay 5:5 --seconds 240 \
		>"$TMP/fwd/path.impair" 2>&1 &
	PATH_PIDS=$!
	ip netns exec "$b" timeout 240 "$ECHO" --sink -p 4700 -t 240 >"$TMP/fwd/path.sink" 2>&1 &
	PATH_PIDS="$PATH_PIDS $!"
	ip netns exec "$b" timeout 240 "$SERVER" -q -p 4701 --key "$TMP/fwd/server.key" \
		--allow-forward 127.0.0.1:4700 >"$TMP/fwd/path.server" 2>&1 &
	PATH_PIDS="$PATH_PIDS $!"
	PIDS="$PIDS $PATH_PIDS"
	if ! wait_log "$TMP/fwd/path.impair" '^ready' 10; then
		why="impair.py did not start: $(tail -n 1 "$TMP/fwd/path.impair")"
	elif ! wait_listen 4701 "$b"; then
		why="cvpn-server did not start: $(tail -n 1 "$TMP/fwd/path.server")"
	else
		ip netns exec "$a" timeout 240 "$CLIENT" -q -H 192.0.2.2 -p 4701 --server-key "$PUB" --suites AESGCM \
			--forward-only --forward 127.0.0.1:4702:127.0.0.1:4700 >"$TMP/fwd/path.client" 2>&1 &
		PATH_PIDS="$PATH_PIDS $!"
		PIDS="$PIDS $!"
		wait_listen 4702 "$a"
		out=$(ip netns exec "$a" timeout 60 "$FWD" probe -p 4702 --timeout 20000 &&
			ip netns exec "$a" timeout 120 "$FWD" rate -p 4702 -d 3 2>>"$TMP/fwd/fwdperf.log")
		[ -n "$out" ] || why="no probe crossed the path: $(tail -n 1 "$TMP/fwd/path.client")"
	fi
	[ -n "$why" ] && out=$($PY -c 'import json, sys; print(json.dumps({"error": sys.argv[1]}))' "$why")
	record fwd_path "$out" peer=cvpn-aes delay_ms=5
	for p in $PATH_PIDS; do stop "$p"; done
	path_cleanup
}
# The path's namespaces go at exit too, should the bench be stopped while they stand.
PATH_NS=cvpn-bench-$$ PATH_PIDS=""
path_cleanup() {
	ip netns del "$PATH_NS-a" 2>/dev/null
	ip netns del "$PATH_NS-b" 2>/dev/null
}
trap 'cleanup; path_cleanup' EXIT
case " $AVAILABLE " in *" cvpn-aes "*) log "bench: forwarding: opening over a path of 5 ms each way"; path_open ;; esac

# How busy the machine was by the end: other work on a shared machine shows here.
record background "{\"section\":\"forward_end\",\"busy_pct\":$(cpu_busy)}"

if [ -z "$OUT" ]; then
	$PY bench/report.py "$RESULTS" "$BUILD/bench-forward.json" --only forward --smoke "$SMOKE" \
		--server-cpu "$SCPU" --client-cpu "$CCPU" --fd-limit "$FDLIMIT"
fi
