#!/bin/sh
# The secure profile with the real binaries: keys (genkey, pubkey, file
# permissions), both modes and suites, both profiles on one port, --no-lab,
# --authorized-clients, the known-servers file, and the failures a wrong key
# or PSK gives, each logged by the server and reported by the client.
. tests/lib.sh

umask 077
"$CLIENT" genkey >"$TMP/server.key"
"$CLIENT" pubkey <"$TMP/server.key" >"$TMP/server.pub"
"$CLIENT" genkey >"$TMP/client.key"
"$CLIENT" pubkey <"$TMP/client.key" >"$TMP/client.pub"
"$CLIENT" genkey >"$TMP/other.key"
"$CLIENT" genkey >"$TMP/psk"
SPUB=$(cat "$TMP/server.pub")
check "genkey: base64 of 32 bytes" grep -qE '^[A-Za-z0-9+/]{43}=$' "$TMP/server.key"
check "pubkey: base64 of 32 bytes, not the private key" sh -c \
	"grep -qE '^[A-Za-z0-9+/]{43}=\$' '$TMP/server.pub' && ! cmp -s '$TMP/server.key' '$TMP/server.pub'"
check "pubkey is deterministic" sh -c "[ \"\$('$CLIENT' pubkey <'$TMP/server.key')\" = '$SPUB' ]"
echo "not a key" | "$CLIENT" pubkey >/dev/null 2>"$TMP/err"; rc=$?
check "pubkey of garbage: exit 64, says what it wants" sh -c "[ $rc -eq 64 ] && grep -q 'base64' '$TMP/err'"

cp "$TMP/server.key" "$TMP/open.key"; chmod 644 "$TMP/open.key"
"$SERVER" -p 0 --key "$TMP/open.key" >/dev/null 2>"$TMP/err"; rc=$?
check "server refuses a key file others can read (exit 78)" sh -c "[ $rc -eq 78 ] && grep -q 'chmod 600' '$TMP/err'"

