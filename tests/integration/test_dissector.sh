#!/bin/sh
# The Wireshark dissector captures/wireshark/cvpn.lua under tshark: its fields register; every
# committed capture decodes and decrypts to the text in captures/expected/; the tampered tag is
# flagged; the instructor's capture dissects without keys; it says why when it cannot decrypt;
# messages split over segments or sharing one are reassembled; the heuristic finds the
# protocol on another port; the secure profile (docs/SECURE.md) likewise, its records checked
# against python3-cryptography; channel records, malformed ones and a stealth client's order
# in sessions tests/integration/securegen.py writes; it registers once when also installed;
# sessions cut by TCP at thousands of places (tests/integration/resegment.py) and recorded at
# MTU 1280 and 576 read right in one pass and two, with valid UTF-8 JSON; the IP tunnel over TCP
# (CONFIG and PACKET records, securegen.py) and the UDP transport (tests/integration/udpgen.py)
# with their inner packets handed to Wireshark's IP dissector; and no Lua error is hidden
# (tshark exits 0 on them).
#   CVPN_SEED=N repeats the random cuts of a run (each run prints its seeds).
#   BUILD=build sh tests/integration/test_dissector.sh
#   CVPN_UPDATE_EXPECTED=1 sh tests/integration/test_dissector.sh   rewrites captures/expected/
. tests/lib.sh

LUA=${CVPN_DISSECTOR:-captures/wireshark/cvpn.lua}
LEGACY_CNF=captures/wireshark/openssl-legacy.cnf
EXPECTED=captures/expected
REFERENCE=captures/reference/capture.pcapng
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

# Stable columns of the expected files: never keys, tags, DH values, mac1s or ciphertext
# bytes, which change whenever captures/make-captures.sh records the sessions again.
LAB_FIELDS="cvpn.type cvpn.message cvpn.proposal.cipher cvpn.proposal.bits cvpn.choice.cipher
cvpn.choice.bits cvpn.ciphertext cvpn.hmac cvpn.tag_ok cvpn.decrypt_status cvpn.plaintext
cvpn.reply cvpn.reply.padding cvpn.bad_hmac cvpn.undecrypted cvpn.malformed"
# The secure captures (secure-*): hellos, handshake lengths, record numbers, lengths, key
# generations, types, verdicts, plaintexts and replies.
SECURE_FIELDS="cvpn.type cvpn.secure.sender cvpn.secure.version cvpn.secure.mode
cvpn.secure.suites cvpn.secure.suite cvpn.secure.protocol cvpn.secure.handshake
cvpn.secure.handshake.len cvpn.secure.record cvpn.secure.record.len cvpn.ciphertext
cvpn.secure.record.key_generation cvpn.tag_ok cvpn.decrypt_status cvpn.secure.record.type
cvpn.plaintext cvpn.reply cvpn.secure.record.padding cvpn.bad_hmac cvpn.undecrypted
cvpn.malformed"
FIELDS=$LAB_FIELDS

