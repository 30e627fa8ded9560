#!/bin/sh
# A clone of the repository alone builds, demos and tests itself:
#  - no file names the reference folder that sat beside the first checkouts, nor the
#    variable that pointed at it (what a test, a doc or a tool needs is in the repository);
#  - a copy of the repository in an empty folder, with nothing beside it, runs make demo
#    and make check (unit tests, both builds) the first time, on a machine whose
#    pkg-config knows no libuv, cmocka or readline until the deps step has "installed" them
#    (a stand-in pkg-config and deps step: this test cannot uninstall packages), and without
#    the deps step the build stops and names the missing package;
#  - the Python peers' self-checks read their vectors from the copy.
# The copy holds what git tracks and what it would track (git ls-files), uncommitted changes
# included, so that the test checks what is about to be committed: in a clean clone, as in
# CI, that is exactly the clone.
#   BUILD=build sh tests/integration/test_selfcontained.sh
. tests/lib.sh

# --- Nothing outside the repository -------------------------------------------------------

# The two names, built so that this file does not contain them itself.
up=..; shared=shared; var=CVPN_SHARE
names="$up/$shared|${var}D"
files=$(grep -rIlE --exclude-dir=.git --exclude-dir=build -e "$names" . 2>/dev/null | sort)
check "no file names the reference folder beside the checkout or its variable${files:+: }$(echo $files)" \
	[ -z "$files" ]
# The search itself must be able to fail.
printf 'see %s/docs\n' "$up/$shared" >"$TMP/probe"
check "the search finds such a name when one is there" grep -qE -e "$names" "$TMP/probe"

# --- A copy with nothing beside it ----------------------------------------------------------

need_package git "a copy of the checkout with nothing beside it" || finish
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	echo "ok - # SKIP not a git checkout: no clone to copy"
	finish
fi
mkdir -p "$TMP/empty/cvpn"
git ls-files -z --cached --others --exclude-standard |
	tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$TMP/empty/cvpn"
check "the copy has the sources, the vectors and the reference capture" \
	test -f "$TMP/empty/cvpn/Makefile" -a -f "$TMP/empty/cvpn/tests/vectors/lab-vectors.json" \
	-a -f "$TMP/empty/cvpn/captures/reference/capture.pcapng"
check "nothing but the copy in its folder" [ "$(ls -A "$TMP/empty")" = cvpn ]

# A pkg-config that knows no libuv, cmocka or readline until the stand-in deps step ran.
STATE=$TMP/state
mkdir -p "$STATE"
cat >"$TMP/pkg-config" <<EOF
#!/bin/sh
for a; do
	case \$a in libuv|cmocka|readline) [ -e "$STATE/installed" ] || exit 1 ;; esac
done
exec pkg-config "\$@"
EOF
cat >"$TMP/deps" <<EOF
#!/bin/sh
echo "stand-in deps: libuv1-dev libcmocka-dev libreadline-dev installed"
touch "$STATE/installed"
EOF
chmod +x "$TMP/pkg-config" "$TMP/deps"
FAKE="PKG_CONFIG=$TMP/pkg-config DEPS=$TMP/deps"

cd "$TMP/empty/cvpn" || { not_ok "enter the copy"; finish; }
# make is given no -j from the outer make: MAKEFLAGS would carry its jobserver here.
unset MAKEFLAGS MAKELEVEL MFLAGS

timeout 600 make -j2 $FAKE all >"$TMP/nodeps.log" 2>&1; rc=$?
check "without deps: the build stops and names the missing package" \
	sh -c "[ $rc -ne 0 ] && grep -q 'the build needs libuv, which pkg-config does not find' '$TMP/nodeps.log' && \
	       ! grep -q 'undefined reference' '$TMP/nodeps.log'"
rm -rf build

timeout 900 make $FAKE demo >"$TMP/demo.log" 2>&1; rc=$?
check "make demo works the first time (exit $rc)" sh -c "[ $rc -eq 0 ] && grep -q 'stand-in deps' '$TMP/demo.log'"
check "make demo: the client's transcript has both replies" \
	sh -c "grep -qx 'Server says: olleh' '$TMP/demo.log' && grep -qx 'Server says: eyb' '$TMP/demo.log'"
[ $rc -eq 0 ] || tail -n 20 "$TMP/demo.log" | sed 's/^/#   /'
# The benchmark is a tool beside the product: neither the programs nor the unit tests build it.
check "make demo built no benchmark tool" [ ! -e build/bench ]
check "make unit would build no benchmark tool" \
	sh -c "make -n $FAKE unit >'$TMP/unit.plan' 2>&1 && ! grep -q 'bench/' '$TMP/unit.plan'"
# The library is made afresh: an object left from a source since removed (a git pull) must not stay in it.
printf 'int cvpn_stale_symbol;\n' >"$TMP/stale.c"
cc -c -o "$TMP/stale.o" "$TMP/stale.c" && ar q build/libcvpn.a "$TMP/stale.o" && touch common/err.c &&
	timeout 600 make $FAKE all >"$TMP/remake.log" 2>&1
check "a rebuilt libcvpn.a keeps no object of a source that is gone" \
	sh -c "! ar t build/libcvpn.a | grep -q stale.o"

rm -rf build "$STATE/installed"
timeout 1200 make $FAKE RUN_TESTS="tests/run.sh --unit-only" check >"$TMP/check.log" 2>&1; rc=$?
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$TMP/check.log" | tail -n 1)
check "make check (unit tests, both builds) works the first time: $summary" \
	sh -c "[ $rc -eq 0 ] && grep -q 'stand-in deps' '$TMP/check.log' && \
	       grep -q '^== asan+ubsan test_capture' '$TMP/check.log' && echo '$summary' | grep -q ' 0 failed,'"
[ $rc -eq 0 ] || grep -B2 -A8 'not ok\|Error\|error:' "$TMP/check.log" | head -n 40 | sed 's/^/#   /'
check "make check built the benchmark tools for its smoke test" [ -x build/bench/loadgen ]

check "labpeer.py's self-check reads its vectors from the copy" \
	sh -c "timeout 300 $PY tests/interop/labpeer.py selftest >'$TMP/lab.self' 2>&1"
check "securepeer.py's self-check reads its vectors from the copy" \
	sh -c "timeout 300 $PY tests/interop/securepeer.py selftest >'$TMP/sec.self' 2>&1"
finish
