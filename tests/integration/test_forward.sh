#!/bin/sh
# Port forwarding, the client's side (docs/SECURE.md section 10): cvpn-client --forward and
# --socks against the real server, with curl and a real HTTP server (Python's http.server)
# on loopback. Files of random bytes from 1 byte to 256 MiB, compared by SHA-256; 50 transfers
# at once; a half-close answered after EOF; SOCKS5's replies for each refusal and for what it
# does not serve; destinations that refuse, reset or hang, with the request sent before the
# answer; 500 applications that reset around their channel's opening (a randomised pause); an
# application that closes mid-transfer and one that never reads; rekeys during a transfer; 1,000 channels at once; the
# message prompt beside the forwarding; the session killed mid-transfer, and --reconnect after
# the server restarts. After each case the client's descriptors are back where they were, and
# its exit status at the end is its leak check under ASan.
#
# Destinations are tests/integration/fwd_target.py's; the local applications fwd_app.py's.
# FWD_SEED=N repeats a run's random sizes (the seed is printed). Runtime: about 25 s on the
# 2-core machine, 15 s on the ASan+UBSan build (which skips the 256 MiB transfer).
. tests/lib.sh

APP=tests/integration/fwd_app.py
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
need_package curl "curl through the tunnels" || finish
# A sanitizer build is some ten times slower: the 256 MiB transfer is left to the plain build.
ASAN=0
grep -qa __asan_init "$CLIENT" && ASAN=1

umask 077
"$CLIENT" genkey >"$TMP/server.key"
SPUB=$("$CLIENT" pubkey <"$TMP/server.key")

# start_http ADDRESS: Python's http.server on ADDRESS and a free port, serving $TMP/www; sets
# HPORT. As "python3 -m http.server" runs it, but with a backlog for 50 connections at once
# (its 5 would drop connections that the server's 1 s --forward-timeout then refuses).
start_http() {
	$PY -u -c '
import functools, http.server, socket, sys
class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 1024
    address_family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
with Server((sys.argv[1], 0), handler) as server:
    print(f"Serving HTTP on port {server.server_address[1]}", flush=True)
    server.serve_forever()' "$1" "$TMP/www" >"$TMP/http.$1.log" 2>&1 &
	PIDS="$PIDS $!"
	HPORT=
	wait_for "$TMP/http.$1.log" "^Serving HTTP" 10 &&
		HPORT=$(sed -n 's/^Serving HTTP on port \([0-9]*\)$/\1/p' "$TMP/http.$1.log")
}

# start_client NAME LISTENERS ARGS...: cvpn-client -N toward the server; waits for LISTENERS
# listeners announced. Sets CPID, COUT (stdout), CERR (stderr) and BASE (its descriptors).
start_client() {
	COUT=$TMP/$1.client.out; CERR=$TMP/$1.client.err; n=$2; shift 2
	: >"$COUT" # before the client does: wait_count cannot count a file that is not there
	"$CLIENT" -H 127.0.0.1 -p "$PORT" --server-key "$SPUB" -N "$@" >"$COUT" 2>"$CERR" &
	CPID=$!
	PIDS="$PIDS $CPID"
	wait_count "$COUT" '^Forwarding\|"event":"listening"' "$n" 10 || { sed 's/^/#   /' "$CERR"; return 1; }
	BASE=$(fds)
}

# lport N: the local port of the client's Nth listener (as text or JSON).
lport() {
	sed -n -e 's/^Forwarding [^ ]*:\([0-9]*\) .*/\1/p' \
	    -e 's/^{"event":"listening","address":"[^"]*:\([0-9]*\)".*/\1/p' "$COUT" | sed -n "${1}p"
}

# fds: the client's open descriptors now.
fds() { ls "/proc/$CPID/fd" 2>/dev/null | wc -l; }