# decoded CAPTURE [TSHARK_ARGS...]: a header, then one line per frame carrying cvpn ($FIELDS),
# with the ciphertext replaced by its length in bytes.
decoded() {
	cap=$1; shift
	args=""
	for f in $FIELDS; do args="$args -e $f"; done
	ctcol=$(echo $FIELDS | tr ' ' '\n' | grep -nx 'cvpn.ciphertext' | cut -d: -f1)
	echo "#" $FIELDS | sed 's/cvpn\.//g'
	ts -r "$cap" "$@" -Y cvpn -T fields $args -E occurrence=a |
		awk -F '\t' -v ct="${ctcol:-0}" 'BEGIN { OFS = "\t" }
		ct > 0 { n = split($ct, c, ","); $ct = ""
		  for (i = 1; i <= n; i++) $ct = $ct (i > 1 ? "," : "") length(c[i]) / 2 }
		{ print }'
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
missing=""
for f in cvpn.secure.sender cvpn.secure.version cvpn.secure.mode cvpn.secure.suites \
	cvpn.secure.suite cvpn.secure.protocol cvpn.secure.handshake cvpn.secure.handshake.len \
	cvpn.secure.mac1 cvpn.secure.record cvpn.secure.record.len cvpn.secure.record.nonce \
	cvpn.secure.record.tag cvpn.secure.record.type cvpn.secure.record.key_generation \
	cvpn.secure.channel.id cvpn.secure.channel.type cvpn.secure.channel.destination \
	cvpn.secure.channel.host cvpn.secure.channel.port cvpn.secure.channel.window \
	cvpn.secure.channel.reason cvpn.secure.channel.detail cvpn.secure.channel.data \
	cvpn.secure.channel.data.len; do
	grep -qx "$f" "$TMP/fields" || missing="$missing $f"
done
check "tshark -G fields lists the secure profile's fields${missing:+ (missing:$missing)}" \
	[ -z "$missing" ]
missing=""
for f in cvpn.tunnel.config.type cvpn.tunnel.config.len cvpn.tunnel.config.address \
	cvpn.tunnel.config.route cvpn.tunnel.config.prefix cvpn.tunnel.config.mtu \
	cvpn.tunnel.config.keepalive cvpn.tunnel.config.value cvpn.tunnel.packet cvpn.tunnel.version \
	cvpn.tunnel.length cvpn.udp.type cvpn.udp.sender cvpn.udp.receiver cvpn.udp.counter \
	cvpn.udp.direction cvpn.udp.handshake cvpn.udp.client_index cvpn.udp.server_index \
	cvpn.udp.init_in cvpn.udp.response_in cvpn.udp.mac2 cvpn.udp.mac2_set cvpn.udp.config \
	cvpn.udp.config.len cvpn.udp.cookie cvpn.udp.keepalive cvpn.udp.padding cvpn.udp.replay_of; do
	grep -qx "$f" "$TMP/fields" || missing="$missing $f"
done
check "tshark -G fields lists the IP tunnel's and the UDP transport's fields${missing:+ (missing:$missing)}" \
	[ -z "$missing" ]
check "the keylog preference is registered" sh -c \
	"timeout 60 tshark -G defaultprefs -X 'lua_script:$LUA' 2>/dev/null | grep -q 'cvpn.keylog_file'"

# --- Every committed capture against its expected text ------------------------------------

ncap=0 undecrypted=""
for cap in captures/*.pcapng; do
	name=$(basename "$cap" .pcapng)
	ncap=$((ncap + 1))
	case $name in
	secure-*) FIELDS=$SECURE_FIELDS ;;
	*) FIELDS=$LAB_FIELDS ;;
	esac
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
FIELDS=$LAB_FIELDS
check "found the committed captures ($ncap)" [ "$ncap" -ge 14 ]
for name in secure-key-chachapoly secure-psk-aesgcm secure-rekey; do
	check "secure capture $name is committed with its key log" \
		[ -f "captures/$name.pcapng" -a -f "captures/$name.keys" ]
done
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
	not_ok "reference capture $REFERENCE is present"
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

# --- The secure profile (docs/SECURE.md) ----------------------------------------------------

SEC=captures/secure-key-chachapoly
SECURE_CAPTURES="secure-key-chachapoly secure-psk-aesgcm secure-rekey"

# view CAPTURE [TSHARK_ARGS...]: the Info text of every cvpn message, one a line, sorted (a
# frame can hold several: "A | B"); records read 'Record #N from SIDE: TYPE "payload"'.
# Frames that hold only part of a message (no cvpn.type) are left out.
view() {
	cap=$1; shift
	ts -r "$cap" "$@" -Y cvpn.type -T fields -e _ws.col.Info | sed 's/ | /\n/g' | sort
}

# Without a key log: hellos and handshake dissected, every record framed, no plaintext.
for sc in $SECURE_CAPTURES; do
	ts -r "captures/$sc.pcapng" -Y cvpn -T fields -e cvpn.type -e cvpn.secure.suite \
		-e cvpn.secure.handshake -e cvpn.secure.record -e cvpn.plaintext -e cvpn.reply \
		-e cvpn.secure.record.type -e cvpn.decrypt_status -E occurrence=a -E aggregator='|' \
		>"$TMP/$sc.nokeys"
	ts -r "captures/$sc.pcapng" -V >"$TMP/$sc.nokeys.V"
	cat "$TMP/$sc.nokeys.V" >>"$TMP/all-trees.txt"
	check "$sc without a key log: hellos and both handshake messages dissected" sh -c \
		"grep -q '^hello	[A-Za-z]' '$TMP/$sc.nokeys' && grep -q '^handshake		1	' \
		 '$TMP/$sc.nokeys' && grep -q '^handshake		2	' '$TMP/$sc.nokeys'"
	check "$sc without a key log: no plaintext, reply or record type, the reason per record" \
		awk -F '\t' '{ n = split($1, t, "|"); for (i = 1; i <= n; i++) if (t[i] == "record") r++
			s += gsub(/no key log: set the preference cvpn.keylog_file/, "", $8)
			if ($5 $6 $7 != "") bad = 1 }
			END { exit !(r > 0 && r == s && !bad) }' "$TMP/$sc.nokeys"
	check "$sc without a key log: no message text anywhere in the tree" sh -c \
		"! grep -q 'Server says\|Plaintext:\|Reply:\|Record type:' '$TMP/$sc.nokeys.V'"
done

# Tampered: a copy of $SEC with one ciphertext byte of the client's record 2 flipped.
cat >"$TMP/flip.py" <<'EOF'
import sys
cap, seg_hex, out = sys.argv[1:4]
data, seg = bytearray(open(cap, "rb").read()), bytes.fromhex(seg_hex.strip())
# The segment holds exactly that record (u16 length | ciphertext | tag), found once in the file.
assert len(seg) > 18 and (seg[0] << 8 | seg[1]) + 2 == len(seg), "not one whole record"
at = data.find(seg)
assert at >= 0 and data.find(seg, at + 1) < 0, "segment not found exactly once"
data[at + 2 + 5] ^= 0x01
open(out, "wb").write(data)
EOF
ts -r $SEC.pcapng -o "cvpn.keylog_file:$SEC.keys" \
	-Y 'cvpn.secure.sender == "client" && cvpn.secure.record == 2' -T fields -e tcp.payload \
	>"$TMP/record2.hex"
"$PY" "$TMP/flip.py" $SEC.pcapng "$(cat "$TMP/record2.hex")" "$TMP/secure-tampered.pcapng"
check "secure tampered capture built (one ciphertext byte of client record 2 flipped)" \
	[ -s "$TMP/secure-tampered.pcapng" ]
per_message "$TMP/secure-tampered.pcapng" $SEC.keys \
	'cvpn.type == "record" && cvpn.secure.sender == "client"' cvpn.secure.record cvpn.tag_ok \
	cvpn.decrypt_status >"$TMP/stampered"
view "$TMP/secure-tampered.pcapng" -o "cvpn.keylog_file:$SEC.keys" >"$TMP/stampered.view"
check "secure tampered: client record 2 fails: tag_ok 0, 'not decrypted: bad AEAD tag'" \
	grep -qx '2	0	not decrypted: bad AEAD tag' "$TMP/stampered"
check "secure tampered: client records 1, 3, 4 and 5 still decrypt (the nonces count on)" sh -c \
	"[ \$(grep -c '^[1345]	1	decrypted\$' '$TMP/stampered') -eq 4 ] && \
	 grep -qx 'Record #1 from client: DATA \"hello\"' '$TMP/stampered.view' && \
	 grep -qx 'Record #3 from client: DATA \"héllo wörld ✓\"' '$TMP/stampered.view' && \
	 grep -qx 'Record #2 from client: 80 bytes, BAD TAG' '$TMP/stampered.view'"
ts -r "$TMP/secure-tampered.pcapng" -o "cvpn.keylog_file:$SEC.keys" -Y cvpn.bad_hmac -T fields \
	-e cvpn.secure.sender -e cvpn.secure.record -e _ws.expert.severity -e _ws.expert.message \
	>"$TMP/stampered.expert"
check "secure tampered: one error-severity bad-tag expert info (cvpn.bad_hmac), on that record" \
	sh -c "[ \$(wc -l <'$TMP/stampered.expert') -eq 1 ] && \
	 grep -qx 'client	2	8388608	bad AEAD tag' '$TMP/stampered.expert'"
ts -r "$TMP/secure-tampered.pcapng" -o "cvpn.keylog_file:$SEC.keys" -V -x >"$TMP/stampered.V"
cat "$TMP/stampered.V" >>"$TMP/all-trees.txt"
check "secure tampered: the failed record's text appears nowhere" \
	sh -c "! grep -q 'Information Assurance and Security' '$TMP/stampered.V'"

# Rekey: the server's REKEY after every 2 records is followed.
per_message captures/secure-rekey.pcapng captures/secure-rekey.keys \
	'cvpn.type == "record" && cvpn.secure.sender == "server"' cvpn.secure.record \
	cvpn.secure.record.key_generation cvpn.secure.record.type cvpn.tag_ok >"$TMP/rekey"
check "secure-rekey: server records 3 and 6 are REKEYs, records 4-8 decrypt under keys 1 and 2" \
	sh -c "grep -qx '3	0	REKEY	1' '$TMP/rekey' && grep -qx '4	1	REPLY	1' '$TMP/rekey' && \
	 grep -qx '6	1	REKEY	1' '$TMP/rekey' && grep -qx '7	2	REPLY	1' '$TMP/rekey' && \
	 grep -qx '8	2	CLOSE	1' '$TMP/rekey' && [ \$(grep -c '	1\$' '$TMP/rekey') -eq 8 ]"

# An independent decryption (python3-cryptography) of every record of every secure capture,
# compared with what the dissector shows.
cat >"$TMP/aead.py" <<'EOF'
import struct, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
payloads, keylog = sys.argv[1:3]
line = [l.split() for l in open(keylog) if l.startswith("CVPN_SECURE")][0]
chacha = "_ChaChaPoly_" in line[3]
aead = lambda k: ChaCha20Poly1305(k) if chacha else AESGCM(k)
nonce = lambda n: b"\0" * 4 + struct.pack("<Q" if chacha else ">Q", n)
rekey = lambda k: aead(k).encrypt(b"\0" * 4 + b"\xff" * 8, b"\0" * 32, b"")[:32]
streams = {"client": b"", "server": b""}
for l in open(payloads):
    port, data = l.split()
    streams["server" if port == "4600" else "client"] += bytes.fromhex(data)
types = ["DATA", "REPLY", "CLOSE", "KEEPALIVE", "REKEY", "ERROR"]
for side, key in (("client", line[4]), ("server", line[5])):
    s, key = streams[side], bytes.fromhex(key)
    i = 7 + s[6] if side == "client" else 7              # the hello
    i += 2 + struct.unpack(">H", s[i:i + 2])[0]           # the handshake message
    n = 0
    while i < len(s):
        size = struct.unpack(">H", s[i:i + 2])[0]
        pt = aead(key).decrypt(nonce(n), s[i + 2:i + 2 + size], s[i:i + 2])
        i, n = i + 2 + size, n + 1
        t, body = types[pt[0] - 1], pt[3:3 + struct.unpack(">H", pt[1:3])[0]].decode()
        print(f'Record #{n} from {side}: {t}' + (f' "{body}"' if t in ("DATA", "REPLY") else ""))
        if t == "REKEY":
            key = rekey(key)
EOF
if need_package python3-cryptography "secure records against python3-cryptography"; then
	for sc in $SECURE_CAPTURES; do
		timeout 60 tshark -r "captures/$sc.pcapng" -Y 'tcp.len > 0' -T fields -e tcp.srcport \
			-e tcp.payload 2>>"$ERRS" >"$TMP/$sc.payloads"
		"$PY" "$TMP/aead.py" "$TMP/$sc.payloads" "captures/$sc.keys" | sort >"$TMP/$sc.py"
		view "captures/$sc.pcapng" -o "cvpn.keylog_file:captures/$sc.keys" |
			grep '^Record #' >"$TMP/$sc.lua"
		same "$sc: every record as python3-cryptography decrypts it" "$TMP/$sc.py" "$TMP/$sc.lua"
	done
fi

# Reassembly: $SEC re-chunked: the ClientHello split inside its magic, handshake message 1
# split after one byte of its length, then both streams cut at odd sizes, so records span
# segments and segments hold several records.
cat >"$TMP/rechunk-secure.py" <<'EOF'
import sys
c, s = b"", b""
for line in sys.stdin:
    port, payload = line.split()
    if port == "4600":
        s += bytes.fromhex(payload)
    else:
        c += bytes.fromhex(payload)
out = []
C = lambda b: out.append("< " + b.hex())
S = lambda b: out.append("> " + b.hex())
hello = 7 + c[6]
C(c[:3]); C(c[3:hello]); S(s[:7])
C(c[hello:hello + 1]); C(c[hello + 1:hello + 40])
c, s = c[hello + 40:], s[7:]
sizes = [1, 90, 2, 61, 130, 7, 33, 200]
k = 0
while c or s:
    for side in ("c", "s"):
        n = sizes[k % len(sizes)]
        k += 1
        if side == "c" and c:
            C(c[:n]); c = c[n:]
        elif side == "s" and s:
            S(s[:n]); s = s[n:]
print("\n".join(out))
EOF
"$PY" "$TMP/rechunk-secure.py" <"$TMP/secure-key-chachapoly.payloads" >"$TMP/srechunk.txt" &&
	timeout 60 text2pcap -q -r "$T2P_RE" -D -4 10.0.0.1,10.0.0.2 -T 40002,4600 \
		"$TMP/srechunk.txt" "$TMP/srechunk.pcapng" >/dev/null 2>&1
awk '/^CVPN_SECURE/ { print $1, "10.0.0.1:40002", "10.0.0.2:4600", $4, $5, $6 }' \
	$SEC.keys >"$TMP/srechunk.keys"
check "secure re-chunked capture built ($(wc -l <"$TMP/srechunk.txt" 2>/dev/null) segments)" \
	[ -s "$TMP/srechunk.pcapng" ]
view $SEC.pcapng -o "cvpn.keylog_file:$SEC.keys" >"$TMP/sview.orig"
view "$TMP/srechunk.pcapng" -o "cvpn.keylog_file:$TMP/srechunk.keys" >"$TMP/sview.rechunk"
check "secure original view: 4 hellos and handshake messages, 10 decrypted records" sh -c \
	"[ \$(grep -c '^Record #' '$TMP/sview.orig') -eq 10 ] && \
	 [ \$(grep -c '^ClientHello\|^ServerHello\|^Handshake [12]' '$TMP/sview.orig') -eq 4 ] && \
	 ! grep -q 'BAD TAG' '$TMP/sview.orig'"
same "secure, split and coalesced segments: the same messages and plaintexts (one pass)" \
	"$TMP/sview.orig" "$TMP/sview.rechunk"
view "$TMP/srechunk.pcapng" -2 -o "cvpn.keylog_file:$TMP/srechunk.keys" >"$TMP/sview.rechunk2"
same "secure, split and coalesced segments: the same with two-pass tshark" \
	"$TMP/sview.orig" "$TMP/sview.rechunk2"

# Heuristic: the same secure session on port 5555.
awk -F '\t' '{ print ($1 == "4600" ? ">" : "<"), $2 }' "$TMP/secure-key-chachapoly.payloads" \
	>"$TMP/sheur.txt"
timeout 60 text2pcap -q -r "$T2P_RE" -D -4 10.0.0.1,10.0.0.2 -T 40003,5555 \
	"$TMP/sheur.txt" "$TMP/sheur.pcapng" >/dev/null 2>&1
awk '/^CVPN_SECURE/ { print $1, "10.0.0.1:40003", "10.0.0.2:5555", $4, $5, $6 }' \
	$SEC.keys >"$TMP/sheur.keys"
view "$TMP/sheur.pcapng" -o "cvpn.keylog_file:$TMP/sheur.keys" >"$TMP/sview.heur"
same "secure heuristic: a session on port 5555 is found and decrypted" \
	"$TMP/sview.orig" "$TMP/sview.heur"

# Key log variations: another session's line, a line for another protocol, two lines for the
# same endpoints (a client port used again), and no luaossl or no OpenSSL providers.
FIELDS=$SECURE_FIELDS
decoded $SEC.pcapng -o cvpn.keylog_file:captures/secure-rekey.keys >"$TMP/sother"
check "secure, key log without this session: says which endpoints it looked for" \
	grep -q '	no key log line for this session (client 127.0.0.1:[0-9]*, server 127.0.0.1:4600)	' \
	"$TMP/sother"
sed 's/_ChaChaPoly_/_AESGCM_/' $SEC.keys >"$TMP/sproto.keys"
decoded $SEC.pcapng -o "cvpn.keylog_file:$TMP/sproto.keys" >"$TMP/sproto"
check "secure, key log line for another protocol: says so, decrypts nothing" sh -c \
	"grep -q 'the key log line is for Noise_IKpsk2_25519_AESGCM_SHA256, the hellos negotiated Noise_IKpsk2_25519_ChaChaPoly_SHA256' '$TMP/sproto' && \
	 ! grep -q '	decrypted	' '$TMP/sproto'"
zeros=0000000000000000000000000000000000000000000000000000000000000000
{ awk -v z=$zeros '/^CVPN_SECURE/ { print $1, $2, $3, $4, z, z }' $SEC.keys; cat $SEC.keys; } \
	>"$TMP/sreused.keys"
view $SEC.pcapng -o "cvpn.keylog_file:$TMP/sreused.keys" >"$TMP/sview.reused"
same "secure, two key log lines for the same endpoints: the one whose keys open the records" \
	"$TMP/sview.orig" "$TMP/sview.reused"
TS_ENV="LUA_PATH_5_2=$TMP/none/?.lua LUA_CPATH_5_2=$TMP/none/?.so"
decoded $SEC.pcapng -o "cvpn.keylog_file:$SEC.keys" >"$TMP/snoluaossl"
TS_ENV="OPENSSL_CONF=$TMP/null.cnf"
decoded $SEC.pcapng -o "cvpn.keylog_file:$SEC.keys" >"$TMP/snocrypto"
TS_ENV=
# no_text FILE: the plaintext and reply columns of a decoded secure capture are all empty.
pcol=$(echo $FIELDS | tr ' ' '\n' | grep -nx 'cvpn.plaintext' | cut -d: -f1)
no_text() { awk -F '\t' -v p="$pcol" 'NR > 1 && $p $(p + 1) != "" { bad = 1 } END { exit bad }' "$1"; }
FIELDS=$LAB_FIELDS
check "secure without lua-luaossl: hellos still dissected, no plaintext, the reason per record" \
	sh -c "grep -q '^hello	server	2	key		ChaChaPoly	Noise_IKpsk2_25519_ChaChaPoly_SHA256' \
	 '$TMP/snoluaossl' && \
	 [ \$(grep -c 'lua-luaossl is not installed (apt-get install lua-luaossl)' '$TMP/snoluaossl') -eq 10 ]"
check "secure without lua-luaossl: no plaintext or reply" no_text "$TMP/snoluaossl"
check "secure, OpenSSL without providers: 'cipher not available' per record, no plaintext" \
	sh -c "[ \$(grep -c 'cipher not available: chacha20-poly1305' '$TMP/snocrypto') -eq 10 ]"
check "secure, OpenSSL without providers: no plaintext or reply" no_text "$TMP/snocrypto"

# --- One copy registers: installed in the plugin folder, given with -X, or both ----------
# make install-wireshark copies the dissector to ~/.local/lib/wireshark/plugins; a HOME of
# our own stands for it. Each way must decrypt, with no Lua error on stderr.

PLUGINS=$TMP/home/.local/lib/wireshark/plugins
mkdir -p "$PLUGINS" "$TMP/nohome"
cp "$LUA" "$PLUGINS/cvpn.lua"
# loaded HOME [-X]: what tshark shows of aes-256's data messages; its stderr in $TMP/loaded.err.
loaded() {
	home=$1; shift
	HOME=$home timeout 120 tshark "$@" -r captures/aes-256.pcapng \
		-o cvpn.keylog_file:captures/aes-256.keys -Y 'cvpn.type=="data"' -T fields \
		-e cvpn.plaintext 2>"$TMP/loaded.err" | tr '\n' ' '
	cat "$TMP/loaded.err" >>"$ERRS"
}
for way in "installed and -X" "installed only" "-X only"; do
	case $way in
	"installed and -X") out=$(loaded "$TMP/home" -X "lua_script:$LUA") ;;
	"installed only") out=$(loaded "$TMP/home") ;;
	*) out=$(loaded "$TMP/nohome" -X "lua_script:$LUA") ;;
	esac
	check "loaded $way: decrypts, no Lua error${out:+ ($out)}" sh -c \
		"[ '$out' = 'hello Information Assurance and Security bye ' ] && \
		 ! grep -q 'Lua\|Proto_new' '$TMP/loaded.err'"
done

# --- Reading without framing: TCP may cut anywhere ----------------------------------------
# tests/integration/resegment.py writes a recorded session again as many TCP streams, each
# cut at other places, and checks every message of every stream against the session's own
# bytes (both DH values, every ciphertext and tag, every plaintext and reply), in one pass,
# two passes (-2, as Wireshark does: a first pass without a tree), and two passes with -Y.

RESEG="$PY tests/integration/resegment.py"
MTU_SRC=captures/mtu1280-ipv4
# payloads CAPTURE: its TCP payloads, "SRCPORT HEX" a line.
payloads() {
	timeout 120 tshark -r "$1" -Y 'tcp.len > 0' -T fields -e tcp.srcport -e tcp.payload 2>>"$ERRS"
}
# json_runs PCAP KEYLOG NAME [PROTOCOLS [OPTIONS]]: tshark -T json of PCAP in one pass, two
# passes and two passes with -Y, into $TMP/NAME.1.json, .2.json and .2Y.json; KEYLOG - for none;
# PROTOCOLS the layers kept (-J, "tcp cvpn" unless given), OPTIONS more tshark options.
json_runs() {
	pcap=$1 keys=$2 out=$3 protos=${4:-tcp cvpn} opts=${5:-}
	for pass in 1 2 2Y; do
		case $pass in 1) p= ;; 2) p=-2 ;; 2Y) p="-2 -Y cvpn" ;; esac
		[ "$keys" = - ] || p="$p -o cvpn.keylog_file:$keys"
		env timeout 900 tshark -X "lua_script:$LUA" $p $opts -r "$pcap" -T json -J "$protos" \
			>"$TMP/$out.$pass.json" 2>>"$ERRS"
	done
}
# The inner packets' layers, their checksums checked (innerpkt.py makes them right).
INNER_JSON="cvpn ip ipv6 icmp icmpv6 udp dns"
CHECKSUMS="-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE"
# sweep NAME FAMILY [BUILD_OPTIONS] PLANS...: builds, runs and checks one re-segmented file.
sweep() {
	sname=$1 family=$2; shift 2
	$RESEG build --source "$TMP/mtu.payloads" --keys $MTU_SRC.keys --out "$TMP/$sname.pcap" \
		--keys-out "$TMP/$sname.keys" --manifest "$TMP/$sname.tsv" --family "$family" \
		${CVPN_SEED:+--seed $CVPN_SEED} "$@" >"$TMP/$sname.build" 2>&1
	cat "$TMP/$sname.build"
	turns=$(echo "$@" | sed -n 's/.*--turns \([0-9]*\).*/--turns \1/p')
	json_runs "$TMP/$sname.pcap" "$TMP/$sname.keys" "$sname"
	$RESEG check --source "$TMP/mtu.payloads" --manifest "$TMP/$sname.tsv" $turns \
		"$TMP/$sname.1.json" "$TMP/$sname.2.json" "$TMP/$sname.2Y.json" >"$TMP/$sname.check" 2>&1
}
payloads $MTU_SRC.pcapng >"$TMP/mtu.payloads"

