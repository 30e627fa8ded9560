#!/bin/sh
# The release binaries under valgrind memcheck (issue 5, part 2):
# cvpn-server and every cvpn-client run under
#   valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99
# through a representative subset of the integration flows: a lab session per
# cipher family, secure sessions in both modes and both suites (with rekeying),
# the server's refusals (bad proposal, bad DH value, bad HMAC, truncation,
# timeouts, wrong PSK, replayed and tampered records) and the client's failures
# (no server, no common cipher, rejected message, the server going away).
# Any valgrind error or definite leak fails: each process's exit status (99)
# and its valgrind log, which -q leaves empty unless something is wrong.
# The server exits on SIGTERM, so its leak check runs at a real exit.
# Runtime: about 90 s on the 2-core CI machine (valgrind makes each 8192-bit
# Diffie-Hellman take about 2-3 s a side, so the lab sessions run 3 at a time).
. tests/lib.sh

if ! command -v valgrind >/dev/null 2>&1; then
	not_ok "valgrind is installed (apt-get install valgrind)"
	finish
fi

VG_LOGS=$TMP/vg
mkdir -p "$VG_LOGS"
REAL_SERVER=$SERVER
REAL_CLIENT=$CLIENT
# One wrapper per binary, so that lib.sh's start_server and client run them under valgrind.
vg_wrapper() {
	printf '#!/bin/sh\nexec valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --log-file=%s/%s.%%p.log %s "$@"\n' \
		"$VG_LOGS" "$1" "$2" >"$TMP/vg-$1"
	chmod +x "$TMP/vg-$1"
}
vg_wrapper server "$REAL_SERVER"
vg_wrapper client "$REAL_CLIENT"
SERVER=$TMP/vg-server
CLIENT=$TMP/vg-client

umask 077
"$REAL_CLIENT" genkey >"$TMP/server.key"
SPUB=$("$REAL_CLIENT" pubkey <"$TMP/server.key")
"$REAL_CLIENT" genkey >"$TMP/client.key"
"$REAL_CLIENT" genkey >"$TMP/psk"
"$REAL_CLIENT" genkey >"$TMP/other.psk"

# vg_stop: SIGTERM, then waits (bounded: valgrind's leak check takes a few
# seconds) for the exit; ok when the status is 0, not 99 or a signal.
vg_stop() {
	kill -TERM "$SPID" 2>/dev/null
	i=0
	while alive "$SPID" && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	if alive "$SPID"; then kill -KILL "$SPID"; wait "$SPID" 2>/dev/null; return 1; fi
	wait "$SPID"
}
# vg_client NAME WANT ARGS...: runs cvpn-client (under valgrind) against PORT; ok when it exits WANT.
vg_client() {
	name=$1; want=$2; shift 2
	client "$@" >"$TMP/out" 2>&1; rc=$?
	if [ $rc -eq "$want" ]; then ok "$name (exit $rc)"; else not_ok "$name: exit $rc, want $want"; sed 's/^/#   /' "$TMP/out"; fi
}

start_server vg -c 'AES:128,256 Blowfish:448 DES3:192 DES:56 XOR:256 None:128' --allow-insecure \
	--key "$TMP/server.key" --rekey-records 2 --partial-timeout 1 || { not_ok "server starts"; finish; }

# Lab sessions, one per cipher family, three at a time (each 8192-bit DH takes ~3 s under valgrind,
# and valgrind runs one thread at a time: on a busy machine an answer can take well over the
# client's default 30 s, hence --timeout 120).
# lab_session CIPHER: in the background; its exit status goes to $TMP/lab.CIPHER.rc.
lab_session() {
	f=$TMP/lab.$(echo "$1" | tr ': ' '__')
	(timeout 150 "$CLIENT" -H 127.0.0.1 -p "$PORT" --profile lab --timeout 120 -c "$1" $2 -m hello -m "héllo ✓" \
		>"$f.out" 2>&1; echo $? >"$f.rc") &
	PIDS="$PIDS $!"
}
lab_wait() {
	for c in "$@"; do
		f=$TMP/lab.$(echo "$c" | tr ': ' '__')
		wait_for "$f.rc" '' 120
		if [ "$(cat "$f.rc" 2>/dev/null)" = 0 ] && grep -qx 'Server says: ✓ olléh' "$f.out"; then
			ok "lab session, $c"
		else
			not_ok "lab session, $c: exit $(cat "$f.rc" 2>/dev/null)"; sed 's/^/#   /' "$f.out"
		fi
	done
}
lab_session 'AES:256'
lab_session 'Blowfish:448'
lab_session 'DES3:192'
lab_wait 'AES:256' 'Blowfish:448' 'DES3:192'
lab_session 'DES:56'
lab_session 'XOR:256' --allow-insecure
lab_session 'None:128' --allow-insecure
lab_wait 'DES:56' 'XOR:256' 'None:128'

