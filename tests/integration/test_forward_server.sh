#!/bin/sh
# Port forwarding, the server's side (docs/SECURE.md section 10), driven by the independent
# Python peer (tests/interop/securepeer.py forward) against destinations on loopback
# (fwd_target.py): the policy and every refusal it gives (--allow-forward, permit= on a
# client's line, a name against an address, a psk client), each REFUSE reason loopback can
# provoke, half-closes, DATA and EOF before the answer (held, dropped with a refusal, more than
# 16384 bytes refused), a window overrun, a record for no channel, a destination that resets
# or never reads, the session's buffer cap, a client that dies mid-transfer, rekeys during
# transfers, 1,000 channels at once; and after each case the server's descriptors are back
# where they were. The server's exit status at the end is its leak check under ASan.
. tests/lib.sh

PEER=tests/interop/securepeer.py
need_package python3-dissononce "the Python peer's Noise" || finish

umask 077
$PY $PEER genkey >"$TMP/server.key"
SPUB=$($PY $PEER pubkey <"$TMP/server.key")
$PY $PEER genkey >"$TMP/alice.key"
ALICE=$($PY $PEER pubkey <"$TMP/alice.key")
$PY $PEER genkey >"$TMP/bob.key"
BOB=$($PY $PEER pubkey <"$TMP/bob.key")
$PY $PEER genkey >"$TMP/psk"

# forward KEYFILE ARGS...: the peer's forward sub-command against the server, in key mode.
forward() {
	k=$1; shift
	timeout 300 $PY $PEER forward --port "$PORT" --server-key "$SPUB" --key "$k" --deadline 240 "$@"
}

# fds: the server's open descriptors now.
fds() { ls "/proc/$SPID/fd" 2>/dev/null | wc -l; }

# fds_back NAME: waits (bounded) until the server holds the descriptors it held at its start.
fds_back() {
	i=0; limit=$(bound 10)
	while [ "$(fds)" -ne "$BASE_FDS" ] && [ $i -lt "$limit" ]; do sleep 0.05; i=$((i + 1)); done
	check "$1: the server's descriptors are back to $BASE_FDS ($(fds))" [ "$(fds)" -eq "$BASE_FDS" ]
}

# has OUT N TEXT: channel N's line of a forward run's output holds TEXT.
has() { grep "^channel $2 " "$1" | grep -q -- "$3"; }

start_target echo echo || { not_ok "echo destination starts"; finish; }
ECHO=$TPORT
start_target answer answer || { not_ok "answer destination starts"; finish; }
ANSWER=$TPORT
start_target sink sink || { not_ok "sink destination starts"; finish; }
SINK=$TPORT
start_target reset reset || { not_ok "reset destination starts"; finish; }
RESET=$TPORT
HANG=
start_target hang hang && HANG=$TPORT
# A port nobody listens on: bound and closed again (the kernel does not hand it out again at once).
CLOSED=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

printf '# forwarding tests\n%s alice permit=127.0.0.1:%s laptop\n%s bob\n' "$ALICE" "$ANSWER" "$BOB" >"$TMP/authorized"

start_server fwd -c 'AES:256' --key "$TMP/server.key" --authorized-clients "$TMP/authorized" \
	--allow-forward "127.0.0.1:$ECHO" --allow-forward "Localhost:$ANSWER" --allow-forward "127.0.0.1:$CLOSED" \
	--allow-forward "127.0.0.1:$RESET" --allow-forward "127.0.0.1:$SINK" \
	--allow-forward "cvpn-no-such-host.invalid:80" || { not_ok "server starts"; finish; }
BASE_FDS=$(fds)

# ---- Policy: deny by default, by the text of the host ----
forward "$TMP/bob.key" --to "127.0.0.1:$ECHO" --to "127.0.0.1:$ANSWER" --to "127.0.0.2:$ECHO" \
	--to "localhost:$ECHO" --to "[::1]:$ECHO" --to "LOCALHOST:$ANSWER" --to "127.0.0.1:$((ECHO + 1))" \
	>"$TMP/policy" 2>&1; rc=$?
check "policy: the session ends cleanly (exit $rc)" grep -q '^session: closed cleanly' "$TMP/policy"
check "--allow-forward 127.0.0.1:PORT: accepted, echoed after a half-close" has "$TMP/policy" 1 'echo=yes, end=eof+close'
check "bob has no permit= for the answer port: refused 1 (not allowed)" has "$TMP/policy" 2 'refused 1 '
check "another address, same port: refused 1" has "$TMP/policy" 3 'refused 1 '
check "a name that resolves to the permitted address (localhost): refused 1, never resolved" \
	has "$TMP/policy" 4 'refused 1 '