# The handshake and the first message, cut once at every byte of the proposal, the choice,
# the first message and its reply, and of both DH values near their ends (where a digit count
# once ended them) and their starts, every 7th byte between.
sweep handshake 4 --turns 6 cut:0:1:-1:1 cut:1:1:-1:1 cut:2:1:40:1 cut:2:41:-81:7 \
	cut:2:-80:-1:1 cut:3:1:40:1 cut:3:41:-81:7 cut:3:-80:-1:1 cut:4:1:-1:1 cut:5:1:-1:1
n=$(grep -c . "$TMP/handshake.tsv")
check "re-segmented handshake, IPv4: $n streams, every message right in 1 and 2 passes" \
	grep -q ' 0 streams differ so far$' "$TMP/handshake.check"
sed -n '1,20{/^#/!s/^/#   /p}' "$TMP/handshake.check"
# The long message and its reply (UTF-8, 2- and 3-byte characters): cut at every byte near
# both ends and at 16-byte boundaries (where a tag could begin) and off them between; then
# every MSS from 200 to 1460 and random cuts (seed printed above; CVPN_SEED=N to repeat).
sweep long 4 cut:6:1:48:1 cut:6:64:-101:48 cut:6:49:-101:37 cut:6:-100:-1:1 cut:7:1:80:1 \
	cut:7:81:-81:23 cut:7:-80:-1:1 mss:200:1460:5 random:100
