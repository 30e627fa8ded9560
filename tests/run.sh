#!/bin/sh
# Runs every test and prints one closing line "N passed, N failed, N skipped".
#   tests/run.sh [--unit-only] BUILD [SANITIZER_BUILD]
# Unit binaries print TAP through cmocka; shell tests print "ok"/"not ok" lines.
# A skip is an "ok" line whose description holds a "# SKIP" directive (any
# case, as TAP says): it is counted apart, never as a pass; a "not ok" line
# is a failure whatever its directive. The unit tests run are BUILD/tests/test_*
# (any executable), so tests/integration/test_run.sh points BUILD at a folder
# of fake tests to check this counting.
set -u
unit_only=0
[ "${1:-}" = "--unit-only" ] && { unit_only=1; shift; }
BUILD=${1:-build}
ASAN_BUILD=${2:-}
export BUILD
cd "$(dirname "$0")/.." || exit 2

pass=0
fail=0
skip=0
LOG=$(mktemp)
SKIP_RE='^ok .*#[[:space:]]*[Ss][Kk][Ii][Pp]'

# run_tap LABEL CMD...: runs CMD, counts its ok/not ok/skipped lines; a crash
# or a nonzero exit with no failing line counts as one failure.
run_tap() {
	label=$1; shift
	echo "== $label"
	started=$(date +%s)
	"$@" >"$LOG" 2>&1
	rc=$?
	s=$(grep -c "$SKIP_RE" "$LOG")
	p=$(($(grep -c '^ok ' "$LOG") - s))
	f=$(grep -c '^not ok ' "$LOG")
	grep -E "^(not ok|# )|$SKIP_RE" "$LOG" | sed 's/^/   /'
	[ "$f" -gt 0 ] && grep -B2 -A12 '^not ok' "$LOG" | grep -v '^ok ' | sed 's/^/   | /' | head -n 60
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "   $label exited with status $rc:"
		tail -n 20 "$LOG" | sed 's/^/   | /'
		f=1
	fi
	if [ "$p" -eq 0 ] && [ "$s" -eq 0 ] && [ "$f" -eq 0 ]; then
		echo "   $label ran no test"
		f=1
	fi
	echo "   $p passed, $f failed, $s skipped"
	# How long each took, so that whoever keeps make check under its time budget sees where it goes.
	echo "   in $(( $(date +%s) - started )) s"
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
}

export CMOCKA_MESSAGE_OUTPUT=TAP
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] && run_tap "unit $(basename "$t")" "$t"
done
if [ -n "$ASAN_BUILD" ]; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	for t in "$ASAN_BUILD"/tests/test_*; do
		[ -x "$t" ] && run_tap "asan+ubsan $(basename "$t")" "$t"
	done
fi
if [ $unit_only -eq 0 ]; then
	for t in tests/integration/test_*.sh tests/interop/test_*.sh; do
		[ -f "$t" ] && run_tap "$t" sh "$t"
	done
	# The binaries themselves under ASan+UBSan, against hostile input and the
	# limits: any sanitizer report makes the process exit non-zero, a leak at
	# exit included, and the tests check every exit status.
	if [ -n "$ASAN_BUILD" ]; then
		for t in tests/integration/test_negative.sh tests/integration/test_limits.sh tests/integration/test_ciphers.sh \
		    tests/integration/test_secure.sh tests/integration/test_mitm.sh tests/integration/test_faults.sh \
		    tests/integration/test_forward_server.sh tests/integration/test_forward.sh tests/integration/test_forward_idle.sh \
		    tests/integration/test_vpn.sh; do
			BUILD=$ASAN_BUILD run_tap "asan+ubsan $t" sh "$t"
		done
	fi
fi
rm -f "$LOG"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