# fds_back NAME: waits (bounded) until the client holds the descriptors it held once listening.
fds_back() {
	i=0; limit=$(bound 10)
	while [ "$(fds)" -ne "$BASE" ] && [ $i -lt "$limit" ]; do sleep 0.05; i=$((i + 1)); done
	check "$1: the client's descriptors are back to $BASE ($(fds))" [ "$(fds)" -eq "$BASE" ]
}

# stop_client NAME: SIGTERM; the client ends the session with CLOSE and exits 0.
stop_client() {
	kill -TERM "$CPID" 2>/dev/null
	if ! wait_gone "$CPID" 20; then
		kill -KILL "$CPID" 2>/dev/null
		not_ok "$1: the client exits after SIGTERM"
		return
	fi
	wait "$CPID"; rc=$?
	check "$1: the client exits 0 after SIGTERM (no leak under ASan), rc $rc" [ $rc -eq 0 ]
}

# get URL OUT [CURL ARGS...]: fetches URL into OUT; curl's exit status.
get() { u=$1; o=$2; shift 2; curl -sS --max-time 120 "$@" -o "$o" "$u" 2>>"$TMP/curl.err"; }

# same FILE1 FILE2: the same SHA-256.
same() { [ "$(sha256sum <"$1")" = "$(sha256sum <"$2")" ]; }

mkdir -p "$TMP/www"
start_http 127.0.0.1 || { not_ok "HTTP server starts"; finish; }
HTTP=$HPORT
start_target answer answer || { not_ok "answer destination starts"; finish; }
ANSWER=$TPORT
start_target reset reset || { not_ok "reset destination starts"; finish; }
RESET=$TPORT
HANG=
start_target hang hang && HANG=$TPORT
# A port nothing listens on: bound, then closed.
CLOSED=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# ---- Command lines: refused before anything connects ----

"$CLIENT" --forward 8080 -N >/dev/null 2>"$TMP/err"; rc=$?
check "--forward with too few fields: exit 64, says the form" \
	sh -c "[ $rc -eq 64 ] && grep -q \"invalid --forward '8080': expected \\[BIND:\\]LPORT:HOST:PORT\" '$TMP/err'"
"$CLIENT" --socks '::1:1080' >/dev/null 2>"$TMP/err"; rc=$?
check "--socks with a bare IPv6 address: exit 64, says to use brackets" sh -c "[ $rc -eq 64 ] && grep -q 'brackets' '$TMP/err'"
"$CLIENT" -H 127.0.0.1 -p 1 --forward 0:h:1 >/dev/null 2>"$TMP/err"; rc=$?
check "the lab profile refuses forwarding: exit 64, one line naming the secure profile" \
	sh -c "[ $rc -eq 64 ] && [ \$(wc -l <'$TMP/err') -le 2 ] && grep -q 'port forwarding needs the secure profile' '$TMP/err'"
"$CLIENT" -H 127.0.0.1 -p 1 --server-key "$SPUB" -N >/dev/null 2>"$TMP/err"; rc=$?
check "--forward-only with nothing to forward: exit 64" [ $rc -eq 64 ]
"$CLIENT" -H 127.0.0.1 -p 1 --server-key "$SPUB" --socks 0 --reconnect >/dev/null 2>"$TMP/err"; rc=$?
check "--reconnect without --forward-only: exit 64" sh -c "[ $rc -eq 64 ] && grep -q 'needs --forward-only' '$TMP/err'"
"$CLIENT" -H 127.0.0.1 -p 1 --server-key "$SPUB" --forward "127.0.0.1:$HTTP:h:1" -N >/dev/null 2>"$TMP/err"; rc=$?
check "a local port in use: exit 69, says which and why" \
	sh -c "[ $rc -eq 69 ] && grep -q 'cannot listen on 127.0.0.1 port $HTTP: Address already in use' '$TMP/err'"

start_server fwd --key "$TMP/server.key" --allow-forward '127.0.0.1:*' --allow-forward '[::1]:*' \
	--forward-timeout 1 || { not_ok "server starts"; finish; }

