# SPDX-License-Identifier: MIT
# What bench/run.sh and bench/forward.sh share, sourced by both from the
# top of the tree: the cores, a temporary folder and the processes started
# (stopped and removed at exit), the descriptor limit, the results file and
# the helpers that wait for ports, stop processes by PID and record rows.
# Expects PY and QUIET_WAIT; sets TMP, RESULTS, PIDS, FDLIMIT, SCPU and CCPU.

# The servers on one core, the clients on the other (taskset), when there are two.
NCPU=$(nproc)
if [ "$NCPU" -ge 2 ]; then
	SCPU=0 CCPU=1
else
	SCPU=0 CCPU=0
	[ -n "${BENCH_NESTED:-}" ] ||
		echo "bench: only one core: server and load generator share it (ratios still hold, rates do not)" >&2
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/cvpn-bench.XXXXXX")
RESULTS=$TMP/results.jsonl
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap "exit 130" INT TERM HUP

# 10,000 sessions need as many descriptors on each side; root may raise the hard limit too.
ulimit -Hn 65536 2>/dev/null
ulimit -n "$(ulimit -Hn)" 2>/dev/null
FDLIMIT=$(ulimit -n)

log() { printf '%s\n' "$*" >&2; }

# rotated R WORDS...: the words, starting with the R-th (1 for the first), then round again, so that
# in repetition R of a benchmark no system always goes first.
rotated() {
	r=$1
	shift
	n=$#
	i=0
	while [ $i -lt "$n" ]; do
		eval "printf ' %s' \"\${$(( (i + r - 1) % n + 1 ))}\""
		i=$((i + 1))
	done
}

# record NAME JSON [KEY=VALUE...]: appends one measurement, tagged with its name (and
# the KEYs: numbers as numbers, the rest as text), to the results (output that is not
# one JSON object is kept as an error row).
record() {
	$PY -c '
import json, sys
try:
    d = json.loads(sys.argv[2])
    assert isinstance(d, dict)
except (ValueError, AssertionError):
    d = {"error": "no usable output", "raw": sys.argv[2][-300:]}
d["name"] = sys.argv[1]
for kv in sys.argv[3:]:
    k, _, v = kv.partition("=")
    for kind in (int, float, str):
        try:
            d[k] = kind(v)
            break
        except ValueError:
            pass
print(json.dumps(d))' "$@" >>"$RESULTS"
}

# rate N SECONDS: a JSON object with a count, a duration and their quotient.
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "{\"count\":%d,\"seconds\":%.6f,\"per_s\":%.6f}", n, s, (s > 0 ? n / s : 0) }'; }

# elapsed T0 T1: seconds between two `date +%s.%N` stamps.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }

# cpu_busy: percent of all cores busy over one second (other sessions on a shared machine show here).
cpu_busy() {
	local a b
	a=$(awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat)
	sleep 1
	b=$(awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat)
	set -- $a $b
	[ $(($3 - $1)) -gt 0 ] && echo $((100 * (($3 - $1) - ($4 - $2)) / ($3 - $1))) || echo 0
}

# wait_quiet: waits (bounded) until the machine is nearly idle, so that others' work does not skew ours.
wait_quiet() {
	local i=0 busy
	busy=$(cpu_busy)
	while [ "$busy" -gt 10 ] && [ $i -lt $QUIET_WAIT ]; do
		busy=$(cpu_busy); i=$((i + 1))
	done
	echo "$busy"
}

# free_port: a port outside the ephemeral range that nothing uses now.
free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((61000 + RANDOM % 4000))
		ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null | grep -q . || { echo $p; return 0; }
	done
	return 1
}

# wait_listen PORT [NS]: waits up to 10 s for a listener on PORT (in network namespace NS).
wait_listen() {
	local i=0
	while [ $i -lt 200 ]; do
		${2:+ip netns exec "$2"} ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
		sleep 0.05; i=$((i + 1))
	done
	return 1
}

# wait_log FILE PATTERN SECONDS: waits (bounded) until FILE has a line matching PATTERN.
wait_log() {
	local i=0
	while [ $i -lt $(($3 * 20)) ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05; i=$((i + 1))
	done
	return 1
}

# stop PID: SIGTERM, a bounded wait, then SIGKILL.
stop() {
	local i=0
	kill -TERM "$1" 2>/dev/null
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}
