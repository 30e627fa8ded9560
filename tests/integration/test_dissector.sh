#!/bin/sh
# The Wireshark dissector captures/wireshark/cvpn.lua under tshark: its fields register; every
# committed capture decodes and decrypts to the text in captures/expected/; the tampered tag is
# flagged; the instructor's capture dissects without keys; it says why when it cannot decrypt;
# messages split over segments or sharing one are reassembled; the heuristic finds the
# protocol on another port; and no Lua error is hidden (tshark exits 0 on them).
#   BUILD=build sh tests/integration/test_dissector.sh
#   CVPN_UPDATE_EXPECTED=1 sh tests/integration/test_dissector.sh   rewrites captures/expected/
. tests/lib.sh

LUA=${CVPN_DISSECTOR:-captures/wireshark/cvpn.lua}
LEGACY_CNF=captures/wireshark/openssl-legacy.cnf
EXPECTED=captures/expected
REFERENCE=${CVPN_SHARED:-../shared}/captures/reference/capture.pcapng
ERRS=$TMP/tshark.err
: >"$ERRS"

for tool in tshark text2pcap; do
	command -v $tool >/dev/null || { not_ok "$tool is installed (apt-get install tshark)"; finish; }
done
check "lua-luaossl is installed (apt-get install lua-luaossl), needed to decrypt" sh -c \
	"dpkg-query -W -f='\${Status}' lua-luaossl 2>/dev/null | grep -q 'install ok installed'"

# ts ARGS...: tshark with the dissector, time-bounded; stderr is kept for the Lua guard.
# TS_ENV may hold VAR=value words for its environment.
ts() {
	env ${TS_ENV:-} timeout 120 tshark -X "lua_script:$LUA" "$@" 2>>"$ERRS"
}

# Stable columns of the expected files: never keys, tags, DH values or ciphertext bytes,
# which change whenever captures/make-captures.sh records the sessions again.
FIELDS="cvpn.type cvpn.message cvpn.proposal.cipher cvpn.proposal.bits cvpn.choice.cipher
cvpn.choice.bits cvpn.ciphertext cvpn.hmac cvpn.tag_ok cvpn.decrypt_status cvpn.plaintext
cvpn.reply cvpn.reply.padding cvpn.bad_hmac cvpn.undecrypted cvpn.malformed"

# decoded CAPTURE [TSHARK_ARGS...]: a header, then one line per frame carrying cvpn, with the
# ciphertext replaced by its length in bytes.
decoded() {
	cap=$1; shift
	args=""
	for f in $FIELDS; do args="$args -e $f"; done
	echo "#" $FIELDS | sed 's/cvpn\.//g'
	ts -r "$cap" "$@" -Y cvpn -T fields $args -E occurrence=a |
		awk -F '\t' 'BEGIN { OFS = "\t" }
		{ n = split($7, c, ","); $7 = ""
		  for (i = 1; i <= n; i++) $7 = $7 (i > 1 ? "," : "") length(c[i]) / 2
		  print }'
}

# per_message CAPTURE KEYLOG FILTER FIELD...: one line per cvpn message matching FILTER (two
# lines for a segment that carries two messages), its FIELDs tab-separated.
per_message() {
	cap=$1 keys=$2 filter=$3; shift 3
	args=""
	for f in "$@"; do args="$args -e $f"; done
	ts -r "$cap" -o "cvpn.keylog_file:$keys" -Y "$filter" -T fields $args \
		-E occurrence=a -E aggregator='|' |
		awk -F '\t' '{ n = 1
		  for (i = 1; i <= NF; i++) { k = split($i, v, "|"); if (k > n) n = k; col[i] = $i }
		  for (j = 1; j <= n; j++) {
			line = ""
			for (i = 1; i <= NF; i++) { split(col[i], v, "|"); line = line (i > 1 ? "\t" : "") v[j] }
			print line } }'
}

# session_view CAPTURE KEYLOG: what a student reads of a session, per message, per direction.
session_view() {
	per_message "$1" "$2" 'cvpn.type=="proposal"' cvpn.type cvpn.proposal
	per_message "$1" "$2" 'cvpn.type=="choice" || cvpn.type=="dhmke"' cvpn.type cvpn.choice \
		cvpn.dh.digits cvpn.dh.bits
	per_message "$1" "$2" 'cvpn.type=="data"' cvpn.type cvpn.message cvpn.hmac cvpn.tag_ok \
		cvpn.decrypt_status cvpn.plaintext
	per_message "$1" "$2" 'cvpn.type=="reply"' cvpn.type cvpn.message cvpn.reply
}