# ---- --forward and --socks: every size arrives whole ----

start_client main 3 --forward "0:127.0.0.1:$HTTP" --socks 0 --forward "0:127.0.0.1:$ANSWER" || {
	not_ok "client listens"; finish; }
LP=$(lport 1); SP=$(lport 3); AP=$(lport 2)
check "the listeners are announced, on 127.0.0.1 by default" \
	sh -c "grep -q '^Forwarding 127.0.0.1:$LP to 127.0.0.1:$HTTP$' '$COUT' && grep -q '^Forwarding 127.0.0.1:$SP by SOCKS5$' '$COUT'"
SEED=${FWD_SEED:-$(date +%s)}
echo "# random sizes from seed $SEED (FWD_SEED=$SEED repeats them)"
SIZES="1 2 16383 16384 16385 65536 $(awk -v s="$SEED" 'BEGIN { srand(s); for (i = 0; i < 3; i++) printf "%d ", 1 + int(rand() * 3000000) }') 1048576"
for n in $SIZES; do
	head -c "$n" /dev/urandom >"$TMP/www/f$n"
	get "http://127.0.0.1:$LP/f$n" "$TMP/got"
	check "--forward: $n bytes arrive whole (SHA-256)" same "$TMP/www/f$n" "$TMP/got"
	rm -f "$TMP/got"
done
for n in 1 16385 1048576; do
	get "http://127.0.0.1:$HTTP/f$n" "$TMP/got" --socks5-hostname "127.0.0.1:$SP"
	check "--socks (a name's request): $n bytes arrive whole" same "$TMP/www/f$n" "$TMP/got"
	get "http://127.0.0.1:$HTTP/f$n" "$TMP/got" --socks5 "127.0.0.1:$SP"
	check "--socks (an IPv4 address's request): $n bytes arrive whole" same "$TMP/www/f$n" "$TMP/got"
	rm -f "$TMP/got"
done
if [ $ASAN -eq 1 ]; then
	ok "--forward: 256 MiB arrive whole # SKIP the sanitizer build is too slow for 256 MiB"
else
	head -c 268435456 /dev/urandom >"$TMP/www/big"
	want=$(sha256sum <"$TMP/www/big")
	got=$(curl -sS --max-time 300 "http://127.0.0.1:$LP/big" 2>>"$TMP/curl.err" | sha256sum)
	check "--forward: 256 MiB arrive whole" [ "$got" = "$want" ]
	rm -f "$TMP/www/big"
fi
fds_back "sizes"

# ---- 50 transfers at once ----

head -c 1048576 /dev/urandom >"$TMP/www/par"
pids=""
i=0
while [ $i -lt 50 ]; do
	if [ $((i % 2)) -eq 0 ]; then
		get "http://127.0.0.1:$LP/par" "$TMP/par$i" &
	else
		get "http://127.0.0.1:$HTTP/par" "$TMP/par$i" --socks5-hostname "127.0.0.1:$SP" &
	fi
	pids="$pids $!"
	i=$((i + 1))
done
for p in $pids; do wait "$p"; done
whole=0
i=0
while [ $i -lt 50 ]; do
	same "$TMP/www/par" "$TMP/par$i" 2>/dev/null && whole=$((whole + 1))
	rm -f "$TMP/par$i"
	i=$((i + 1))
done
check "50 transfers at once, half by SOCKS: all 50 whole ($whole)" [ $whole -eq 50 ]
fds_back "50 at once"

# ---- Half-close: the answer comes after the application's EOF ----

for n in 1 65536 1048576; do
	want="$n bytes, sha256 $(sha256sum <"$TMP/www/f$n" | cut -d' ' -f1)"
	got=$($PY $APP send "$AP" "$TMP/www/f$n" 2>&1)
	check "half-close: $n bytes, EOF, then the destination's answer" [ "$got" = "$want" ]