check "an IPv6 address where IPv4 is permitted: refused 1" has "$TMP/policy" 5 'refused 1 '
check "a permitted name in other case (LOCALHOST for Localhost): accepted, resolved by the server" \
	has "$TMP/policy" 6 'end=eof+close'
check "the next port: refused 1" has "$TMP/policy" 7 'refused 1 '
check "a refusal is logged with the client's key and the destination" \
	grep -q "^Refusing channel 4 to localhost:$ECHO for $BOB: not allowed" "$SLOG"
check "an accepted channel's end is logged: key, destination, bytes each way, duration, why" \
	grep -q "^Channel 1 to 127.0.0.1:$ECHO for $BOB ended after [0-9]*\.[0-9] s: 64 bytes to it, 64 bytes from it; both sides closed" "$SLOG"
fds_back "policy"

# The host a client asks for is its own text: a refusal logs it escaped, never as a line of its own.
forward "$TMP/bob.key" --to "$(printf 'evil\nChannel 9 to x:1 for y ended\033[2J'):1" >"$TMP/inject" 2>&1
check "a host with control characters: refused, escaped in the log" \
	grep -qF 'Refusing channel 1 to [evil\x0aChannel 9 to x:1 for y ended\x1b[2J]:1' "$SLOG"
check "a host with control characters: no forged log line" sh -c "! grep -q '^Channel 9 to x' '$SLOG'"

# alice's permit= reaches the answer port by its address (which bob's session could not),
# and a reply that comes after the client's EOF arrives whole.
forward "$TMP/alice.key" --to "127.0.0.1:$ANSWER" --bytes 100000 --to "127.0.0.1:$ECHO" >"$TMP/alice" 2>&1
want=$($PY -c 'import hashlib, struct; print(hashlib.sha256(hashlib.shake_256(struct.pack(">I", 1)).digest(100000)).hexdigest())')
check "permit= on alice's line: accepted; the answer after EOF arrives" \
	has "$TMP/alice" 1 "reply=100000 bytes, sha256 $want"
check "alice may reach what --allow-forward names too" has "$TMP/alice" 2 'end=eof+close'
fds_back "permit="

# ---- Each refusal loopback can provoke ----
forward "$TMP/bob.key" --to "127.0.0.1:$CLOSED" --to "cvpn-no-such-host.invalid:80" >"$TMP/refusals" 2>&1
check "a closed port: refused 2 (connection refused)" has "$TMP/refusals" 1 'refused 2 '
check "a closed port: logged" grep -q "^Refusing channel 1 to 127.0.0.1:$CLOSED for $BOB: connection refused" "$SLOG"
if grep '^channel 2 ' "$TMP/refusals" | grep -q 'refused 3 '; then
	ok "a name that does not resolve: refused 3 (unreachable)"
else
	grep '^channel 2 ' "$TMP/refusals" | grep -q 'refused 4 ' &&
		ok "# SKIP a name that does not resolve: the resolver did not answer in time here (refused 4)" ||
		not_ok "a name that does not resolve: refused 3 ($(grep '^channel 2 ' "$TMP/refusals"))"
fi
fds_back "refusals"

# A destination that resets: the channel ends with CLOSE (no EOF), logged.
forward "$TMP/bob.key" --to "127.0.0.1:$RESET" --bytes 100000 >"$TMP/reset" 2>&1
check "a destination that resets: CLOSE without EOF, the session lives" sh -c \
	"grep '^channel 1 ' '$TMP/reset' | grep -q 'end=close without eof' && grep -q '^session: closed cleanly' '$TMP/reset'"
check "a destination that resets: logged" grep -q "^Channel 1 to 127.0.0.1:$RESET for $BOB ended .*failed" "$SLOG"
fds_back "reset"

# ---- Windows ----
# A destination that never reads holds one channel; the others go on, and the stuck one
# stops at what its window and the kernel's buffers hold.
forward "$TMP/bob.key" --to "127.0.0.1:$ECHO" --count 4 --bytes 500000 --sink "127.0.0.1:$SINK" >"$TMP/slow" 2>&1
check "a destination that never reads stalls only its own channel" sh -c \
	"[ \$(grep -c 'echo=yes, end=eof+close' '$TMP/slow') -eq 4 ] && grep -q '^session: closed cleanly' '$TMP/slow'"
