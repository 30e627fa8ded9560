#!/bin/sh
# A forwarding session and the server's --idle-timeout (docs/SECURE.md section 10): a
# cvpn-client -N -L whose connections are quiet (a user yet to come, an idle SSH session) sends
# a KEEPALIVE after --keepalive seconds without sending, and so outlives a server that closes
# sessions idle for 3 s: its held connection and a new one still work after 8 keepalives.
# With --keepalive 0 the server closes the session for idling, and the client says so. Traffic
# from the client to the destination alone also keeps the session (every record the server
# reads counts), with --keepalive 0.
#
# Destinations are tests/integration/fwd_target.py's (start_target in tests/lib.sh). Runtime:
# about 20 s, mostly the idle time the cases need.
. tests/lib.sh

umask 077
"$CLIENT" genkey >"$TMP/server.key"
SPUB=$("$CLIENT" pubkey <"$TMP/server.key")

# start_client NAME ARGS...: cvpn-client -N -v toward the server; waits for its listener.
# Sets CPID, COUT (stdout), CERR (stderr) and LP (the listener's port).
start_client() {
	COUT=$TMP/$1.client.out; CERR=$TMP/$1.client.err; shift
	: >"$COUT"
	"$CLIENT" -H 127.0.0.1 -p "$PORT" --server-key "$SPUB" -N -v "$@" >"$COUT" 2>"$CERR" &
	CPID=$!
	PIDS="$PIDS $CPID"
	LP=
	wait_for "$COUT" '^Forwarding' 10 || { sed 's/^/#   /' "$CERR"; return 1; }
	LP=$(sed -n 's/^Forwarding [^ ]*:\([0-9]*\) .*/\1/p' "$COUT" | head -n 1)
}

# stop_client: SIGTERM; the client ends its session with CLOSE and exits 0.
stop_client() {
	kill -TERM "$CPID" 2>/dev/null
	wait_gone "$CPID" 20
	wait "$CPID"; rc=$?
	check "the client exits 0 after SIGTERM, rc $rc" [ $rc -eq 0 ]
}

# hold NAME PORT: a connection through PORT to the echo destination that echoes "first", then
# stays quiet until $TMP/NAME.go exists and echoes "again". Prints each word once echoed, to
# $TMP/NAME.out; exits nonzero when the connection ends first. Every wait is bounded.
hold() {
	$PY -u -c '
import os, socket, sys, time
port, go = int(sys.argv[1]), sys.argv[2]
sock = socket.create_connection(("127.0.0.1", port), timeout=60)
def echo(word):
    sock.sendall(word.encode())
    got = b""
    while len(got) < len(word):
        data = sock.recv(64)
        if not data:
            sys.exit(f"the connection ended before {word} came back")
        got += data
    print(got.decode())
echo("first")
deadline = time.monotonic() + 180
while not os.path.exists(go):
    if time.monotonic() > deadline:
        sys.exit("never told to go on")
    time.sleep(0.05)
echo("again")' "$2" "$TMP/$1.go" >"$TMP/$1.out" 2>&1 &
	HPID=$!
	PIDS="$PIDS $HPID"
}

# send_slowly PORT TEXT PAUSE: a new connection through PORT sends TEXT a character at a time,
# PAUSE seconds apart, then half-closes and prints what comes back until EOF.
send_slowly() {
	timeout 60 $PY -c '
import socket, sys, time
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
for c in sys.argv[2]:
    sock.sendall(c.encode())
    time.sleep(float(sys.argv[3]))
sock.shutdown(socket.SHUT_WR)
got = b""
while True:
    data = sock.recv(256)
    if not data:
        break
    got += data
print(got.decode().strip())' "$@"
}

# echo_once PORT WORD: a new connection through PORT echoes WORD.
echo_once() { [ "$(send_slowly "$1" "$2" 0 2>/dev/null)" = "$2" ]; }

# idle_closes: how many sessions the server has closed for idling.
idle_closes() { grep -c 'Closing 127.0.0.1:[0-9]*: idle timeout' "$SLOG"; }

# ---- Command lines ----

