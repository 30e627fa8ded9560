#!/bin/sh
# A secure session the server ends (docs/SECURE.md section 5): at its
# --idle-timeout and when it stops, it sends an authenticated CLOSE first,
# so that the client reports the end (exit 69) and not a truncation (76).
# Clients wait at their input, held open by a fifo; the lab profile, which
# has no records, is told by the closed connection as before.
. tests/lib.sh

umask 077
"$CLIENT" genkey >"$TMP/server.key"
SPUB=$("$CLIENT" pubkey <"$TMP/server.key")
ENDED='server closed the connection: it ended the session with a CLOSE record (a server closes idle sessions'

# idle NAME ARGS...: a client at its input (a fifo held open on descriptor 3, 4 or 5 by the
# caller), its output in $TMP/NAME.out; sets CPID.
idle() {
	name=$1; shift
	mkfifo "$TMP/$name.in"
	client "$@" <"$TMP/$name.in" >"$TMP/$name.out" 2>&1 &
	CPID=$!; PIDS="$PIDS $CPID"
}

# ended NAME PID: the client exited 69 and said the server ended the session, with no truncation.
ended() {
	wait_gone "$2" 10 || return 1
	wait "$2"; rc=$?
	[ $rc -eq 69 ] && grep -q "$ENDED" "$TMP/$1.out" && ! grep -q 'truncated' "$TMP/$1.out"
}

# ---- --idle-timeout: a client at an idle prompt ----

start_server idle -c 'AES:256' --key "$TMP/server.key" --idle-timeout 2 || { not_ok "server starts"; finish; }
idle prompt --server-key "$SPUB"
exec 3>"$TMP/prompt.in"
echo hello >&3
check "idle: the session works first" wait_for "$TMP/prompt.out" '^Server says: olleh$' 10
check "idle: the server logs the idle timeout and its CLOSE" \
	wait_for "$SLOG" 'Closing 127.0.0.1:[0-9]*: idle timeout (while exchanging messages); sent CLOSE$' 10
check "idle: the client exits 69 and says the server ended the session, not a truncation" ended prompt "$CPID"
check "idle: the server logs no truncation" sh -c "! grep -q 'truncated' '$SLOG'"
exec 3>&-

idle json --server-key "$SPUB" --json
exec 3>"$TMP/json.in"
check "idle, --json: established" wait_for "$TMP/json.out" '"event":"negotiated"' 10
check "idle, --json: the client exits 69" ended json "$CPID"
check "idle, --json: one error event says the server ended the session" $PY -c '
import json, sys
events = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
errors = [e for e in events if e["event"] == "error"]
assert len(errors) == 1 and errors[0]["code"] == "server_ended" and errors[0]["exit"] == 69, errors
assert "ended the session with a CLOSE record" in errors[0]["message"]
' "$TMP/json.out"
exec 3>&-

# Forwarding without keepalives: the session ends as a lost one does, with the same words.
idle fwd --server-key "$SPUB" --forward-only --forward 0:127.0.0.1:9 --keepalive 0
exec 3>"$TMP/fwd.in"
check "idle, forwarding: the client exits 69 and says the server ended the session" ended fwd "$CPID"
exec 3>&-
check "idle: the server exits 0 on SIGTERM" stop_server

# ---- SIGTERM: every established session is told ----

start_server stop -c 'AES:256' --key "$TMP/server.key" || { not_ok "server starts"; finish; }
idle one --server-key "$SPUB"
ONE=$CPID
idle two --server-key "$SPUB"
TWO=$CPID
idle lab --profile lab
LAB=$CPID
exec 3>"$TMP/one.in" 4>"$TMP/two.in" 5>"$TMP/lab.in"
echo one >&3
echo two >&4
echo lab >&5
served() {
	wait_for "$TMP/one.out" '^Server says: eno$' 10 && wait_for "$TMP/two.out" '^Server says: owt$' 10 &&
		wait_for "$TMP/lab.out" '^Server says: bal$' 10
}
check "stop: three sessions established" served
t0=$(date +%s%N)
check "stop: the server exits 0 on SIGTERM" stop_server
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "stop: the server was gone within 2 s ($ms ms)" [ "$ms" -lt 2000 ]
check "stop: the server logs a CLOSE sent to each secure session" \
	[ "$(grep -c 'Closing 127.0.0.1:[0-9]*: server shutting down (while exchanging messages); sent CLOSE$' "$SLOG")" -eq 2 ]
check "stop: secure client one exits 69, says the server ended the session" ended one "$ONE"
check "stop: secure client two exits 69, says the server ended the session" ended two "$TWO"
wait_gone "$LAB" 10
wait "$LAB"; rc=$?
check "stop: the lab client exits 69 (no records: the connection closed)" \
	sh -c "[ $rc -eq 69 ] && grep -q 'server closed the connection' '$TMP/lab.out' && ! grep -q 'CLOSE record' '$TMP/lab.out'"
exec 3>&- 4>&- 5>&-
finish
