#!/bin/sh
# Key logs: --keylog and $CVPN_KEYLOGFILE on both sides, mode 0600, a warning
# while on, one line per session whose key and IV are the ones -v shows.
. tests/lib.sh

SKEYS=$TMP/server.keys
CKEYS=$TMP/client.keys
start_server keylog -c 'AES:256 DES:56' --keylog "$SKEYS" || { not_ok "server starts"; finish; }
check "server warns that keys are logged" grep -q "warning: writing session keys to '$SKEYS'" "$SLOG"

CVPN_KEYLOGFILE=$CKEYS client -v -m hello >"$TMP/out" 2>"$TMP/err"
check "client warns that keys are logged" grep -q "warning: writing session keys to '$CKEYS'" "$TMP/err"
check "key log created with mode 0600" [ "$(stat -c %a "$CKEYS")" = 600 ]
check "server key log mode 0600" [ "$(stat -c %a "$SKEYS")" = 600 ]
line=$(grep '^CVPN_LAB ' "$CKEYS")
set -- $line
check "client line: 8 fields, AES 256, cumulative" [ "$#: $4 $5 $8" = "8: AES 256 cumulative" ]
key=$6; iv=$7
check "key in the log is the key -v shows" grep -q "key = \".*\" hex $key (32 bytes)" "$TMP/err"
check "IV in the log is the IV -v shows" grep -q "iv = \".*\" hex $iv (16 bytes)" "$TMP/err"
# Both sides name the same two endpoints and the same key.
check "server logged the same session" grep -q "^CVPN_LAB $2 [^ ]*:$PORT AES 256 $key $iv auto$" "$SKEYS"
check "client's endpoints are client then server" sh -c "echo '$3' | grep -q ':$PORT\$'"

client --keylog "$CKEYS" -c DES:56 -m x >/dev/null 2>&1
check "a second session appends a line" [ "$(grep -c '^CVPN_LAB ' "$CKEYS")" -eq 2 ]
check "DES key ends in the NUL byte" grep -q '^CVPN_LAB .* DES 56 [0-9a-f]\{14\}00 [0-9a-f]\{16\} cumulative$' "$CKEYS"

client --keylog /nonexistent/dir/keys -m x >/dev/null 2>"$TMP/err"; rc=$?
check "unwritable key log: exit 73 and why" sh -c "[ $rc -eq 73 ] && grep -q 'No such file or directory' '$TMP/err'"
client -m hello >/dev/null 2>"$TMP/err"
check "no key log, no warning" sh -c "! grep -q 'session keys' '$TMP/err'"
check "server exits 0 on SIGTERM" stop_server
finish
