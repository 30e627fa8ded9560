#!/bin/sh
# The secure profile against an independent implementation: securepeer.py
# (Debian's python3-dissononce for Noise, written from docs/SECURE.md) as
# client against cvpn-server and as server against cvpn-client, both modes,
# both suites, with rekeying; then its attacks against cvpn-server, each of
# which must fail with the server saying why.
. tests/lib.sh

PEER="timeout 60 $PY tests/interop/securepeer.py"
umask 077
check "securepeer selftest (cacophony vectors, records, attacks on itself)" \
	sh -c "$PEER selftest >'$TMP/selftest' 2>&1"
"$CLIENT" genkey >"$TMP/server.key"
SPUB=$("$CLIENT" pubkey <"$TMP/server.key")
"$CLIENT" genkey >"$TMP/client.key"
"$CLIENT" genkey >"$TMP/psk"
check "pubkey agrees with the Python peer's" [ "$($PEER pubkey <"$TMP/server.key")" = "$SPUB" ]

# securepeer client -> cvpn-server
start_server sinterop -c 'AES:256' --key "$TMP/server.key" --rekey-records 2 --log-messages || { not_ok "server starts"; finish; }
for suite in ChaChaPoly AESGCM; do
	$PEER client --port "$PORT" --server-key "$SPUB" --key "$TMP/client.key" --suites $suite --rekey-after 1 \
		-m hello -m "héllo ✓" -m third >"$TMP/out" 2>&1; rc=$?
	check "securepeer -> cvpn-server, key mode, $suite" sh -c \
		"[ $rc -eq 0 ] && grep -qx 'Server says: olleh' '$TMP/out' && grep -qx 'Server says: ✓ olléh' '$TMP/out'"
done
check "cvpn-server saw the Python client's messages" grep -q '^Received: héllo ✓$' "$SLOG"
stop_server
start_server spsk -c 'AES:256' --psk "$TMP/psk" || { not_ok "server starts"; finish; }
for suite in ChaChaPoly AESGCM; do
	$PEER client --port "$PORT" --psk "$TMP/psk" --suites $suite -m hello >"$TMP/out" 2>&1; rc=$?
	check "securepeer -> cvpn-server, psk mode, $suite" sh -c "[ $rc -eq 0 ] && grep -qx 'Server says: olleh' '$TMP/out'"
done
# Twenty 4000-byte messages in one write: more than the server holds at once
# (two messages), so it must take the read in pieces, answering each in order.
big=$(head -c 4000 /dev/zero | tr '\0' 'x')
set --
for i in 0 1 2 3 4 5 6 7 8 9 a b c d e f g h i j; do set -- "$@" -m "$i$big"; done
$PEER client --port "$PORT" --psk "$TMP/psk" --pipeline "$@" >"$TMP/out" 2>&1; rc=$?
check "securepeer -> cvpn-server: 20 pipelined 4000-byte messages all answered, in order" \
	sh -c "[ $rc -eq 0 ] && [ \$(grep -c '^Server says: x*[0-9a-j]\$' '$TMP/out') -eq 20 ]"
set --
stop_server

# The server ends the session first (SECURE.md section 5): cvpn-server's CLOSE as the peer reads it.
start_server sidle -c 'AES:256' --key "$TMP/server.key" --idle-timeout 1 || { not_ok "server starts"; finish; }
$PEER client --port "$PORT" --server-key "$SPUB" --wait-close -m hello >"$TMP/out" 2>&1; rc=$?
check "securepeer -> cvpn-server: its idle timeout ends the session with CLOSE, then the TCP close" sh -c \
	"[ $rc -eq 0 ] && grep -qx 'session: ended by the server (CLOSE)' '$TMP/out'"
check "cvpn-server logged the CLOSE it sent" grep -q 'idle timeout (while exchanging messages); sent CLOSE$' "$SLOG"
stop_server

