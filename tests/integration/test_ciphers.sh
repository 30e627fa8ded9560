#!/bin/sh
# Every cipher and key size over 127.0.0.1 with the real binaries: the
# transcript on both sides, an empty message, non-ASCII text and multi-block
# messages (CBC chained, cumulative and per-message HMAC).
. tests/lib.sh

start_server ciphers --allow-insecure \
	-c 'AES:128,192,256 Blowfish:112,224,448 DES3:128,192 DES:56 XOR:128,256 None:128' || { not_ok "server starts"; finish; }

long="The quick brown fox jumps over the lazy dog 0123456789"
for spec in AES:128 AES:192 AES:256 Blowfish:112 Blowfish:224 Blowfish:448 DES3:128 DES3:192 DES:56 \
	XOR:128 XOR:256 None:128; do
	name=${spec%%:*}; bits=${spec#*:}
	for hmac in cumulative per-message; do
		out=$TMP/$name$bits-$hmac.out
		client --allow-insecure -c "$spec" --hmac $hmac -m hello -m "" -m "héllo wörld ✓" -m "$long" >"$out" 2>&1
		rc=$?
		expected="Connected to 127.0.0.1:$PORT
We are going to use $name$bits
Server says: olleh
Server says: 
Server says: ✓ dlröw olléh
Server says: $(printf '%s' "$long" | rev)"
		if [ $rc -eq 0 ] && [ "$(cat "$out")" = "$expected" ]; then
			ok "$name $bits $hmac: transcript"
		else
			not_ok "$name $bits $hmac: transcript (exit $rc)"; sed 's/^/#   /' "$out"
		fi
	done
done

# The server saw every message in clear after verifying it.
n=$(grep -c '^Received: héllo wörld ✓$' "$SLOG")
check "server log has every non-ASCII message" [ "$n" -eq 24 ]
check "server logs the cipher choice" grep -q '^We are going to use Blowfish448$' "$SLOG"
check "server logs the key step" grep -q '^The key has been established$' "$SLOG"
check "no session failed" sh -c "! grep -q '^Closing' '$SLOG'"
check "server exits 0 on SIGTERM" stop_server
finish