# same NAME EXPECTED_FILE ACTUAL_FILE: ok when identical, else the diff as comments.
same() {
	if [ -s "$2" ] && diff -u "$2" "$3" >"$TMP/diff"; then
		ok "$1"
	else
		not_ok "$1"
		[ -s "$2" ] || echo "#   missing or empty: $2"
		sed 's/^/#   /' "$TMP/diff" | head -n 40
	fi
}

# --- The dissector loads and registers its fields -----------------------------------------

timeout 60 tshark -G fields -X "lua_script:$LUA" 2>>"$ERRS" | cut -f 3 | grep '^cvpn\.' >"$TMP/fields"
missing=""
for f in cvpn.type cvpn.proposal cvpn.proposal.cipher cvpn.proposal.bits cvpn.choice \
	cvpn.choice.cipher cvpn.choice.bits cvpn.dh.client_public cvpn.dh.server_public \
	cvpn.dh.digits cvpn.dh.bits cvpn.ciphertext cvpn.tag cvpn.hmac cvpn.tag_ok cvpn.plaintext \
	cvpn.reply cvpn.reply.padding cvpn.message cvpn.decrypt_status; do
	grep -qx "$f" "$TMP/fields" || missing="$missing $f"
done
check "tshark -G fields lists every cvpn field${missing:+ (missing:$missing)}" [ -z "$missing" ]
check "the keylog preference is registered" sh -c \
	"timeout 60 tshark -G defaultprefs -X 'lua_script:$LUA' 2>/dev/null | grep -q 'cvpn.keylog_file'"

# --- Every committed capture against its expected text ------------------------------------