n=$(grep -c . "$TMP/long.tsv")
check "re-segmented long message and reply, MSS sweep, random cuts, IPv4: $n streams right" \
	grep -q ' 0 streams differ so far$' "$TMP/long.check"
sed -n '1,20{/^#/!s/^/#   /p}' "$TMP/long.check"
sweep ipv6 6 --interleave 7 cut:2:1:-1:29 cut:3:1:-1:29 cut:7:1:-1:41 mss:536:1440:3 random:100
n=$(grep -c . "$TMP/ipv6.tsv")
check "re-segmented over IPv6: DH values, reply, every MSS 536-1440 step 3, random: $n streams" \
	grep -q ' 0 streams differ so far$' "$TMP/ipv6.check"
sed -n '1,20{/^#/!s/^/#   /p}' "$TMP/ipv6.check"

# The same ports used again: three sessions one after another from one client port.
sweep reuse 4 --same-port --interleave 1 cut:2:1400:1400:1 cut:7:2000:2000:1
check "the same client port used again: three sessions, each read on its own" \
	grep -q ' 0 streams differ so far$' "$TMP/reuse.check"
sed -n '1,20{/^#/!s/^/#   /p}' "$TMP/reuse.check"

# Without a key log a reply has no expected text: one pass cannot know that a reply cut at
# a segment's end goes on, and shows its first part as the reply, then the whole reply again
# (the documented limit, "Framing" in cvpn.lua); two passes show it once, whole. A cut inside
# a character is held for the rest, so no field holds half a character.
$RESEG build --source "$TMP/mtu.payloads" --keys $MTU_SRC.keys --out "$TMP/nokeys.pcap" \
	--keys-out "$TMP/nokeys.keys" --manifest "$TMP/nokeys.tsv" cut:7:1:40:1 cut:7:41:-1:97 \
	>/dev/null