start_server secure -c 'AES:256' --key "$TMP/server.key" || { not_ok "server starts"; finish; }
check "server prints its public key" grep -qx "Server key: $SPUB" "$SLOG"
client --psk "$TMP/open.key" -m x >/dev/null 2>"$TMP/err"; rc=$?
check "client refuses a PSK file others can read (exit 64)" sh -c "[ $rc -eq 64 ] && grep -q 'chmod 600' '$TMP/err'"
for suite in ChaChaPoly AESGCM; do
	client --server-key "$SPUB" --suites $suite -m hello -m "héllo ✓" >"$TMP/out" 2>&1; rc=$?
	check "key mode, $suite: transcript" [ $rc -eq 0 ] && [ "$(cat "$TMP/out")" = "Connected to 127.0.0.1:$PORT
We are going to use Noise_IKpsk2_25519_${suite}_SHA256 (secure profile)
Server says: olleh
Server says: ✓ olléh" ]
done
check "server names the anonymous client's key" grep -q '^Client key: [A-Za-z0-9+/]\{43\}=$' "$SLOG"
check "secure plaintext stays out of the log unless asked: each message is only counted" \
	sh -c "! grep -q 'hello\|olléh\|héllo' '$SLOG' && [ \$(grep -c '^Received a message$' '$SLOG') -eq 4 ]"
check "an authenticated CLOSE ends each session" sh -c "[ \$(grep -c '^Client 127.0.0.1:[0-9]* disconnected' '$SLOG') -eq 2 ]"
client --profile lab -m lab >"$TMP/out" 2>&1
check "the same port serves the lab profile" grep -qx 'Server says: bal' "$TMP/out"
client --server-key "$SPUB" --key "$TMP/client.key" -m me >/dev/null 2>&1
check "server logs the client's own key" grep -q "^Client key: $(cat "$TMP/client.pub")$" "$SLOG"

# Wrong keys: mac1 fails before any Diffie-Hellman, and both ends say so.
OTHER=$("$CLIENT" pubkey <"$TMP/other.key")
client --server-key "$OTHER" -m x >/dev/null 2>"$TMP/err"; rc=$?
check "wrong server key: client exit 76" sh -c "[ $rc -eq 76 ] && grep -q 'wrong server key or PSK' '$TMP/err'"
check "wrong server key: server logs the failed mac1" \
	wait_for "$SLOG" 'Closing 127.0.0.1:[0-9]*: first handshake message failed its MAC' 5
client --psk "$TMP/psk" -m x >/dev/null 2>"$TMP/err"; rc=$?
check "psk mode on a server without a PSK: refused (exit 78)" [ $rc -eq 78 ]
client --json --server-key "$SPUB" -m hi >"$TMP/json" 2>/dev/null
check "--json in the secure profile" $PY -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert [e["event"] for e in ev] == ["connected", "negotiated", "key_established", "sent", "reply", "closed"], ev
assert ev[1]["profile"] == "secure" and ev[1]["protocol"].startswith("Noise_IKpsk2_25519_")
assert ev[4]["text"] == "Server says: ih"' "$TMP/json"
check "server exits 0 on SIGTERM" stop_server

# PSK mode, --no-lab, and a PSK on top of the server key.
start_server psk -c 'AES:256' --psk "$TMP/psk" --no-lab --log-messages || { not_ok "server starts"; finish; }
for suite in ChaChaPoly AESGCM; do
	client --psk "$TMP/psk" --suites $suite -m hello >"$TMP/out" 2>&1
	check "psk mode, $suite" grep -qx 'Server says: olleh' "$TMP/out"
	check "psk mode, $suite: protocol shown" grep -q "Noise_NNpsk0_25519_${suite}_SHA256" "$TMP/out"
done
check "--log-messages: the secure plaintext is logged when the operator asks" \
	sh -c "[ \$(grep -c '^Received: hello$' '$SLOG') -eq 2 ]"
client --profile lab -m x >/dev/null 2>"$TMP/err"; rc=$?
check "--no-lab: a lab client is refused (exit 78), told the server may serve only the secure profile" \
	sh -c "[ $rc -eq 78 ] && grep -q 'it serves only the secure profile (give --server-key or --psk)' '$TMP/err'"
check "--no-lab: logged with its reason" wait_for "$SLOG" 'Closing 127.0.0.1:[0-9]*: lab profile disabled (--no-lab)' 5
cp "$TMP/other.key" "$TMP/wrong.psk"
client --psk "$TMP/wrong.psk" -m x >/dev/null 2>"$TMP/err"; rc=$?
check "wrong PSK: exit 76, mac1 logged" sh -c "[ $rc -eq 76 ]" && wait_for "$SLOG" 'failed its MAC' 5
check "psk server exits 0" stop_server

# --authorized-clients: listed keys only.
printf '# lab clients\n%s alice\n' "$(cat "$TMP/client.pub")" >"$TMP/authorized"
start_server auth -c 'AES:256' --key "$TMP/server.key" --authorized-clients "$TMP/authorized" ||
	{ not_ok "server starts"; finish; }
client --server-key "$SPUB" --key "$TMP/client.key" -m hi >"$TMP/out" 2>&1
check "authorized client served" grep -qx 'Server says: ih' "$TMP/out"
client --server-key "$SPUB" --key "$TMP/other.key" -m hi >/dev/null 2>"$TMP/err"; rc=$?
check "unlisted client refused (exit 76)" [ $rc -eq 76 ]
check "unlisted client logged" wait_for "$SLOG" 'Closing 127.0.0.1:[0-9]*: client key not in --authorized-clients' 5
check "auth server exits 0" stop_server

# --authorized-clients with --psk: a gate in every mode. A client needs a listed key and the
# PSK; one with the PSK alone (psk mode, no key) or an unlisted key is refused.
start_server authpsk -c 'AES:256' --key "$TMP/server.key" --psk "$TMP/psk" --authorized-clients "$TMP/authorized" ||
	{ not_ok "server starts"; finish; }
client --server-key "$SPUB" --key "$TMP/client.key" --psk "$TMP/psk" -m hi >"$TMP/out" 2>&1
check "listed key and PSK: served" grep -qx 'Server says: ih' "$TMP/out"
client --psk "$TMP/psk" -m hi >/dev/null 2>&1; rc=$?
check "the PSK alone does not pass --authorized-clients: refused (exit $rc), logged" sh -c "[ $rc -ne 0 ] &&
	grep -q 'Closing 127.0.0.1:[0-9]*: psk mode carries no client key, and only the keys of --authorized-clients are accepted' '$SLOG'"
client --server-key "$SPUB" --key "$TMP/other.key" --psk "$TMP/psk" -m hi >/dev/null 2>&1; rc=$?
check "an unlisted key with the PSK: refused (exit 76)" [ $rc -eq 76 ]
check "authpsk server exits 0" stop_server
start_server auth -c 'AES:256' --key "$TMP/server.key" --authorized-clients "$TMP/authorized" ||
	{ not_ok "server starts"; finish; }

# The known-servers file: the client finds the key and picks the secure profile itself, by the
# host as written or by the address it resolves to, with the port; never lab toward such a server.
printf '127.0.0.1:%s %s\n' "$PORT" "$SPUB" >"$TMP/known"
client --known-servers "$TMP/known" --key "$TMP/client.key" -m known >"$TMP/out" 2>&1
check "known-servers file: secure by default" sh -c "grep -q 'secure profile' '$TMP/out' && grep -qx 'Server says: nwonk' '$TMP/out'"
printf '# by name\nlocalhost:%s %s\n' "$PORT" "$SPUB" >"$TMP/known-name"
client --known-servers "$TMP/known-name" --key "$TMP/client.key" -m known >"$TMP/out" 2>&1
check "known-servers 'localhost:PORT', client -H 127.0.0.1: matched by address, secure" \
	sh -c "grep -q 'secure profile' '$TMP/out' && grep -qx 'Server says: nwonk' '$TMP/out'"
printf 'localhost:%s %s\n' "$((PORT + 1))" "$SPUB" >"$TMP/known-other"
client --known-servers "$TMP/known-other" -m other >"$TMP/out" 2>&1
check "known-servers entry for another port: not this server (lab, with no note when piped)" \
	sh -c "grep -qx 'We are going to use AES256' '$TMP/out' && ! grep -q 'note:' '$TMP/out'"
client --known-servers "$TMP/known-name" --profile lab -m x >/dev/null 2>"$TMP/err"; rc=$?
check "--profile lab toward a server with a known key: refused (exit 64), naming the entry" \
	sh -c "[ $rc -eq 64 ] && grep -q 'a key for this server is known ($TMP/known-name, line 2): refusing the unauthenticated lab profile' '$TMP/err'"
printf '[::1:%s %s\n' "$PORT" "$SPUB" >"$TMP/known-bad"
client --known-servers "$TMP/known-bad" -m x >/dev/null 2>"$TMP/err"; rc=$?
check "a malformed known-servers entry: exit 64 with its line" sh -c "[ $rc -eq 64 ] && grep -q 'known-bad, line 1' '$TMP/err'"
check "auth server exits 0" stop_server
printf 'garbage\n' >"$TMP/bad-list"
"$SERVER" -p 0 --key "$TMP/server.key" --authorized-clients "$TMP/bad-list" >/dev/null 2>"$TMP/err"; rc=$?
check "a bad authorized-clients line: exit 78 with file:line" sh -c "[ $rc -eq 78 ] && grep -q 'bad-list:1:' '$TMP/err'"
# Time-based rekey: the server rekeys its direction while the client idles;
# the client follows the REKEY record and the next reply still decrypts.
start_server rekey -c 'AES:256' --key "$TMP/server.key" --rekey-seconds 0.3 -v || { not_ok "server starts"; finish; }
(echo one; sleep 1.2; echo two) | client --server-key "$SPUB" >"$TMP/out" 2>&1; rc=$?
check "rekey: both replies arrive" sh -c "[ $rc -eq 0 ] && grep -qx 'Server says: eno' '$TMP/out' && grep -qx 'Server says: owt' '$TMP/out'"
check "rekey: the server rekeyed during the session" grep -q 'rekey -> ' "$SLOG"
(echo one; sleep 0.5; echo two; echo three) | client --server-key "$SPUB" --rekey-seconds 0.2 --rekey-records 1 >"$TMP/out" 2>&1; rc=$?
check "client rekeys by time and by count; the server follows" sh -c "[ $rc -eq 0 ] && grep -qx 'Server says: eerht' '$TMP/out'"
stop_server
# Key logs of secure sessions: both ends write the same two transport keys.
start_server keys -c 'AES:256' --key "$TMP/server.key" --keylog "$TMP/server.keys" || { not_ok "server starts"; finish; }
client --server-key "$SPUB" --keylog "$TMP/client.keys" -m hi >/dev/null 2>&1
cline=$(grep '^CVPN_SECURE ' "$TMP/client.keys")
set -- $cline
check "client key log: CVPN_SECURE, protocol, two 32-byte keys" \
	sh -c "[ $# -eq 6 ] && echo '$4' | grep -q '^Noise_IKpsk2_25519_' && echo '$5 $6' | grep -qE '^[0-9a-f]{64} [0-9a-f]{64}\$'"
check "server key log has the same session and keys" grep -qx "$cline" "$TMP/server.keys"
stop_server

# A key-mode client whose PSK differs from the server's fails message 2 and never sends a
# record: the server says so (not "key established", then "truncated"), and it counts as a
# failed handshake, as does a session whose first record does not open.
start_server wrongpsk -c 'AES:256' --key "$TMP/server.key" --psk "$TMP/psk" --max-failures 2 ||
	{ not_ok "server starts"; finish; }
client --server-key "$SPUB" --psk "$TMP/wrong.psk" -m x >/dev/null 2>&1; rc=$?
check "wrong PSK in key mode: the client fails the handshake (exit $rc)" [ $rc -eq 76 ]
check "wrong PSK in key mode: the server says the client could not complete the handshake" \
	wait_for "$SLOG" 'Closing 127.0.0.1:[0-9]*: the client closed before its first record: it could not complete the handshake (a PSK that differs from ours' 10
check "wrong PSK in key mode: no 'key has been established' for it" sh -c "! grep -q 'The key has been established' '$SLOG'"
$PY tests/interop/securepeer.py attack --port "$PORT" --server-key "$SPUB" --psk "$TMP/psk" tamper_record >/dev/null 2>&1
check "a first record that does not open counts too: the second failure brings the penalty" \
	wait_for "$SLOG" 'Penalty: 127.0.0.1 failed 2 handshakes' 10
stop_server

# A banned address: the server logs the ban, and the client, which cannot tell a ban from a
# mode the server does not serve, names both.
start_server banned -c 'AES:256' --key "$TMP/server.key" --max-failures 1 || { not_ok "server starts"; finish; }
client --server-key "$OTHER" -m x >/dev/null 2>&1
wait_for "$SLOG" 'Penalty: 127.0.0.1 failed 1 handshakes' 10
client --server-key "$SPUB" -m x >/dev/null 2>"$TMP/err"; rc=$?
check "banned source: the server logs the refusal with its reason" \
	wait_for "$SLOG" 'Refusing 127.0.0.1:[0-9]*: too many failed handshakes from 127.0.0.1' 10
check "banned source: the client (exit 78) names a refused address among the causes" \
	sh -c "[ $rc -eq 78 ] && grep -q 'or it refused our address (too many failed handshakes, or it is full)' '$TMP/err'"
stop_server
finish
