#!/bin/bash
# Self-check of the independent Python peer (labpeer.py): vectors, then labpeer server <-> labpeer
# client on 127.0.0.1 for every cipher/size, both HMAC modes, with and without --newline, plus
# negative cases. Every process is bounded by `timeout`; only PIDs started here are killed.
# Not part of make check (it tests the peer, not cvpn; ~5 min). Usage: tests/interop/selfcheck_labpeer.sh [--quick]   (--quick: AES256 + DES only)
set -u
here=$(cd "$(dirname "$0")" && pwd)
peer=("/usr/bin/python3" "$here/labpeer.py")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
LIMIT=90   # seconds, per process

note() { if [ "$1" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi; echo "$*"; }

# session LABEL WANT_SERVER_RC WANT_CLIENT_RC EXPECT_TEXT SERVER_ARGS... -- CLIENT_ARGS...
# Runs one `server --once` and one client; checks both exit codes and that the client's stdout
# contains EXPECT_TEXT (skipped if empty). Client stdin comes from $work/stdin if it exists.
session() {
    local label=$1 want_srv=$2 want_cli=$3 expect=$4
    shift 4
    local srv_args=() cli_args=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do srv_args+=("$1"); shift; done
    shift
    cli_args=("$@")
    local out="$work/srv.out" err="$work/srv.err"
    : >"$out"
    timeout "$LIMIT" "${peer[@]}" server --once --port 0 "${srv_args[@]}" >"$out" 2>"$err" &
    local spid=$! port="" i
    for i in $(seq 1 100); do
        port=$(sed -n 's/^Listening on .*:\([0-9]*\)$/\1/p' "$out")
        [ -n "$port" ] && break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
        note FAIL "$label: server did not start"; return
    fi
    local stdin=/dev/null
    [ -f "$work/stdin" ] && stdin="$work/stdin"
    timeout "$LIMIT" "${peer[@]}" client --port "$port" "${cli_args[@]}" \
        <"$stdin" >"$work/cli.out" 2>"$work/cli.err"
    local crc=$?
    wait "$spid"
    local src=$?
    if [ "$src" = "$want_srv" ] && [ "$crc" = "$want_cli" ] &&
        { [ -z "$expect" ] || grep -qF -- "$expect" "$work/cli.out"; }; then
        note ok "$label (server rc=$src, client rc=$crc)"
    else
        note FAIL "$label: server rc=$src (want $want_srv), client rc=$crc (want $want_cli)"
        sed 's/^/    server: /' "$out" "$err"
        sed 's/^/    client: /' "$work/cli.out" "$work/cli.err"
    fi
}

echo "== selftest"
if "${peer[@]}" selftest >"$work/selftest.out" 2>&1; then
    note ok "selftest ($(grep -c '^ok' "$work/selftest.out") checks)"
else
    note FAIL "selftest"; grep -v '^ok' "$work/selftest.out"
fi

suites="AES:128 AES:192 AES:256 Blowfish:112 Blowfish:224 Blowfish:448 DES3:128 DES3:192 DES:56
XOR:8 XOR:128 XOR:256 None:0 None:256"
[ "${1:-}" = --quick ] && suites="AES:256 DES:56"
msgs=(-m hello "héllo wörld ✓" "" "exactly16bytes!!" "a much longer message spanning several blocks")

echo "== matrix: cipher x size x hmac x newline"
for suite in $suites; do
    for mode in cumulative per-message; do
        for nl in "" --newline; do
            session "${suite/:/} $mode ${nl:-no-newline}" 0 0 "Server says: ✓ dlröw olléh" \
                --ciphers "$suite" --hmac "$mode" -- --ciphers "$suite" --hmac "$mode" $nl "${msgs[@]}"
        done
    done
done

echo "== negotiation and options"
session "default lists pick Blowfish448" 0 0 "We are going to use Blowfish448" -- -m hi
session "AES only server picks AES256" 0 0 "We are going to use AES256" --ciphers AES:128,256 -- -m hi
session "server --newline, auto vs cumulative" 0 0 "Server says: olleh" \
    --newline --hmac auto -- --hmac cumulative -m hello bye
session "auto vs per-message" 0 0 "Server says: eyb" --hmac auto -- --hmac per-message -m hello bye
session "bare reply" 0 0 "olleh" --reply bare -- --reply bare -m hello ""
session "fixed private keys" 0 0 "Server says: olleh" \
    --private-hex 595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f70 \
    -- --private-hex 0102030405060708090a0b0c0d0e0f1011121314 -m hello
printf 'hello\nhéllo wörld ✓\n\\quit\nnot sent\n' >"$work/stdin"
session "stdin lines, \\quit" 0 0 "Server says: ✓ dlröw olléh" --
rm -f "$work/stdin"

echo "== failures (both sides must report them)"
session "no common cipher" 1 1 "" --ciphers AES:128 -- --ciphers DES:56 -m hi
session "cumulative client vs per-message server, 2nd message" 1 1 "Server says: olleh" \
    --hmac per-message -- --hmac cumulative -m hello bye
session "per-message client vs cumulative server, 2nd message" 1 1 "Server says: olleh" \
    --hmac cumulative -- --hmac per-message -m hello bye
session "plain server vs bare client" 0 1 "" -- --reply bare -m hello

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
