# Shared helpers for the shell tests. Source it; each test prints TAP lines
# ("ok - name" / "not ok - name") that tests/run.sh counts.
# Every wait is bounded; only processes started here are stopped, by PID.

BUILD=${BUILD:-build}
SERVER=$BUILD/cvpn-server
CLIENT=$BUILD/cvpn-client
PY=/usr/bin/python3
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cvpn-test.XXXXXX")
PIDS=""
FAILED=0

cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap "exit 130" INT TERM HUP

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; FAILED=$((FAILED + 1)); }

# check NAME CMD...: ok if CMD succeeds.
check() {
	name=$1; shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# need_package PKG WHAT: true when the Debian package PKG is installed; else prints
# "not ok - WHAT (PKG is missing: tests/deps.sh installs it)" and is false. What
# tests/deps.sh lists, CI has: its absence is a failure, never a skip (a skip is
# for what no package gives: root, a kernel feature, a git checkout).
#   need_package iproute2 "the lossy link" || finish
need_package() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" && return 0
	not_ok "$2 ($1 is missing: tests/deps.sh installs it)"
	return 1
}

# bound SECONDS: how long a wait for an event may last, in steps of 50 ms.
# SECONDS is what the event takes on an idle machine. On a busy 2-core
# machine (a parallel build, the sanitizer runs, CI) it can take many times
# longer, and a bound is there only to keep a broken test from hanging, never
# to measure speed (make bench does that): so it is six times SECONDS, and at
# least 30 s. Waits poll for the event, so a generous bound costs nothing when
# all is well.
bound() {
	b=$(( $1 * 6 )); [ "$b" -lt 30 ] && b=30
	echo $(( b * 20 ))
}

# wait_for FILE PATTERN [SECONDS]: waits until grep finds PATTERN in FILE.
wait_for() {
	i=0; limit=$(bound "${3:-10}")
	while [ $i -lt $limit ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05; i=$((i + 1))
	done
	return 1
}

# wait_count FILE PATTERN N [SECONDS]: waits until PATTERN matches N lines of FILE.
wait_count() {
	i=0; limit=$(bound "${4:-10}")
	while [ $i -lt $limit ]; do
		[ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
		sleep 0.05; i=$((i + 1))
	done
	return 1
}

# start_server NAME [ARGS...]: starts cvpn-server on a free port; sets PORT and
# SLOG (its stdout+stderr), and remembers its PID as SPID.
start_server() {
	SLOG=$TMP/$1.server.log; shift
	rm -f "$SLOG" # a fresh log, so that an earlier server's port cannot be read
	# Tests fail many handshakes from 127.0.0.1 on purpose, and run many at once:
	# lift the per-source limits unless the test sets them itself (the last flag wins).
	"$SERVER" -p 0 --max-failures 1000000 --max-source-handshakes 1000000 "$@" >"$SLOG" 2>&1 &
	SPID=$!
	PIDS="$PIDS $SPID"
	if ! wait_for "$SLOG" "^Listening on" 10; then
		echo "# server did not start:"; sed 's/^/#   /' "$SLOG"; return 1
	fi
	PORT=$(sed -n 's/^Listening on .*:\([0-9]*\)$/\1/p' "$SLOG" | head -n 1)
}

# start_target NAME MODE: a port-forwarding destination (tests/integration/fwd_target.py
# MODE); sets TPORT. Its connection events ("accepted", "closed") go to $TMP/NAME.events.
start_target() {
	$PY tests/integration/fwd_target.py "$2" --log "$TMP/$1.events" >"$TMP/$1.target" 2>&1 &
	PIDS="$PIDS $!"
	TPORT=
	wait_for "$TMP/$1.target" "^Listening on" 10 && TPORT=$(sed -n 's/^Listening on //p' "$TMP/$1.target")
}

# alive PID: PID runs. `kill -0` is not enough: it also succeeds on a child
# that has exited and that the shell has not waited for yet (a zombie).
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# wait_gone PID [SECONDS]: waits (bounded) until PID has exited; false if it has not.
# Gone once seen gone: a second look could find the number taken by another process.
wait_gone() {
	i=0; limit=$(bound "${2:-5}")
	while [ $i -lt "$limit" ]; do
		alive "$1" || return 0
		sleep 0.05; i=$((i + 1))
	done
	return 1
}

# stop_server: SIGTERM, then waits (bounded) for a clean exit; returns its status.
stop_server() {
	kill -TERM "$SPID" 2>/dev/null
	if ! wait_gone "$SPID"; then
		echo "# the server did not exit after SIGTERM; killing it. Its threads, and the end of its log:"
		for t in /proc/"$SPID"/task/*; do
			echo "#   thread $(basename "$t"): $(cut -d' ' -f3 "$t/stat" 2>/dev/null) in $(cat "$t/wchan" 2>/dev/null)"
		done
		tail -n 5 "$SLOG" 2>/dev/null | sed 's/^/#   /'
		kill -KILL "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; return 1
	fi
	wait "$SPID"
}

# client ARGS...: runs cvpn-client against PORT with a time limit.
client() {
	timeout 60 "$CLIENT" -H 127.0.0.1 -p "$PORT" "$@"
}

finish() {
	exit "$FAILED"
}
