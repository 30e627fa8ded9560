#!/bin/sh
# A stealth server (docs/SECURE.md section 11) seen from raw sockets: not a
# byte to anyone who has not proved itself with handshake message 1, and a
# reset, not at once, to silence, junk, a lab client, a hello alone or a
# wrong key; the failures count against the source address; a client with
# --stealth and the right key is served; one without is told why it waits.
. tests/lib.sh

umask 077
"$CLIENT" genkey >"$TMP/server.key"
SPUB=$("$CLIENT" pubkey <"$TMP/server.key")
OTHER=$("$CLIENT" genkey | "$CLIENT" pubkey)

# probe NAME [HEX]: connects to the server, sends HEX (if any), and reads until the end; writes
# "bytes=N end=reset|eof|timeout seconds=S" to $TMP/NAME.
probe() {
	$PY - "$PORT" "${2:-}" >"$TMP/$1" 2>&1 <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
if sys.argv[2]:
    s.sendall(bytes.fromhex(sys.argv[2]))
t0, got, end = time.monotonic(), 0, "timeout"
try:
    while True:
        b = s.recv(4096)
        if not b:
            end = "eof"
            break
        got += len(b)
except ConnectionResetError:
    end = "reset"
except socket.timeout:
    pass
print(f"bytes={got} end={end} seconds={time.monotonic() - t0:.2f}")
EOF
}

# silent NAME: the probe got nothing and a reset.
silent() { grep -q '^bytes=0 end=reset ' "$TMP/$1"; }

start_server stealth --key "$TMP/server.key" --stealth --handshake-timeout 2 || { not_ok "server starts"; finish; }

probe junk "474554202f20485454502f312e310d0a0d0a"
check "junk (an HTTP request): not a byte, then a reset" silent junk
check "junk: the reset waits at least 0.2 s (no instant verdict)" \
	$PY -c "import sys; sys.exit(0 if float(open('$TMP/junk').read().split('seconds=')[1]) >= 0.19 else 1)"
probe lab "50726f706f736564436970686572733a4145533a5b3235365d"
check "a lab proposal: not a byte, then a reset" silent lab
probe hello "4356504e02010201"
check "a ClientHello alone: not a byte (no ServerHello), a reset at the handshake deadline" silent hello
probe quiet
check "silence: a reset at the handshake deadline" silent quiet
check "each is logged with its reason" sh -c "grep -q 'Closing 127.0.0.1:[0-9]*: .*lab profile disabled' '$SLOG' &&
	grep -q 'Closing 127.0.0.1:[0-9]*: handshake timeout' '$SLOG'"

client --stealth --server-key "$OTHER" -m x >/dev/null 2>"$TMP/wrong"; rc=$?
check "a wrong server key: the client fails (exit $rc) and gets nothing" sh -c "[ $rc -ne 0 ]"
check "a wrong server key: the server logs the failed mac1" \
	wait_for "$SLOG" 'Closing 127.0.0.1:[0-9]*: first handshake message failed its MAC' 5

client --stealth --server-key "$SPUB" --suites AESGCM,ChaChaPoly -m hello >"$TMP/out" 2>&1; rc=$?
check "--stealth with the right key: served, with the first suite it named (exit $rc)" sh -c "[ $rc -eq 0 ] &&
	grep -qx 'We are going to use Noise_IKpsk2_25519_AESGCM_SHA256 (secure profile)' '$TMP/out' &&
	grep -qx 'Server says: olleh' '$TMP/out'"
check "a wrong key with --stealth: told what a stealth server's silence means" grep -q 'a --stealth server does so' "$TMP/wrong"
client --server-key "$SPUB" -m x >/dev/null 2>"$TMP/plain"; rc=$?
check "a client without --stealth: reset at the deadline (exit $rc), told of --stealth" sh -c \
	"[ $rc -eq 78 ] && grep -q 'uses --stealth' '$TMP/plain'"
check "stealth server exits 0" stop_server

# A client without --stealth that gives up first: its timeout says to try --stealth.
start_server stealth3 --key "$TMP/server.key" --stealth || { not_ok "server starts"; finish; }
client --server-key "$SPUB" --timeout 2 -m x >/dev/null 2>"$TMP/plain3"; rc=$?
check "a client without --stealth times out (exit $rc) and is told to try --stealth" sh -c \
	"[ $rc -eq 75 ] && grep -q 'try --stealth' '$TMP/plain3'"
check "stealth3 server exits 0" stop_server

# The failures count against the source: after 2, a reset at once, still without a byte.
start_server stealth2 --key "$TMP/server.key" --stealth --max-failures 2 || { not_ok "server starts"; finish; }
probe j1 "00"
probe j2 "00"
wait_for "$SLOG" 'Penalty: 127.0.0.1' 10 >/dev/null
probe j3 "00"
check "after --max-failures, the source is refused: a reset, not a byte" silent j3
check "the refusal is logged" grep -q 'Refusing 127.0.0.1:[0-9]*: too many failed handshakes' "$SLOG"
check "stealth2 server exits 0" stop_server

# An ordinary server serves a --stealth client too, and saves it a round trip.
start_server plain --key "$TMP/server.key" || { not_ok "server starts"; finish; }
client --stealth --server-key "$SPUB" -m hi >"$TMP/out2" 2>&1
check "an ordinary server serves a --stealth client" grep -qx 'Server says: ih' "$TMP/out2"
check "plain server exits 0" stop_server
finish