done
: >"$TMP/empty"
got=$($PY $APP send "$AP" "$TMP/empty" 2>&1)
check "half-close at once: 0 bytes, then the answer" [ "$got" = "0 bytes, sha256 $(sha256sum <"$TMP/empty" | cut -d' ' -f1)" ]
fds_back "half-close"

# ---- SOCKS5: its replies ----

# socks HEX...: the client's SOCKS listener's answer to these chunks, in hex.
socks() { $PY $APP socks "$SP" "$@" 2>/dev/null; }
port_hex() { printf '%04x' "$1"; }
got=$(socks 050102)
check "SOCKS: a greeting without 'no authentication' gets 05ff ($got)" [ "$got" = "05ff" ]
got=$(socks 050100 "050200017f000001$(port_hex "$HTTP")")
check "SOCKS: BIND gets 'command not supported' ($got)" [ "$got" = "050005070001000000000000" ]
got=$(socks 050100 "050300017f000001$(port_hex "$HTTP")")
check "SOCKS: UDP ASSOCIATE gets 'command not supported' ($got)" [ "$got" = "050005070001000000000000" ]
got=$(socks 050100 050100027f000001)
check "SOCKS: an unknown address type gets 'address type not supported' ($got)" [ "$got" = "050005080001000000000000" ]
got=$(socks 04010050 7f00000100)
check "SOCKS: a SOCKS4 client is closed without a reply ($got)" [ -z "$got" ]
got=$(socks 050100 "050100017f000001$(port_hex "$CLOSED")")
check "SOCKS: a refused destination gets 'connection refused' ($got)" [ "$got" = "050005050001000000000000" ]
got=$(socks 050100 "05010003096c6f63616c686f7374$(port_hex "$HTTP")")
check "SOCKS: a destination the server does not allow gets 'not allowed' ($got)" [ "$got" = "050005020001000000000000" ]
if [ -n "$HANG" ]; then
	got=$(socks 050100 "050100017f000001$(port_hex "$HANG")")
	check "SOCKS: a destination that never answers gets 'TTL expired' ($got)" [ "$got" = "050005060001000000000000" ]
else
	ok "SOCKS: a destination that never answers # SKIP the hanging destination could not fill its backlog"
fi
check "SOCKS: each refusal of a request is one line on stderr" \
	sh -c "[ \$(grep -c 'SOCKS client .* refused' '$CERR') -eq 5 ]"
check "SOCKS: each refused channel says why" sh -c "grep -q 'the server refused the channel: connection refused' '$CERR' &&
	grep -q 'localhost:$HTTP: the server refused the channel: not allowed' '$CERR'"
get "http://localhost:$HTTP/f1" "$TMP/got" --socks5-hostname "127.0.0.1:$SP"; rc=$?
check "SOCKS: curl hears the refusal (exit 97), and the client lives on" sh -c "[ $rc -eq 97 ] && kill -0 $CPID"
if grep -q '00000000000000000000000000000001 01' /proc/net/if_inet6 2>/dev/null && start_http ::1; then
	head -c 100000 /dev/urandom >"$TMP/www/v6"
	get "http://[::1]:$HPORT/v6" "$TMP/got" --socks5 "127.0.0.1:$SP"
	check "--socks (an IPv6 address's request): the bytes arrive whole" same "$TMP/www/v6" "$TMP/got"
else
	ok "--socks to an IPv6 destination # SKIP no IPv6 loopback here"
fi
fds_back "SOCKS"

# ---- Destinations that refuse, reset or hang ----

stop_client main
start_client bad 4 --json --forward "0:127.0.0.1:$CLOSED" --forward "0:127.0.0.1:$RESET" \
	--forward "0:127.0.0.1:${HANG:-$CLOSED}" --forward "0:127.0.0.1:$ANSWER" || { not_ok "client listens"; finish; }