json_runs "$TMP/nokeys.pcap" - nokeys
$RESEG check --no-keys --source "$TMP/mtu.payloads" --manifest "$TMP/nokeys.tsv" \
	"$TMP/nokeys.2.json" "$TMP/nokeys.2Y.json" >"$TMP/nokeys.check" 2>&1
check "no key log, reply cut anywhere: two passes show each reply once, whole" \
	grep -q ' 0 streams differ so far$' "$TMP/nokeys.check"
sed -n '1,20{/^#/!s/^/#   /p}' "$TMP/nokeys.check"
$RESEG check --no-keys --last-of-each --source "$TMP/mtu.payloads" --manifest \
	"$TMP/nokeys.tsv" "$TMP/nokeys.1.json" >"$TMP/nokeys1.check" 2>&1
$RESEG check --no-keys --source "$TMP/mtu.payloads" --manifest "$TMP/nokeys.tsv" \
	"$TMP/nokeys.1.json" >"$TMP/nokeys1.strict" 2>&1
check "no key log, one pass: a cut reply shows its first part, then itself whole (documented)" \
	sh -c "grep -q ' 0 streams differ so far\$' '$TMP/nokeys1.check' && \
	 ! grep -q ' 0 streams differ so far\$' '$TMP/nokeys1.strict'"
sed -n '1,20{/^#/!s/^/#   /p}' "$TMP/nokeys1.check"

# Limit 1: blowfish-112's server value has 2465 digits and could take another, so only the
# client's next message ends it: one pass shows it there, two passes in its own frame.
for p in 1 2; do
	ts $( [ $p = 2 ] && echo -2 ) -r captures/blowfish-112.pcapng \
		-o cvpn.keylog_file:captures/blowfish-112.keys -Y 'cvpn.dh.server_public' -T fields \
		-e tcp.srcport -e cvpn.type -e cvpn.note -E occurrence=a >"$TMP/late.$p"
done
check "a DH value that only the answer ends: one pass shows it there, two passes in its frame" \
	sh -c "grep -qx '[0-9]*	dhmke,data	ended by the client.s answer in this frame (lock-step)' \
	 '$TMP/late.1' && grep -qx '4600	dhmke	' '$TMP/late.2'"

# Limit 3: a DH value that could take another digit, after which nothing comes (the session
# cut after the client's value, its last digit dropped) is never shown as a message.
"$PY" -c '
import sys
lines, out = open(sys.argv[1]).read().split("\n"), []
for l in lines:
    w = l.split()
    if len(w) == 2 and bytes.fromhex(w[1]).startswith(b"DHMKE:"):
        out.append(w[0] + " " + w[1][:-2])
        break
    out.append(l)
open(sys.argv[2], "w").write("\n".join(out) + "\n")' "$TMP/mtu.payloads" "$TMP/cut.payloads"
$RESEG build --source "$TMP/cut.payloads" --keys $MTU_SRC.keys --out "$TMP/cut.pcap" \
	--keys-out "$TMP/cut.keys" --manifest "$TMP/cut.tsv" >/dev/null
ts -2 -r "$TMP/cut.pcap" -Y cvpn -T fields -e cvpn.type -e cvpn.part -E occurrence=a >"$TMP/cut.view"
check "a DH value that nothing ends is shown as a part, not complete, never as a message" \
	sh -c "[ \$(grep -c . '$TMP/cut.view') -eq 3 ] && \
	 grep -qx '	DHMKE client public' '$TMP/cut.view' && ! grep -q '^dhmke' '$TMP/cut.view'"

# Bytes that are not UTF-8 in a reply (a hostile or broken server): escaped as \xNN, and the
# JSON stays valid. The first reply gets a stray 0xff and ends inside a 3-byte character.
"$PY" -c '
import sys
lines = open(sys.argv[1]).read().split("\n")
for k, l in enumerate(lines):
    w = l.split()
    if len(w) == 2 and w[0] == "4600" and bytes.fromhex(w[1]) == b"Server says: olleh":
        lines[k] = "4600 " + b"Server says: ol\xffleh \xe2\x9c".hex()
        break
else:
    sys.exit("no reply olleh in " + sys.argv[1])
open(sys.argv[2], "w").write("\n".join(lines))' "$TMP/mtu.payloads" "$TMP/bad.payloads"
$RESEG build --source "$TMP/bad.payloads" --keys $MTU_SRC.keys --out "$TMP/bad.pcap" \
	--keys-out "$TMP/bad.keys" --manifest "$TMP/bad.tsv" >/dev/null
json_runs "$TMP/bad.pcap" "$TMP/bad.keys" bad
check "invalid UTF-8 in a reply: valid JSON, the bytes shown as \\xNN in one and two passes" \
	"$PY" -c '
import json, sys
for path in sys.argv[1:]:
    text = open(path, "rb").read().decode("utf-8")
    json.loads(text)
    assert text.count("Server says: ol\\\\xffleh \\\\xe2\\\\x9c\"") == 1, path