ncap=0 undecrypted=""
for cap in captures/*.pcapng; do
	name=$(basename "$cap" .pcapng)
	ncap=$((ncap + 1))
	decoded "$cap" -o "cvpn.keylog_file:captures/$name.keys" >"$TMP/$name.txt"
	if [ -n "${CVPN_UPDATE_EXPECTED:-}" ]; then
		cp "$TMP/$name.txt" "$EXPECTED/$name.txt"
		echo "# wrote $EXPECTED/$name.txt"
	fi
	same "$name: decoded fields and plaintexts match $EXPECTED/$name.txt" \
		"$EXPECTED/$name.txt" "$TMP/$name.txt"
	ts -r "$cap" -o "cvpn.keylog_file:captures/$name.keys" -V >>"$TMP/all-trees.txt"
	grep -q '	decrypted	' "$TMP/$name.txt" || undecrypted="$undecrypted $name"
done
check "found the committed captures ($ncap)" [ "$ncap" -ge 14 ]
check "every committed capture decrypts${undecrypted:+ (not:$undecrypted)}" [ -z "$undecrypted" ]

# --- The tampered capture: message 1 decrypts, message 2 is flagged and stays secret ------

per_message captures/tampered.pcapng captures/tampered.keys 'cvpn.type=="data"' \
	cvpn.message cvpn.tag_ok cvpn.plaintext _ws.expert.message >"$TMP/tampered"
check "tampered: message 1 verifies and decrypts to 'first'" grep -qx '1	1	first	' "$TMP/tampered"
check "tampered: message 2 has tag_ok false and the 'bad HMAC' expert info" \
	grep -qx '2	0		bad HMAC' "$TMP/tampered"
ts -r captures/tampered.pcapng -o cvpn.keylog_file:captures/tampered.keys -V -x >"$TMP/tampered.V"
check "tampered: one decrypted data tab (message 1), 'second message' nowhere" sh -c \
	"[ \$(grep -c '^Decrypted cvpn (' '$TMP/tampered.V') -eq 1 ] && \
	 grep -q 'Plaintext: first' '$TMP/tampered.V' && ! grep -q 'second message' '$TMP/tampered.V'"
ts -r captures/tampered.pcapng -o cvpn.keylog_file:captures/tampered.keys -Y cvpn.bad_hmac \
	-T fields -e frame.number -e _ws.expert.severity >"$TMP/tampered.severity"
check "tampered: the bad tag is one error-severity expert info (PI_ERROR)" \
	grep -qx '[0-9]*	8388608' "$TMP/tampered.severity"

# --- The instructor's capture: handshake fields, no keys, reasons given -------------------

if [ -f "$REFERENCE" ]; then
	ts -r "$REFERENCE" -Y cvpn -T fields -e cvpn.type -e cvpn.proposal.cipher \
		-e cvpn.proposal.bits -e cvpn.choice.cipher -e cvpn.choice.bits -e cvpn.dh.digits \
		-e cvpn.dh.bits -E occurrence=a >"$TMP/ref"
	ts -r "$REFERENCE" -Y cvpn -T fields -e cvpn.type -e cvpn.ciphertext -e cvpn.tag \
		-e cvpn.decrypt_status -e cvpn.reply -e cvpn.reply.padding -e cvpn.plaintext >"$TMP/ref.nokeys"
	ts -r "$REFERENCE" -V >>"$TMP/all-trees.txt"
	check "reference: proposal ciphers DES, AES, Blowfish" \
		grep -qx 'proposal	DES,AES,Blowfish	56,128,192,256,112,224,448				' "$TMP/ref"
	check "reference: choice AES 256" grep -qx 'choice			AES	256		' "$TMP/ref"
	check "reference: two DHMKE values of 2466 digits (8191 and 8190 bits)" sh -c \
		"grep -qx 'dhmke					2466	8191' '$TMP/ref' && grep -qx 'dhmke					2466	8190' '$TMP/ref'"
	check "reference: two data messages with 16 bytes of ciphertext and a 64-hex tag" sh -c \
		"[ \$(grep -c '^data	[0-9a-f]\{32\}	[0-9a-f]\{64\}	' '$TMP/ref.nokeys') -eq 2 ]"
	check "reference: replies without their 11 and 13 NUL bytes" sh -c \
		"grep -q '	Server says: olleh	11	\$' '$TMP/ref.nokeys' && grep -q '	Server says: eyb	13	\$' '$TMP/ref.nokeys'"
	check "reference: says it cannot decrypt without a key log, shows no plaintext" sh -c \
		"[ \$(grep -c '	no key log: set the preference cvpn.keylog_file' '$TMP/ref.nokeys') -eq 2 ] && \
		 ! grep -q '^data	.*	[^	]\$' '$TMP/ref.nokeys'"
else
	not_ok "reference capture $REFERENCE is present (set CVPN_SHARED)"
fi

# --- Without keys, or without crypto, everything but the plaintext and why ----------------

decoded captures/aes-256.pcapng >"$TMP/nokeys"
check "no key log preference: no plaintext, the reason and an expert note per message" sh -c \
	"[ \$(grep -c '	no key log: set the preference cvpn.keylog_file.*	1	\$' '$TMP/nokeys') -eq 3 ] && \
	 ! grep -q 'hello\|bye' '$TMP/nokeys' && grep -q 'Server says: olleh' '$TMP/nokeys'"
decoded captures/aes-256.pcapng -o cvpn.keylog_file:captures/aes-128.keys >"$TMP/otherkeys"
check "key log without this session: says which endpoints it looked for" \
	grep -q '	no key log line for this session (client 127.0.0.1:[0-9]*, server 127.0.0.1:4600)	' \
	"$TMP/otherkeys"
decoded captures/aes-256.pcapng -o "cvpn.keylog_file:$TMP/nonexistent.keys" >"$TMP/nofile"
check "unreadable key log: says so" grep -q '	cannot read key log: .*No such file or directory	' "$TMP/nofile"

TS_ENV="LUA_PATH_5_2=$TMP/none/?.lua LUA_CPATH_5_2=$TMP/none/?.so"
decoded captures/aes-256.pcapng -o cvpn.keylog_file:captures/aes-256.keys >"$TMP/noluaossl"
TS_ENV=
check "without lua-luaossl: handshake still dissected, no plaintext, the reason" sh -c \
	"grep -q '^proposal	' '$TMP/noluaossl' && ! grep -q 'hello' '$TMP/noluaossl' && \
	 [ \$(grep -c 'lua-luaossl is not installed (apt-get install lua-luaossl)' '$TMP/noluaossl') -eq 3 ]"

printf 'openssl_conf = openssl_init\n[openssl_init]\nproviders = p\n[p]\nnull = n\n[n]\nactivate = 1\n' \
	>"$TMP/null.cnf"
TS_ENV="OPENSSL_CONF=$TMP/null.cnf"
decoded captures/aes-256.pcapng -o cvpn.keylog_file:captures/aes-256.keys >"$TMP/nocrypto"
TS_ENV=
check "OpenSSL without providers: no plaintext, 'not available'" sh -c \
	"! grep -q 'hello' '$TMP/nocrypto' && \
	 [ \$(grep -c 'HMAC-SHA256 not available' '$TMP/nocrypto') -eq 3 ]"

# --- DES with and without OpenSSL's legacy provider; Blowfish in Lua -----------------------

des_view() {
	per_message captures/des-56.pcapng captures/des-56.keys 'cvpn.type=="data"' \
		cvpn.tag_ok cvpn.decryptor cvpn.plaintext
}
des_view >"$TMP/des.default"
TS_ENV="OPENSSL_CONF=$LEGACY_CNF"
des_view >"$TMP/des.legacy"
TS_ENV=
check "DES without the legacy provider: DES-EDE-CBC with K1 = K2 decrypts" \
	grep -qx '1	OpenSSL DES-EDE-CBC with K1 = K2 (single DES)	hello' "$TMP/des.default"
check "DES with $LEGACY_CNF: OpenSSL DES-CBC, same plaintexts" sh -c \
	"grep -qx '1	OpenSSL DES-CBC	hello' '$TMP/des.legacy' && \
	 [ \"\$(cut -f 1,3 '$TMP/des.legacy')\" = \"\$(cut -f 1,3 '$TMP/des.default')\" ]"
per_message captures/blowfish-448.pcapng captures/blowfish-448.keys 'cvpn.type=="data"' \
	cvpn.decryptor cvpn.plaintext >"$TMP/bf"
check "Blowfish 448 decrypts with the Lua Blowfish (56-byte key)" \
	grep -qx 'Lua Blowfish-CBC (56-byte key)	hello' "$TMP/bf"

# --- Reassembly: the same session re-chunked ----------------------------------------------
# One session's payloads (one message per segment) rewritten by text2pcap: keyword, size and
# DH value split across segments, message 1 one byte per segment, a reply split, message 2
# ending inside the segment where message 3 starts, and messages 3 and 4 sharing a segment.

cat >"$TMP/rechunk.py" <<'EOF'
import sys
c, s = [], []
for line in sys.stdin:
    port, payload = line.split()
    (s if port == "4600" else c).append(bytes.fromhex(payload))
prop, cdh, d1, d2, d3, d4 = c
choice, sdh, r1, r2, r3, r4 = s
out = []
C = lambda b: out.append("< " + b.hex())
S = lambda b: out.append("> " + b.hex())
C(prop[:11]); C(prop[11:])
S(choice[:18]); S(choice[18:])
C(cdh[:1000]); C(cdh[1000:2000]); C(cdh[2000:])
S(sdh[:1460]); S(sdh[1460:])
for i in range(len(d1)):
    C(d1[i:i + 1])
S(r1[:15]); S(r1[15:])
C(d2[:50]); C(d2[50:] + d3[:10])
S(r2)
C(d3[10:] + d4)
S(r3[:5]); S(r3[5:]); S(r4)
print("\n".join(out))
EOF
SRC=captures/aes-256-per-message
T2P_RE='^(?<dir>[<>])\s(?<data>[0-9a-fA-F]+)$'
timeout 60 tshark -r $SRC.pcapng -Y 'tcp.len > 0' -T fields -e tcp.srcport -e tcp.payload \
	2>>"$ERRS" >"$TMP/payloads"
"$PY" "$TMP/rechunk.py" <"$TMP/payloads" >"$TMP/rechunk.txt" &&
	timeout 60 text2pcap -q -r "$T2P_RE" -D -4 10.0.0.1,10.0.0.2 -T 40000,4600 \
		"$TMP/rechunk.txt" "$TMP/rechunk.pcapng" >/dev/null 2>&1
awk '/^CVPN_LAB/ { print $1, "10.0.0.1:40000", "10.0.0.2:4600", $4, $5, $6, $7, $8 }' \
	$SRC.keys >"$TMP/rechunk.keys"
check "re-chunked capture built ($(wc -l <"$TMP/rechunk.txt" 2>/dev/null) segments)" \
	[ -s "$TMP/rechunk.pcapng" ]
session_view $SRC.pcapng $SRC.keys >"$TMP/view.orig"
check "original session view holds all four plaintexts" sh -c \
	"grep -q '	decrypted	hello\$' '$TMP/view.orig' && grep -q '	héllo wörld ✓\$' '$TMP/view.orig' && \
	 [ \$(grep -c '	decrypted	' '$TMP/view.orig') -eq 4 ]"
session_view "$TMP/rechunk.pcapng" "$TMP/rechunk.keys" >"$TMP/view.rechunk"
same "split and coalesced segments: same messages, tags and plaintexts (one pass)" \
	"$TMP/view.orig" "$TMP/view.rechunk"
ts -2 -r "$TMP/rechunk.pcapng" -o "cvpn.keylog_file:$TMP/rechunk.keys" \
	-Y 'cvpn.type=="data"' -T fields -e cvpn.message -e cvpn.tag_ok -e cvpn.plaintext \
	-E occurrence=a -E aggregator='|' >"$TMP/rechunk.2"
check "split and coalesced segments: two-pass tshark shows the same (stored per frame)" sh -c \
	"grep -qx '1	1	hello' '$TMP/rechunk.2' && \
	 grep -qx '2	1	Information Assurance and Security' '$TMP/rechunk.2' && \
	 grep -qx '3|4	1|1	héllo wörld ✓|bye' '$TMP/rechunk.2'"

# --- Heuristic registration: the same session on port 5555 --------------------------------

awk -F '\t' '{ print ($1 == "4600" ? ">" : "<"), $2 }' "$TMP/payloads" >"$TMP/heur.txt"
timeout 60 text2pcap -q -r "$T2P_RE" -D -4 10.0.0.1,10.0.0.2 -T 40001,5555 \
	"$TMP/heur.txt" "$TMP/heur.pcapng" >/dev/null 2>&1
awk '/^CVPN_LAB/ { print $1, "10.0.0.1:40001", "10.0.0.2:5555", $4, $5, $6, $7, $8 }' \
	$SRC.keys >"$TMP/heur.keys"
per_message "$TMP/heur.pcapng" "$TMP/heur.keys" 'cvpn.type=="data"' cvpn.type cvpn.message \
	cvpn.hmac cvpn.tag_ok cvpn.decrypt_status cvpn.plaintext >"$TMP/heur.view"
per_message $SRC.pcapng $SRC.keys 'cvpn.type=="data"' cvpn.type cvpn.message \
	cvpn.hmac cvpn.tag_ok cvpn.decrypt_status cvpn.plaintext >"$TMP/heur.orig"
same "heuristic: a session on port 5555 is found and decrypted" "$TMP/heur.orig" "$TMP/heur.view"

# --- No hidden Lua errors, and the guards can see them ------------------------------------

check "no 'tshark: Lua:' line on stderr in any run" sh -c "! grep '^tshark: Lua:' '$ERRS'"
check "no 'Lua Error' in any dissection tree" sh -c \
	"[ -s '$TMP/all-trees.txt' ] && ! grep -q 'Lua Error' '$TMP/all-trees.txt'"
{ cat "$LUA"; echo 'error("injected load error")'; } >"$TMP/load-error.lua"
env timeout 60 tshark -X "lua_script:$TMP/load-error.lua" -r captures/aes-128.pcapng \
	>/dev/null 2>"$TMP/load-error.err"
check "guard self-test: a load error shows as 'tshark: Lua:' on stderr" \
	grep -q '^tshark: Lua:' "$TMP/load-error.err"
sed 's/^function cvpn.dissector(tvb, pinfo, tree)$/&\n\terror("injected runtime error")/' "$LUA" \
	>"$TMP/runtime-error.lua"
env timeout 60 tshark -X "lua_script:$TMP/runtime-error.lua" -r captures/aes-128.pcapng -V \
	2>/dev/null | grep -c 'Lua Error' >"$TMP/runtime-error.count"
check "guard self-test: a runtime error shows as 'Lua Error' in the tree" \
	[ "$(cat "$TMP/runtime-error.count")" -gt 0 ]
finish