sent=$(sed -n 's/^channel 5 .*: sent \([0-9]*\),.*/\1/p' "$TMP/slow")
check "the stuck channel's sender stopped at its window ($sent of 16777216 bytes)" [ "${sent:-16777216}" -lt 16777216 ]
fds_back "slow destination"

# A client that stops reading while its destinations send: the server stops reading them
# once its output to the client holds 256 KiB, and goes on when the client reads again.
forward "$TMP/bob.key" --to "127.0.0.1:$ECHO" --count 32 --bytes 1000000 --pause 2 >"$TMP/pause" 2>&1
check "a client slower than its destinations: held back, not dropped; every byte arrives" sh -c \
	"[ \$(grep -c 'echo=yes, end=eof+close' '$TMP/pause') -eq 32 ] && grep -q '^session: closed cleanly' '$TMP/pause'"
fds_back "a slow client"

# Ignoring the window toward a destination that does not read: the session ends, logged.
forward "$TMP/bob.key" --to "127.0.0.1:$SINK" --blind --bytes 16000000 >"$TMP/blind" 2>&1; rc=$?
# The peer may still be writing when the server closes: it reads the ERROR record, or meets the close first.
check "DATA beyond the window: the server refuses it (ERROR) and closes (exit $rc)" sh -c \
	"[ $rc -eq 0 ] && grep -q '^session: \(refused by the server (ERROR)\|closed by the server\)' '$TMP/blind'"
check "DATA beyond the window: logged" \
	grep -q "^Closing 127.0.0.1:[0-9]*: channel protocol broken by the peer: DATA beyond the window on channel 1" "$SLOG"
forward "$TMP/bob.key" --to "127.0.0.1:$ECHO" --stray >"$TMP/stray" 2>&1; rc=$?
check "a record for a channel never opened: refused (ERROR), the session ends, logged (exit $rc)" sh -c "[ $rc -eq 0 ] &&
	grep -q '^session: refused by the server (ERROR)' '$TMP/stray' &&
	grep -q 'channel protocol broken by the peer: DATA for channel 4242, which is not open' '$SLOG'"
fds_back "broken sessions"

# DATA and EOF right after the OPEN, before the answer: held, then written first (a whole
# early window, and more than one, whose rest follows the ACCEPT).
for n in 1 16383 16384 16385 100000; do
	forward "$TMP/bob.key" --to "127.0.0.1:$ECHO" --early --count 3 --bytes $n >"$TMP/early" 2>&1
	check "DATA and EOF before the answer, $n bytes: every channel echoes whole" sh -c \
		"[ \$(grep -c 'echo=yes, end=eof+close' '$TMP/early') -eq 3 ] && grep -q '^session: closed cleanly' '$TMP/early'"
done
fds_back "early DATA"

# A CLOSE right after the OPEN, before the answer: the server stops and answers CLOSE alone.
forward "$TMP/bob.key" --cancel "127.0.0.1:$ECHO" --cancel "127.0.0.1:$ECHO" >"$TMP/cancel" 2>&1
check "CLOSE before the answer: answered CLOSE, the ids free" sh -c \
	"[ \$(grep -c 'cancelled, end=close' '$TMP/cancel') -eq 2 ] && grep -q '^session: closed cleanly' '$TMP/cancel'"
fds_back "CLOSE before the answer"

# ---- Many channels, a client that dies, rekeys ----
forward "$TMP/bob.key" --to "127.0.0.1:$ECHO" --count 1000 --bytes 100 >"$TMP/many" 2>&1
check "1,000 channels at once: every one echoed and closed" sh -c \
	"[ \$(grep -c 'echo=yes, end=eof+close' '$TMP/many') -eq 1000 ] && grep -q '^session: closed cleanly' '$TMP/many'"
fds_back "1,000 channels"

accepted=$(grep -c accepted "$TMP/echo.events")
forward "$TMP/bob.key" --to "127.0.0.1:$ECHO" --count 20 --bytes 4000000 --die >"$TMP/die" 2>&1
check "a client that dies mid-transfer: the server notices" \
	wait_for "$SLOG" "^Closing 127.0.0.1:[0-9]*: connection reset by peer" 10
