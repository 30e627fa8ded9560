#!/bin/sh
# Hostile load and drift (issue 5, part 2):
#  - 2000 garbage and half-open connections from 50 source addresses
#    (127.0.1.1-50; Linux routes all of 127/8 to lo) in at most 30 s, while two
#    sentinel clients (lab and secure, from 127.0.0.1) exchange a message every
#    0.2 s: every reply arrives, in order, each round trip under 2 s; the server
#    stays up; the per-source penalty (--max-failures 5) engages for the
#    attacking addresses and never for the sentinels' address;
#  - a concentrated attack (64 connections at a time from 4 addresses, 32
#    handshake slots, no penalties): the per-source cap (--max-source-handshakes
#    4) keeps the attackers to 16 slots, so every new session from 127.0.0.1
#    during it is served;
#  - no drift: the server's descriptors return exactly, and its RSS to within
#    1 MiB, to their baseline after 10,000 aborted handshakes (partial
#    proposals and hellos, garbage, empty; closed or reset; 100 of them after
#    the server's Diffie-Hellman).
# Runtime: about 45 s on the 2-core CI machine.
. tests/lib.sh

LOAD="$PY tests/integration/abort_load.py"
RTT_LIMIT_MS=2000
RSS_SLACK_KB=1024
umask 077
"$CLIENT" genkey >"$TMP/psk"

fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# sentinel_start: a lab and a secure client on FIFOs (fds 3 and 4), from 127.0.0.1.
sentinel_start() {
	rm -f "$TMP/lab.in" "$TMP/sec.in"
	mkfifo "$TMP/lab.in" "$TMP/sec.in"
	client --profile lab <"$TMP/lab.in" >"$TMP/lab.out" 2>&1 &
	LAB_PID=$!; PIDS="$PIDS $LAB_PID"
	client --psk "$TMP/psk" <"$TMP/sec.in" >"$TMP/sec.out" 2>&1 &
	SEC_PID=$!; PIDS="$PIDS $SEC_PID"
	exec 3>"$TMP/lab.in" 4>"$TMP/sec.in"
	n=0; MAX_RTT=0; LATE=0
}
# ping: one message on each sentinel; RTT is the time until both replies are in.
ping() {
	n=$((n + 1))
	t0=$(now_ms)
	(echo "ping $n" >&3) 2>/dev/null
	(echo "ping $n" >&4) 2>/dev/null
	want="^Server says: $(printf 'ping %s' $n | rev)$"
	wait_for "$TMP/lab.out" "$want" 5 && wait_for "$TMP/sec.out" "$want" 5 || return 1
	rtt=$(($(now_ms) - t0))
	[ $rtt -gt $MAX_RTT ] && MAX_RTT=$rtt
	[ $rtt -gt $RTT_LIMIT_MS ] && LATE=$((LATE + 1))
	return 0
}
# in_order FILE N: FILE holds exactly the replies to "ping 1".."ping N", in order.
in_order() {
	grep '^Server says: ' "$1" | awk -v n="$2" '
	{ want = ""; s = "ping " NR; for (i = length(s); i > 0; i--) want = want substr(s, i, 1)
	  if ($0 != "Server says: " want) bad++ }
	END { exit !(NR == n && bad == 0) }'
}

# 1. Hostile load.
start_server hostile -c 'AES:256' --psk "$TMP/psk" --max-failures 5 --max-source-handshakes 4 --handshake-timeout 3 ||
	{ not_ok "server starts"; finish; }
sentinel_start
check "sentinels connected" ping
$LOAD hostile "$PORT" --sources 50 --count 2000 --seconds 30 --rate 100 --concurrency 200 --hold 4 \
	>"$TMP/load.out" 2>&1 &
