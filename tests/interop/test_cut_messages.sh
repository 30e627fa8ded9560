#!/bin/sh
# Messages cut at random points with pauses of 0.2-2 s between the pieces, as a path
# that loses a segment delivers them (the lost piece comes one retransmission timeout
# later): labpeer.py --cut-pauses against cvpn-server (proposal, DHMKE, data messages)
# and against cvpn-client (choice, DHMKE, replies), every session to its end. Cuts fall
# where a message is visibly incomplete; where it could be whole is a documented limit
# (docs/PROTOCOL.md), covered by the unit tests. Then a DH value that stays cut for
# longer than --partial-timeout: each binary takes it as it is, and the failure that
# follows says it was cut, instead of a bare "bad HMAC".
#   BUILD=build sh tests/interop/test_cut_messages.sh   (CVPN_SEED=N replays the cuts)
. tests/lib.sh

PEER="timeout 120 $PY tests/interop/labpeer.py"
SEED=${CVPN_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
echo "# seed $SEED (CVPN_SEED=$SEED replays these cuts)"
MSGS="hello|Information Assurance and Security|héllo wörld ✓"
printf '%s\n' "$MSGS" | tr '|' '\n' >"$TMP/in"
printf '%s\n' "$MSGS" | tr '|' '\n' | while IFS= read -r m; do
	printf 'Server says: %s\n' "$(printf '%s' "$m" | rev)"
done >"$TMP/expected"
SPECS="AES:256 Blowfish:448 DES3:192 DES:56"

# --- labpeer client, cutting, against cvpn-server -----------------------------------------

start_server cuts -c 'AES:128,192,256 Blowfish:112,224,448 DES3:128,192 DES:56' || { not_ok "server starts"; finish; }
i=0
for spec in $SPECS; do
	for nl in "" --newline; do
		i=$((i + 1))
		$PEER client --port "$PORT" --ciphers "$spec" $nl --cut-pauses 0.2:2 --seed $((SEED + i)) \
			--skip-residue-check <"$TMP/in" >"$TMP/c$i.out" 2>&1 &
		eval "C${i}_PID=\$!"; PIDS="$PIDS $!"
		eval "C${i}_NAME=\"\$spec \${nl:-no-newline}\""
	done
done
n=$i
i=0
while [ $i -lt "$n" ]; do
	i=$((i + 1))
	eval "pid=\$C${i}_PID; name=\$C${i}_NAME"
	wait "$pid"; rc=$?
	if [ $rc -eq 0 ] && grep '^Server says' "$TMP/c$i.out" | cmp -s - "$TMP/expected"; then
		ok "cut labpeer client -> cvpn-server: $name"
	else
		not_ok "cut labpeer client -> cvpn-server: $name (exit $rc)"
		sed 's/^/#   /' "$TMP/c$i.out" | head -n 8
	fi
done
check "cvpn-server: no session failed" sh -c "! grep -q '^\(\[[0-9]*\] \)\?Closing' '$SLOG'"

# The same cuts through cvpn-mitm, which reads the client's messages with the same rules.
"$BUILD/cvpn-mitm" --listen-port 0 --server-port "$PORT" >"$TMP/mitm.log" 2>&1 &
PIDS="$PIDS $!"
if wait_for "$TMP/mitm.log" 'Listening on' 10; then
	mport=$(grep -o '127\.0\.0\.1:[0-9]*' "$TMP/mitm.log" | head -n 1 | cut -d: -f2)
	for k in 1 2 3; do
		$PEER client --port "$mport" --ciphers AES:256 --cut-pauses 0.2:2 --seed $((SEED + 50 + k)) \
			--skip-residue-check <"$TMP/in" >"$TMP/m$k.out" 2>&1; rc=$?
		if [ $rc -eq 0 ] && grep '^Server says' "$TMP/m$k.out" | cmp -s - "$TMP/expected"; then
			ok "cut labpeer client -> cvpn-mitm -> cvpn-server: session $k"
		else
			not_ok "cut labpeer client -> cvpn-mitm -> cvpn-server: session $k (exit $rc)"
			sed 's/^/#   /' "$TMP/m$k.out" "$TMP/mitm.log" | tail -n 12
		fi
	done
else
	not_ok "cvpn-mitm starts"
fi
stop_server

# --- labpeer server, cutting, against cvpn-client -----------------------------------------

k=0
for spec in $SPECS; do
	for nl in "" --newline; do
		k=$((k + 1))
		$PEER server --once --port 0 --ciphers "$spec" $nl --cut-pauses 0.2:2 --seed $((SEED + 100 + k)) \
			--skip-residue-check >"$TMP/p$k.log" 2>&1 &
		eval "P${k}_PID=\$!"; PIDS="$PIDS $!"
	done
done
k=0
for spec in $SPECS; do
	for nl in "" --newline; do
		k=$((k + 1))
		if ! wait_for "$TMP/p$k.log" "^Listening on" 10; then
			not_ok "labpeer server $k starts"; continue
		fi
		pport=$(sed -n 's/^Listening on .*:\([0-9]*\)$/\1/p' "$TMP/p$k.log")
		timeout 120 "$CLIENT" -H 127.0.0.1 -p "$pport" -c "$spec" $nl -q <"$TMP/in" \
			>"$TMP/v$k.out" 2>"$TMP/v$k.err" &
		eval "V${k}_PID=\$!"; PIDS="$PIDS $!"
		eval "V${k}_NAME=\"\$spec \${nl:-no-newline}\""
	done
done
k=0
while [ $k -lt "$n" ]; do
	k=$((k + 1))
	eval "pid=\$V${k}_PID; ppid=\$P${k}_PID; name=\$V${k}_NAME"
	wait "$pid"; rc=$?
	wait "$ppid"; prc=$?
	if [ $rc -eq 0 ] && [ $prc -eq 0 ] && cmp -s "$TMP/v$k.out" "$TMP/expected" && [ ! -s "$TMP/v$k.err" ]; then
		ok "cut labpeer server -> cvpn-client: $name"
	else
		not_ok "cut labpeer server -> cvpn-client: $name (client $rc, peer $prc)"
		sed 's/^/#   /' "$TMP/v$k.out" "$TMP/v$k.err" "$TMP/p$k.log" | head -n 12
	fi
done

# --- A DH value cut for longer than the partial timeout -----------------------------------

# cut_dh ROLE PORT: plays the peer of ROLE (client or server) on a raw socket: every handshake
# message whole, but its DHMKE in two halves 2 s apart (past the other side's 1 s
# --partial-timeout); then one message (client) or a read until the other side closes (server).
cut_dh() {
	$PY - "$1" "$2" <<'PYEOF'
import socket, sys, time
sys.path.insert(0, "tests/interop")
import labpeer as L

role, port = sys.argv[1], int(sys.argv[2])
def read_until(conn, end):
    return conn.receive(end)
if role == "client":
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
else:
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    sock, _ = listener.accept()
conn = L.Connection(sock, 30)
private = L.dh_private_key()
dhmke = L.format_dhmke(L.dh_public_key(private)).encode()
half = len(dhmke) // 2
# A value has 2466 digits or so, but one in ten has fewer: the other side must name this cut.
print(f"cut at {half - len('DHMKE:')} digits", flush=True)
if role == "client":
    conn.send(b"ProposedCiphers:AES:[256]")
    name, size = L.parse_choice(conn.receive(L.choice_end({"AES": (256,)})))
    conn.send(dhmke[:half]); time.sleep(2); conn.send(dhmke[half:])
    peer = L.parse_dhmke(conn.receive(L.dhmke_end), residue=False)
    channel = L.SecureChannel(name, size, L.shared_key_hex(peer, private), "cumulative")
    conn.send(channel.seal(b"hello"))
    print("reply:", conn.receive(L.reply_end(b"Server says: olleh")))
else:
    L.parse_proposal(conn.receive(L.proposal_end))
    conn.send(b"ChosenCipher:AES,256")
    conn.receive(L.dhmke_end)
    conn.send(dhmke[:half]); time.sleep(2); conn.send(dhmke[half:])
    conn.receive(L.data_message_end)
print("done", flush=True)
PYEOF
}

start_server cutdh -c 'AES:256' --partial-timeout 1 || { not_ok "server starts"; finish; }
cut_dh client "$PORT" >"$TMP/cutdh.client" 2>&1
cut=$(sed -n 's/^cut at \([0-9]*\) digits$/\1/p' "$TMP/cutdh.client")
check "DH value cut past --partial-timeout: cvpn-server says so when the session fails (${cut:-?} digits)" \
	wait_for "$SLOG" "Closing 127.0.0.1:[0-9]*: .*; the client.s Diffie-Hellman value stopped at ${cut:-?} digits and was taken as it was after 1000 ms: most likely cut short in transit" 10
stop_server

cut_dh server 0 >"$TMP/cutdh.server" 2>&1 &
PIDS="$PIDS $!"
wait_for "$TMP/cutdh.server" '^[0-9]' 10
timeout 60 "$CLIENT" -H 127.0.0.1 -p "$(head -n 1 "$TMP/cutdh.server")" -c AES:256 --partial-timeout 1 -m hello \
	>"$TMP/cutdh.out" 2>&1; rc=$?
cut=$(sed -n 's/^cut at \([0-9]*\) digits$/\1/p' "$TMP/cutdh.server")
check "DH value cut past --partial-timeout: cvpn-client exits 65 and says the value was cut at ${cut:-?} digits ($rc)" \
	sh -c "[ $rc -eq 65 ] && grep -q \"the server's Diffie-Hellman value stopped at ${cut:-?} digits and was taken as it was, so it was most likely cut short in transit\" '$TMP/cutdh.out'"
grep -q "stopped at ${cut:-?} " "$TMP/cutdh.out" || sed 's/^/#   /' "$TMP/cutdh.out"
finish
