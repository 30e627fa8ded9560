#!/bin/sh
# make demo: starts cvpn-server on loopback, runs a scripted cvpn-client
# session against it, stops the server, and prints both transcripts.
set -u
BUILD=${1:-build}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cvpn-demo.XXXXXX")
trap 'kill "$SPID" 2>/dev/null; rm -rf "$TMP"' EXIT

"$BUILD/cvpn-server" -l 127.0.0.1 -p 0 >"$TMP/server.log" 2>&1 &
SPID=$!
# The server listens within milliseconds; 30 s leaves room for a machine busy installing or building.
i=0
while ! grep -q '^Listening on' "$TMP/server.log" && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(sed -n 's/^Listening on .*:\([0-9]*\)$/\1/p' "$TMP/server.log")
if [ -z "$PORT" ]; then
	echo "demo: the server did not start:" >&2; cat "$TMP/server.log" >&2; exit 1
fi

echo "\$ cvpn-client -H 127.0.0.1 -p $PORT -c 'DES:56 AES:128,192,256 Blowfish:112,224,448' -m hello -m bye"
timeout 60 "$BUILD/cvpn-client" -H 127.0.0.1 -p "$PORT" -c 'DES:56 AES:128,192,256 Blowfish:112,224,448' \
	-m hello -m bye >"$TMP/client.log" 2>&1
rc=$?
kill -TERM "$SPID"
wait "$SPID"

echo
echo "=== client transcript (exit status $rc)"
cat "$TMP/client.log"
echo
echo "=== server transcript"
cat "$TMP/server.log"
echo
echo "Try it yourself: $BUILD/cvpn-server   and, in another terminal,   $BUILD/cvpn-client"
echo "Add -v to either side to see every protocol value."
exit $rc
