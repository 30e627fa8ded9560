#!/bin/sh
# cvpn-mitm, the teaching demo, between the real binaries on 127.0.0.1.
# Lab profile: it reads every message, --downgrade makes both ends use DES56,
# --rewrite changes what the server receives, and client and server both
# succeed. Secure profile: plain forwarding works, and every attack fails:
# the client exits non-zero with a clear message, the server logs a Closing
# line, and no plaintext is released.
. tests/lib.sh

MITM=$BUILD/cvpn-mitm

# start_mitm NAME [ARGS...]: starts cvpn-mitm on a free port in front of the
# server on PORT; sets MPORT and MLOG, and remembers its PID as MPID.
start_mitm() {
	MLOG=$TMP/$1.mitm.log; shift
	: >"$MLOG" # now, not in the background job: no old "Listening" line may be read
	"$MITM" --listen-port 0 --server-port "$PORT" "$@" >"$MLOG" 2>&1 &
	MPID=$!
	PIDS="$PIDS $MPID"
	if ! wait_for "$MLOG" 'Listening on\|"event":"listening"' 10; then
		echo "# mitm did not start:"; sed 's/^/#   /' "$MLOG"; return 1
	fi
	MPORT=$(grep -o '127\.0\.0\.1:[0-9]*' "$MLOG" | head -n 1 | cut -d: -f2)
}

# stop_mitm: SIGTERM, then waits (bounded) for its exit; returns its status.
stop_mitm() {
	kill -TERM "$MPID" 2>/dev/null
	if ! wait_gone "$MPID"; then kill -KILL "$MPID"; wait "$MPID" 2>/dev/null; return 1; fi
	wait "$MPID"
}

# via ARGS...: runs cvpn-client through the mitm with a time limit; then waits
# (bounded) until the mitm has finished that session, so its log is complete.
via() {
	n=$(grep -c 'Session of .* ended\|"event":"closed"' "$MLOG")
	timeout 60 "$CLIENT" -H 127.0.0.1 -p "$MPORT" "$@"
	rc=$?
	wait_count "$MLOG" 'Session of .* ended\|"event":"closed"' $((n + 1)) 10
	return $rc
}

# wait_new FILE MARK PATTERN: waits (bounded) until PATTERN shows in FILE after line MARK.
wait_new() {
	i=0; limit=$(bound 5)
	while [ $i -lt "$limit" ]; do
		tail -n +"$(($2 + 1))" "$1" | grep -q -- "$3" && return 0
		sleep 0.05; i=$((i + 1))
	done
	return 1
}

# count_new FILE MARK PATTERN: how many lines after line MARK match PATTERN.
count_new() {
	tail -n +"$(($2 + 1))" "$1" | grep -c -- "$3"
}

"$MITM" --help >"$TMP/help"; rc=$?
check "--help: exit 0, lists every attack" sh -c "[ $rc -eq 0 ] && grep -q 'key-substitution' '$TMP/help' &&
	grep -q 'suite-downgrade' '$TMP/help' && grep -q 'truncate' '$TMP/help'"
"$MITM" --server-port 1 >/dev/null 2>"$TMP/err"; rc=$?
check "no --listen-port: exit 64" sh -c "[ $rc -eq 64 ] && grep -q 'required' '$TMP/err'"
"$MITM" -p 0 -P 1 --attack nosuch >/dev/null 2>"$TMP/err"; rc=$?
check "unknown --attack: exit 64" sh -c "[ $rc -eq 64 ] && grep -q 'unknown --attack' '$TMP/err'"
"$MITM" -p 0 -P 1 --rewrite =x >/dev/null 2>&1; rc=$?
check "--rewrite with an empty FROM: exit 64" [ $rc -eq 64 ]

# ---- Lab profile: the real man in the middle ----