check "a client that dies mid-transfer: every destination connection is closed" \
	wait_count "$TMP/echo.events" closed $((accepted + 20)) 10
check "a client that dies mid-transfer: each channel's end is logged" sh -c \
	"[ \$(grep -c 'the session ended (connection reset by peer)' '$SLOG') -eq 20 ]"
fds_back "a client that died"
check "server still running" alive "$SPID"
check "fwd server exits 0 (no leak under ASan)" stop_server

# Rekeys both ways during transfers: the server's direction every 64 records, ours every 50.
start_server rekey -c 'AES:256' --key "$TMP/server.key" --allow-forward "127.0.0.1:$ECHO" --rekey-records 64 -v ||
	{ not_ok "server starts"; finish; }
BASE_FDS=$(fds)
forward "$TMP/bob.key" --to "127.0.0.1:$ECHO" --count 4 --bytes 2000000 --rekey-after 50 >"$TMP/rekey" 2>&1
check "rekeying during transfers: every byte arrives" sh -c \
	"[ \$(grep -c 'echo=yes, end=eof+close' '$TMP/rekey') -eq 4 ] && grep -q '^session: closed cleanly' '$TMP/rekey'"
fds_back "rekeys"
check "rekey server exits 0" stop_server

# ---- Limits: --max-channels, --max-forward-buffer, --forward-timeout; a psk client ----
start_server limits -c 'AES:256' --key "$TMP/server.key" --psk "$TMP/psk" --max-channels 3 --forward-timeout 1 \
	--max-forward-buffer 262144 --allow-forward "127.0.0.1:$ECHO" --allow-forward "127.0.0.1:$SINK" \
	${HANG:+--allow-forward "127.0.0.1:$HANG"} || { not_ok "server starts"; finish; }
BASE_FDS=$(fds)
forward "$TMP/bob.key" --psk "$TMP/psk" --to "127.0.0.1:$ECHO" --count 5 >"$TMP/max" 2>&1
check "--max-channels 3: three accepted, two refused 5 (too many channels)" sh -c \
	"[ \$(grep -c 'end=eof+close' '$TMP/max') -eq 3 ] && [ \$(grep -c 'refused 5 ' '$TMP/max') -eq 2 ]"
check "--max-channels: logged" grep -q "^Refusing channel [0-9] to 127.0.0.1:$ECHO for $BOB: too many channels (--max-channels 3)" "$SLOG"
fds_back "--max-channels"

forward "$TMP/bob.key" --psk "$TMP/psk" --sink "127.0.0.1:$SINK" --sink "127.0.0.1:$SINK" --sink-bytes 8000000 >"$TMP/cap" 2>&1
check "--max-forward-buffer: one stuck channel is closed, the session lives" sh -c \
	"grep -q 'end=close without eof' '$TMP/cap' && grep -q '^session: closed cleanly' '$TMP/cap'"
check "--max-forward-buffer: logged" grep -q "^Channel [0-9]: the session holds [0-9]* bytes for destinations that do not read them (--max-forward-buffer 262144)" "$SLOG"
fds_back "--max-forward-buffer"