LOAD_PID=$!; PIDS="$PIDS $LOAD_PID"
lost=0
fresh=0; fresh_ok=0
t_end=$(($(now_ms) + 40000))
while alive "$LOAD_PID" && [ "$(now_ms)" -lt $t_end ]; do
	ping || lost=$((lost + 1))
	# Now and then a new session from a clean address: reported, not gated
	# (only a global cap protects the handshake slots from a spread-out attack).
	if [ $((n % 10)) -eq 0 ]; then
		fresh=$((fresh + 1))
		client --psk "$TMP/psk" --timeout 5 -m fresh >"$TMP/fresh.out" 2>&1 && fresh_ok=$((fresh_ok + 1))
	fi
	sleep 0.2
done
wait "$LOAD_PID"; rc=$?
echo "# load: $(cat "$TMP/load.out")"
echo "# sentinels: $n round trips, slowest ${MAX_RTT} ms; new sessions during the load: $fresh_ok of $fresh served"
check "the load ran to its end: 2000 connections within 30 s" \
	sh -c "[ $rc -eq 0 ] && grep -q 'opened=2000 .*not_started=0' '$TMP/load.out'"
check "server up after the load" alive "$SPID"
check "sentinels: no round trip lost ($n sent)" [ $lost -eq 0 ]
check "sentinels: every round trip under $RTT_LIMIT_MS ms (slowest ${MAX_RTT} ms)" [ $LATE -eq 0 ]
check "lab sentinel: all $n replies, in order" in_order "$TMP/lab.out" $n
check "secure sentinel: all $n replies, in order" in_order "$TMP/sec.out" $n
penalised=$(grep -o 'Penalty: 127\.0\.1\.[0-9]* failed 5 handshakes' "$SLOG" | sort -u | wc -l)
check "per-source penalty engaged for $penalised of 50 attacking addresses" [ "$penalised" -ge 45 ]
refused=$(grep -c 'Refusing 127\.0\.1\.[0-9]*:[0-9]*: too many failed handshakes from 127\.0\.1\.' "$SLOG")
check "penalised addresses refused at once ($refused connections)" [ "$refused" -ge 100 ]
check "the sentinels' address was never penalised" sh -c "! grep -q 'Penalty: 127\\.0\\.0\\.1 ' '$SLOG'"
check "sentinels still up after the load" ping
client --psk "$TMP/psk" -m after >"$TMP/out" 2>&1
check "a new session after the load" grep -qx 'Server says: retfa' "$TMP/out"
exec 3>&- 4>&-
check "hostile-load server exits 0 on SIGTERM" stop_server

# 2. A concentrated attack: 64 connections at a time, silent, half-open or
# garbage, from 4 addresses, against 32 handshake slots, with no penalties
# (--max-failures lifted), so that only the per-source cap stands in the way:
# at most 4 handshakes each, so the attackers never hold more than 16 slots.
# Meanwhile 20 new sessions from 127.0.0.1, one after the other, lab and
# secure in turn: every one is served.
start_server concentrated -c 'AES:256' --psk "$TMP/psk" --max-handshakes 32 --max-source-handshakes 4 \
	--handshake-timeout 3 || { not_ok "server starts"; finish; }
$LOAD hostile "$PORT" --sources 4 --count 100000 --seconds 12 --rate 2000 --concurrency 64 --hold 4 \
	>"$TMP/conc.out" 2>&1 &
LOAD_PID=$!; PIDS="$PIDS $LOAD_PID"
sleep 2
served=0; tried=0
while [ $tried -lt 20 ] && alive "$LOAD_PID"; do
	tried=$((tried + 1))
	if [ $((tried % 2)) -eq 0 ]; then
		client --psk "$TMP/psk" --timeout 5 -m "fresh $tried" >"$TMP/out" 2>&1
	else
		client --profile lab --timeout 5 -m "fresh $tried" >"$TMP/out" 2>&1
	fi
	grep -qx "Server says: $(printf 'fresh %s' $tried | rev)" "$TMP/out" && served=$((served + 1))
