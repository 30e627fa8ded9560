#!/bin/sh
# Server limits and lifecycle: IPv6 and IPv4 on one socket, client ids in the
# log once several clients are connected, --max-clients, --max-handshakes,
# --idle-timeout, a clean SIGINT with clients still connected, and the
# per-source limits (--max-failures, --max-source-handshakes).
. tests/lib.sh

# hold_open: a raw connection that sends nothing, for occupying a slot.
hold_open() {
	$PY -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(float(sys.argv[2]))' "$PORT" "$1" &
	PIDS="$PIDS $!"
}

# served_from_other: a proposal from 127.0.0.2 is answered.
served_from_other() {
	timeout 20 $PY -c '
import socket, sys
s = socket.socket()
s.bind(("127.0.0.2", 0))
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"ProposedCiphers:AES:[256]\n")
s.settimeout(10)
assert s.recv(100).startswith(b"ChosenCipher:AES,256"), "no answer"' "$PORT"
}

start_server limits -c 'AES:256' --max-clients 3 --max-handshakes 1 || { not_ok "server starts"; finish; }

# The Diffie-Hellman workers run under SCHED_IDLE (policy 5), so that the
# loop thread takes the CPU back as soon as it wakes; the loop thread does not.
policies=$(sed 's/.*) //' /proc/"$SPID"/task/*/stat | awk '{ print $39 }' | sort | uniq -c | tr -s ' \n' ' ')
check "DH workers under SCHED_IDLE, the loop thread not ($policies)" \
	sh -c "[ \$(sed 's/.*) //' /proc/$SPID/task/$SPID/stat | awk '{ print \$39 }') -eq 0 ] &&
		[ \$(sed 's/.*) //' /proc/$SPID/task/*/stat | awk '\$39 == 5' | wc -l) -ge 1 ]"

# The workers unshare their descriptor table (so that the loop thread's stays
# private): no socket of the loop's is in a worker's table.
worker_sockets=0
for t in /proc/"$SPID"/task/*; do
	[ "${t##*/}" = "$SPID" ] && continue
	worker_sockets=$((worker_sockets + $(ls -l "$t"/fd | grep -c 'socket:')))
done
loop_sockets=$(ls -l /proc/"$SPID"/task/"$SPID"/fd | grep -c 'socket:')
check "DH workers hold no socket of the loop's ($worker_sockets), the loop thread its listener ($loop_sockets)" \
	sh -c "[ $worker_sockets -eq 0 ] && [ $loop_sockets -ge 1 ]"
