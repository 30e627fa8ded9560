#!/bin/sh
# Command lines of both binaries: help, version, cipher list, usage errors,
# the documented exit codes, --json events, -q and -v, piped stdin.
. tests/lib.sh

for b in "$SERVER" "$CLIENT"; do
	n=$(basename "$b")
	check "$n --help exits 0 and lists --list-ciphers" sh -c "'$b' --help | grep -q -- --list-ciphers"
	check "$n --version" sh -c "'$b' --version | grep -q '^$n [0-9]'"
	check "$n --list-ciphers shows every suite" sh -c \
		"'$b' --list-ciphers | grep -c -E '^(AES|Blowfish|DES3|DES|XOR|None) ' | grep -qx 6"
	"$b" --bogus >/dev/null 2>"$TMP/err"; rc=$?
	check "$n unknown flag: exit 64 and a hint" sh -c "[ $rc -eq 64 ] && grep -q 'Try' '$TMP/err'"
	"$b" -c 'AES:100' >/dev/null 2>"$TMP/err"; rc=$?
	check "$n bad --ciphers: exit 64, one clear line" sh -c \
		"[ $rc -eq 64 ] && grep -q 'unknown cipher or unsupported key size' '$TMP/err'"
	"$b" -c 'XOR:128' >/dev/null 2>"$TMP/err"; rc=$?
	check "$n XOR without --allow-insecure: exit 64" sh -c "[ $rc -eq 64 ] && grep -q 'allow-insecure' '$TMP/err'"
	"$b" -p 99999 >/dev/null 2>"$TMP/err"; rc=$?
	check "$n bad port: exit 64" [ $rc -eq 64 ]
done

# Server limits take 1-1000000; anything else is a usage error that names the range.
for flag in --max-clients --max-handshakes --max-source-handshakes --max-failures; do
	"$SERVER" "$flag" 0 >/dev/null 2>"$TMP/err"; rc=$?
	check "cvpn-server $flag 0: exit 64, the range named" sh -c "[ $rc -eq 64 ] && grep -q 'expected 1-1000000' '$TMP/err'"
done

start_server cli -c 'AES:128,256' || { not_ok "server starts"; finish; }

# Exit codes.
"$CLIENT" -H 127.0.0.1 -p 1 -m x >/dev/null 2>"$TMP/err"; rc=$?
check "connection refused: exit 69 (EX_UNAVAILABLE)" sh -c "[ $rc -eq 69 ] && grep -q 'cannot connect' '$TMP/err'"
"$CLIENT" -H no-such-host.invalid -p "$PORT" -m x >/dev/null 2>"$TMP/err"; rc=$?
check "unknown host: exit 68 (EX_NOHOST)" [ $rc -eq 68 ]
client -c 'DES:56' -m x >/dev/null 2>"$TMP/err"; rc=$?
check "no common cipher: exit 78 (EX_CONFIG)" sh -c "[ $rc -eq 78 ] && grep -q 'no cipher in common' '$TMP/err'"
check "server logs the failed negotiation" wait_for "$SLOG" "Closing 127.0.0.1:[0-9]*: could not agree on a cipher"
long=$(head -c 4033 /dev/zero | tr '\0' 'a')
client -m "$long" >/dev/null 2>"$TMP/err"; rc=$?
check "-m over 4032 bytes: exit 64 and the limit named" sh -c "[ $rc -eq 64 ] && grep -q '4032' '$TMP/err'"

# A server that accepts and never answers (as a line-reading server does without a
# newline): exit 75 after --timeout, with the options to try; with --newline given, not again.
$PY -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(2)
print(s.getsockname()[1], flush=True)
held = [s.accept()[0] for _ in range(2)]; time.sleep(30)' >"$TMP/silent.port" &
PIDS="$PIDS $!"
wait_for "$TMP/silent.port" "[0-9]" 5
timeout 20 "$CLIENT" -H 127.0.0.1 -p "$(cat "$TMP/silent.port")" --timeout 0.5 -m x >/dev/null 2>"$TMP/err"; rc=$?
check "silent server: exit 75 (EX_TEMPFAIL), the proposal unanswered, --newline --hmac per-message suggested" \
	sh -c "[ $rc -eq 75 ] && grep -q 'no answer.*negotiating the cipher' '$TMP/err' && \
	       grep -q 'needs --newline, and then usually --hmac per-message' '$TMP/err'"
timeout 20 "$CLIENT" -H 127.0.0.1 -p "$(cat "$TMP/silent.port")" --timeout 0.5 --newline -m x >/dev/null 2>"$TMP/err"; rc=$?
check "silent server with --newline: exit 75, --newline not suggested again" \
	sh -c "[ $rc -eq 75 ] && grep -q 'no answer' '$TMP/err' && ! grep -q -- '--newline' '$TMP/err'"

# --json: one object per event, in order, and nothing else on stdout.
client --json -m hello -m bye >"$TMP/json" 2>"$TMP/err"; rc=$?
events=$(sed 's/^{"event":"\([a-z_.]*\)".*/\1/' "$TMP/json" | tr '\n' ' ')
check "--json event sequence" [ "$events" = "connected negotiated key_established sent reply sent reply closed " ]
check "--json lines parse and carry the reply" $PY -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
r = [e for e in ev if e["event"] == "reply"]
assert r[0]["text"] == "Server says: olleh" and r[0]["expected"] is True, r
assert ev[1]["cipher"] == "AES" and ev[1]["bits"] == 256
assert "key" not in ev[2], "secrets only with -v"' "$TMP/json"
client --json -v -m hi >"$TMP/json" 2>/dev/null
check "--json -v adds the protocol values" $PY -c '
import json, sys
ev = {e["event"]: e for e in map(json.loads, open(sys.argv[1]))}
assert len(ev["key_established"]["shared_key"]) == 64
assert len(ev["key_established"]["key"]) == 64 and len(ev["key_established"]["iv"]) == 32
assert len(ev["sent"]["ciphertext"]) == 32 and len(ev["sent"]["tag"]) == 64
assert len(ev["dh.client_public"]["value"]) >= 2400' "$TMP/json"
client --json -c 'DES:56' -m x >"$TMP/json" 2>/dev/null
check "--json error event with code and exit" grep -q '"event":"error","code":"no_common_cipher","exit":78' "$TMP/json"

# -q: replies only; -v: every step on stderr.
client -q -m hello >"$TMP/out" 2>&1
check "-q prints only the reply" [ "$(cat "$TMP/out")" = "Server says: olleh" ]
client -v -m hello >"$TMP/out" 2>"$TMP/err"
for field in "proposal -> ProposedCiphers:AES" "choice <- ChosenCipher:AES,256" "dh.client_public = " \
	"dh.server_public = " "shared_key = " "key = " "iv = " "ciphertext = " "tag = "; do
	check "-v shows '$field'" grep -q -- "$field" "$TMP/err"
done
check "-v keeps stdout the transcript" sh -c "[ \$(wc -l < '$TMP/out') -eq 3 ]"
check "without -v no secrets anywhere" sh -c "! client -m hello 2>&1 | grep -q shared_key"

# Piped stdin: no prompt, no echo, one reply per line, \quit ends early.
printf 'hello\nbye\n\\quit\nnot sent\n' | client >"$TMP/out" 2>&1; rc=$?
check "piped stdin: replies only, \\quit honoured" sh -c "[ $rc -eq 0 ] && [ \"\$(tail -n 2 '$TMP/out')\" = 'Server says: olleh
Server says: eyb' ] && ! grep -q 'Enter message' '$TMP/out'"

check "server exits 0 on SIGTERM" stop_server
finish