if [ -n "$HANG" ]; then
	forward "$TMP/bob.key" --psk "$TMP/psk" --to "127.0.0.1:$HANG" >"$TMP/hang" 2>&1
	check "a destination that does not answer: refused 4 (timed out) after --forward-timeout" \
		has "$TMP/hang" 1 'refused 4 (timed out: no answer within 1000 ms)'
	fds_back "timeout"
	# Bytes sent before the answer (docs/SECURE.md section 10) wait for it: a refusal drops
	# them, and the client's records that crossed the REFUSE are dropped too, the session lives.
	forward "$TMP/bob.key" --psk "$TMP/psk" --early --bytes 20000 --to "127.0.0.1:$HANG" \
		--to "127.0.0.1:$ANSWER" --to "127.0.0.1:$ECHO" >"$TMP/early-refused" 2>&1
	check "early DATA to a destination that does not answer: refused 4" has "$TMP/early-refused" 1 'refused 4 '
	check "early DATA to a destination not allowed: refused 1" has "$TMP/early-refused" 2 'refused 1 '
	check "... and the session lives: the third channel echoes" has "$TMP/early-refused" 3 'echo=yes, end=eof+close'
	check "... and the session closes cleanly" grep -q '^session: closed cleanly' "$TMP/early-refused"
	check "... logged with the early bytes dropped" grep -q \
		"^Refusing channel 1 to 127.0.0.1:$HANG for [^ ]*: no answer within 1000 ms; the 16384 bytes sent before the answer are dropped" "$SLOG"
	forward "$TMP/bob.key" --psk "$TMP/psk" --early --blind --bytes 40000 --to "127.0.0.1:$HANG" >"$TMP/early-blind" 2>&1
	check "more than 16384 bytes before the answer: refused (ERROR), logged" sh -c \
		"grep -q '^session: \(refused by the server (ERROR)\|closed by the server\)' '$TMP/early-blind' &&
		grep -q 'channel protocol broken by the peer: DATA beyond the window on channel 1 (16384 bytes, 0 granted before the answer)' '$SLOG'"
	# A CLOSE after early bytes, before the answer: the bytes never reached the target, and the log says 0.
	forward "$TMP/bob.key" --psk "$TMP/psk" --early --bytes 1000 --cancel "127.0.0.1:$HANG" >"$TMP/early-cancel" 2>&1
	check "early DATA, then CLOSE before the answer: answered CLOSE, the session closes cleanly" sh -c \
		"grep -q 'cancelled, end=close' '$TMP/early-cancel' && grep -q '^session: closed cleanly' '$TMP/early-cancel'"
	check "... and the log counts no byte to the target" grep -q \
		"^Channel 1 to 127.0.0.1:$HANG for [^ ]* ended after [0-9.]* s: 0 bytes to it, 0 bytes from it; closed by the client" "$SLOG"
	fds_back "early DATA refused"
else
	ok "# SKIP a destination that does not answer: no listener with a full backlog could be made here"
fi

timeout 300 $PY $PEER forward --port "$PORT" --psk "$TMP/psk" --to "127.0.0.1:$ECHO" --to "127.0.0.1:$ANSWER" \
	--deadline 240 >"$TMP/psk.out" 2>&1
check "a psk client: --allow-forward applies" has "$TMP/psk.out" 1 'end=eof+close'
check "a psk client: nothing else" has "$TMP/psk.out" 2 'refused 1 '
check "a psk client: logged as such" grep -q "^Refusing channel 2 to 127.0.0.1:$ANSWER for psk client: not allowed" "$SLOG"
fds_back "psk client"
check "limits server exits 0" stop_server

# Channels over the whole server stay within the descriptors the clients leave them.
printf '#!/bin/sh\nulimit -n 100 && exec "%s" "$@"\n' "$SERVER" >"$TMP/lowfd"
chmod 700 "$TMP/lowfd"
REAL_SERVER=$SERVER
SERVER=$TMP/lowfd
start_server lowfd -c 'AES:256' --key "$TMP/server.key" --allow-forward "127.0.0.1:$ECHO" || { not_ok "server starts"; finish; }
SERVER=$REAL_SERVER
BASE_FDS=$(fds)
forward "$TMP/bob.key" --to "127.0.0.1:$ECHO" --count 60 >"$TMP/lowfd.out" 2>&1
check "a low descriptor limit: channels past the room clients leave are refused 5, the rest served" sh -c \
	"[ \$(grep -c 'refused 5 ' '$TMP/lowfd.out') -ge 1 ] && [ \$(grep -c 'echo=yes' '$TMP/lowfd.out') -ge 1 ] &&
	[ \$(grep -c '^channel ' '$TMP/lowfd.out') -eq 60 ] && grep -q '^session: closed cleanly' '$TMP/lowfd.out'"
check "a low descriptor limit: logged" grep -q "^Refusing channel [0-9]* to 127.0.0.1:$ECHO for $BOB: the server's descriptors are taken" "$SLOG"
fds_back "a low descriptor limit"
check "lowfd server exits 0" stop_server

"$SERVER" -p 0 --allow-forward 'db' >/dev/null 2>"$TMP/err"; rc=$?
check "--allow-forward without a port: exit 64, says what it wants" sh -c "[ $rc -eq 64 ] && grep -q 'HOST:PORT' '$TMP/err'"
printf '%s permit=[::1]\n' "$ALICE" >"$TMP/bad-permit"
"$SERVER" -p 0 --key "$TMP/server.key" --authorized-clients "$TMP/bad-permit" >/dev/null 2>"$TMP/err"; rc=$?
check "a bad permit= on a client's line: exit 78 with file:line" sh -c "[ $rc -eq 78 ] && grep -q 'bad-permit:1: a permit=' '$TMP/err'"
finish
