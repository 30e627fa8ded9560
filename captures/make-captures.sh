#!/bin/sh
# make captures: records real cvpn sessions on a private loopback (a new
# network namespace: root, or an unprivileged user namespace) with dumpcap,
# each with the key log that decrypts it. See captures/README.md.
# The secure profile's static keys and PSK are made afresh in a temporary
# directory and deleted: only the key logs (transport keys) are kept.
#   captures/make-captures.sh [BUILD [OUT [mtu|secure]]]   mtu, secure: only those captures
set -eu
BUILD=${1:-build}
OUT=${2:-captures}
WHICH=${3:-all}
if [ "${CVPN_IN_NETNS:-}" != 1 ]; then
	if [ "$(id -u)" -eq 0 ]; then
		exec env CVPN_IN_NETNS=1 unshare -n "$0" "$@"
	else
		exec env CVPN_IN_NETNS=1 unshare -rn "$0" "$@"
	fi
fi
ip link set lo up
SERVER=$(realpath "$BUILD/cvpn-server")
CLIENT=$(realpath "$BUILD/cvpn-client")
TMP=$(mktemp -d)
# With set -e a failing kill (both already stopped) would end the trap early and exit 1.
trap 'kill $SPID $DPID 2>/dev/null || true; rm -rf "$TMP"' EXIT
SPID= DPID=
MSG2="Information Assurance and Security"

# record NAME SERVER_ARGS -- COMMANDS...: one capture with its key log.
start() {
	name=$1; shift
	rm -f "$OUT/$name.pcapng" "$OUT/$name.keys"
	dumpcap -q -i lo -f 'tcp port 4600' -w "$TMP/$name.pcapng" 2>"$TMP/dumpcap.log" &
	DPID=$!
	i=0; while ! grep -q "File:" "$TMP/dumpcap.log" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	"$SERVER" -q -l 127.0.0.1 --allow-insecure --keylog "${SERVER_KEYS:-$OUT/$name.keys}" \
		-c 'AES:128,192,256 Blowfish:112,224,448 DES3:128,192 DES:56 XOR:128,256 None:128' "$@" \
		>"$TMP/server.log" 2>&1 &
	SPID=$!
	sleep 0.3
}
stop() {
	sleep 0.3
	kill -TERM "$SPID"; wait "$SPID" || true
	sleep 0.3
	kill -TERM "$DPID"; wait "$DPID" || true
	cp "$TMP/$name.pcapng" "$OUT/$name.pcapng"
	chmod 0644 "$OUT/$name.pcapng" "$OUT/$name.keys"
	echo "  $OUT/$name.pcapng ($(grep -c '^CVPN_' "$OUT/$name.keys") session(s))"
}
session() {
	"$CLIENT" -q -H 127.0.0.1 --allow-insecure "$@" >>"$TMP/client.log" 2>&1
}

# wait_file FILE PATTERN: until PATTERN is in FILE (at most 10 s).
wait_file() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		[ $i -lt 200 ] || { echo "timed out waiting for '$2' in $1" >&2; return 1; }
		sleep 0.05; i=$((i + 1))
	done
}

# record_mtu NAME MTU ADDRESS: one session over ADDRESS (127.0.0.1 or ::1) as a link of MTU
# bytes segments it, so that every DHMKE value, the long message and its reply are cut.
record_mtu() {
	name=$1 mtu=$2 addr=$3
	ip link set lo mtu "$mtu" up
	# Loopback hands the stack's large segments (GSO) to dumpcap whole; one segment per
	# buffer makes the capture show what a link of this MTU carries.
	ip link set dev lo gso_max_segs 1 gso_max_size "$mtu"
	rm -f "$OUT/$name.pcapng" "$OUT/$name.keys"
	dumpcap -q -i lo -f 'tcp port 4600' -w "$TMP/$name.pcapng" 2>"$TMP/dumpcap.log" &
	DPID=$!
	wait_file "$TMP/dumpcap.log" "File:"
	"$SERVER" -l "$addr" --keylog "$OUT/$name.keys" >"$TMP/server.log" 2>&1 &
	SPID=$!
	wait_file "$TMP/server.log" "^Listening on"
	"$CLIENT" -q -H "$addr" -c AES:256 -m hello -m "$LONG" -m bye >>"$TMP/client.log" 2>&1
	kill -TERM "$SPID"; wait "$SPID" || true
	# dumpcap writes what it has read when stopped; give it the last packets first.
	sleep 0.3
	kill -TERM "$DPID"; wait "$DPID" || true
	cp "$TMP/$name.pcapng" "$OUT/$name.pcapng"
	chmod 0644 "$OUT/$name.pcapng" "$OUT/$name.keys"
	largest=$(tshark -r "$OUT/$name.pcapng" -T fields -e ip.len -e ipv6.plen 2>/dev/null |
		awk -F '\t' '{ n = $1 != "" ? $1 : $2 + 40; if (n > max) max = n } END { print max + 0 }')
	if [ "$largest" -gt "$mtu" ]; then
		echo "$OUT/$name.pcapng: a $largest-byte packet at MTU $mtu (offload not limited)" >&2
		return 1
	fi
	echo "  $OUT/$name.pcapng (largest IP packet $largest bytes, MTU $mtu)"
}

