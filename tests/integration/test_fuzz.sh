#!/bin/sh
# The libFuzzer targets (tests/fuzz/): each runs FUZZ_CHECK_SECONDS (20) from
# a copy of its committed corpus under ASan+UBSan with leak detection, as
# "make fuzz-check" does, two at a time (one per core). Any crash, leak,
# timeout or broken invariant fails, and names the input that caused it.
. tests/lib.sh

SECONDS_EACH=${FUZZ_CHECK_SECONDS:-20}
# Our own make, not the jobserver of a "make check" that may be running us.
MK="env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s"

if ! $MK -j2 fuzz-build >"$TMP/build.log" 2>&1; then
	not_ok "fuzz targets build (needs clang-14 and libclang-rt-14-dev)"
	tail -n 20 "$TMP/build.log" | sed 's/^/#   /'
	finish
fi
ok "fuzz targets build"

targets=$(ls tests/fuzz/fuzz_*.c | sed 's|^tests/fuzz/fuzz_\(.*\)\.c$|\1|')
checks=$(for t in $targets; do printf 'fuzz-check-%s ' "$t"; done)
# -k: every target runs even after one fails; each prints one line (fuzz.mk).
timeout 600 $MK -j2 -k FUZZ_CHECK_SECONDS="$SECONDS_EACH" $checks >"$TMP/check.log" 2>&1

for t in $targets; do
	line=$(grep "^fuzz $t: " "$TMP/check.log")
	case $line in
	*", no crash")
		runs=$(echo "$line" | sed 's/^fuzz [^:]*: \([0-9]*\) runs.*/\1/')
		ok "fuzz $t: $runs runs, no crash" ;;
	*"FAILED, input "*)
		input=$(echo "$line" | sed 's/^.*FAILED, input \([^ ]*\).*/\1/')
		not_ok "fuzz $t: crash, leak or timeout; input ${input:-?}"
		grep -A5 "^fuzz $t: FAILED" "$TMP/check.log" | tail -n +2 | grep '^  ' | sed 's/^/#/'
		echo "#   replay: build/fuzz/fuzz_$t ${input:-FILE}" ;;
	*)
		not_ok "fuzz $t: did not finish"
		grep -i "fuzz-check-$t\|error" "$TMP/check.log" | head -n 5 | sed 's/^/#   /' ;;
	esac
done
finish