get "http://127.0.0.1:$(lport 1)/" "$TMP/got"; rc=$?
check "a refused destination: the local connection closes (curl $rc), the client says why" \
	sh -c "[ $rc -ne 0 ] && grep -q '127.0.0.1:$CLOSED: the server refused the channel: connection refused' '$CERR'"
get "http://127.0.0.1:$(lport 2)/" "$TMP/got"; rc=$?
check "a destination that resets: the local connection ends too (curl $rc)" [ $rc -ne 0 ]
if [ -n "$HANG" ]; then
	get "http://127.0.0.1:$(lport 3)/" "$TMP/got"; rc=$?
	check "a destination that hangs: refused once the server's time runs out (curl $rc)" \
		sh -c "[ $rc -ne 0 ] && grep -q 'the server refused the channel: timed out' '$CERR'"
	# The request went right after the OPEN, without waiting for the answer (docs/SECURE.md, section 10).
	check "a destination that hangs: curl's request went before the answer, and the server dropped it" \
		grep -q "^Refusing channel [0-9]* to 127.0.0.1:$HANG for .*; the [0-9]* bytes sent before the answer are dropped" "$SLOG"
fi
check "the client lives on after every refusal" alive "$CPID"
# Applications that reset at once, while the server still resolves, connects or answers: the
# client's CLOSE crosses the server's ACCEPT, REFUSE or CLOSE, and neither end breaks the session.
$PY $APP burst "$(lport 1)" "$(lport 2)" "$(lport 4)" --n 500 --seed "$SEED" >"$TMP/burst" 2>&1
check "500 connections reset around their opening: all made (seed $SEED)" grep -q '^reset 500 ' "$TMP/burst"
sed "s/^/#   /" "$TMP/burst"
got=$($PY $APP send "$(lport 4)" "$TMP/www/f65536" 2>&1)
check "... and the session lives: the next connection is carried" \
	[ "$got" = "65536 bytes, sha256 $(sha256sum <"$TMP/www/f65536" | cut -d' ' -f1)" ]
check "... and neither end broke it" sh -c "kill -0 $CPID && ! grep -q 'broken' '$CERR' '$SLOG'"
check "--json: a refused channel is a channel_refused event with its reason" $PY -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
r = [e for e in ev if e["event"] == "channel_refused"]
assert r and r[0]["reason"] == 2 and r[0]["text"] == "connection refused", r
assert r[0]["to"] == "127.0.0.1:" + sys.argv[2], r' "$COUT" "$CLOSED"
fds_back "refusals"
stop_client bad

# ---- The caps: channels, and what the server may make the client hold ----