' "$TMP/bad.1.json" "$TMP/bad.2.json"

# Captures recorded at MTU 1280 (IPv4, IPv6) and 576 (IPv4) by captures/make-captures.sh:
# real segments no larger than the MTU, DH values cut, every message right in 1 and 2 passes.
for mc in mtu1280-ipv4 mtu1280-ipv6 mtu576-ipv4; do
	cap=captures/$mc.pcapng mtu=${mc#mtu}; mtu=${mtu%-*}
	largest=$(timeout 60 tshark -r "$cap" -T fields -e ip.len -e ipv6.plen 2>>"$ERRS" |
		awk -F '\t' '{ n = $1 != "" ? $1 : $2 + 40; if (n > max) max = n } END { print max + 0 }')
	split=$(ts -r "$cap" -o "cvpn.keylog_file:captures/$mc.keys" -Y 'cvpn.type=="dhmke"' \
		-T fields -e cvpn.segment -E occurrence=a | awk -F, '$0 != "" && NF >= 2' | wc -l)
	check "$mc: IP packets of at most $mtu bytes (largest $largest), both DH values cut" \
		[ "$largest" -le "$mtu" -a "$largest" -gt 500 -a "$split" -eq 2 ]
	payloads "$cap" >"$TMP/$mc.payloads"
	json_runs "$cap" "captures/$mc.keys" "$mc"
	$RESEG check --source "$TMP/$mc.payloads" "$TMP/$mc.1.json" "$TMP/$mc.2.json" \
		"$TMP/$mc.2Y.json" >"$TMP/$mc.check" 2>&1
	check "$mc: every message right in one pass, two passes and two passes with -Y" \
		grep -q ' 0 streams differ so far$' "$TMP/$mc.check"
	sed -n '1,20{/^#/!s/^/#   /p}' "$TMP/$mc.check"
done

# --- Channels and stealth (docs/SECURE.md sections 10 and 11), in generated sessions -------
# No recorded capture has channel records yet, nor could the programs send malformed ones:
# tests/integration/securegen.py writes whole secure sessions with known keys (records sealed
# by python3-cryptography), each also cut at other places, and what the dissector must show of
# every message, field by field, with its Info text: every channel record type, each REFUSE
# reason, a REKEY each way, DATA of 16384 bytes cut by TCP, malformed channel payloads and
# types from the wrong side, a stealth client's ClientHello and message 1 sent before the
# ServerHello, a new session from a client port used again, and the IP tunnel over TCP (section
# 12): CONFIG records, PACKET records whose ICMP, DNS and ICMPv6 packets Wireshark's own
# dissectors show (their fields compared too), malformed ones.

GEN="$PY tests/integration/securegen.py"
if need_package python3-cryptography "generated secure sessions (channels, stealth)"; then
	$GEN build --out "$TMP/gen.pcap" --keys-out "$TMP/gen.keys" --expect "$TMP/gen.json" \
		--copies 4 --mss 7 100 536 >"$TMP/gen.build" 2>&1
	cat "$TMP/gen.build"
	json_runs "$TMP/gen.pcap" "$TMP/gen.keys" gen "tcp $INNER_JSON" "$CHECKSUMS"
	ts -r "$TMP/gen.pcap" -o "cvpn.keylog_file:$TMP/gen.keys" -Y cvpn.type -T fields \
		-e tcp.stream -e _ws.col.Info >"$TMP/gen.info"
	$GEN check --expect "$TMP/gen.json" --info "$TMP/gen.info" "$TMP/gen.1.json" \
		"$TMP/gen.2.json" "$TMP/gen.2Y.json" >"$TMP/gen.check" 2>&1
	check "generated sessions ($(tail -n 1 "$TMP/gen.check" | sed 's/^# securegen: //')): every field, expert info and Info text right in 1 and 2 passes" \
		grep -q ' 0 differences$' "$TMP/gen.check"
	sed -n '1,20{/^#/!s/^/#   /p}' "$TMP/gen.check"
	# A few lines as a reader sees them (streams 0 to 4 are the sessions as sent: channels,
	# stealth, stealth2, malformed, again; the copies cut elsewhere follow).
	awk -F '\t' '$1 <= 4 { print $1 "\t" $2 }' "$TMP/gen.info" >"$TMP/gen.info0"
	for line in '0	Record #3 from client: DATA channel 1, 86 bytes' \
		'0	Record #2 from client: OPEN channel 1 to localhost:8000, window 262144' \
		'0	Record #4 from server: REFUSE channel 2: not allowed by the server "no permit for dénied.example:8080"' \
		'0	Record #5 from server: REFUSE channel 2: connection refused' \
		'0	Record #7 from client: OPEN channel 4 to [fd00::9]:25, window 262144' \
		'0	Record #11 from server: DATA channel 6, 16384 bytes' \
		'0	Record #12 from client: WINDOW channel 6, +16384 bytes' \
		'1	ClientHello: psk mode, suites AESGCM | Handshake 1: 60 bytes + mac1' \
		'1	ServerHello: AESGCM -> Noise_NNpsk0_25519_AESGCM_SHA256 | Handshake 2: 48 bytes' \
		'3	Record #1 from server: OPEN channel 10 to client.example:22, window 262144, MALFORMED: CHANNEL OPEN from the server' \
		'3	Record #6 from client: OPEN channel 9 to evil\x00.example:80, window 262144, MALFORMED: OPEN host has a NUL byte'; do
		grep -qxF "$line" "$TMP/gen.info0" || echo "#   not shown: $line"
	done >"$TMP/gen.lines"
	check "generated sessions: the Info column reads channels, stealth and malformed records" \
		[ ! -s "$TMP/gen.lines" ]
	cat "$TMP/gen.lines"
	# HTTP in a channel goes to Wireshark's HTTP dissector: in streams 0 and 1 a GET and its
	# response each (the second one's body goes on in a record that is shown as bytes), with
	# cvpn's Info column; every copy cut elsewhere the same; none with the preference off.
	for p in 1 2; do
		ts $( [ $p = 2 ] && echo -2 ) -r "$TMP/gen.pcap" -o "cvpn.keylog_file:$TMP/gen.keys" \
			-Y http -T fields -e tcp.stream -e http.request.method -e http.request.uri \
			-e http.response.code -e http.content_length -e _ws.col.Info -e _ws.malformed \
			>"$TMP/gen.http.$p"
	done
	printf '%s\n' '0	GET	/index.html			Record #3 from client: DATA channel 1, 86 bytes	' \
		'0			200	44	Record #3 from server: DATA channel 1, 142 bytes	' \
		'1	GET	/big.txt			Record #2 from client: DATA channel 7, 83 bytes	' \
		'1			200	20000	Record #2 from server: DATA channel 7, 16384 bytes	' \
		>"$TMP/gen.http.want"
	awk -F '\t' '$1 <= 1' "$TMP/gen.http.1" >"$TMP/gen.http.1s"
	same "HTTP in a channel: GETs and responses dissected, cvpn's Info column kept" \
		"$TMP/gen.http.want" "$TMP/gen.http.1s"
	copies=$("$PY" -c 'import json, sys
print(sum(1 for e in json.load(open(sys.argv[1])) if e["session"] == "channels"))' "$TMP/gen.json")
	check "HTTP in a channel: the same in each session's $copies streams, in one pass and two" \
		sh -c "[ \$(cut -f 2- '$TMP/gen.http.1' | sort | uniq -c | awk -v n=$copies '\$1 == n' |
		 wc -l) -eq 4 ] && [ \$(wc -l <'$TMP/gen.http.1') -eq \$((4 * $copies)) ] && \
		 cmp -s '$TMP/gen.http.1' '$TMP/gen.http.2'"
	ts -r "$TMP/gen.pcap" -o "cvpn.keylog_file:$TMP/gen.keys" -o cvpn.channel_http:FALSE \
		-Y 'http || cvpn.secure.channel.data.len' -T fields -e http.request.method \
		-e cvpn.secure.channel.data.len >"$TMP/gen.nohttp"
	check "HTTP in channels off (cvpn.channel_http:FALSE): the DATA records, no HTTP" \
		sh -c "[ -s '$TMP/gen.nohttp' ] && ! grep -q GET '$TMP/gen.nohttp'"
	# The stealth client's hello and message 1 share a frame, before any byte of the server.
	ts -r "$TMP/gen.pcap" -o "cvpn.keylog_file:$TMP/gen.keys" -Y 'tcp.stream == 1 && tcp.len > 0' \
		-T fields -e tcp.srcport -e _ws.col.Info | head -n 2 >"$TMP/gen.stealth"
	check "stealth: ClientHello and message 1 in the client's first segment, then the server's" \
		sh -c "head -n 1 '$TMP/gen.stealth' | grep -q '^30001	ClientHello: .* | Handshake 1: ' && \
		 tail -n 1 '$TMP/gen.stealth' | grep -q '^4600	ServerHello: '"
	# Without the key log: every record framed, no channel field, the reason given.
	ts -r "$TMP/gen.pcap" -Y 'tcp.stream <= 4 && cvpn.type' -T fields -e cvpn.type \
		-e cvpn.secure.channel.id -e cvpn.secure.record.type -e cvpn.decrypt_status \
		-E occurrence=a -E aggregator='|' >"$TMP/gen.nokeys"
	ts -r "$TMP/gen.pcap" -V >"$TMP/gen.nokeys.V"
	records=$("$PY" -c 'import json, sys
print(sum(1 for e in json.load(open(sys.argv[1])) if e["stream"] <= 4
          for m in e["messages"] if m["fields"]["cvpn.type"] == ["record"]))' "$TMP/gen.json")
	check "generated sessions without a key log: $records records framed, no channel field" \
		awk -F '\t' -v want="$records" '{ n = split($1, t, "|"); for (i = 1; i <= n; i++)
			if (t[i] == "record") r++; s += gsub(/no key log: set the preference/, "", $4)
			if ($2 $3 != "") bad = 1 } END { exit !(r == want && s == want && !bad) }' \
		"$TMP/gen.nokeys"
	check "generated sessions without a key log: no channel payload in the tree" sh -c \
		"! grep -q 'Channel\|GET /\|localhost' '$TMP/gen.nokeys.V'"
	cat "$TMP/gen.nokeys.V" >>"$TMP/all-trees.txt"
	ts -r "$TMP/gen.pcap" -o "cvpn.keylog_file:$TMP/gen.keys" -Y 'tcp.stream <= 5' -V \
		>>"$TMP/all-trees.txt"
	# The IP tunnel over TCP (stream 5): the CONFIG's entries, and each PACKET's inner packet
	# handed to Wireshark's IP dissector, whose ICMP, UDP, DNS and ICMPv6 fields appear.
	awk -F '\t' '$1 == 5 { print $2 }' "$TMP/gen.info" >"$TMP/gen.tunnel.info"
	for line in \
		'Record #1 from server: CONFIG 10.8.0.2/24, MTU 1420, route 192.168.50.0/24, route 0.0.0.0/0, type 9 (3 bytes), keepalive 25 s' \
		'Record #1 from client: PACKET IPv4 ICMP 10.8.0.2 -> 10.8.0.1, 79 bytes' \
		'Record #3 from client: PACKET IPv6 ICMPv6 fd00:8::2 -> fd00:8::1, 57 bytes' \
		'Record #4 from client: PACKET IPv4 ICMP 10.8.0.2 -> 10.8.0.1, 31 bytes | Record #5 from client: PACKET IPv4 UDP 10.8.0.2 -> 192.168.50.7, 38 bytes' \
		'Record #7 from client: CONFIG 10.8.0.2/24, MALFORMED: CONFIG from the client' \
		'Record #11 from server: CONFIG route 10.8.0.1/24, MALFORMED: CONFIG route 10.8.0.1/24 has host bits set' \
		'Record #8 from client: PACKET, 7 bytes, MALFORMED: PACKET holds no IPv4 or IPv6 packet (version 0)'; do
		grep -qxF "$line" "$TMP/gen.tunnel.info" || echo "#   not shown: $line"
	done >"$TMP/gen.tunnel.lines"
	check "IP tunnel over TCP: the Info column reads CONFIG entries and PACKETs' inner packets" \
		[ ! -s "$TMP/gen.tunnel.lines" ]
	cat "$TMP/gen.tunnel.lines"
	for p in 1 2; do
		ts $( [ $p = 2 ] && echo -2 ) -r "$TMP/gen.pcap" -o "cvpn.keylog_file:$TMP/gen.keys" \
			-Y 'tcp.stream == 5 && cvpn.tunnel.packet' -T fields -e cvpn.secure.sender \
			-e cvpn.secure.record -e icmp.type -e icmp.seq -e udp.dstport -e dns.qry.name -e dns.a \
			-e icmpv6.type -E occurrence=a -E aggregator='|' >"$TMP/gen.inner.$p"
	done
	printf '%s\n' 'client	1	8	1				' 'server	2	0	1				' \
		'client	2			53	intranet.example		' \
		'server	3			53000	intranet.example	192.168.50.7	' \
		'client	3						128' 'server	4						129' \
		'client|client	4|5	8	2	9			' 'client	6	8	3				' \
		'server	5	0	3				' >"$TMP/gen.inner.want"
	same "IP tunnel over TCP: Wireshark's ICMP, UDP, DNS and ICMPv6 fields for each PACKET (one pass)" \
		"$TMP/gen.inner.want" "$TMP/gen.inner.1"
	same "IP tunnel over TCP: the same in two passes" "$TMP/gen.inner.want" "$TMP/gen.inner.2"
	ts -r "$TMP/gen.pcap" -Y 'tcp.stream == 5 && (ip.src == 10.8.0.2 || icmp || dns || ipv6)' \
		-T fields -e frame.number >"$TMP/gen.inner.nokeys"
	check "IP tunnel over TCP without the key log: no inner packet dissected" \
		[ ! -s "$TMP/gen.inner.nokeys" ]
