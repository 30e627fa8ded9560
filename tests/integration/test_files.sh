#!/bin/sh
# Key and trust files are checked alike (common/keys.c, keys_check_file): every file kind,
# for each program that reads it, in every bad mode. A secret (private key, PSK) may be read
# and written by its owner only; a trust file (authorized clients, known servers) may be read
# by anyone but written by its owner only; and the owner is the running user or root. Each
# refusal names the file, what is wrong, and the chmod or chown that mends it.
#   BUILD=build sh tests/integration/test_files.sh
. tests/lib.sh

umask 077
"$CLIENT" genkey >"$TMP/key"
"$CLIENT" genkey >"$TMP/psk"
SPUB=$("$CLIENT" pubkey <"$TMP/key")
"$CLIENT" pubkey <"$TMP/key" >"$TMP/authorized"

# server_refuses WHAT FLAG FILE MODE WANT: cvpn-server exits 78 saying WANT about FILE at MODE.
server_refuses() {
	cp "$3" "$TMP/f"; chmod "$4" "$TMP/f"
	set -- "$1" "$2" "$TMP/f" "$4" "$5"
	if [ "$2" = --authorized-clients ]; then
		timeout 20 "$SERVER" -p 0 --key "$TMP/key" "$2" "$3" >/dev/null 2>"$TMP/err"
	else
		timeout 20 "$SERVER" -p 0 "$2" "$3" >/dev/null 2>"$TMP/err"
	fi
	rc=$?
	check "cvpn-server $2 at $4: exit 78, '$5'" sh -c "[ $rc -eq 78 ] && grep -qF \"$1 '$3' $5\" '$TMP/err'"
}

# client_refuses WHAT FLAG FILE MODE WANT: cvpn-client exits 64 saying WANT about FILE at MODE.
client_refuses() {
	cp "$3" "$TMP/f"; chmod "$4" "$TMP/f"
	set -- "$1" "$2" "$TMP/f" "$4" "$5"
	if [ "$2" = --key ]; then
		timeout 20 "$CLIENT" -H 127.0.0.1 -p 9 --server-key "$SPUB" "$2" "$3" -m x >/dev/null 2>"$TMP/err"
	else
		timeout 20 "$CLIENT" -H 127.0.0.1 -p 9 "$2" "$3" -m x >/dev/null 2>"$TMP/err"
	fi
	rc=$?
	check "cvpn-client $2 at $4: exit 64, '$5'" sh -c "[ $rc -eq 64 ] && grep -qF \"$1 '$3' $5\" '$TMP/err'"
}

READABLE="is readable by group or others: chmod 600"
WRITABLE="is writable by group or others: chmod go-w"
for mode in 640 604; do
	server_refuses "key file" --key "$TMP/key" $mode "$READABLE"
	server_refuses "PSK file" --psk "$TMP/psk" $mode "$READABLE"
	client_refuses "key file" --key "$TMP/key" $mode "$READABLE"
	client_refuses "PSK file" --psk "$TMP/psk" $mode "$READABLE"
done
for mode in 620 602 660 666; do
	server_refuses "key file" --key "$TMP/key" $mode "$WRITABLE"
	server_refuses "PSK file" --psk "$TMP/psk" $mode "$WRITABLE"
	server_refuses "authorized-clients file" --authorized-clients "$TMP/authorized" $mode "$WRITABLE"
	client_refuses "key file" --key "$TMP/key" $mode "$WRITABLE"
	client_refuses "PSK file" --psk "$TMP/psk" $mode "$WRITABLE"
done

# Trust files may be read by anyone: they name public keys.
chmod 644 "$TMP/authorized"
if start_server files -c 'AES:256' --key "$TMP/key" --authorized-clients "$TMP/authorized"; then
	ok "authorized-clients file at 644: the server starts"
else
	not_ok "authorized-clients file at 644: the server starts"; finish
fi
printf '127.0.0.1:%s %s\n' "$PORT" "$SPUB" >"$TMP/known"
cp "$TMP/known" "$TMP/known.base"
for mode in 600 644; do
	chmod $mode "$TMP/known"
	client --known-servers "$TMP/known" --key "$TMP/key" -m trust >"$TMP/out" 2>&1
	check "known-servers file at $mode: used (secure profile)" grep -q 'secure profile' "$TMP/out"
done
stop_server
for mode in 620 602 666; do
	client_refuses "known-servers file" --known-servers "$TMP/known.base" $mode "$WRITABLE"
done

# Owned by another user: whoever owns a file can change it. Root can give a file away.
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	OWNER="belongs to another user, who could change it: chown root"
	for f in key psk authorized known.base; do
		cp "$TMP/$f" "$TMP/$f.other"; chown nobody "$TMP/$f.other"
	done
	chmod 600 "$TMP/key.other" "$TMP/psk.other"
	server_refuses_owned() {
		timeout 20 "$SERVER" -p 0 --key "$TMP/key" "$1" "$2" >/dev/null 2>"$TMP/err"; rc=$?
		check "cvpn-server $1 owned by nobody: exit 78, '$OWNER'" sh -c "[ $rc -eq 78 ] && grep -qF \"'$2' $OWNER\" '$TMP/err'"
	}
	timeout 20 "$SERVER" -p 0 --key "$TMP/key.other" >/dev/null 2>"$TMP/err"; rc=$?
	check "cvpn-server --key owned by nobody: exit 78, '$OWNER'" \
		sh -c "[ $rc -eq 78 ] && grep -qF \"key file '$TMP/key.other' $OWNER\" '$TMP/err'"
	server_refuses_owned --psk "$TMP/psk.other"
	server_refuses_owned --authorized-clients "$TMP/authorized.other"
	timeout 20 "$CLIENT" -H 127.0.0.1 -p 9 --known-servers "$TMP/known.base.other" -m x >/dev/null 2>"$TMP/err"; rc=$?
	check "cvpn-client --known-servers owned by nobody: exit 64, '$OWNER'" \
		sh -c "[ $rc -eq 64 ] && grep -qF \"known-servers file '$TMP/known.base.other' $OWNER\" '$TMP/err'"
	timeout 20 "$CLIENT" -H 127.0.0.1 -p 9 --psk "$TMP/psk.other" -m x >/dev/null 2>"$TMP/err"; rc=$?
	check "cvpn-client --psk owned by nobody: exit 64, '$OWNER'" \
		sh -c "[ $rc -eq 64 ] && grep -qF \"PSK file '$TMP/psk.other' $OWNER\" '$TMP/err'"
else
	echo "ok - # SKIP files owned by another user need root to make"
fi
finish
