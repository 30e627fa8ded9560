#!/bin/sh
# Interoperability with an independent implementation: labpeer.py (written
# from the protocol's description alone, with pycryptodome) as server against
# cvpn-client and as client against cvpn-server, for every cipher, both HMAC
# variants, with and without newline terminators.
. tests/lib.sh

PEER="timeout 90 $PY tests/interop/labpeer.py"
ALL='AES:128,192,256 Blowfish:112,224,448 DES3:128,192 DES:56 XOR:128,256 None:128'
MSGS="hello|héllo wörld ✓||sixteen bytes!!!|The quick brown fox jumps over the lazy dog"

check "labpeer selftest against the vectors" sh -c "$PY tests/interop/labpeer.py selftest >'$TMP/selftest' 2>&1"

# expected_replies: what a reference server answers to $MSGS, one per line.
expected_replies() {
	echo "$MSGS" | tr '|' '\n' | while IFS= read -r m; do printf 'Server says: %s\n' "$(printf '%s' "$m" | rev)"; done
}
expected_replies >"$TMP/expected"

# cvpn-server <- labpeer client
start_server interop --allow-insecure -c "$ALL" || { not_ok "server starts"; finish; }
# peer_client SPEC HMAC NEWLINE: one session of the Python client against cvpn-server.
peer_client() {
	spec=$1; hmac=$2; nl=$3
	echo "$MSGS" | tr '|' '\n' >"$TMP/in"
	$PEER client --port "$PORT" --ciphers "$spec" --hmac "$hmac" $nl <"$TMP/in" >"$TMP/out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && grep '^Server says' "$TMP/out" | cmp -s - "$TMP/expected"; then
		ok "labpeer client -> cvpn-server: $spec $hmac ${nl:-no-newline}"
	else
		not_ok "labpeer client -> cvpn-server: $spec $hmac ${nl:-no-newline} (exit $rc)"
		sed 's/^/#   /' "$TMP/out" | head -n 10
	fi
}

# cvpn-client -> labpeer server
# cvpn_client SPEC HMAC NEWLINE: one session of cvpn-client against a fresh Python server.
cvpn_client() {
	spec=$1; hmac=$2; nl=$3
	rm -f "$TMP/peer.log" # a fresh log, so that the last peer's port cannot be read
	$PEER server --once --port 0 --ciphers "$spec" --hmac "$hmac" $nl >"$TMP/peer.log" 2>&1 &
	ppid=$!
	PIDS="$PIDS $ppid"
	wait_for "$TMP/peer.log" "^Listening on" 10
	pport=$(sed -n 's/^Listening on .*:\([0-9]*\)$/\1/p' "$TMP/peer.log")
	echo "$MSGS" | tr '|' '\n' | timeout 90 "$CLIENT" -H 127.0.0.1 -p "$pport" --allow-insecure \
		-c "$spec" --hmac "$hmac" $nl -q >"$TMP/out" 2>&1
	rc=$?
	wait "$ppid"; prc=$?
	if [ $rc -eq 0 ] && [ $prc -eq 0 ] && cmp -s "$TMP/out" "$TMP/expected"; then
		ok "cvpn-client -> labpeer server: $spec $hmac ${nl:-no-newline}"
	else
		not_ok "cvpn-client -> labpeer server: $spec $hmac ${nl:-no-newline} (client $rc, peer $prc)"
		sed 's/^/#   /' "$TMP/out" "$TMP/peer.log" | head -n 12
	fi
}

# Every cipher and size in both directions; the HMAC/newline combination
# rotates, so each appears with several ciphers. AES-256 and DES run all four.
i=0
for spec in AES:128 AES:192 AES:256 Blowfish:112 Blowfish:224 Blowfish:448 DES3:128 DES3:192 DES:56 \
	XOR:128 XOR:256 None:128; do
	case $((i % 4)) in
	0) hmac=cumulative; nl= ;;
	1) hmac=per-message; nl=--newline ;;
	2) hmac=cumulative; nl=--newline ;;
	3) hmac=per-message; nl= ;;
	esac
	peer_client "$spec" "$hmac" "$nl"
	cvpn_client "$spec" "$hmac" "$nl"
	i=$((i + 1))
done
for spec in AES:256 DES:56; do
	for hmac in cumulative per-message; do
		for nl in "" --newline; do
			peer_client "$spec" "$hmac" "$nl"
			cvpn_client "$spec" "$hmac" "$nl"
		done
	done
done

check "no cvpn-server session failed" sh -c "! grep -q 'Closing' '$SLOG'"
check "server exits 0 on SIGTERM" stop_server

# Default lists on both sides agree on Blowfish 448 (the largest key).
rm -f "$TMP/peer.log"
$PEER server --once --port 0 >"$TMP/peer.log" 2>&1 &
ppid=$!; PIDS="$PIDS $ppid"
wait_for "$TMP/peer.log" "^Listening on" 10
pport=$(sed -n 's/^Listening on .*:\([0-9]*\)$/\1/p' "$TMP/peer.log")
timeout 90 "$CLIENT" -H 127.0.0.1 -p "$pport" -m hello >"$TMP/out" 2>&1
check "defaults on both sides pick Blowfish448" grep -q '^We are going to use Blowfish448$' "$TMP/out"
wait "$ppid"
finish