# And they block SIGINT and SIGTERM (libuv's handler needs the loop's descriptors), so that a
# signal sent to the server always lands in the loop thread, which does not block them.
blocked=$($PY -c '
import glob, sys
pid = sys.argv[1]
def blk(t):
    for line in open(t + "/status"):
        if line.startswith("SigBlk:"):
            return int(line.split()[1], 16) & 0x4002 == 0x4002  # SIGTERM (15), SIGINT (2)
out = []
for t in sorted(glob.glob("/proc/%s/task/*" % pid)):
    out.append(("loop" if t.endswith("/" + pid) else "worker") + ":" + ("blocked" if blk(t) else "open"))
print(" ".join(out))' "$SPID")
check "the loop thread takes SIGINT and SIGTERM, every DH worker blocks them ($blocked)" \
	sh -c "echo '$blocked' | grep -q 'loop:open' && echo '$blocked' | grep -q 'worker:blocked' &&
		! echo '$blocked' | grep -q 'worker:open'"

client -m v4 >"$TMP/out" 2>&1
check "IPv4 client on the dual-stack socket" grep -q '^Server says: 4v$' "$TMP/out"
if timeout 60 "$CLIENT" -H ::1 -p "$PORT" -m v6 >"$TMP/out" 2>&1; then
	check "IPv6 client (::1)" grep -q '^Server says: 6v$' "$TMP/out"
	check "IPv6 peer logged in brackets" grep -q '^New client: \[::1\]:' "$SLOG"
else
	grep -q 'cannot connect' "$TMP/out" && ! ip -6 addr show lo 2>/dev/null | grep -q '::1' &&
		echo "# no IPv6 loopback on this machine" || not_ok "IPv6 client (::1)"
fi

# One silent connection takes the only handshake slot: the next is refused at once.
hold_open 3
wait_for "$SLOG" "New client" 5
sleep 0.3
client -m x >"$TMP/out" 2>&1; rc=$?
check "--max-handshakes: refused client is told at once (exit 78)" [ $rc -eq 78 ]
check "--max-handshakes: refusal logged" grep -q 'Refusing 127.0.0.1:[0-9]*: too many handshakes in progress' "$SLOG"
check "--max-handshakes: silent client dropped at the deadline or kept" alive "$SPID"

# Several clients at once: lines carry ids; --max-clients refuses the 4th.
sleep 3 # the silent connection leaves
keys=$(grep -c 'The key has been established' "$SLOG")
for i in 1 2 3; do
	mkfifo "$TMP/c$i.in"
	client <"$TMP/c$i.in" >"$TMP/c$i.out" 2>&1 &
	PIDS="$PIDS $!"
	eval "exec $((3 + i))>\"\$TMP/c$i.in\""
	wait_count "$SLOG" 'The key has been established' $((keys + i)) 10
done
echo one >&4; echo two >&5; echo three >&6
if wait_for "$TMP/c1.out" '^Server says: eno$' 10 && wait_for "$TMP/c2.out" '^Server says: owt$' 10 &&
	wait_for "$TMP/c3.out" '^Server says: eerht$' 10; then
	ok "three clients served at once"
else
	not_ok "three clients served at once"
fi
check "log lines carry the client id" grep -q '^\[[0-9]*\] Received: two$' "$SLOG"
client -m x >"$TMP/out" 2>&1; rc=$?
check "--max-clients: 4th client refused (exit 78)" [ $rc -eq 78 ]
check "--max-clients: refusal logged" grep -q 'Refusing 127.0.0.1:[0-9]*: too many clients' "$SLOG"

# SIGINT with three clients connected: clean exit, each client told at once.
kill -INT "$SPID"
wait_gone "$SPID"
wait "$SPID"; rc=$?
check "SIGINT: server exits 0" [ $rc -eq 0 ]
check "SIGINT: shutdown logged" grep -q '^Shutting down (SIGINT), closing 3 clients$' "$SLOG"
for i in 1 2 3; do
	check "SIGINT: client $i reports the closed connection at once" wait_for "$TMP/c$i.out" 'server closed the connection' 5
done
exec 4>&- 5>&- 6>&-

# Idle sessions: a client fed through a FIFO stays established; the server
# closes it after --idle-timeout and the client reports it (exit 69).
start_server idle -c 'AES:256' --idle-timeout 1 || { not_ok "server starts"; finish; }
mkfifo "$TMP/idle.in"
client <"$TMP/idle.in" >"$TMP/idle.out" 2>&1 &
IPID=$!; PIDS="$PIDS $IPID"
exec 3>"$TMP/idle.in"
echo hi >&3
check "idle client served" wait_for "$TMP/idle.out" '^Server says: ih$' 10
check "--idle-timeout closes the session" wait_for "$SLOG" 'Closing 127.0.0.1:[0-9]*: idle timeout' 5
wait "$IPID"; rc=$?
check "idle client exits 69 (connection lost)" [ $rc -eq 69 ]
exec 3>&-

check "idle server exits 0 on SIGTERM" stop_server

# Wire options, seen from a raw client: --reply, --newline, --max-message.
# raw CASE FILE: a good raw session; the choice, terminators and reply go to FILE.
raw() { timeout 30 $PY tests/integration/hostile.py "$PORT" "$1" >"$2" 2>&1; }
start_server mirror -c 'AES:256' || { not_ok "server starts"; finish; }
raw raw "$TMP/raw"
check "--newline mirror: no newline for a bare proposal" \
	grep -qx 'choice_newline: False' "$TMP/raw" && grep -qx 'dhmke_newline: False' "$TMP/raw"
raw raw_newline "$TMP/raw"
check "--newline mirror: newline after a line-terminated proposal" \
	sh -c "grep -qx 'choice_newline: True' '$TMP/raw' && grep -qx 'dhmke_newline: True' '$TMP/raw'"
check "--reply plain: no NULs" sh -c "grep -qx 'reply: Server says: olleh' '$TMP/raw' && grep -qx 'reply_nuls: 0' '$TMP/raw'"
stop_server
start_server padded -c 'AES:256' --reply padded --newline always || { not_ok "server starts"; finish; }
raw raw "$TMP/raw"
check "--reply padded: 11 NULs after 'Server says: olleh' (as the capture)" \
	sh -c "grep -qx 'reply: Server says: olleh' '$TMP/raw' && grep -qx 'reply_nuls: 11' '$TMP/raw'"
check "--newline always" sh -c "grep -qx 'choice_newline: True' '$TMP/raw' && grep -qx 'dhmke_newline: True' '$TMP/raw'"
client -m hello >"$TMP/out" 2>&1
check "--reply padded: cvpn-client drops the NULs" grep -qx 'Server says: olleh' "$TMP/out"
stop_server
start_server bare -c 'AES:256' --reply bare --newline never || { not_ok "server starts"; finish; }
raw raw_newline "$TMP/raw"
check "--reply bare" grep -qx 'reply: olleh' "$TMP/raw"
check "--newline never" sh -c "grep -qx 'choice_newline: False' '$TMP/raw' && grep -qx 'dhmke_newline: False' '$TMP/raw'"
client -m hello -m bye -m again >"$TMP/out" 2>"$TMP/err"; rc=$?
check "bare reply: shown, and the missing prefix said once, not as a wrong reply" \
	sh -c "[ $rc -eq 0 ] && [ \"\$(grep -v '^Connected to\|^We are going' '$TMP/out')\" = \"\$(printf 'olleh\neyb\nniaga')\" ] && \
	       [ \$(grep -c 'answered without the \"Server says: \" prefix' '$TMP/err') -eq 1 ] && \
	       ! grep -q 'not the reversed message' '$TMP/err'"
client --json -m hello -m bye >"$TMP/json" 2>/dev/null
check "bare reply in JSON: expected true for each, one warning event" \
	sh -c "[ \$(grep -c '\"event\":\"reply\".*\"expected\":true' '$TMP/json') -eq 2 ] && \
	       [ \$(grep -c '\"event\":\"warning\",\"code\":\"bare_reply\"' '$TMP/json') -eq 1 ]"
stop_server
start_server small -c 'AES:256' --max-message 1024 || { not_ok "server starts"; finish; }
long=$(head -c 2000 /dev/zero | tr '\0' 'x')
client -m short -m "$long" >"$TMP/out" 2>&1; rc=$?
check "--max-message: the client learns its message was refused (exit 65)" [ $rc -eq 65 ]
check "--max-message: logged" wait_for "$SLOG" 'Closing 127.0.0.1:[0-9]*: message over the size limit' 5
stop_server
# Per-source penalties: after 3 failed handshakes 127.0.0.1 is refused at
# once, while another source address (127.0.0.2) is still served.
start_server penalty -c 'AES:256' --max-failures 3 || { not_ok "server starts"; finish; }
for i in 1 2 3; do timeout 30 $PY tests/integration/hostile.py "$PORT" proposal_garbage >/dev/null 2>&1; done
check "penalty logged after 3 failures" wait_for "$SLOG" 'Penalty: 127.0.0.1 failed 3 handshakes' 5
client -m x >/dev/null 2>&1; rc=$?
check "the penalised address is refused (exit 78)" [ $rc -eq 78 ]
check "the refusal says why" wait_for "$SLOG" 'Refusing 127.0.0.1:[0-9]*: too many failed handshakes from 127.0.0.1' 5
check "another source address is still served" served_from_other
stop_server

# Per-source handshake slots (--max-source-handshakes 2). Established sessions
# hold none: three clients from 127.0.0.1 are served at once. Two silent
# connections from 127.0.0.1 take both of its slots: its next client is refused
# at once with a log line, while 127.0.0.2 is still served; once the silent
# ones have gone, 127.0.0.1 is served again.
start_server source -c 'AES:256' --max-source-handshakes 2 || { not_ok "server starts"; finish; }
for i in 1 2 3; do
	rm -f "$TMP/s$i.in"; mkfifo "$TMP/s$i.in"
	client <"$TMP/s$i.in" >"$TMP/s$i.out" 2>&1 &
	PIDS="$PIDS $!"
	eval "exec $((3 + i))>\"\$TMP/s$i.in\""
	wait_count "$SLOG" 'The key has been established' $i 10
done
check "--max-source-handshakes: established sessions hold no slot (3 sessions with 2 slots)" \
	wait_count "$SLOG" 'The key has been established' 3 10
exec 4>&- 5>&- 6>&-
hold_open 3
hold_open 3
wait_count "$SLOG" 'New client' 5 5
sleep 0.3
client -m x >"$TMP/out" 2>&1; rc=$?
check "--max-source-handshakes: a third handshake from the address is refused at once (exit 78)" [ $rc -eq 78 ]
check "--max-source-handshakes: refusal logged" \
	grep -q 'Refusing 127.0.0.1:[0-9]*: too many handshakes in progress from 127.0.0.1 (--max-source-handshakes)' "$SLOG"
check "--max-source-handshakes: another address is still served" served_from_other
sleep 3 # the silent connections leave
client -m again >"$TMP/out" 2>&1
check "--max-source-handshakes: the address is served again once its handshakes end" \
	grep -qx 'Server says: niaga' "$TMP/out"
stop_server

# Where SCHED_IDLE is refused, the DH workers fall back to nice 10 (the loop
# thread stays at 0) and the server still answers. A preloaded shim refuses
# pthread_setschedparam; ASan must be told that it is not first in line.
cat >"$TMP/refuse_sched.c" <<'EOF_C'
#include <errno.h>
#include <pthread.h>

int
pthread_setschedparam(pthread_t t, int policy, const struct sched_param *p)
{
	(void)t;
	(void)policy;
	(void)p;
	return EPERM;
}
EOF_C
if ${CC:-cc} -shared -fPIC -o "$TMP/refuse_sched.so" "$TMP/refuse_sched.c" 2>"$TMP/cc.err"; then
	export LD_PRELOAD="$TMP/refuse_sched.so" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	start_server nice -c 'AES:256' || not_ok "server starts with SCHED_IDLE refused"
	unset LD_PRELOAD
	# "nice/policy" of each thread: after "pid (comm) ", $17 is the nice value and $39 the policy.
	loop=$(sed 's/.*) //' /proc/"$SPID"/task/"$SPID"/stat | awk '{ print $17 "/" $39 }')
	threads=$(sed 's/.*) //' /proc/"$SPID"/task/*/stat | awk '{ print $17 "/" $39 }')
	workers=$(echo "$threads" | grep -cx '10/0')
	not_other=$(echo "$threads" | grep -vc '/0$')
	check "SCHED_IDLE refused: the loop thread at 0 ($loop), $workers DH worker(s) at nice 10, $not_other not SCHED_OTHER" \
		sh -c "[ '$loop' = 0/0 ] && [ $workers -ge 1 ] && [ $not_other -eq 0 ]"
	client -m nice >"$TMP/out" 2>&1
	check "SCHED_IDLE refused: the server still answers" grep -qx 'Server says: ecin' "$TMP/out"
	stop_server
else
	not_ok "the test's scheduler shim builds ($(head -n 1 "$TMP/cc.err"))"
fi
finish