start_server lab -v || { not_ok "lab server starts"; finish; }
start_mitm lab || { not_ok "mitm starts"; finish; }
via -v -m hello -m "Information Assurance" >"$TMP/out" 2>"$TMP/err"; rc=$?
check "lab through the mitm: client succeeds" sh -c "[ $rc -eq 0 ] && grep -qx 'Server says: olleh' '$TMP/out' &&
	grep -qx 'Server says: ecnarussA noitamrofnI' '$TMP/out' && ! grep -q 'warning' '$TMP/err'"
check "lab: the server got both messages" sh -c "grep -qx 'Received: hello' '$SLOG' &&
	grep -qx 'Received: Information Assurance' '$SLOG' && grep -q '^Client 127.0.0.1:[0-9]* disconnected' '$SLOG'"
check "lab: the mitm saw the proposal" grep -q '^Proposal from the client: ProposedCiphers:AES:\[128,192,256\]' "$MLOG"
check "lab: the mitm reads every message" sh -c "grep -qx 'Client says: hello' '$MLOG' &&
	grep -qx 'Client says: Information Assurance' '$MLOG'"
check "lab: the mitm reads every reply" grep -q '^Server replies: Server says: olleh' "$MLOG"
check "lab: two exchanges: the mitm holds the client's key and the server's, and they differ" sh -c "
	c=\$(sed -n 's/^Client side: shared_key = \([0-9a-f]\{64\}\)$/\1/p' '$MLOG')
	s=\$(sed -n 's/^Server side: shared_key = \([0-9a-f]\{64\}\)$/\1/p' '$MLOG')
	[ -n \"\$c\" ] && [ -n \"\$s\" ] && [ \"\$c\" != \"\$s\" ] &&
	grep -qx \"  shared_key = \$c\" '$TMP/err' && grep -q \"shared_key = \$s\" '$SLOG'"
check "lab: both ends use the server's choice" sh -c "grep -q '^Server side: We are going to use Blowfish448' '$MLOG' &&
	grep -q '^Client side: We are going to use Blowfish448' '$MLOG' &&
	grep -qx 'We are going to use Blowfish448' '$TMP/out'"
via --newline --hmac per-message -m one -m two >"$TMP/out" 2>&1; rc=$?
check "lab: a --newline, per-message HMAC client too" sh -c "[ $rc -eq 0 ] && grep -qx 'Server says: owt' '$TMP/out'"
check "mitm exits 0 on SIGTERM" stop_mitm

# --downgrade: both ends say DES56, and nobody notices.
start_mitm downgrade --downgrade || { not_ok "mitm starts"; finish; }
mark=$(wc -l <"$SLOG")
via -m secret >"$TMP/out" 2>"$TMP/err"; rc=$?
check "--downgrade: the client uses DES56 and succeeds" sh -c "[ $rc -eq 0 ] &&
	grep -qx 'We are going to use DES56' '$TMP/out' && grep -qx 'Server says: terces' '$TMP/out' && [ ! -s '$TMP/err' ]"
check "--downgrade: the server uses DES56 too" wait_new "$SLOG" "$mark" '^We are going to use DES56$'
check "--downgrade: the server was offered only DES:56" \
	grep -qx 'Proposal to the server:   ProposedCiphers:DES:\[56\]' "$MLOG"
check "--downgrade: the message is still read" grep -qx 'Client says: secret' "$MLOG"
via -c AES:256 -m x >/dev/null 2>&1; rc=$?
check "--downgrade: a client without DES is refused as by a server (exit 78)" [ $rc -eq 78 ]
check "downgrade: mitm exits 0 (no sanitizer report)" stop_mitm

# --rewrite: the server receives the changed text, the client gets a consistent reply.
start_mitm rewrite --rewrite bob=eve --rewrite 100=999 || { not_ok "mitm starts"; finish; }
mark=$(wc -l <"$SLOG")
via -m "pay bob 100 euros" -m "thanks" >"$TMP/out" 2>"$TMP/err"; rc=$?
check "--rewrite: client succeeds, sees the reply to its own text" sh -c "[ $rc -eq 0 ] &&
	grep -qx 'Server says: sorue 001 bob yap' '$TMP/out' && [ ! -s '$TMP/err' ]"
check "--rewrite: the server received the rewritten text" wait_new "$SLOG" "$mark" '^Received: pay eve 999 euros$'
check "--rewrite: an untouched message goes through as is" wait_new "$SLOG" "$mark" '^Received: thanks$'
check "--rewrite: the mitm shows the real reply and its forgery" sh -c "
	grep -qx 'Server replies: Server says: sorue 999 eve yap' '$MLOG' &&
	grep -qx 'Forged reply to the client: Server says: sorue 001 bob yap' '$MLOG'"
check "rewrite: mitm exits 0 (no sanitizer report)" stop_mitm

start_mitm json --json --downgrade --rewrite l=L || { not_ok "mitm starts"; finish; }
via -m hello >/dev/null 2>&1
check "--json: one object per event, lab" $PY -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
names = [e["event"] for e in ev]
for n in ("listening", "connected", "profile", "proposal", "negotiated", "key", "message", "rewritten",
          "reply", "forged_reply", "closed"):
    assert n in names, (n, names)
neg = [e for e in ev if e["event"] == "negotiated"]
assert sorted(e["leg"] for e in neg) == ["client", "server"] and all(e["cipher"] == "DES" for e in neg), neg
keys = [e["shared_key"] for e in ev if e["event"] == "key"]
assert len(keys) == 2 and keys[0] != keys[1], keys
msg = [e for e in ev if e["event"] == "message"][0]
assert msg["text"] == "hello", msg
rw = [e for e in ev if e["event"] == "rewritten"][0]
assert rw["to"] == "heLLo", rw
rep = [e for e in ev if e["event"] == "reply"][0]
assert rep["text"] == "Server says: oLLeh" and rep["forwarded"] is False, rep' "$MLOG"
check "json: mitm exits 0 (no sanitizer report)" stop_mitm
check "lab server exits 0" stop_server

# ---- Secure profile: it can only forward, and every attack fails ----

umask 077
"$CLIENT" genkey >"$TMP/server.key"
SPUB=$("$CLIENT" pubkey <"$TMP/server.key")
"$CLIENT" genkey >"$TMP/psk"
M1="the first message, long enough to be no CLOSE"
M2="a second message, also over twenty-nine bytes"

# --log-messages: the tests read in the server's log which records it accepted.
start_server secure --key "$TMP/server.key" --psk "$TMP/psk" --log-messages || { not_ok "secure server starts"; finish; }
start_mitm plain || { not_ok "mitm starts"; finish; }
mark=$(wc -l <"$SLOG")
via --server-key "$SPUB" --psk "$TMP/psk" -m "$M1" -m "$M2" >"$TMP/out" 2>"$TMP/err"; rc=$?
check "secure, plain forwarding: the client succeeds" sh -c "[ $rc -eq 0 ] && grep -q 'secure profile' '$TMP/out' &&
	grep -qx 'Server says: ESOLC on eb ot hguone gnol ,egassem tsrif eht' '$TMP/out' &&
	[ \$(grep -c '^Server says: ' '$TMP/out') -eq 2 ]"
check "secure, plain forwarding: the server got both and a CLOSE" sh -c "
	tail -n +$((mark + 1)) '$SLOG' | grep -qx 'Received: $M1' &&
	tail -n +$((mark + 1)) '$SLOG' | grep -q '^Client 127.0.0.1:[0-9]* disconnected'"
check "secure, plain forwarding: the mitm saw no plaintext" sh -c "! grep -q 'first message\|second message' '$MLOG' &&
	grep -q 'could read none of them' '$MLOG' && grep -q '^ClientHello: key mode, suites ChaChaPoly,AESGCM' '$MLOG'"
check "plain: mitm exits 0 (no sanitizer report)" stop_mitm

# attack NAME EXIT CLIENT_MESSAGE SERVER_CLOSING [CLIENT ARGS...]: runs one
# client through a mitm trying NAME with two messages; checks the client's
# exit status and message, the server's Closing line, the mitm's verdict,
# and (unless M2_SEEN=1) that the second message never reached the server.
# (check() owns $name.)
attack() {
	atk=$1 want=$2 cmsg=$3 smsg=$4; shift 4
	start_mitm "$atk" --attack "$atk" || { not_ok "$atk: mitm starts"; return; }
	mark=$(wc -l <"$SLOG")
	via "$@" -m "$M1" -m "$M2" >"$TMP/out" 2>"$TMP/err"; rc=$?
	check "$atk: client exits $want with '$cmsg'" sh -c "[ $rc -eq $want ] && grep -q '$cmsg' '$TMP/err'"
	check "$atk: server logs 'Closing ...: $smsg'" wait_new "$SLOG" "$mark" "^Closing 127.0.0.1:[0-9]*: $smsg"
	check "$atk: the mitm says it tried and failed" sh -c "grep -q '^Attack $atk: ' '$MLOG' &&
		grep -q '^Outcome of $atk: .* -- the attack failed$' '$MLOG'"
	check "$atk: the second message reached the server ${M2_SEEN:-0} times" \
		[ "$(count_new "$SLOG" "$mark" "^Received: $M2")" -eq "${M2_SEEN:-0}" ]
	check "$atk: mitm exits 0 (no sanitizer report)" stop_mitm
}

attack key-substitution 76 'server closed the connection during the handshake' \
	'connection closed during the handshake' --server-key "$SPUB" --psk "$TMP/psk"
check "key-substitution: the server never got a handshake message" \
	[ "$(count_new "$SLOG" "$mark" 'Received\|Client key')" -eq 0 ]
check "key-substitution: the mitm says why its key cannot work" \
	grep -q "sealed to the real server's static key: .*failed its MAC.*AEAD tag does not verify" "$MLOG"
attack suite-downgrade 76 'server closed the connection during the handshake' \
	'handshake failed (keys do not match, or a hello was changed in transit)' --server-key "$SPUB" --psk "$TMP/psk"
check "suite-downgrade: the server was offered AESGCM only" \
	grep -q 'rewrote the ClientHello to offer only AESGCM' "$MLOG"
attack suite-downgrade 76 'server chose a cipher that was not proposed' \
	'connection closed during the handshake' --server-key "$SPUB" --psk "$TMP/psk" --suites AESGCM
check "suite-downgrade, AESGCM client: the ServerHello was changed instead" \
	grep -q "changed the ServerHello's choice to ChaChaPoly" "$MLOG"
attack tamper 76 'the server refused what it received' 'decryption failed' \
	--server-key "$SPUB" --psk "$TMP/psk"
check "tamper: the flipped record released nothing" [ "$(count_new "$SLOG" "$mark" "^Received:")" -eq 0 ]
attack replay 76 'the server refused what it received' 'decryption failed' \
	--server-key "$SPUB" --psk "$TMP/psk"
check "replay: the original was read once, the copy never" [ "$(count_new "$SLOG" "$mark" "^Received: $M1")" -eq 1 ]
M2_SEEN=1
attack truncate 76 'without a CLOSE record: the session was truncated' \
	'connection closed without a CLOSE record (truncated)' --server-key "$SPUB" --psk "$TMP/psk"
M2_SEEN=0
check "truncate: the first message too had gone through before the cut" \
	[ "$(count_new "$SLOG" "$mark" "^Received: $M1")" -eq 1 ]
# replay-initiation: the original session goes on; the copy of its first handshake message,
# sent on the mitm's own connection once the server answered the original, is refused
# before any message 2, in both modes.
for mode in key psk; do
	start_mitm "replay-$mode" --attack replay-initiation || { not_ok "replay-initiation: mitm starts"; continue; }
	mark=$(wc -l <"$SLOG")
	if [ $mode = key ]; then via --server-key "$SPUB" --psk "$TMP/psk" -m "$M1" -m "$M2"; else via --psk "$TMP/psk" -m "$M1"; fi \
		>"$TMP/out" 2>"$TMP/err"; rc=$?
	check "replay-initiation, $mode mode: the original session succeeds" \
		sh -c "[ $rc -eq 0 ] && grep -q '^Server says: ' '$TMP/out'"
	check "replay-initiation, $mode mode: the server logs the copy as replayed" \
		wait_new "$SLOG" "$mark" 'Closing 127.0.0.1:[0-9]*: first handshake message replayed'
	check "replay-initiation, $mode mode: the mitm says the server refused its copy" \
		grep -q '^Outcome of replay-initiation: the server closed our copy before its message 2.* -- the attack failed$' "$MLOG"
	check "replay-initiation, $mode mode: mitm exits 0 (no sanitizer report)" stop_mitm
done
# The same attacks in psk mode.
attack key-substitution 76 'server closed the connection during the handshake' \
	'connection closed during the handshake' --psk "$TMP/psk"
attack tamper 76 'the server refused what it received' 'decryption failed' --psk "$TMP/psk"

start_mitm json --json --attack tamper || { not_ok "mitm starts"; finish; }
via --server-key "$SPUB" --psk "$TMP/psk" -m "$M1" >/dev/null 2>&1
check "--json: the secure profile's events" $PY -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
hello = [e for e in ev if e["event"] == "hello"]
assert hello[0]["from"] == "client" and hello[0]["mode"] == "key" and hello[0]["suites"] == "ChaChaPoly,AESGCM", hello
assert hello[1]["from"] == "server" and hello[1]["suite"] == "ChaChaPoly", hello
rec = [e for e in ev if e["event"] == "record"]
assert rec and rec[0]["from"] == "client" and rec[0]["index"] == 1 and rec[0]["bytes"] > 50, rec
att = [e for e in ev if e["event"] == "attack"]
assert len(att) == 1 and att[0]["attack"] == "tamper", att
out = [e for e in ev if e["event"] == "outcome"]
assert len(out) == 1 and out[0]["tried"] is True and out[0]["failed"] is True, out
assert not any("first message" in json.dumps(e) for e in ev)' "$MLOG"
check "json: mitm exits 0 (no sanitizer report)" stop_mitm
check "secure server exits 0" stop_server

# reorder needs two records of one end in flight together: an end that
# rekeys after every record sends each DATA (or REPLY) and a REKEY back to back.
start_server rekey --key "$TMP/server.key" --rekey-records 1 || { not_ok "rekeying server starts"; finish; }
start_mitm plain-rekey || { not_ok "mitm starts"; finish; }
via --server-key "$SPUB" --rekey-records 1 -m "$M1" -m "$M2" >"$TMP/out" 2>&1; rc=$?
check "plain forwarding, both ends rekeying after every record: succeeds" sh -c "[ $rc -eq 0 ] &&
	[ \$(grep -c '^Server says: ' '$TMP/out') -eq 2 ] && grep -q 'Record 4 from the client' '$MLOG'"
check "plain-rekey: mitm exits 0 (no sanitizer report)" stop_mitm
attack reorder 76 'the server refused what it received' 'decryption failed' \
	--server-key "$SPUB" --rekey-records 1
check "reorder, rekeying client: the mitm swapped its DATA and REKEY" \
	grep -q '^Attack reorder: swapped two records in flight together: record 2 from the client goes before record 1' \
	"$MLOG"
attack reorder 76 'protocol error while exchanging messages: decryption failed' \
	'connection closed without a CLOSE record (truncated)' --server-key "$SPUB"
check "reorder, rekeying server: the mitm swapped its REPLY and REKEY" \
	grep -q '^Attack reorder: swapped two records in flight together: record 2 from the server goes before record 1' \
	"$MLOG"
check "rekeying server exits 0" stop_server
finish
