#!/bin/sh
# Bad input from the network: each case gets one log line naming the client
# and the reason, and its connection closed without a reply, while a second
# client connected at the same time keeps exchanging messages.
. tests/lib.sh

start_server negative -c 'AES:256' --handshake-timeout 2 --partial-timeout 1 || { not_ok "server starts"; finish; }

# The sentinel: a client fed through a FIFO that stays connected throughout.
mkfifo "$TMP/sentinel.in"
client <"$TMP/sentinel.in" >"$TMP/sentinel.out" 2>&1 &
PIDS="$PIDS $!"
exec 3>"$TMP/sentinel.in"
n=0
sentinel_ping() {
	n=$((n + 1))
	echo "ping $n" >&3
	wait_for "$TMP/sentinel.out" "^Server says: $(printf 'ping %s' $n | rev)$" 10
}
check "sentinel connected" sentinel_ping

# case_check CASE REASON PHASE: runs hostile.py CASE, then requires a new
# "Closing" line for it that names the reason and the phase, in full.
case_check() {
	c=$1; reason=$2; phase=$3
	before=$(grep -c 'Closing ' "$SLOG")
	out=$(timeout 30 $PY tests/integration/hostile.py "$PORT" "$c" 2>&1); rc=$?
	if [ $rc -eq 0 ] && wait_count "$SLOG" 'Closing ' $((before + 1)) 5 &&
		grep 'Closing ' "$SLOG" | tail -n 1 | grep -q "Closing 127.0.0.1:[0-9]*: $reason (while $phase)\$"; then
		ok "$c: closed silently, logged '$reason' while $phase"
	else
		not_ok "$c: $out (exit $rc)"; grep 'Closing ' "$SLOG" | tail -n 2 | sed 's/^/#   /'
	fi
	check "$c: sentinel still served" sentinel_ping
}

cipher="negotiating the cipher"
key="negotiating the key"
data="exchanging messages"
case_check proposal_empty "malformed message" "$cipher"
case_check proposal_garbage "malformed message" "$cipher"
case_check proposal_lowercase "malformed message" "$cipher"
case_check proposal_no_common "could not agree on a cipher" "$cipher"
case_check proposal_bad_number "malformed message" "$cipher"
case_check proposal_huge_number "malformed message" "$cipher"
case_check proposal_no_brackets "malformed message" "$cipher"
case_check proposal_oversized "message over the size limit" "$cipher"
case_check proposal_nul "malformed message" "$cipher"
case_check dh_zero "DH public value out of range (must be 2..p-2)" "$key"
case_check dh_one "DH public value out of range (must be 2..p-2)" "$key"
case_check dh_p_minus_1 "DH public value out of range (must be 2..p-2)" "$key"
case_check dh_p "DH public value out of range (must be 2..p-2)" "$key"
case_check dh_p_plus_1 "DH public value out of range (must be 2..p-2)" "$key"
case_check dh_too_many_digits "DH public value is not 1..2467 decimal digits" "$key"
case_check dh_non_digits "malformed message" "$key"
case_check dh_negative "malformed message" "$key"
case_check data_bad_tag "bad HMAC" "$data"
case_check data_flipped_ciphertext "bad HMAC" "$data"
case_check data_uppercase_tag "truncated message (the client stopped sending mid-message)" "$data"
case_check data_oversized "message over the size limit" "$data"
case_check data_truncated_stall "truncated message (the client stopped sending mid-message)" "$data"
case_check data_truncated_close "connection closed in the middle of a message" "$data"
case_check data_tag_only_garbage "truncated message (the client stopped sending mid-message)" "$data"
case_check silent "handshake timeout" "$cipher"

# A reset while the server computes its Diffie-Hellman on the thread pool.
before=$(grep -c 'Closing ' "$SLOG")
check "reset during the DH work: client side" timeout 30 $PY tests/integration/hostile.py "$PORT" reset_during_work
check "reset during the DH work: logged" wait_count "$SLOG" 'Closing ' $((before + 1)) 5
check "reset during the DH work: sentinel still served" sentinel_ping

# Messages pipelined into one segment are read one by one.
check "pipelined handshake and data messages" timeout 30 $PY tests/integration/hostile.py "$PORT" pipelined
check "pipelined: sentinel still served" sentinel_ping

check "no unverified plaintext was logged" sh -c "! grep -q 'Received: second' '$SLOG'"
exec 3>&-
check "server still up after every case" alive "$SPID"
check "server exits 0 on SIGTERM" stop_server
finish