# stalls N PORT: N readers that never read, through PORT; their PIDs in STALLS.
stalls() {
	STALLS=""
	k=0
	while [ $k -lt "$1" ]; do
		$PY $APP stall "$2" /f1048576 >"$TMP/cap$k.out" 2>&1 &
		STALLS="$STALLS $!"
		PIDS="$PIDS $!"
		wait_for "$TMP/cap$k.out" "^stalled" 10 || not_ok "stall $k through port $2"
		k=$((k + 1))
	done
}
unstall() { for p in $STALLS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
start_client caps 1 --forward "0:127.0.0.1:$HTTP" --max-channels 2 || { not_ok "client listens"; finish; }
stalls 2 "$(lport 1)"
get "http://127.0.0.1:$(lport 1)/f1" "$TMP/got"; rc=$?
check "--max-channels 2: a third connection is closed (curl $rc), said once" \
	sh -c "[ $rc -ne 0 ] && [ \$(grep -c -- '--max-channels reached: 2 connections' '$CERR') -eq 1 ]"
unstall
get "http://127.0.0.1:$(lport 1)/f1" "$TMP/got"
check "--max-channels 2: once one ends, a new one goes through" same "$TMP/www/f1" "$TMP/got"
fds_back "--max-channels"
stop_client caps
start_client buffer 1 --forward "0:127.0.0.1:$HTTP" --max-buffer 1 || { not_ok "client listens"; finish; }
stalls 4 "$(lport 1)"
get "http://127.0.0.1:$(lport 1)/f1" "$TMP/got"; rc=$?
check "--max-buffer 1: four full 256 KiB windows fill it, a fifth connection is closed (curl $rc), said once" \
	sh -c "[ $rc -ne 0 ] && [ \$(grep -c -- '--max-buffer reached' '$CERR') -eq 1 ]"
unstall
fds_back "--max-buffer"
stop_client buffer

# ---- The message prompt beside the forwarding ----

mkfifo "$TMP/in"
"$CLIENT" -H 127.0.0.1 -p "$PORT" --server-key "$SPUB" --forward "0:127.0.0.1:$HTTP" <"$TMP/in" \
	>"$TMP/prompt.out" 2>"$TMP/prompt.err" &
CPID=$!
PIDS="$PIDS $CPID"
exec 3>"$TMP/in"
echo hello >&3
if wait_for "$TMP/prompt.out" "^Server says: olleh" 10; then
	LP=$(sed -n 's/^Forwarding [^ ]*:\([0-9]*\) .*/\1/p' "$TMP/prompt.out")
	get "http://127.0.0.1:$LP/f1048576" "$TMP/got"
	check "prompt and forwarding together: a transfer between two messages" same "$TMP/www/f1048576" "$TMP/got"
	echo bye >&3
	check "prompt and forwarding together: the next message's reply" wait_for "$TMP/prompt.out" "^Server says: eyb" 10
else
	not_ok "prompt and forwarding together: the first reply"
fi
exec 3>&-
wait_gone "$CPID" 20; wait "$CPID"; rc=$?
check "prompt and forwarding together: the end of input ends the client (exit 0)" [ $rc -eq 0 ]
client --server-key "$SPUB" --forward "0:127.0.0.1:$HTTP" -m hi >"$TMP/out" 2>&1; rc=$?
check "-m with --forward: the listener is announced and the reply printed" \
	sh -c "[ $rc -eq 0 ] && grep -q '^Forwarding 127.0.0.1:' '$TMP/out' && grep -qx 'Server says: ih' '$TMP/out'"

# ---- Applications that stop: closing mid-transfer, never reading ----

start_client slow 2 --forward "0:127.0.0.1:$HTTP" --forward "0:127.0.0.1:$ANSWER" || { not_ok "client listens"; finish; }
LP=$(lport 1); AP=$(lport 2)
head -c 16777216 /dev/urandom >"$TMP/www/f16m"
i=0
while [ $i -lt 10 ]; do
	curl -sS --max-time 60 "http://127.0.0.1:$LP/f16m" 2>/dev/null | head -c 1000 >/dev/null
	i=$((i + 1))
done
check "applications that close mid-transfer: the client lives on" alive "$CPID"
fds_back "closed mid-transfer"
$PY $APP stall "$LP" /f16m >"$TMP/stall.out" 2>&1 &
STALL=$!
PIDS="$PIDS $STALL"
if wait_for "$TMP/stall.out" "^stalled" 10; then
	rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$CPID/status")
	get "http://127.0.0.1:$LP/f1048576" "$TMP/got"
	check "a reader that never reads holds up only its own channel" same "$TMP/www/f1048576" "$TMP/got"
	got=$($PY $APP send "$AP" "$TMP/www/f65536" 2>&1)
	check "... and a half-closed one beside it still answers" \
		[ "$got" = "65536 bytes, sha256 $(sha256sum <"$TMP/www/f65536" | cut -d' ' -f1)" ]
	rss1=$(awk '/^VmRSS/ { print $2 }' "/proc/$CPID/status")
	check "... and the client buffers a window for it, not the file (RSS $rss0 -> $rss1 KiB)" \
		[ $((rss1 - rss0)) -lt 8192 ]
else
	not_ok "a reader that never reads: it stalls"
fi
kill "$STALL" 2>/dev/null; wait "$STALL" 2>/dev/null
fds_back "a reader that never reads"

# ---- 1,000 channels at once ----

if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt 2200 ]; then
	ok "1,000 channels at once # SKIP the descriptor limit ($(ulimit -Hn)) is too low"