# The sessions on a loopback of the usual MTU (65536): one segment a message.
if [ "$WHICH" = all ]; then
for spec in AES:128 AES:192 AES:256 Blowfish:112 Blowfish:224 Blowfish:448 DES3:128 DES3:192 DES:56 \
	XOR:128 None:128; do
	name=$(echo "$spec" | tr 'A-Z:' 'a-z-')
	start "$name"
	session -c "$spec" -m hello -m "$MSG2" -m bye
	stop
done

start aes-256-per-message
session -c AES:256 --hmac per-message -m hello -m "$MSG2" -m "héllo wörld ✓" -m bye
stop

# A client whose second message carries a bad tag: the server closes without a reply.
SERVER_KEYS=$TMP/ignored.keys start tampered
/usr/bin/python3 tests/integration/hostile.py 4600 data_bad_tag "$OUT/tampered.keys" >/dev/null
stop

# Two clients at once, their messages interleaved.
start two-clients
mkfifo "$TMP/a" "$TMP/b"
"$CLIENT" -q -H 127.0.0.1 -c AES:256 <"$TMP/a" >"$TMP/a.out" 2>&1 &
APID=$!
exec 3>"$TMP/a"
sleep 0.5
"$CLIENT" -q -H 127.0.0.1 -c Blowfish:448 <"$TMP/b" >"$TMP/b.out" 2>&1 &
BPID=$!
exec 4>"$TMP/b"
sleep 0.5
echo "alice one" >&3; sleep 0.2
echo "bob one" >&4; sleep 0.2
echo "alice two" >&3; sleep 0.2
echo "bob two" >&4; sleep 0.2
exec 3>&- 4>&-
wait $APID $BPID
stop

fi

# The secure profile (docs/SECURE.md). The server speaks both profiles on one port.
if [ "$WHICH" = all ] || [ "$WHICH" = secure ]; then
"$CLIENT" genkey >"$TMP/server.key"
"$CLIENT" genkey >"$TMP/psk"
chmod 600 "$TMP/server.key" "$TMP/psk"
SERVER_PUB=$("$CLIENT" pubkey <"$TMP/server.key")

# Key mode (Noise_IKpsk2), ChaChaPoly chosen by default; the client is anonymous.
start secure-key-chachapoly --key "$TMP/server.key"
session --server-key "$SERVER_PUB" -m hello -m "$MSG2" -m "héllo wörld ✓" -m bye
stop

# PSK mode (Noise_NNpsk0), the client offering AESGCM only.
start secure-psk-aesgcm --psk "$TMP/psk"
session --psk "$TMP/psk" --suites AESGCM -m hello -m "$MSG2" -m bye
stop

# The server rekeys its direction after every 2 records (a REKEY record, then Rekey()).
start secure-rekey --key "$TMP/server.key" --rekey-records 2
session --server-key "$SERVER_PUB" -m one -m two -m three -m four -m five
stop
fi

# Sessions as a real network segments them: every DHMKE value, a long message and its reply
# cut by TCP. IPv6 needs an MTU of at least 1280, so 576 is recorded over IPv4 only.
# A long message of 2- and 3-byte characters, so that cuts fall inside characters too.
LONG=$(/usr/bin/python3 -c 'print(("Information Assurance ✓ héllo wörld " * 100)[:3300])')
if [ "$WHICH" = all ] || [ "$WHICH" = mtu ]; then
record_mtu mtu1280-ipv4 1280 127.0.0.1
record_mtu mtu1280-ipv6 1280 ::1
record_mtu mtu576-ipv4 576 127.0.0.1
fi