# Secure sessions: key mode (own key and anonymous), psk mode, both suites; the
# server rekeys after 2 records, the client after 1.
vg_client "secure key mode, ChaChaPoly, client key, rekeying" 0 --server-key "$SPUB" --key "$TMP/client.key" \
	--suites ChaChaPoly --rekey-records 1 -m one -m two -m three
vg_client "secure key mode, AESGCM, anonymous" 0 --server-key "$SPUB" --suites AESGCM -m one -m two
vg_client "secure, wrong server key (mac1 refused)" 76 --server-key "$("$REAL_CLIENT" pubkey <"$TMP/client.key")" -m x
vg_client "secure psk mode on a server without one" 78 --psk "$TMP/psk" -m x

# The server's refusals, from the raw hostile clients (Python, not under valgrind).
for c in proposal_garbage proposal_oversized dh_zero dh_p_minus_1 data_bad_tag data_truncated_stall; do
	check "refused: $c" timeout 30 $PY tests/integration/hostile.py "$PORT" "$c"
done
KEYED="--server-key $SPUB --key $TMP/client.key"
for c in replay_record tamper_record truncate downgrade_hello; do
	check "refused: secure $c" sh -c "timeout 30 $PY tests/interop/securepeer.py attack --port $PORT $KEYED $c >/dev/null 2>&1"
done

# Client failures.
vg_client "client: no common cipher" 78 --profile lab -c 'DES3:128' -m x
vg_client "client: message over the size limit refused at the command line" 64 --profile lab -m "$(head -c 5000 /dev/zero | tr '\0' x)"

# A client waiting at its input when the server shuts down (SIGTERM): the
# server frees a live session on its way out (a secure one after its CLOSE),
# and the client reports that the server ended it.
mkfifo "$TMP/live.in"
client --server-key "$SPUB" <"$TMP/live.in" >"$TMP/live.out" 2>&1 &
LIVE=$!; PIDS="$PIDS $LIVE"
exec 3>"$TMP/live.in"
echo "still here" >&3
check "live secure session" wait_for "$TMP/live.out" '^Server says: ereh llits$' 60
mkfifo "$TMP/lablive.in"
client --profile lab -c 'AES:256' <"$TMP/lablive.in" >"$TMP/lablive.out" 2>&1 &
LABLIVE=$!; PIDS="$PIDS $LABLIVE"
exec 4>"$TMP/lablive.in"
echo "here too" >&4
check "live lab session" wait_for "$TMP/lablive.out" '^Server says: oot ereh$' 60
check "server exits 0 under valgrind on SIGTERM, two sessions open" vg_stop
wait "$LIVE"; rc=$?
check "secure client told of the shutdown by the server's CLOSE (exit 69)" \
	sh -c "[ $rc -eq 69 ] && grep -q 'it ended the session with a CLOSE record' '$TMP/live.out'"
wait "$LABLIVE"; rc=$?
check "lab client told of the shutdown (exit 69)" [ $rc -eq 69 ]
exec 3>&- 4>&-

# psk mode, on a server with a PSK, and a handshake that times out.
start_server vgpsk -c 'AES:256' --psk "$TMP/psk" --handshake-timeout 2 || { not_ok "server starts"; finish; }
check "refused: silent (handshake timeout)" timeout 30 $PY tests/integration/hostile.py "$PORT" silent
vg_client "secure psk mode, ChaChaPoly" 0 --psk "$TMP/psk" --suites ChaChaPoly -m hello
vg_client "secure psk mode, AESGCM" 0 --psk "$TMP/psk" --suites AESGCM -m hello
vg_client "secure, wrong PSK" 76 --psk "$TMP/other.psk" -m x
check "psk server exits 0 under valgrind" vg_stop
vg_client "client: nothing listens on the port" 69 --psk "$TMP/psk" -m x

# Every valgrind log: -q leaves it empty unless there was an error or a definite leak.
n=$(ls "$VG_LOGS" | wc -l)
bad=0
for f in "$VG_LOGS"/*.log; do
	if [ -s "$f" ]; then
		bad=$((bad + 1))
		echo "# $(basename "$f"):"; head -n 40 "$f" | sed 's/^/#   /'
	fi
done
check "valgrind ran on $n processes" [ "$n" -ge 20 ]
check "valgrind: no error and no definite leak in any of them" [ $bad -eq 0 ]
finish