else
	$PY $APP many "$AP" 1000 --events "$TMP/answer.events" >"$TMP/many.out" 2>&1; rc=$?
	check "1,000 channels at once: all open at the destination together, every answer right" \
		sh -c "[ $rc -eq 0 ] && grep -q '^holding 1000' '$TMP/many.out' && grep -q '^answers: 1000 right' '$TMP/many.out'"
	fds_back "1,000 channels"
fi
stop_client slow
check "server exits 0" stop_server

# ---- Rekeys during a transfer ----

start_server rekey --key "$TMP/server.key" --allow-forward '127.0.0.1:*' --rekey-records 16 ||
	{ not_ok "server starts"; finish; }
start_client rekey 1 --forward "0:127.0.0.1:$HTTP" --rekey-records 16 || { not_ok "client listens"; finish; }
get "http://127.0.0.1:$(lport 1)/f16m" "$TMP/got"
check "rekeys every 16 records both ways during 16 MiB: the bytes arrive whole" same "$TMP/www/f16m" "$TMP/got"
stop_client rekey

# ---- The session dies mid-transfer; --reconnect ----

start_client dies 1 --forward "0:127.0.0.1:$HTTP" || { not_ok "client listens"; finish; }
$PY $APP stall "$(lport 1)" /f16m >"$TMP/stall2.out" 2>&1 &
STALL=$!
PIDS="$PIDS $STALL"
wait_for "$TMP/stall2.out" "^stalled" 10
kill -KILL "$SPID"; wait "$SPID" 2>/dev/null
check "the session killed mid-transfer: the local connection is reset" wait_for "$TMP/stall2.out" "^reset" 10
wait_gone "$CPID" 10; wait "$CPID"; rc=$?
check "... and the client exits 76, saying the session was truncated and what it closed" \
	sh -c "[ $rc -eq 76 ] && grep -q 'the session was truncated' '$CERR' && grep -q 'closed 1 forwarded connection' '$CERR'"
wait "$STALL" 2>/dev/null

start_server again --key "$TMP/server.key" --allow-forward '127.0.0.1:*' || { not_ok "server starts"; finish; }
start_client reconnect 1 --forward "0:127.0.0.1:$HTTP" --reconnect --json || { not_ok "client listens"; finish; }
LP=$(lport 1)
kill -KILL "$SPID"; wait "$SPID" 2>/dev/null
check "--reconnect: the lost session is said, and a new one tried" wait_for "$CERR" "reconnecting in" 10
check "--reconnect: the listener stays up meanwhile" alive "$CPID"
start_server again2 --key "$TMP/server.key" --allow-forward '127.0.0.1:*' -p "$PORT" || { not_ok "server restarts"; finish; }
check "--reconnect: connected again once the server is back" wait_count "$COUT" '"event":"connected"' 2 30
get "http://127.0.0.1:$LP/f1048576" "$TMP/got"
check "--reconnect: new connections go through the new session" same "$TMP/www/f1048576" "$TMP/got"
check "--reconnect: its JSON events" $PY -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
names = [e["event"] for e in ev]
assert names.count("listening") == 1 and names.count("connected") == 2, names
assert "reconnecting" in names and "error" in names, names
r = next(e for e in ev if e["event"] == "reconnecting")
assert r["attempt"] == 1 and r["delay_ms"] > 0, r' "$COUT"
fds_back "--reconnect"
stop_client reconnect
check "server exits 0" stop_server
finish