done
wait "$LOAD_PID"
echo "# concentrated: $(cat "$TMP/conc.out")"
capped=$(grep -c 'Refusing 127\.0\.1\.[1-4]:[0-9]*: too many handshakes in progress from 127\.0\.1\.[1-4] ' "$SLOG")
echo "# concentrated: $served of $tried new sessions served during the attack; $capped attacking connections refused by the per-source cap"
check "concentrated: 20 new sessions tried while the attack ran" [ $tried -eq 20 ]
check "concentrated: every new session served ($served of $tried)" [ $served -eq $tried ]
check "concentrated: the per-source cap refused attacking connections ($capped)" [ "$capped" -ge 100 ]
check "concentrated: the global cap was never reached" sh -c "! grep -q 'too many handshakes in progress (--max-handshakes)' '$SLOG'"
check "concentrated: server up" alive "$SPID"
check "concentrated: server exits 0 on SIGTERM" stop_server

# 3. Drift: 10,000 aborted handshakes. Baseline after a warm-up of the same mix
# (allocator arenas, the thread pool and the per-source table reach their size).
start_server drift -c 'AES:256' --psk "$TMP/psk" || { not_ok "server starts"; finish; }
sentinel_start
check "drift: sentinels connected" ping
# settle: waits until the server's descriptors stop changing (at most 20 s).
settle() {
	i=0; last=-1
	while [ $i -lt 40 ]; do
		cur=$(fds "$SPID")
		[ "$cur" = "$last" ] && [ "$cur" -le "${1:-$cur}" ] && return 0
		last=$cur; sleep 0.5; i=$((i + 1))
	done
	return 1
}
# Descriptors have no allocator slack: their baseline is taken before the warm-up.
BASE_FDS=$(fds "$SPID")
timeout 60 $LOAD abort "$PORT" --count 2000 --deep 20 --psk "$TMP/psk" --rate 2000 >"$TMP/warm.out" 2>&1
settle "$BASE_FDS"
ping
check "drift: descriptors back to baseline after the warm-up ($BASE_FDS -> $(fds "$SPID"))" [ "$(fds "$SPID")" -eq "$BASE_FDS" ]
BASE_RSS=$(rss_kb "$SPID")
t0=$(now_ms)
timeout 90 $LOAD abort "$PORT" --count 10000 --deep 100 --psk "$TMP/psk" --rate 2000 --seconds 60 >"$TMP/abort.out" 2>&1
rc=$?
echo "# aborts: $(tail -n 1 "$TMP/abort.out") ($(($(now_ms) - t0)) ms)"
check "drift: 10,000 aborted handshakes ran, 100 of them after the server's DH" \
	sh -c "[ $rc -eq 0 ] && grep -q 'not_started=0 deep=100' '$TMP/abort.out'"
settle "$BASE_FDS"
check "drift: server up" alive "$SPID"
check "drift: sentinels still served" ping
FDS=$(fds "$SPID"); RSS=$(rss_kb "$SPID")
echo "# drift: descriptors $BASE_FDS -> $FDS, RSS $BASE_RSS -> $RSS KiB"
check "drift: descriptors back to baseline ($BASE_FDS -> $FDS)" [ "$FDS" -eq "$BASE_FDS" ]
check "drift: RSS within $RSS_SLACK_KB KiB of baseline ($BASE_RSS -> $RSS KiB)" [ "$RSS" -le $((BASE_RSS + RSS_SLACK_KB)) ]
# Every connection but the two sentinels has its end logged. A connection
# reset while it waited in the accept queue has no address to log as new: its
# end is logged as "Closing (gone)" alone.
new=$(grep -c 'New client' "$SLOG")
gone=$(grep -c 'Closing (gone): ' "$SLOG")
ends=$(grep -c '\(Closing [^ ]*: \|Client [^ ]* disconnected\)' "$SLOG")
check "drift: an end logged for every connection but the sentinels ($new new, $gone reset before accept, $ends ended)" \
	[ $((new + gone)) -eq $((ends + 2)) ]
exec 3>&- 4>&-
check "drift server exits 0 on SIGTERM" stop_server
finish