"$CLIENT" -H 127.0.0.1 -p 1 --server-key "$SPUB" --keepalive 5 -m hi >/dev/null 2>"$TMP/err"; rc=$?
check "--keepalive without --forward, --socks or --tun: exit 64, says so" \
	sh -c "[ $rc -eq 64 ] && grep -q -- '--keepalive goes with --forward, --socks or --tun' '$TMP/err'"
"$CLIENT" -H 127.0.0.1 -p 1 --server-key "$SPUB" -N -L 0:h:1 --keepalive 65536 >/dev/null 2>"$TMP/err"; rc=$?
check "--keepalive 65536: exit 64" sh -c "[ $rc -eq 64 ] && grep -q 'expected 0-65535 seconds' '$TMP/err'"
"$CLIENT" --help >"$TMP/help"
check "--help says what --keepalive does when forwarding" grep -q -- '--keepalive SEC.*forwarding: default 60' "$TMP/help"

start_target echo echo || { not_ok "echo destination starts"; finish; }
ECHO=$TPORT
start_target answer answer || { not_ok "answer destination starts"; finish; }
ANSWER=$TPORT
start_server idle --key "$TMP/server.key" --allow-forward '127.0.0.1:*' --idle-timeout 3 || {
	not_ok "server starts"; finish; }

# ---- --keepalive 1: quiet connections outlive the idle timeout ----

start_client keep --forward "0:127.0.0.1:$ECHO" --keepalive 1 || { not_ok "client listens"; finish; }
hold held "$LP"
check "a held connection echoes before it goes quiet" wait_for "$TMP/held.out" '^first$' 10
T0=$(date +%s); K0=$(grep -c 'keepalive ->' "$CERR")
# Eight more keepalives at one a second: the session has stayed quiet for well over 3 s, twice.
check "the client sends a keepalive each second without sending (-v: keepalive ->)" \
	wait_count "$CERR" 'keepalive ->' $((K0 + 8)) 8
ELAPSED=$(( $(date +%s) - T0 ))
check "eight keepalives took at least 7 s (one per --keepalive 1), took ${ELAPSED} s" [ "$ELAPSED" -ge 7 ]
check "the server closed no session for idling" [ "$(idle_closes)" -eq 0 ]
check "the client still runs" alive "$CPID"
touch "$TMP/held.go"
check "the held connection still echoes after the idle time" wait_for "$TMP/held.out" '^again$' 10
wait "$HPID"; rc=$?
check "the held connection ends cleanly (rc $rc)" [ $rc -eq 0 ]
check "a new forwarded connection works" echo_once "$LP" late
stop_client

# ---- Traffic from the client to the destination alone keeps the session ----

# One byte every 0.5 s for 8 s through a destination that answers only after EOF: the server
# reads only from the client meanwhile.
start_client trickle --forward "0:127.0.0.1:$ANSWER" --keepalive 0 || { not_ok "client listens"; finish; }
OUT=$(send_slowly "$LP" xxxxxxxxxxxxxxxx 0.5 2>&1)
check "16 bytes sent over 8 s reach the destination, its answer comes back ($OUT)" \
	[ "$(echo "$OUT" | cut -d, -f1)" = "16 bytes" ]
check "the server closed no session for idling while the client sent" [ "$(idle_closes)" -eq 0 ]
check "--keepalive 0 sends no keepalive" sh -c "! grep -q 'keepalive ->' '$CERR'"
stop_client

# ---- --keepalive 0: the idle timeout ends the session ----

start_client off --forward "0:127.0.0.1:$ECHO" --keepalive 0 || { not_ok "client listens"; finish; }
check "the server closes the quiet session for idling" wait_for "$SLOG" 'Closing 127.0.0.1:[0-9]*: idle timeout' 10
check "the client exits" wait_gone "$CPID" 10
wait "$CPID"; rc=$?
check "the client says the session ended (rc $rc)" \
	sh -c "[ $rc -ne 0 ] && grep -q 'server closed the connection' '$CERR'"
check "--keepalive 0 sent no keepalive" sh -c "! grep -q 'keepalive ->' '$CERR'"

stop_server || not_ok "the server exits 0 on SIGTERM"
finish