# cvpn-client -> securepeer server
peer_server() {
	# A fresh log each time, so that the old "Listening" line cannot be read.
	rm -f "$TMP/peer.log"
	$PEER server --once --port 0 "$@" >"$TMP/peer.log" 2>&1 &
	PPID_=$!
	PIDS="$PIDS $PPID_"
	wait_for "$TMP/peer.log" "^Listening on" 20
	PPORT=$(sed -n 's/^Listening on .*:\([0-9]*\)$/\1/p' "$TMP/peer.log")
}
for suite in ChaChaPoly AESGCM; do
	peer_server --key "$TMP/server.key" --suites $suite --rekey-after 1
	timeout 60 "$CLIENT" -H 127.0.0.1 -p "$PPORT" --server-key "$SPUB" -m hello -m "héllo ✓" >"$TMP/out" 2>&1; rc=$?
	wait "$PPID_"; prc=$?
	check "cvpn-client -> securepeer server, key mode, $suite" sh -c \
		"[ $rc -eq 0 ] && [ $prc -eq 0 ] && grep -qx 'Server says: ✓ olléh' '$TMP/out' && grep -qx 'Received: héllo ✓' '$TMP/peer.log'"
	peer_server --psk "$TMP/psk" --suites $suite
	timeout 60 "$CLIENT" -H 127.0.0.1 -p "$PPORT" --psk "$TMP/psk" -m hello >"$TMP/out" 2>&1; rc=$?
	wait "$PPID_"; prc=$?
	check "cvpn-client -> securepeer server, psk mode, $suite" sh -c "[ $rc -eq 0 ] && [ $prc -eq 0 ]"
done

# The peer's server ends an idle session with CLOSE first: cvpn-client, waiting at its input,
# says the server ended it (exit 69), not that it was truncated.
peer_server --key "$TMP/server.key" --idle-timeout 1
mkfifo "$TMP/idle.in"
timeout 60 "$CLIENT" -H 127.0.0.1 -p "$PPORT" --server-key "$SPUB" <"$TMP/idle.in" >"$TMP/out" 2>&1 &
CPID=$!; PIDS="$PIDS $CPID"
exec 3>"$TMP/idle.in"
echo hello >&3
check "cvpn-client -> securepeer server: served before the idle timeout" wait_for "$TMP/out" '^Server says: olleh$' 10
wait_gone "$CPID" 10
wait "$CPID"; rc=$?
wait "$PPID_"; prc=$?
check "cvpn-client -> securepeer server: the server's CLOSE ends the session (exit 69, said so)" sh -c \
	"[ $rc -eq 69 ] && [ $prc -eq 0 ] && grep -q 'it ended the session with a CLOSE record' '$TMP/out' &&
	grep -qx 'Ending the session: idle timeout (sent CLOSE)' '$TMP/peer.log'"
exec 3>&-

# Attacks from the Python peer: each fails, and cvpn-server says why.
printf '%s\n' "$("$CLIENT" pubkey <"$TMP/client.key")" >"$TMP/authorized"
start_server attacks -c 'AES:256' --key "$TMP/server.key" --authorized-clients "$TMP/authorized" ||
	{ not_ok "server starts"; finish; }
attack() {
	c=$1; reason=$2; shift 2
	before=$(grep -c 'Closing ' "$SLOG")
	out=$($PEER attack --port "$PORT" "$@" "$c" 2>&1); rc=$?
	if [ $rc -eq 0 ] && wait_count "$SLOG" 'Closing ' $((before + 1)) 5 &&
		grep 'Closing ' "$SLOG" | tail -n 1 | grep -q "$reason"; then
		ok "attack $c: refused, logged '$reason'"
	else
		not_ok "attack $c (exit $rc): $out"; grep 'Closing ' "$SLOG" | tail -n 1 | sed 's/^/#   /'
	fi
}
KEYED="--server-key $SPUB --key $TMP/client.key"
attack bad_mac1 "first handshake message failed its MAC" $KEYED
attack replay_record "decryption failed" $KEYED
attack reorder "decryption failed" $KEYED
attack tamper_record "decryption failed" $KEYED
attack truncate "without a CLOSE record (truncated)" $KEYED
attack downgrade_hello "handshake failed" $KEYED
attack unknown_client_key "client key not in --authorized-clients" --server-key "$SPUB"
attack replay_initiation "first handshake message replayed" $KEYED
attack over_padded "decryption failed" $KEYED
check "server still serves after every attack" sh -c \
	"$PEER client --port $PORT --server-key $SPUB --key '$TMP/client.key' -m ok | grep -qx 'Server says: ko'"
stop_server
# The PSK alone must not pass --authorized-clients.
start_server pskbypass -c 'AES:256' --key "$TMP/server.key" --psk "$TMP/psk" --authorized-clients "$TMP/authorized" ||
	{ not_ok "server starts"; finish; }
attack psk_bypass "psk mode carries no client key" --psk "$TMP/psk"
stop_server
start_server pskattacks -c 'AES:256' --psk "$TMP/psk" || { not_ok "server starts"; finish; }
attack wrong_psk "handshake failed\|decryption failed" --psk "$TMP/psk"
attack replay_initiation "first handshake message replayed" --psk "$TMP/psk"
stop_server
finish