fi

# --- The UDP transport (docs/SECURE.md section 12), in a generated capture ----------------
# tests/integration/udpgen.py writes a capture of two clients (35 packets: handshakes, a
# COOKIE, a second handshake whose keys replace the first while DATA under both is in flight, a
# roaming client, keepalives, ICMP echo, DNS and ICMPv6 echo packets in DATA, a replayed DATA, a
# bit-flipped DATA, a counter too old for the window, malformed packets) with the key log and
# what the dissector must show of every packet: its fields, expert infos, Info text and the
# fields Wireshark's IP, ICMP, UDP, DNS and ICMPv6 dissectors give its inner packet. Checked with
# the key log in one pass and two, without it, and on another port (the heuristic).

UGEN="$PY tests/integration/udpgen.py"
if need_package python3-cryptography "generated UDP transport capture"; then
	for port in 4600 5600; do
		$UGEN build --out "$TMP/udp$port.pcap" --keys-out "$TMP/udp$port.keys" \
			--expect "$TMP/udp$port.json" --server-port $port
		ts -r "$TMP/udp$port.pcap" -o "cvpn.keylog_file:$TMP/udp$port.keys" -Y cvpn -T fields \
			-e frame.number -e _ws.col.Info >"$TMP/udp$port.info"
	done
	json_runs "$TMP/udp4600.pcap" "$TMP/udp4600.keys" udp "frame udp $INNER_JSON" "$CHECKSUMS"
	$UGEN check --expect "$TMP/udp4600.json" --info "$TMP/udp4600.info" "$TMP/udp.1.json" \
		"$TMP/udp.2.json" "$TMP/udp.2Y.json" >"$TMP/udp.check" 2>&1
	check "UDP transport with the key log: every field, expert info, Info text and inner packet right in 1 and 2 passes" \
		grep -q ' 0 differences$' "$TMP/udp.check"
	sed -n '1,20{/^#/!s/^/#   /p}' "$TMP/udp.check"
	json_runs "$TMP/udp4600.pcap" - udpn "frame udp $INNER_JSON" "$CHECKSUMS"
	ts -r "$TMP/udp4600.pcap" -Y cvpn -T fields -e frame.number -e _ws.col.Info >"$TMP/udpn.info"
	$UGEN check --mode nokeys --expect "$TMP/udp4600.json" --info "$TMP/udpn.info" \
		"$TMP/udpn.1.json" "$TMP/udpn.2.json" >"$TMP/udpn.check" 2>&1
	check "UDP transport without the key log: headers, indexes, counters, lengths and replays framed, no inner packet" \
		grep -q ' 0 differences$' "$TMP/udpn.check"
	sed -n '1,20{/^#/!s/^/#   /p}' "$TMP/udpn.check"
	json_runs "$TMP/udp5600.pcap" "$TMP/udp5600.keys" udph "frame udp $INNER_JSON" "$CHECKSUMS"
	$UGEN check --expect "$TMP/udp5600.json" --info "$TMP/udp5600.info" "$TMP/udph.1.json" \
		"$TMP/udph.2.json" >"$TMP/udph.check" 2>&1
	check "UDP transport on port 5600: found by the heuristic, the same" \
		grep -q ' 0 differences$' "$TMP/udph.check"
	sed -n '1,20{/^#/!s/^/#   /p}' "$TMP/udph.check"
	# A few lines as a reader sees them.
	for line in \
		'1	INIT: handshake 1, client index 0xe64daef9, ChaChaPoly' \
		'3	DATA to server, handshake 1 (index 0xe95e48f8), counter 0: IPv4 ICMP 10.8.0.2 -> 10.8.0.1, 76 bytes' \
		'7	DATA to server, handshake 1 (index 0xe95e48f8), counter 2: keepalive' \
		'10	DATA to server, handshake 1 (index 0xe95e48f8), counter 3: IPv4 ICMP 10.8.0.2 -> 10.8.0.1, 31 bytes, REPLAY of frame 9' \
		'11	DATA to client, handshake 1 (index 0xe64daef9), counter 2: 48 bytes sealed, BAD TAG' \
		'12	DATA to server, handshake 1 (index 0xe95e48f8), counter 5: IPv6 ICMPv6 fd00:8::2 -> fd00:8::1, 56 bytes' \
		'15	DATA to server, handshake 1 (index 0xe95e48f8), counter 6: IPv4 UDP 10.8.0.2 -> 192.168.50.7, 36 bytes' \
		'17	DATA to server, handshake 2 (index 0x6b5f4779), counter 0: IPv4 ICMP 10.8.0.2 -> 10.8.0.1, 76 bytes' \
		'24	COOKIE to client index 0xd1d8e27c (handshake 1)' \
		'25	INIT: handshake 2, client index 0x32cd97bb, AESGCM, mac2 set (a cookie)' \
		'30	DATA to server, handshake 2 (index 0x234104f1), counter 5: IPv4 ICMP 10.8.0.2 -> 10.8.0.1, 35 bytes, TOO OLD'; do
		grep -qxF "$line" "$TMP/udp4600.info" || echo "#   not shown: $line"
	done >"$TMP/udp.lines"
	check "UDP transport: the Info column reads handshakes, counters, inner packets and verdicts" \
		[ ! -s "$TMP/udp.lines" ]
	cat "$TMP/udp.lines"
	# Wireshark's own fields for the inner packets, and the filters a reader would use.
	ts -r "$TMP/udp4600.pcap" -o "cvpn.keylog_file:$TMP/udp4600.keys" \
		-Y 'cvpn.udp.handshake == 1 && icmp.type == 8' -T fields -e frame.number -e icmp.seq \
		-e cvpn.udp.counter >"$TMP/udp.icmp"
	printf '3	1	0\n8	3	4\n9	2	3\n10	2	3\n' >"$TMP/udp.icmp.want"
	same "UDP transport: filters on the handshake and the inner ICMP find the echo requests" \
		"$TMP/udp.icmp.want" "$TMP/udp.icmp"
	ts -r "$TMP/udp4600.pcap" -o "cvpn.keylog_file:$TMP/udp4600.keys" -Y cvpn.replay -T fields \
		-e frame.number -e _ws.expert.severity -E occurrence=l >"$TMP/udp.replay"
	check "UDP transport: replays (a DATA, an INIT) and the counter too old are warnings (cvpn.replay)" \
		sh -c "[ \"\$(cut -f 1 '$TMP/udp.replay' | tr '\n' ' ')\" = '10 30 32 ' ] && \
		 [ \$(grep -c '	6291456\$' '$TMP/udp.replay') -eq 3 ]"
	ts -r "$TMP/udp4600.pcap" -o "cvpn.keylog_file:$TMP/udp4600.keys" -V >>"$TMP/all-trees.txt"
	ts -r "$TMP/udp4600.pcap" -V >>"$TMP/all-trees.txt"
	ts -r "$TMP/udp5600.pcap" -o "cvpn.keylog_file:$TMP/udp5600.keys" -V >>"$TMP/all-trees.txt"
fi

# The dissector's DH_GROW_LIMIT is floor((p - 2) / 10) for group 18's p, as the independent
# Python peer computes p (RFC 3526's formula, checked against its SHA-256).
check "DH_GROW_LIMIT in cvpn.lua is floor((p - 2) / 10) of the RFC 3526 group 18 prime" \
	"$PY" -c '
import re, sys
sys.path.insert(0, "tests/interop")
from labpeer import P
lua = open(sys.argv[1]).read()
limit = re.sub(r"\s", "", re.search(r"DH_GROW_LIMIT = \(\[\[(.*?)\]\]", lua, re.S).group(1))
sys.exit(int(limit) != (P - 2) // 10)
' "$LUA"

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
