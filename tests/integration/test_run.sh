#!/bin/sh
# tests/run.sh's counting, on fake tests: a BUILD folder whose tests/test_* print chosen TAP
# lines and exit with chosen statuses, run with --unit-only. Checks each test's
# "N passed, N failed, N skipped" line and the closing line: a "# SKIP" (any case) on an
# "ok" line is a skip, never a pass; a "not ok" line is a failure whatever its directive; a
# test that exits non-zero with no failing line, or prints nothing, is one failure; skips
# alone fail neither a test nor the run. Then .ci/run, with a stand-in make and apt-get
# first on PATH: it repeats the closing line last, and without one says "1 failed" and fails.
#   sh tests/integration/test_run.sh
. tests/lib.sh

# fake DIR NAME STATUS [LINE...]: DIR/tests/test_NAME prints each LINE, then exits STATUS.
fake() {
	mkdir -p "$1/tests" "$TMP/lines"
	out=$TMP/lines/$2; : >"$out"
	f=$1/tests/test_$2; st=$3; shift 3
	for line; do printf '%s\n' "$line" >>"$out"; done
	printf '#!/bin/sh\ncat "%s"\nexit %s\n' "$out" "$st" >"$f"
	chmod +x "$f"
}

# counts LOG NAME: the "N passed, N failed, N skipped" line of test_NAME in run.sh's LOG.
counts() {
	awk -v h="== unit test_$2" '$0 == h { on = 1; next } on && /^   [0-9]+ passed/ { sub(/^   /, ""); print; exit }' "$1"
}

# run LOG ARGS...: tests/run.sh ARGS into LOG; sets RC.
run() {
	log=$1; shift
	timeout 60 sh tests/run.sh "$@" >"$log" 2>&1; RC=$?
}

# show LOG: run.sh's output as comments, for a failed check.
show() { sed 's/^/#   /' "$1"; }

ALL=$TMP/all
fake "$ALL" a_mixed 1 'ok 1 - passes' 'ok 2 - passes too' 'not ok 3 - fails' \
	'ok 4 - waits # SKIP no frobnicator' 'ok 5 - waits # skip lower case' \
	'# a comment that says # SKIP is not a test line'
fake "$ALL" b_skips 0 'ok - # SKIP needs root' 'ok 2 - # Skip mixed case'
fake "$ALL" c_crash 3 'ok 1 - before the crash'
fake "$ALL" d_silent 0
fake "$ALL" e_not_ok_skip 1 'not ok 1 - a failure is not a skip # SKIP'
fake "$ALL" f_words 0 'ok 1 - skip in a name is no directive' 'ok 2 - nor is SKIP without a hash'

run "$TMP/all.log" --unit-only "$ALL"
failed=$FAILED
while read -r name want; do
	got=$(counts "$TMP/all.log" "$name")
	check "test_$name: $want${got:+ (got: $got)}" [ "$got" = "$want" ]
done <<'EOF'
a_mixed 2 passed, 1 failed, 2 skipped
b_skips 0 passed, 0 failed, 2 skipped
c_crash 1 passed, 1 failed, 0 skipped
d_silent 0 passed, 1 failed, 0 skipped
e_not_ok_skip 0 passed, 1 failed, 0 skipped
f_words 2 passed, 0 failed, 0 skipped
EOF
last=$(tail -n 1 "$TMP/all.log")
check "the closing line is the last: 5 passed, 4 failed, 4 skipped (got: $last)" \
	[ "$last" = "5 passed, 4 failed, 4 skipped" ]
check "with failures, run.sh exits non-zero (exit $RC)" [ "$RC" -ne 0 ]
check "a skip is shown with its reason" grep -qx '   ok 4 - waits # SKIP no frobnicator' "$TMP/all.log"
check "a test that exits non-zero with no failing line is named" \
	grep -q '^   unit test_c_crash exited with status 3:' "$TMP/all.log"
check "a test that prints nothing is named" grep -qx '   unit test_d_silent ran no test' "$TMP/all.log"
check "a skipped test is not one that ran no test" sh -c "! grep -q 'test_b_skips ran no test' '$TMP/all.log'"
[ "$FAILED" -eq "$failed" ] || show "$TMP/all.log"

# Passes and skips only: the run succeeds; with a sanitizer build too, both are counted.
OK=$TMP/ok
fake "$OK" b_skips 0 'ok - # SKIP needs root' 'ok 2 - # Skip mixed case'
fake "$OK" f_words 0 'ok 1 - skip in a name is no directive' 'ok 2 - nor is SKIP without a hash'
run "$TMP/ok.log" --unit-only "$OK"
last=$(tail -n 1 "$TMP/ok.log")
check "skips alone fail nothing: exit 0 (exit $RC), 2 passed, 0 failed, 2 skipped (got: $last)" \
	[ "$RC" -eq 0 -a "$last" = "2 passed, 0 failed, 2 skipped" ]
run "$TMP/asan.log" --unit-only "$OK" "$OK"
last=$(tail -n 1 "$TMP/asan.log")
check "BUILD and ASAN_BUILD: both counted, 4 passed, 0 failed, 4 skipped (got: $last)" \
	[ "$RC" -eq 0 -a "$last" = "4 passed, 0 failed, 4 skipped" ]
check "BUILD and ASAN_BUILD: the sanitizer build's tests are labelled" \
	grep -qx '== asan+ubsan test_b_skips' "$TMP/asan.log"

# .ci/run: make check is a stand-in that prints OUT and exits STATUS (apt-get does nothing).
mkdir -p "$TMP/bin"
printf '#!/bin/sh\nexit 0\n' >"$TMP/bin/apt-get"
printf '#!/bin/sh\n[ "$1" = check ] || exit 9\ncat "%s"\nexit "$(cat "%s")"\n' "$TMP/make.out" "$TMP/make.rc" \
	>"$TMP/bin/make"
chmod +x "$TMP/bin/apt-get" "$TMP/bin/make"
# ci STATUS LINE...: runs .ci/run against that make; sets CI_LAST (its last line) and CI_RC.
ci() {
	echo "$1" >"$TMP/make.rc"; shift
	printf '%s\n' "$@" >"$TMP/make.out"
	PATH=$TMP/bin:$PATH timeout 60 bash .ci/run >"$TMP/ci.log" 2>&1; CI_RC=$?
	CI_LAST=$(tail -n 1 "$TMP/ci.log")
}
ci 0 'make all unit' '== unit test_x' '   3 passed, 0 failed, 1 skipped' '3 passed, 0 failed, 1 skipped' \
	'make: Leaving directory'
check ".ci/run repeats the closing line last (got: $CI_LAST), exit 0 (exit $CI_RC)" \
	[ "$CI_LAST" = "3 passed, 0 failed, 1 skipped" -a "$CI_RC" -eq 0 ]
ci 2 '1 passed, 2 failed, 0 skipped' 'make: *** [Makefile] Error 1'
check ".ci/run repeats a failing closing line (got: $CI_LAST), make's exit 2 (exit $CI_RC)" \
	[ "$CI_LAST" = "1 passed, 2 failed, 0 skipped" -a "$CI_RC" -eq 2 ]
ci 0 '3 passed, 0 failed' 'a line that ends 7 passed, 0 failed, 0 skipped'
check ".ci/run without a closing line: one failure (got: $CI_LAST), and fails (exit $CI_RC)" \
	[ "$CI_LAST" = "0 passed, 1 failed, 0 skipped" -a "$CI_RC" -ne 0 ]
finish
