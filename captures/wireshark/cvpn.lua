-- SPDX-License-Identifier: MIT
--[[
cvpn.lua: Wireshark/tshark (4.0, Lua 5.2) dissector for the "Custom VPN" lab protocol
(docs/PROTOCOL.md): ProposedCiphers, ChosenCipher, DHMKE, CBC data messages with an
HMAC-SHA256 tag, and the server's replies, on TCP port 4600 (and on any port, found
heuristically from "ProposedCiphers" at the start of a connection). Also its secure profile
(docs/SECURE.md), told apart as the server does by the magic "CVPN" at the start of a
connection: the cleartext hellos, the two Noise handshake messages and the AEAD records; and its
UDP transport for the IP tunnel (docs/SECURE.md section 12) on UDP port 4600.

Load it
    tshark -X lua_script:captures/wireshark/cvpn.lua -r captures/aes-256.pcapng
    make install-wireshark     (copies it to ~/.local/lib/wireshark/plugins/)

Decrypt with a key log (written by cvpn-client/cvpn-server --keylog FILE or $CVPN_KEYLOGFILE)
    apt-get install lua-luaossl
    Wireshark: Edit > Preferences > Protocols > CVPN > Key log file
    tshark:    -o cvpn.keylog_file:captures/aes-256.keys
Filters: cvpn.plaintext, cvpn.tag_ok == 0, cvpn.type == "data", _ws.expert.message contains "HMAC",
cvpn.bad_hmac (a bad tag in either profile), cvpn.secure.record.type == "REKEY",
cvpn.secure.channel.id == 3, cvpn.secure.channel.type == "OPEN", cvpn.malformed,
cvpn.tunnel.config.type, cvpn.tunnel.packet && icmp (a packet in the IP tunnel),
cvpn.udp.type == 4 (UDP DATA), cvpn.udp.handshake == 2, cvpn.udp.keepalive, cvpn.replay.

Crypto comes from Debian's lua-luaossl (require "openssl.cipher", "openssl.hmac"). Without it,
or without a key log line for the session, every field but the plaintext is still shown, and
cvpn.decrypt_status says why there is no plaintext.

OpenSSL 3 and the legacy provider (what was found on Debian 12, luaossl 20220711, OpenSSL 3.0):
  * AES-*-CBC, DES-EDE-CBC and DES-EDE3-CBC are in the default provider: nothing to do.
  * DES-CBC lives in the legacy provider. The dissector does not need it: two-key triple DES
    with K1 = K2 = K is E_K(D_K(E_K(x))) = E_K(x), single DES, so DES falls back to
    DES-EDE-CBC with the key doubled (cvpn.decryptor says which one was used). To use OpenSSL's
    own DES-CBC instead, start Wireshark with OPENSSL_CONF pointing at a file that activates
    the legacy provider next to the default one (captures/wireshark/openssl-legacy.cnf):
        openssl_conf = openssl_init
        [openssl_init]
        providers = provider_sect
        [provider_sect]
        default = default_sect
        legacy = legacy_sect
        [default_sect]
        activate = 1
        [legacy_sect]
        activate = 1
    e.g. OPENSSL_CONF=captures/wireshark/openssl-legacy.cnf wireshark ...
  * BF-CBC also needs the legacy provider, and even with it luaossl cannot use the lab's key
    sizes: cipher:decrypt() insists on the cipher's default key length (16 bytes) and luaossl
    has no way to call EVP_CIPHER_CTX_set_key_length(), so 14-, 28- and 56-byte Blowfish keys
    are refused. Blowfish is therefore done in Lua below (its tables are the hex digits of pi).
  * XOR and None are done in Lua. HMAC-SHA256 always comes from luaossl.
  If a cipher still cannot be set up (an OpenSSL without DES, a FIPS-only configuration),
  cvpn.decrypt_status reads "cipher not available: ..." and the tags are still checked.

Secure profile: key log lines CVPN_SECURE <client> <server> <Noise protocol> <client-to-server
key> <server-to-client key> (the two keys of Noise's Split()). Record n of a direction (from 1)
has the nonce counter n - 1; a REKEY record that decrypts moves its sender's direction to
Rekey(k) for the records after it (a REKEY that does not decrypt cannot be followed, so that
direction's later records then fail too). The AEAD, as found on Debian 12 (luaossl 20220711,
OpenSSL 3.0):
  * openssl.cipher knows "chacha20-poly1305" and "aes-256-gcm" and has setTag()/getTag(), but
    cipher:update() always gives EVP_CipherUpdate() an output buffer, and OpenSSL takes
    associated data only when that buffer is NULL: the AD (the record's 2 length bytes) cannot
    be passed (fed through update() it is decrypted as ciphertext), so setTag() + final() only
    checks a tag over no AD and refuses every record.
  * So OpenSSL decrypts (the keystream does not depend on the AD or the tag) and provides the
    one-time values: ChaCha20 block 0 (the "chacha20" cipher with counter 0) as the Poly1305
    key, AES-256-ECB of the zero block (H) and of J0 for GCM. The tag over AD and ciphertext
    is computed here in Lua (Poly1305 in 13-bit limbs, GHASH bit by bit) and compared; it was
    checked against python3-cryptography. Rekey() has no AD and is OpenSSL's alone.
  A record whose tag fails shows no plaintext, cvpn.tag_ok false and the lab's bad-tag expert
  info (cvpn.bad_hmac, "bad AEAD tag"); a record that decrypts but that a receiver refuses
  (padding, type, direction, UTF-8; docs/SECURE.md section 7) is shown with a cvpn.malformed
  expert info saying why.
Channel records (port forwarding, docs/SECURE.md section 10; record types CHANNEL OPEN to
CHANNEL WINDOW) show their fields under cvpn.secure.channel.id: the type (OPEN, ACCEPT, REFUSE,
DATA, EOF, CLOSE, WINDOW), the host, port and window of an OPEN, the window of an ACCEPT, the
increment of a WINDOW, the reason (with its text) and detail of a REFUSE, the bytes and length
of a DATA, and the destination of the channel's OPEN on every later record of its id. A payload
that breaks section 10 as common/chan.c checks it (short, a bad length, a host that is empty,
has a NUL or is not UTF-8, a zero or too large window, port 0, an unknown reason, a detail too
long or not UTF-8, DATA without a byte) or a type from the wrong side (OPEN from the server,
ACCEPT or REFUSE from the client) gets a cvpn.malformed expert info, and the fields it has.
DATA that starts an HTTP/1.x request or response is handed to Wireshark's HTTP dissector
(preference "Dissect HTTP in channels"); other DATA is shown as bytes.
The IP tunnel over TCP (docs/SECURE.md section 12; record types CONFIG and PACKET): a CONFIG's
entries under cvpn.tunnel.config.type (the client's address and prefix, the MTU, each route, the
keepalive; a type cvpn does not know as bytes, skipped), a PACKET's inner IPv4 or IPv6 packet
summed up in cvpn.tunnel.packet ("IPv4 ICMP 10.8.0.2 -> 10.8.0.1, 84 bytes") and handed to
Wireshark's "ip" or "ipv6" dissector, so that its ICMP, UDP, TCP, DNS... show as in any tunnel
(the frame keeps its own addresses in the Source and Destination columns). A CONFIG from the
client or one that common/tunconf.c refuses (an entry cut short, a known type of the wrong
length, a prefix past 32, host bits in a route, an MTU under 576, more than 32 routes), and a
PACKET that holds no IPv4 or IPv6 packet, get a cvpn.malformed expert info.

Framing (the protocol has none, see docs/PROTOCOL.md, "Reading without framing"): the
dissector reads each direction of a connection as one stream of bytes, wherever TCP cut it
(it never asks TCP to reassemble), and knows which message comes next in it. A message ends
where its grammar ends it, or where the peer speaks: the protocol is lock-step, so bytes from
the other side prove that the message this side was sending is complete. Never at a digit
count or a segment boundary alone:
  * a proposal ends after a "]" that no "," follows, or at a newline;
  * a ChosenCipher ends after a size that no longer known size begins, or at a newline;
  * a DHMKE value ends at a non-digit, at 2467 digits, or where every next digit would pass
    p - 2 (about 9 values in 10 end so); a value that could take another digit is held;
  * a data message ends after the first 16-aligned run of 64 lowercase hex characters whose
    tag verifies (with keys), or after the first such run (without);
  * a reply ends as the text it must have ("Server says: " + the decrypted message reversed,
    or that text alone) and any NULs after it; a beginning of that text, or a reply that
    stops inside a UTF-8 character, is held. Without that text (no key log, or the message
    did not decrypt) a reply runs to the end of the bytes seen.
A message that ends with the bytes seen is taken as complete and grows if the same side sends
more before the peer speaks (another proposal entry, more of a reply, NULs, a line ending). A
message is shown in the frame of its last byte, from a "Reassembled cvpn" tab when it spans
segments (cvpn.segment lists them); an earlier frame shows the part it carries (cvpn.part,
cvpn.reassembled_in). No field holds bytes that are not UTF-8: they read \xNN.

Limits, where a reader that has not seen what comes next cannot know (each one tested in
tests/integration/test_dissector.sh):
  1. One pass (tshark without -2) cannot look ahead: a held message that only the peer's
     answer completes (a DHMKE value that could take another digit, whole or cut by TCP) is
     shown in the frame of that answer, with the note "ended by the ...'s answer". Two passes
     (tshark -2, and Wireshark, which reads every packet once before showing any) show it in
     the frame of its last byte.
  2. One pass: a message that goes on in a later segment, where the bytes seen could already
     be the whole message (a reply without its expected text cut by TCP, a proposal cut just
     after an entry's "]", a line ending alone in a segment), is shown as it stands, then
     again, whole, where it ends. Two passes show it once.
  3. A held message that neither more bytes nor the peer's answer complete (the connection or
     the capture ends first) is not shown as a message: its frames show a part that is "not
     complete".

In the secure profile the hellos have a fixed layout and everything after them a u16 length,
so messages are reassembled and split by their lengths alone.

The UDP transport (docs/SECURE.md section 12), on UDP port 4600 and on any port where a packet's
type (1 to 4), reserved bytes, mode and suite and length fit (the rest of its conversation then
follows it): INIT (mode, suite, sender index, the Noise message's parts, mac1, mac2 and whether
it is set), RESPONSE (sender and receiver indexes, the length of the sealed configuration),
COOKIE (receiver index) and DATA (receiver index, counter). Key log lines CVPN_UDP <client>
<server> <Noise protocol> <client index> <server index> <client-to-server key>
<server-to-client key>, one per handshake: a DATA packet's receiver index picks its line and its
direction (a server index: to the server, under the client-to-server key; any addresses, as a
client may roam), its counter is the nonce (in the suite's Noise format), its first 16 bytes the
associated data; the plaintext, trimmed to the length its IP header gives, goes to Wireshark's
IP dissector, and an empty one is a keepalive. Handshakes are numbered by their INITs in their
conversation (cvpn.udp.handshake, with both indexes and the frames of its INIT and RESPONSE). A
DATA whose counter came before under the same index, or that is 1984 or more behind the highest
(RFC 6479's window, common/replaywin.c), and a copy of an INIT, get a cvpn.replay warning (with
the key log only authenticated counters count, as for a receiver; without it, all). A plaintext
that is no whole IP packet, and a packet whose length its type cannot have, get cvpn.malformed.
Each datagram is one packet, read once on the first pass: one pass and two show the same.

Wireshark calls dissectors many times and out of order, the first time without a protocol
tree (tcp.stream is then unknown): a connection is keyed by its two endpoints in a fixed order
(a client that opens a new session from the same port starts a new one), all its state (the
bytes read, phase of each direction, CBC chain, cumulative HMAC, XOR position, secure keys and
record counts) is built the first time each frame is seen, and each frame keeps its place in
its direction's stream; later passes only show the messages found there.
]]

local PORT = 4600
local DH_MAX_DIGITS = 2467    -- p, the group 18 prime, has 2467 digits
-- floor((p - 2) / 10): a value y can take one more digit (y*10 + d <= p - 2) exactly when
-- y <= this number (docs/PROTOCOL.md, "Reading without framing"; common/dh.c does the same).
local DH_GROW_LIMIT = ([[
	109074813561941592945029492935978450034815512495317221177410110696615016892278563902853247384883
	681776971216416907643296922469875267467766273999426578543723359615704597092233804069810050786103
	304731233182398243527947570019986097161273254052879655450286791974677698375939147598714252131587
	871957751914881183087991942693995848708754096571641916746749932615622652967520917227700137759124
	814756378288055886108332717415401497513489312511601577631889029596069801161415772128252753946881
	651931933333750311477719236041228172101895583437761548046847925274886732036238535559660179512280
	675621771357981987063432156190781325515370395079527123265240489498386949217448165230380349888136
	621050864726366837651413103110233683748899977574404673365182723939535354034841487285463971929469
	432345018688418982254454064722698729216069318473465494190693664657613026097219328031717169641897
	155395416144619175909371952495111670557736207348131929604120128351615426904438925772770028968411
	946028348045230620413002491387998113590802698386820596931816781968085099864969441690795271290496
	240493777578969891720735635522745506618381584766913553054975543981948032173292586906913614608532
	638233462874545639807160305805163420938670870330654590319960852382451372962513665912822110096773
	545051995240424819826281383109737426165038001727791697532413484657468130733701738083035368062321
	633694947130619168643824930568641338023104609645095359408937554028503729247092939511402830554745
	258496207430943815182543790297601289174935519867842060372203490031136489304649576140433393868614
	003784803091629254327368453364003263763910077450237154247930247369838869289242094647894773380038
	778274141778648477019010886787977899163321862864053398261932246615488301145229189025233648723608
	665439609385389862880581317755916207636315443649447750787129411984163786770172216660983120184548
	407807051804133686980839845462558692120130818563888808269940868653604519264956919811035365994311
	180230063610650986502394366182943642656300791728205089442938884174888539829070774305297360535927
	751574961973082377321589475512176146788786532770711557380426451920634921585019519536481338752681
	174247413154980213024650634120702033579770678070540694527543880626597851620970679570257924407538
	049023174103086261496878330620786968786810842363997198320907762475808049998827559139278726762718
	244289280964687422826317243564236858826013916196283612148196609274532548864105423883929513899297
	933544611009032523095527687052461135912491839274035315429485838335
]]):gsub("%s", "")
local MAX_DATA_MESSAGE = 65536 -- give up looking for a tag after this many bytes
local TAG_HEX_LEN = 64

----------------------------------------------------------------------------------------------
-- Optional crypto: Debian's lua-luaossl
----------------------------------------------------------------------------------------------

local ossl = {}
do
	local ok_c, cipher = pcall(require, "openssl.cipher")
	local ok_h, hmac = pcall(require, "openssl.hmac")
	if ok_c and ok_h then
		ossl.cipher, ossl.hmac = cipher, hmac
	else
		local err = tostring(ok_c and hmac or cipher):match("^[^\n]*"):gsub("[:%s]+$", "")
		ossl.missing = "lua-luaossl is not installed (apt-get install lua-luaossl): " .. err
	end
end

-- OpenSSL error strings from luaossl sometimes carry a garbled prefix; keep the useful tail.
local function short_error(err)
	err = tostring(err)
	return err:match("error:%x+:(.*)$") or err:match("([^\n]*)")
end

----------------------------------------------------------------------------------------------
-- Small helpers
----------------------------------------------------------------------------------------------

local band, bxor, rshift = bit32.band, bit32.bxor, bit32.rshift

local function tohex(s)
	return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function fromhex(h)
	return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

-- Reverses UTF-8 text by code point, as the server does (Python's str[::-1]): the bytes
-- reversed, then each character's bytes (now continuation bytes before their lead byte) put
-- back in order.
local function reverse_utf8(s)
	return (s:reverse():gsub("[\128-\191]+[\192-\255]", string.reverse))
end

local function strip_nuls(s)
	return (s:gsub("^%z+", ""):gsub("%z+$", ""))
end

-- The length of the strict UTF-8 character at s[i] (no overlong forms, surrogates or code
-- points past U+10FFFF), or nil when there is none.
local function utf8_char_len(s, i)
	local c = s:byte(i)
	local n, min, cp
	if c < 0x80 then return 1
	elseif c >= 0xC2 and c <= 0xDF then n, min, cp = 2, 0x80, c - 0xC0
	elseif c >= 0xE0 and c <= 0xEF then n, min, cp = 3, 0x800, c - 0xE0
	elseif c >= 0xF0 and c <= 0xF4 then n, min, cp = 4, 0x10000, c - 0xF0
	else return nil end
	for k = 1, n - 1 do
		local cc = s:byte(i + k)
		if not cc or cc < 0x80 or cc > 0xBF then return nil end
		cp = cp * 64 + (cc - 0x80)
	end
	if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return nil end
	return n
end

-- Strict UTF-8, which the server requires of DATA. A lead byte and the continuation bytes
-- after it must be one character, and no continuation byte may stand alone; texts use few
-- distinct characters, so each verdict is remembered (up to a bound: the bytes may be random).
local char_ok, char_ok_count = {}, 0
local function valid_utf8(s)
	if s:find("^[\128-\191]") or s:find("[%z\1-\127][\128-\191]") then return false end
	for ch in s:gmatch("[\192-\255][\128-\191]*") do
		local ok = char_ok[ch]
		if ok == nil then
			ok = utf8_char_len(ch, 1) == #ch
			if char_ok_count >= 4096 then char_ok, char_ok_count = {}, 0 end
			char_ok[ch], char_ok_count = ok, char_ok_count + 1
		end
		if not ok then return false end
	end
	return true
end

-- Text for a field or a column: valid UTF-8, each byte that is not part of a character
-- written as \xNN, so that no field (and no line of tshark's JSON) holds half a character.
local function utf8_safe(s)
	if not s:find("[\128-\255]") or valid_utf8(s) then return s end
	local out, i = {}, 1
	while i <= #s do
		local n = utf8_char_len(s, i) or 0
		out[#out + 1] = n > 0 and s:sub(i, i + n - 1) or string.format("\\x%02x", s:byte(i))
		i = i + math.max(n, 1)
	end
	return table.concat(out)
end

-- Exact bit length of a decimal number of any size (the DH public values are ~2466 digits).
-- Converts to base-2^24 limbs; every intermediate stays below 2^53, so doubles are exact.
local function exact_bit_length(digits)
	digits = digits:gsub("^0+", "")
	if digits == "" then return 0 end
	local BASE = 16777216
	local limbs = { 0 }
	local first = (#digits - 1) % 6 + 1
	local i = 1
	while i <= #digits do
		local n = (i == 1) and first or 6
		local carry = tonumber(digits:sub(i, i + n - 1))
		local mul = 10 ^ n
		for j = 1, #limbs do
			local v = limbs[j] * mul + carry
			limbs[j] = v % BASE
			carry = math.floor(v / BASE)
		end
		while carry > 0 do
			limbs[#limbs + 1] = carry % BASE
			carry = math.floor(carry / BASE)
		end
		i = i + n
	end
	local top, bits = limbs[#limbs], 0
	while top >= 1 do top = math.floor(top / 2); bits = bits + 1 end
	return (#limbs - 1) * 24 + bits
end

-- The same, fast: floor(log2(y)) + 1 from the leading 17 digits is off by far less than 1e-9,
-- so it is exact unless log2(y) lies that close to a whole number; only then count exactly.
local function decimal_bit_length(digits)
	digits = digits:gsub("^0+", "")
	if #digits <= 17 then return exact_bit_length(digits) end
	local log2 = (#digits - 17 + math.log(tonumber(digits:sub(1, 17)), 10)) / math.log(2, 10)
	local whole = math.floor(log2 + 0.5)
	if math.abs(log2 - whole) < 1e-9 then return exact_bit_length(digits) end
	return math.floor(log2) + 1
end

----------------------------------------------------------------------------------------------
-- Blowfish-CBC in Lua (luaossl cannot key BF-CBC with 14, 28 or 56 bytes, see the top)
----------------------------------------------------------------------------------------------

local blowfish = {}
do
	-- The fractional part of pi in hex: P-array (18 words), then S-boxes 0..3 (256 words each).
	local PI_HEX = [[
	243f6a8885a308d313198a2e03707344a4093822299f31d0082efa98ec4e6c89452821e638d01377be5466cf34e90c6c
	c0ac29b7c97c50dd3f84d5b5b54709179216d5d98979fb1bd1310ba698dfb5ac2ffd72dbd01adfb7b8e1afed6a267e96
	ba7c9045f12c7f9924a19947b3916cf70801f2e2858efc16636920d871574e69a458fea3f4933d7e0d95748f728eb658
	718bcd5882154aee7b54a41dc25a59b59c30d5392af26013c5d1b023286085f0ca417918b8db38ef8e79dcb0603a180e
	6c9e0e8bb01e8a3ed71577c1bd314b2778af2fda55605c60e65525f3aa55ab945748986263e8144055ca396a2aab10b6
	b4cc5c341141e8cea15486af7c72e993b3ee1411636fbc2a2ba9c55d741831f6ce5c3e169b87931eafd6ba336c24cf5c
	7a325381289586773b8f48986b4bb9afc4bfe81b6628219361d809ccfb21a991487cac605dec8032ef845d5de98575b1
	dc262302eb651b8823893e81d396acc50f6d6ff383f442392e0b4482a484200469c8f04a9e1f9b5e21c66842f6e96c9a
	670c9c61abd388f06a51a0d2d8542f68960fa728ab5133a36eef0b6c137a3be4ba3bf0507efb2a98a1f1651d39af0176
	66ca593e82430e888cee8619456f9fb47d84a5c33b8b5ebee06f75d885c12073401a449f56c16aa64ed3aa62363f7706
	1bfedf72429b023d37d0d724d00a1248db0fead349f1c09b075372c980991b7b25d479d8f6e8def7e3fe501ab6794c3b
	976ce0bd04c006bac1a94fb6409f60c45e5c9ec2196a246368fb6faf3e6c53b51339b2eb3b52ec6f6dfc511f9b30952c
	cc814544af5ebd09bee3d004de334afd660f2807192e4bb3c0cba85745c8740fd20b5f39b9d3fbdb5579c0bd1a60320a
	d6a100c6402c7279679f25fefb1fa3cc8ea5e9f8db3222f83c7516dffd616b152f501ec8ad0552ab323db5fafd238760
	53317b483e00df829e5c57bbca6f8ca01a87562edf1769dbd542a8f6287effc3ac6732c68c4f5573695b27b0bbca58c8
	e1ffa35db8f011a010fa3d98fd2183b84afcb56c2dd1d35b9a53e479b6f84565d28e49bc4bfb9790e1ddf2daa4cb7e33
	62fb1341cee4c6e8ef20cada36774c01d07e9efe2bf11fb495dbda4dae909198eaad8e716b93d5a0d08ed1d0afc725e0
	8e3c5b2f8e7594b78ff6e2fbf2122b648888b812900df01c4fad5ea0688fc31cd1cff191b3a8c1ad2f2f2218be0e1777
	ea752dfe8b021fa1e5a0cc0fb56f74e818acf3d6ce89e299b4a84fe0fd13e0b77cc43b81d2ada8d9165fa26680957705
	93cc7314211a1477e6ad206577b5fa86c75442f5fb9d35cfebcdaf0c7b3e89a0d6411bd3ae1e7e4900250e2d2071b35e
	226800bb57b8e0af2464369bf009b91e5563911d59dfa6aa78c14389d95a537f207d5ba202e5b9c5832603766295cfa9
	11c819684e734a41b3472dca7b14a94a1b5100529a532915d60f573fbc9bc6e42b60a47681e6740008ba6fb5571be91f
	f296ec6b2a0dd915b6636521e7b9f9b6ff34052ec585566453b02d5da99f8fa108ba47996e85076a4b7a70e9b5b32944
	db75092ec4192623ad6ea6b049a7df7d9cee60b88fedb266ecaa8c71699a17ff5664526cc2b19ee1193602a575094c29
	a0591340e4183a3e3f54989a5b429d656b8fe4d699f73fd6a1d29c07efe830f54d2d38e6f0255dc14cdd20868470eb26
	6382e9c6021ecc5e09686b3f3ebaefc93c9718146b6a70a1687f358452a0e286b79c5305aa5007373e07841c7fdeae5c
	8e7d44ec5716f2b8b03ada37f0500c0df01c1f040200b3ffae0cf51a3cb574b225837a58dc0921bdd19113f97ca92ff6
	9432477322f547013ae5e58137c2dadcc8b576349af3dda7a94461460fd0030eecc8c73ea4751e41e238cd993bea0e2f
	3280bba1183eb3314e548b384f6db9086f420d03f60a04bf2cb8129024977c795679b072bcaf89afde9a771fd9930810
	b38bae12dccf3f2e5512721f2e6b7124501adde69f84cd877a5847187408da17bc9f9abce94b7d8cec7aec3adb851dfa
	63094366c464c3d2ef1c18473215d908dd433b3724c2ba1612a14d432a65c45150940002133ae4dd71dff89e10314e55
	81ac77d65f11199b043556f1d7a3c76b3c11183b5924a509f28fe6ed97f1fbfa9ebabf2c1e153c6e86e34570eae96fb1
	860e5e0a5a3e2ab3771fe71c4e3d06fa2965dcb999e71d0f803e89d65266c8252e4cc9789c10b36ac6150eba94e2ea78
	a5fc3c531e0a2df4f2f74ea7361d2b3d1939260f19c279605223a708f71312b6ebadfe6eeac31f66e3bc4595a67bc883
	b17f37d1018cff28c332ddefbe6c5aa56558218568ab9802eecea50fdb2f953b2aef7dad5b6e2f841521b62829076170
	ecdd4775619f151013cca830eb61bd960334fe1eaa0363cfb5735c904c70a239d59e9e0bcbaade14eecc86bc60622ca7
	9cab5cabb2f3846e648b1eaf19bdf0caa02369b9655abb5040685a323c2ab4b3319ee9d5c021b8f79b540b19875fa099
	95f7997e623d7da8f837889a97e32d7711ed935f166812810e358829c7e61fd696dedfa17858ba9957f584a51b227263
	9b83c3ff1ac24696cdb30aeb532e30548fd948e46dbc312858ebf2ef34c6ffeafe28ed61ee7c3c735d4a14d9e864b7e3
	42105d14203e13e045eee2b6a3aaabeadb6c4f15facb4fd0c742f442ef6abbb5654f3b1d41cd2105d81e799e86854dc7
	e44b476a3d816250cf62a1f25b8d2646fc8883a0c1c7b6a37f1524c369cb749247848a0b5692b285095bbf00ad19489d
	1462b17423820e0058428d2a0c55f5ea1dadf43e233f70613372f0928d937e41d65fecf16c223bdb7cde3759cbee7460
	4085f2a7ce77326ea607808419f8509ee8efd85561d99735a969a7aac50c06c25a04abfc800bcadc9e447a2ec3453484
	fdd567050e1e9ec9db73dbd3105588cd675fda79e3674340c5c43465713e38d83d28f89ef16dff20153e21e78fb03d4a
	e6e39f2bdb83adf7e93d5a68948140f7f64c261c94692934411520f77602d4f7bcf46b2ed4a20068d40824713320f46a
	43b7d4b7500061af1e39f62e9724454614214f74bf8b88404d95fc1d96b591af70f4ddd366a02f45bfbc09ec03bd9785
	7fac6dd031cb850496eb27b355fd3941da2547e6abca0a9a28507825530429f40a2c86dae9b66dfb68dc1462d7486900
	680ec0a427a18dee4f3ffea2e887ad8cb58ce0067af4d6b6aace1e7cd3375fecce78a399406b2a4220fe9e35d9f385b9
	ee39d7ab3b124e8b1dc9faf74b6d185626a36631eae397b23a6efa74dd5b43326841e7f7ca7820fbfb0af54ed8feb397
	454056acba48952755533a3a20838d87fe6ba9b7d096954b55a867bca1159a58cca9296399e1db33a62a4a563f3125f9
	5ef47e1c9029317cfdf8e80204272f7080bb155c05282ce395c11548e4c66d2248c1133fc70f86dc07f9c9ee41041f0f
	404779a45d886e17325f51ebd59bc0d1f2bcc18f41113564257b7834602a9c60dff8e8a31f636c1b0e12b4c202e1329e
	af664fd1cad181156b2395e0333e92e13b240b62eebeb92285b2a20ee6ba0d99de720c8c2da2f728d012784595b794fd
	647d0862e7ccf5f05449a36f877d48fac39dfd27f33e8d1e0a476341992eff743a6f6eabf4f8fd37a812dc60a1ebddf8
	991be14cdb6e6b0dc67b55106d672c372765d43bdcd0e804f1290dc7cc00ffa3b5390f92690fed0b667b9ffbcedb7d9c
	a091cf0bd9155ea3bb132f88515bad247b9479bf763bd6eb37392eb3cc1159798026e297f42e312d6842ada7c66a2b3b
	12754ccc782ef11c6a124237b79251e706a1bbe64bfb63501a6b101811caedfa3d25bdd8e2e1c3c9444216590a121386
	d90cec6ed5abea2a64af674eda86a85fbebfe98864e4c3fe9dbc8057f0f7c08660787bf86003604dd1fd8346f6381fb0
	7745ae04d736fccc83426b33f01eab71b08041873c005e5f77a057bebde8ae2455464299bf582e614e58f48ff2ddfda2
	f474ef388789bdc25366f9c3c8b38e74b475f25546fcd9b97aeb26618b1ddf84846a0e79915f95e2466e598e20b45770
	8cd55591c902de4cb90bace1bb8205d011a862487574a99eb77f19b6e0a9dc09662d09a1c4324633e85a1f0209f0be8c
	4a99a0251d6efe101ab93d1d0ba5a4dfa186f20f2868f169dcb7da83573906fea1e2ce9b4fcd7f5250115e01a70683fa
	a002b5c40de6d0279af88c27773f8641c3604c0661a806b5f0177a28c0f586e0006058aa30dc7d6211e69ed72338ea63
	53c2dd94c2c21634bbcbee5690bcb6deebfc7da1ce591d766f05e4094b7c018839720a3d7c927c2486e3725f724d9db9
	1ac15bb4d39eb8fced54557808fca5b5d83d7cd34dad0fc41e50ef5eb161e6f8a28514d96c51133c6fd5c7e756e14ec4
	362abfceddc6c837d79a323492638212670efa8e406000e03a39ce37d3faf5cfabc277375ac52d1b5cb0679e4fa33742
	d382274099bc9bbed5118e9dbf0f7315d62d1c7ec700c47bb78c1b6b21a19045b26eb1be6a366eb45748ab2fbc946e79
	c6a376d26549c2c8530ff8ee468dde7dd5730a1d4cd04dc62939bbdba9ba4650ac9526e8be5ee304a1fad5f06a2d519a
	63ef8ce29a86ee22c089c2b843242ef6a51e03aa9cf2d0a483c061ba9be96a4d8fe51550ba645bd62826a2f9a73a3ae1
	4ba99586ef5562e9c72fefd3f752f7da3f046f6977fa0a5980e4a91587b086019b09e6ad3b3ee593e990fd5a9e34d797
	2cf0b7d9022b8b5196d5ac3a017da67dd1cf3ed67c7d2d281f9f25cfadf2b89b5ad6b4725a88f54ce029ac71e019a5e6
	47b0acfded93fa9be8d3c48d283b57ccf8d5662979132e28785f0191ed756055f7960e44e3d35e8c15056dd488f46dba
	03a161250564f0bdc3eb9e153c9057a297271aeca93a072a1b3f6d9b1e6321f5f59c66fb26dcf3197533d928b155fdf5
	035634828aba3cbb28517711c20ad9f8abcc5167ccad925f4de817513830dc8e379d58629320f991ea7a90c2fb3e7bce
	5121ce64774fbe32a8b6e37ec3293d4648de53696413e680a2ae0810dd6db22469852dfd09072166b39a460a6445c0dd
	586cdecf1c20c8ae5bbef7dd1b588d40ccd2017f6bb4e3bbdda26a7e3a59ff453e350a44bcb4cdd572eacea8fa6484bb
	8d6612aebf3c6f47d29be463542f5d9eaec2771bf64e6370740e0d8de75b1357f8721671af537d5d4040cb084eb4e2cc
	34d2466a0115af84e1b0042895983a1d06b89fb4ce6ea0486f3f3b823520ab82011a1d4b277227f8611560b1e7933fdc
	bb3a792b344525bda08839e151ce794b2f32c9b7a01fbac9e01cc87ebcc7d1f6cf0111c3a1e8aac71a908749d44fbd9a
	d0dadecbd50ada380339c32ac69136678df9317ce0b12b4ff79e59b743f5bb3af2d519ff27d9459cbf97222c15e6fc2a
	0f91fc719b941525fae59361ceb69cebc2a8645912baa8d1b6c1075ee3056a0c10d25065cb03a442e0ec6e0e1698db3b
	4c98a0be3278e9649f1f9532e0d392dfd3a0342b8971f21e1b0a74414ba3348cc5be7120c37632d8df359f8d9b992f2e
	e60b6f470fe3f11de54cda541edad891ce6279cfcd3e7e6f1618b166fd2c1d05848fd2c5f6fb2299f523f357a6327623
	93a8353156cccd02acf081625a75ebb56e16369788d273ccde96629281b949d04c50901b71c65614e6c6c7bd327a140a
	45e1d006c3f27b9ac9aa53fd62a80f00bb25bfe235bdd2f671126905b2040222b6cbcf7ccd769c2b53113ec01640e3d3
	38abbd602547adf0ba38209cf746ce7677afa1c52075606085cbfe4e8ae88dd87aaaf9b04cf9aa7e1948c25c02fb8a8c
	01c36ae4d6ebe1f990d4f869a65cdea03f09252dc208e69fb74e6132ce77e25b578fdfe33ac372e6
]]
	local init_p, init_s

	local function load_tables()
		local words = {}
		for w in PI_HEX:gmatch("%x%x%x%x%x%x%x%x") do words[#words + 1] = tonumber(w, 16) end
		assert(#words == 18 + 4 * 256, "Blowfish tables")
		init_p, init_s = {}, {}
		for i = 1, 18 do init_p[i] = words[i] end
		for box = 0, 3 do
			local s = {}
			for i = 0, 255 do s[i] = words[18 + box * 256 + i + 1] end
			init_s[box] = s
		end
	end

	local function round_f(s0, s1, s2, s3, x)
		-- bit32 reduces its arguments mod 2^32, so the sums need no explicit wrap.
		return bxor(s0[rshift(x, 24)] + s1[band(rshift(x, 16), 255)], s2[band(rshift(x, 8), 255)])
			+ s3[band(x, 255)]
	end

	local function encrypt_block(k, l, r)
		local p, s0, s1, s2, s3 = k.p, k.s[0], k.s[1], k.s[2], k.s[3]
		for i = 1, 16 do
			l = bxor(l, p[i])
			r = bxor(r, round_f(s0, s1, s2, s3, l))
			l, r = r, l
		end
		return bxor(r, p[18]), bxor(l, p[17]) -- undo the last swap
	end

	local function decrypt_block(k, l, r)
		local p, s0, s1, s2, s3 = k.p, k.s[0], k.s[1], k.s[2], k.s[3]
		for i = 18, 3, -1 do
			l = bxor(l, p[i])
			r = bxor(r, round_f(s0, s1, s2, s3, l))
			l, r = r, l
		end
		return bxor(r, p[1]), bxor(l, p[2])
	end

	-- Key schedule: XOR the key (cycled) into P, then replace P and the S-boxes by
	-- successive encryptions of the all-zero block (521 of them).
	function blowfish.schedule(key)
		if not init_p then load_tables() end
		local k = { p = {}, s = {} }
		for i = 1, 18 do k.p[i] = init_p[i] end
		for box = 0, 3 do
			k.s[box] = {}
			for i = 0, 255 do k.s[box][i] = init_s[box][i] end
		end
		local j = 1
		for i = 1, 18 do
			local w = 0
			for _ = 1, 4 do
				w = w * 256 + key:byte(j)
				j = j % #key + 1
			end
			k.p[i] = bxor(k.p[i], w)
		end
		local l, r = 0, 0
		for i = 1, 18, 2 do
			l, r = encrypt_block(k, l, r)
			k.p[i], k.p[i + 1] = l, r
		end
		for box = 0, 3 do
			for i = 0, 255, 2 do
				l, r = encrypt_block(k, l, r)
				k.s[box][i], k.s[box][i + 1] = l, r
			end
		end
		return k
	end

	local function word(s, i)
		local a, b, c, d = s:byte(i, i + 3)
		return ((a * 256 + b) * 256 + c) * 256 + d
	end

	local function word_bytes(w)
		return string.char(band(rshift(w, 24), 255), band(rshift(w, 16), 255),
			band(rshift(w, 8), 255), band(w, 255))
	end

	-- CBC decryption of whole 8-byte blocks; returns the plaintext and the next IV.
	function blowfish.cbc_decrypt(k, iv, ct)
		local out = {}
		local pl, pr = word(iv, 1), word(iv, 5)
		for i = 1, #ct, 8 do
			local cl, cr = word(ct, i), word(ct, i + 4)
			local l, r = decrypt_block(k, cl, cr)
			out[#out + 1] = word_bytes(bxor(l, pl)) .. word_bytes(bxor(r, pr))
			pl, pr = cl, cr
		end
		return table.concat(out), word_bytes(pl) .. word_bytes(pr)
	end
end

----------------------------------------------------------------------------------------------
-- Cipher suites: one table drives the key and IV checks, the ChosenCipher framing (sizes) and
-- the decryptors.
-- new(key, iv) returns decrypt(ciphertext) -> plaintext (keeping the session's chain state)
-- and a description for cvpn.decryptor, or nil and the reason.
----------------------------------------------------------------------------------------------

-- An OpenSSL CBC decryptor through luaossl. The chain is carried by hand (next IV = last
-- ciphertext block), so each message is decrypted independently of luaossl's context state.
local function openssl_cbc(evp_name, key, iv, block)
	local ok, err = pcall(function() return ossl.cipher.new(evp_name):decrypt(key, iv, false) end)
	if not ok then return nil, short_error(err) end
	local chain = iv
	return function(ct)
		if #ct == 0 then return "" end
		local pt = ossl.cipher.new(evp_name):decrypt(key, chain, false):update(ct)
		chain = ct:sub(-block)
		return pt
	end, "OpenSSL " .. evp_name
end

local SUITES = {
	AES = { sizes = { 128, 192, 256 }, iv_len = 16,
		new = function(key, iv, bits) return openssl_cbc("AES-" .. bits .. "-CBC", key, iv, 16) end },
	Blowfish = { sizes = { 112, 224, 448 }, iv_len = 8,
		new = function(key, iv)
			local sched, chain = blowfish.schedule(key), iv
			return function(ct)
				local pt
				pt, chain = blowfish.cbc_decrypt(sched, chain, ct)
				return pt
			end, "Lua Blowfish-CBC (" .. #key .. "-byte key)"
		end },
	DES3 = { sizes = { 128, 192 }, iv_len = 8,
		new = function(key, iv, bits)
			return openssl_cbc(bits == 128 and "DES-EDE-CBC" or "DES-EDE3-CBC", key, iv, 8)
		end },
	DES = { sizes = { 56 }, iv_len = 8, key_len = 8,
		new = function(key, iv)
			local dec, what = openssl_cbc("DES-CBC", key, iv, 8)
			if dec then return dec, what end
			-- DES-CBC needs the legacy provider; EDE with K1 = K2 is the same cipher.
			local dec2, what2 = openssl_cbc("DES-EDE-CBC", key .. key, iv, 8)
			if dec2 then return dec2, what2 .. " with K1 = K2 (single DES)" end
			return nil, what .. "; DES-EDE-CBC: " .. what2
		end },
	XOR = { sizes = { 128, 256 }, iv_len = 0,
		new = function(key)
			local pos = 0 -- the keystream position runs on across messages
			return function(ct)
				local out = {}
				for i = 1, #ct do
					out[i] = string.char(bxor(ct:byte(i), key:byte((pos + i - 1) % #key + 1)))
				end
				pos = pos + #ct
				return table.concat(out)
			end, "Lua XOR (" .. #key .. "-byte key)"
		end },
	None = { sizes = { 128 }, iv_len = 0,
		new = function() return function(ct) return ct end, "identity (no encryption)" end },
}

----------------------------------------------------------------------------------------------
-- Secure profile AEAD (docs/SECURE.md section 5): ChaCha20-Poly1305 and AES-256-GCM with the
-- record's 2 length bytes as associated data. luaossl cannot pass associated data (see the
-- top), so OpenSSL decrypts and supplies the one-time keys, and the tag is computed here.
----------------------------------------------------------------------------------------------

local bor, lshift = bit32.bor, bit32.lshift

-- Poly1305 (RFC 8439) on doubles: numbers mod 2^130 - 5 as 10 limbs of 13 bits, so a limb
-- product is below 2^26 and a column of the schoolbook product, folded (2^130 = 5 mod p),
-- stays below 2^34: far from 2^53, every step is exact.
local poly1305 = {}
do
	local BASE, LIMBS = 8192, 10

	-- Little-endian bytes (at most 17, value below 2^130) -> limbs.
	local function limbs(s)
		local l, acc, nbits = {}, 0, 0
		for i = 1, #s do
			acc = acc + s:byte(i) * 2 ^ nbits
			nbits = nbits + 8
			while nbits >= 13 and #l < LIMBS do
				l[#l + 1] = acc % BASE
				acc = math.floor(acc / BASE)
				nbits = nbits - 13
			end
		end
		while #l < LIMBS do
			l[#l + 1] = acc % BASE
			acc = math.floor(acc / BASE)
		end
		return l
	end

	-- Brings every limb below 2^13; what passes 2^130 comes back times 5.
	local function carry(c)
		repeat
			local cy = 0
			for k = 1, LIMBS do
				local v = c[k] + cy
				c[k] = v % BASE
				cy = math.floor(v / BASE)
			end
			c[1] = c[1] + 5 * cy
		until cy == 0
	end

	local function mulmod(h, r)
		local c = {}
		for k = 1, 2 * LIMBS - 1 do c[k] = 0 end
		for i = 1, LIMBS do
			local hi = h[i]
			if hi ~= 0 then
				for j = 1, LIMBS do c[i + j - 1] = c[i + j - 1] + hi * r[j] end
			end
		end
		for k = LIMBS + 1, 2 * LIMBS - 1 do
			c[k - LIMBS] = c[k - LIMBS] + 5 * c[k]
			c[k] = nil
		end
		carry(c)
		return c
	end

	-- The low 128 bits of h as 16 little-endian byte values.
	local function low_bytes(h)
		local out, acc, nbits, k = {}, 0, 0, 1
		for i = 1, 16 do
			while nbits < 8 do
				acc = acc + (h[k] or 0) * 2 ^ nbits
				nbits = nbits + 13
				k = k + 1
			end
			out[i] = acc % 256
			acc = math.floor(acc / 256)
			nbits = nbits - 8
		end
		return out
	end

	-- mac(32-byte one-time key r || s, message) -> 16-byte tag.
	function poly1305.mac(key, msg)
		local clamp = { [4] = 15, [8] = 15, [12] = 15, [16] = 15, [5] = 252, [9] = 252, [13] = 252 }
		local rb = {}
		for i = 1, 16 do rb[i] = string.char(band(key:byte(i), clamp[i] or 255)) end
		local r = limbs(table.concat(rb))
		local h = limbs("")
		for at = 1, #msg, 16 do
			local m = limbs(msg:sub(at, at + 15) .. "\1")
			for k = 1, LIMBS do h[k] = h[k] + m[k] end
			h = mulmod(h, r)
		end
		-- Full reduction: h < 2^130 here; h - p = h + 5 - 2^130 when that does not go negative.
		local g, cy = {}, 5
		for k = 1, LIMBS do
			local v = h[k] + cy
			g[k] = v % BASE
			cy = math.floor(v / BASE)
		end
		if cy > 0 then h = g end
		local hb, out, c = low_bytes(h), {}, 0
		for i = 1, 16 do
			local v = hb[i] + key:byte(16 + i) + c
			out[i] = string.char(v % 256)
			c = math.floor(v / 256)
		end
		return table.concat(out)
	end
end

-- GHASH (NIST SP 800-38D): multiplication in GF(2^128) bit by bit (algorithm 1) on four
-- big-endian 32-bit words. Slow but small: records are at most 16434 bytes.
local ghash = {}
do
	local function words(b)
		local w = {}
		for i = 0, 3 do
			local b1, b2, b3, b4 = b:byte(i * 4 + 1, i * 4 + 4)
			w[i + 1] = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
		end
		return w
	end

	local function mul(x, h)
		local z1, z2, z3, z4 = 0, 0, 0, 0
		local v1, v2, v3, v4 = h[1], h[2], h[3], h[4]
		for i = 0, 127 do
			if band(x[rshift(i, 5) + 1], lshift(1, 31 - i % 32)) ~= 0 then
				z1, z2, z3, z4 = bxor(z1, v1), bxor(z2, v2), bxor(z3, v3), bxor(z4, v4)
			end
			local lsb = band(v4, 1)
			v4 = bor(rshift(v4, 1), lshift(band(v3, 1), 31))
			v3 = bor(rshift(v3, 1), lshift(band(v2, 1), 31))
			v2 = bor(rshift(v2, 1), lshift(band(v1, 1), 31))
			v1 = rshift(v1, 1)
			if lsb == 1 then v1 = bxor(v1, 0xe1000000) end
		end
		return { z1, z2, z3, z4 }
	end

	-- hash(H, message of whole 16-byte blocks) -> 16 bytes.
	function ghash.hash(hkey, msg)
		local h, y = words(hkey), { 0, 0, 0, 0 }
		for at = 1, #msg, 16 do
			local x = words(msg:sub(at, at + 15))
			for k = 1, 4 do y[k] = bxor(y[k], x[k]) end
			y = mul(y, h)
		end
		local out = {}
		for k = 1, 4 do
			local w = y[k]
			out[k] = string.char(band(rshift(w, 24), 255), band(rshift(w, 16), 255),
				band(rshift(w, 8), 255), band(w, 255))
		end
		return table.concat(out)
	end
end

local function pad16(s) return s .. string.rep("\0", (16 - #s % 16) % 16) end

-- n (below 2^53) as 8 bytes.
local function u64_bytes(n, little_endian)
	local b = {}
	for i = 8, 1, -1 do
		b[i] = string.char(n % 256)
		n = math.floor(n / 256)
	end
	local s = table.concat(b)
	return little_endian and s:reverse() or s
end

local function xor_bytes(a, b)
	local out = {}
	for i = 1, #a do out[i] = string.char(bxor(a:byte(i), b:byte(i))) end
	return table.concat(out)
end

-- RFC 8439 section 2.8: Poly1305 keyed by ChaCha20 block 0 (OpenSSL's "chacha20" takes the
-- 32-bit block counter, little-endian, before the 96-bit nonce).
local function chachapoly_tag(key, nonce, ad, ct)
	local otk = ossl.cipher.new("chacha20"):encrypt(key, "\0\0\0\0" .. nonce)
		:update(string.rep("\0", 32))
	return poly1305.mac(otk, pad16(ad) .. pad16(ct) .. u64_bytes(#ad, true) .. u64_bytes(#ct, true))
end

-- SP 800-38D: T = E(K, J0) xor GHASH(H, pad(A) || pad(C) || [len A]64 || [len C]64), with
-- H = E(K, 0^128) and J0 = nonce || 0x00000001 for a 96-bit nonce.
local function aesgcm_tag(key, nonce, ad, ct)
	local ecb = ossl.cipher.new("aes-256-ecb"):encrypt(key, nil, false)
	local h = ecb:update(string.rep("\0", 16))
	local ej0 = ecb:update(nonce .. "\0\0\0\1")
	return xor_bytes(ghash.hash(h, pad16(ad) .. pad16(ct) .. u64_bytes(#ad * 8) ..
		u64_bytes(#ct * 8)), ej0)
end

-- Noise cipher names (the <cipher> of the protocol name), their suite codes in the hellos,
-- and the nonce layout of Noise rev 34 section 12: 4 zero bytes, then the 64-bit counter,
-- little-endian for ChaChaPoly, big-endian for AESGCM.
local AEAD_SUITES = {
	ChaChaPoly = { code = 1, evp = "chacha20-poly1305", little_endian = true, tag = chachapoly_tag,
		decryptor = "OpenSSL chacha20-poly1305 (luaossl), Poly1305 tag over AD + ciphertext in Lua" },
	AESGCM = { code = 2, evp = "aes-256-gcm", little_endian = false, tag = aesgcm_tag,
		decryptor = "OpenSSL aes-256-gcm (luaossl), GHASH tag over AD + ciphertext in Lua" },
}
local SUITE_NAMES = { [1] = "ChaChaPoly", [2] = "AESGCM" }
local AEAD_TAG_LEN = 16
local REKEY_NONCE = "\0\0\0\0" .. string.rep("\255", 8) -- 2^64 - 1, the same in either order

-- open(suite, key, counter, ad, ciphertext || tag) -> plaintext, tag verified. The
-- plaintext comes even with a bad tag (the keystream does not depend on the tag): callers
-- must not show it then.
-- counter: a number, or the 8 big-endian bytes of a UDP packet's counter.
local function aead_open(suite, key, counter, ad, sealed)
	local ct, tag = sealed:sub(1, -AEAD_TAG_LEN - 1), sealed:sub(-AEAD_TAG_LEN)
	local n = type(counter) == "string" and (suite.little_endian and counter:reverse() or counter)
		or u64_bytes(counter, suite.little_endian)
	local nonce = "\0\0\0\0" .. n
	local pt = assert(ossl.cipher.new(suite.evp):decrypt(key, nonce):update(ct))
	return pt, suite.tag(key, nonce, ad, ct) == tag
end

-- Noise Rekey(k): the first 32 bytes of ENCRYPT(k, 2^64 - 1, empty ad, 32 zero bytes). No
-- associated data, so OpenSSL alone does it.
local function aead_rekey(suite, key)
	local out = assert(ossl.cipher.new(suite.evp):encrypt(key, REKEY_NONCE)
		:update(string.rep("\0", 32)))
	return out:sub(1, 32)
end

----------------------------------------------------------------------------------------------
-- Key log: CVPN_LAB <client addr:port> <server addr:port> <cipher> <bits> <key> <iv|-> <hmac>
--          CVPN_SECURE <client addr:port> <server addr:port> <Noise protocol name>
--                      <client-to-server key hex> <server-to-client key hex>
--          CVPN_UDP <client addr:port> <server addr:port> <Noise protocol name> <client index>
--                   <server index> <client-to-server key hex> <server-to-client key hex>
----------------------------------------------------------------------------------------------

local HMAC_MODES = { cumulative = true, ["per-message"] = true, auto = true }

local function endpoint_key(addr, port)
	return string.lower(tostring(addr)) .. "|" .. tostring(port)
end

local function parse_endpoint(text)
	local addr, port = text:match("^%[(.+)%]:(%d+)$")
	if not addr then addr, port = text:match("^(.+):(%d+)$") end
	if addr then return endpoint_key(addr, tonumber(port)) end
end

-- Returns { lab = { "client server" -> entry }, secure = { "client server" -> list of
-- entries }, udp = { client = { index -> list of entries }, server = ... } }, or nil and why.
-- A UDP line is found by its indexes (8 lowercase hex digits), whatever the addresses: a
-- client may roam.
local function read_keylog(path)
	local f, err = io.open(path, "r")
	if not f then return nil, "cannot read key log: " .. tostring(err) end
	local sessions, secure, udp = {}, {}, { client = {}, server = {} }
	local hex64 = "^" .. string.rep("%x", 64) .. "$"
	local hex8 = "^" .. string.rep("%x", 8) .. "$"
	for line in f:lines() do
		local w = {}
		for word in line:gmatch("%S+") do w[#w + 1] = word end
		if w[1] == "CVPN_LAB" and #w == 8 then
			local client, server = parse_endpoint(w[2]), parse_endpoint(w[3])
			local entry = { cipher = w[4], bits = tonumber(w[5]), key_hex = w[6], iv_hex = w[7],
				hmac = w[8], line = line }
			if client and server and entry.bits and HMAC_MODES[entry.hmac] then
				local id = client .. " " .. server
				local old = sessions[id]
				-- Client and server may both log the session; the client knows its HMAC mode.
				if not old or (old.hmac == "auto" and entry.hmac ~= "auto") then
					sessions[id] = entry
				end
			end
		elseif w[1] == "CVPN_SECURE" and #w == 6 then
			local client, server = parse_endpoint(w[2]), parse_endpoint(w[3])
			local cipher = w[4]:match("^Noise_%w+_25519_(%w+)_SHA256$")
			if client and server and cipher and w[5]:match(hex64) and w[6]:match(hex64) then
				-- Client and server log the same line. Lines that differ are sessions that
				-- used the same pair of endpoints at different times: the one whose key
				-- opens the records wins (see choose_secure_keys).
				local id = client .. " " .. server
				local list = secure[id] or {}
				secure[id] = list
				local known = false
				for _, e in ipairs(list) do
					if e.c2s_hex:lower() == w[5]:lower() and e.s2c_hex:lower() == w[6]:lower() then
						known = true
					end
				end
				if not known then
					list[#list + 1] = { protocol = w[4], cipher = cipher, c2s_hex = w[5],
						s2c_hex = w[6], line = line }
				end
			end
		elseif w[1] == "CVPN_UDP" and #w == 8 then
			local client, server = parse_endpoint(w[2]), parse_endpoint(w[3])
			local cipher = w[4]:match("^Noise_%w+_25519_(%w+)_SHA256$")
			if client and server and cipher and w[5]:match(hex8) and w[6]:match(hex8) and
				w[7]:match(hex64) and w[8]:match(hex64) then
				-- Client and server log the same line; one entry for both.
				local e = { protocol = w[4], cipher = cipher, client_index = w[5]:lower(),
					server_index = w[6]:lower(), c2s_hex = w[7]:lower(), s2c_hex = w[8]:lower(),
					client_text = w[2], server_text = w[3], line = line }
				local known = false
				for _, o in ipairs(udp.client[e.client_index] or {}) do
					if o.server_index == e.server_index and o.c2s_hex == e.c2s_hex and
						o.s2c_hex == e.s2c_hex then known = true end
				end
				if not known then
					for side, index in pairs({ client = e.client_index, server = e.server_index }) do
						udp[side][index] = udp[side][index] or {}
						table.insert(udp[side][index], e)
					end
				end
			end
		end
	end
	f:close()
	return { lab = sessions, secure = secure, udp = udp }
end

----------------------------------------------------------------------------------------------
-- Protocol, fields, expert infos, preference
----------------------------------------------------------------------------------------------

-- Wireshark runs the plugin folder's copy (make install-wireshark) before any -X lua_script
-- copy, each in its own environment; a second copy may not register the protocol again
-- (Proto() refuses), so it does nothing: the first copy loaded is the one in use.
local registered, cvpn = pcall(Proto, "cvpn", "Custom VPN lab protocol")
if not registered then return end

-- Field names match cvpn-client -v, its JSON events and the key log (docs/PROTOCOL.md).
local F = {
	type = ProtoField.string("cvpn.type", "Message type"),
	message = ProtoField.uint32("cvpn.message", "Message number", base.DEC),
	proposal = ProtoField.string("cvpn.proposal", "Proposal"),
	proposal_cipher = ProtoField.string("cvpn.proposal.cipher", "Proposed cipher"),
	proposal_bits = ProtoField.uint32("cvpn.proposal.bits", "Proposed key size (bits)", base.DEC),
	choice = ProtoField.string("cvpn.choice", "Choice"),
	choice_cipher = ProtoField.string("cvpn.choice.cipher", "Chosen cipher"),
	choice_bits = ProtoField.uint32("cvpn.choice.bits", "Chosen key size (bits)", base.DEC),
	dh_client = ProtoField.string("cvpn.dh.client_public", "Client DH public value"),
	dh_server = ProtoField.string("cvpn.dh.server_public", "Server DH public value"),
	dh_digits = ProtoField.uint32("cvpn.dh.digits", "Decimal digits", base.DEC),
	dh_bits = ProtoField.uint32("cvpn.dh.bits", "Bit length", base.DEC),
	ciphertext = ProtoField.bytes("cvpn.ciphertext", "Ciphertext"),
	tag = ProtoField.string("cvpn.tag", "Tag (HMAC-SHA256, hex)"),
	hmac = ProtoField.string("cvpn.hmac", "HMAC mode"),
	tag_ok = ProtoField.bool("cvpn.tag_ok", "Tag verified"),
	decryptor = ProtoField.string("cvpn.decryptor", "Decryptor"),
	decrypt_status = ProtoField.string("cvpn.decrypt_status", "Decryption"),
	plaintext = ProtoField.string("cvpn.plaintext", "Plaintext"),
	reply = ProtoField.string("cvpn.reply", "Reply"),
	reply_padding = ProtoField.uint32("cvpn.reply.padding", "Trailing NUL bytes", base.DEC),
	-- Messages that TCP cut into several segments (see "Stream reading").
	part = ProtoField.string("cvpn.part", "Part of"),
	reassembled_in = ProtoField.framenum("cvpn.reassembled_in", "Message in frame"),
	segment = ProtoField.framenum("cvpn.segment", "Segment in frame"),
	note = ProtoField.string("cvpn.note", "Note"),
}

-- The secure profile's own fields (docs/SECURE.md); a record also uses cvpn.ciphertext,
-- cvpn.tag_ok, cvpn.decryptor, cvpn.decrypt_status, cvpn.plaintext (DATA), cvpn.reply (REPLY).
local SF = {
	sender = ProtoField.string("cvpn.secure.sender", "Sender"),
	version = ProtoField.uint8("cvpn.secure.version", "Version", base.DEC),
	mode = ProtoField.string("cvpn.secure.mode", "Mode"),
	suite_count = ProtoField.uint8("cvpn.secure.suite_count", "Suites offered", base.DEC),
	suites = ProtoField.string("cvpn.secure.suites", "Offered suite"),
	suite = ProtoField.string("cvpn.secure.suite", "Chosen suite"),
	protocol = ProtoField.string("cvpn.secure.protocol", "Noise protocol"),
	handshake = ProtoField.uint8("cvpn.secure.handshake", "Handshake message", base.DEC),
	handshake_len = ProtoField.uint16("cvpn.secure.handshake.len", "Length", base.DEC),
	ephemeral = ProtoField.bytes("cvpn.secure.ephemeral", "Ephemeral public key (e)"),
	static = ProtoField.bytes("cvpn.secure.static", "Encrypted static public key (s)"),
	payload = ProtoField.bytes("cvpn.secure.payload", "Encrypted empty payload (its tag)"),
	mac1 = ProtoField.bytes("cvpn.secure.mac1", "mac1"),
	record = ProtoField.uint32("cvpn.secure.record", "Record number (in its direction)", base.DEC),
	record_len = ProtoField.uint16("cvpn.secure.record.len", "Length", base.DEC),
	nonce = ProtoField.uint32("cvpn.secure.record.nonce", "Nonce counter", base.DEC),
	key_generation = ProtoField.uint32("cvpn.secure.record.key_generation",
		"Key generation (REKEYs before it)", base.DEC),
	record_tag = ProtoField.bytes("cvpn.secure.record.tag", "AEAD tag"),
	record_type = ProtoField.string("cvpn.secure.record.type", "Record type"),
	payload_len = ProtoField.uint16("cvpn.secure.record.payload_len", "Payload length", base.DEC),
	padding = ProtoField.uint32("cvpn.secure.record.padding", "Zero padding bytes", base.DEC),
}

-- Channel records (docs/SECURE.md section 10): the payload's fields, under the channel id.
local CHANNEL_REASONS = { [1] = "not allowed by the server", [2] = "connection refused",
	[3] = "unreachable", [4] = "timed out", [5] = "too many channels" }
local CF = {
	id = ProtoField.uint32("cvpn.secure.channel.id", "Channel", base.DEC),
	type = ProtoField.string("cvpn.secure.channel.type", "Channel record"),
	destination = ProtoField.string("cvpn.secure.channel.destination",
		"Destination (from the channel's OPEN)"),
	window = ProtoField.uint32("cvpn.secure.channel.window",
		"Window (bytes; in WINDOW, the increment)", base.DEC),
	port = ProtoField.uint16("cvpn.secure.channel.port", "Port", base.DEC),
	host_len = ProtoField.uint8("cvpn.secure.channel.host_len", "Host length", base.DEC),
	host = ProtoField.string("cvpn.secure.channel.host", "Host"),
	reason = ProtoField.uint8("cvpn.secure.channel.reason", "Reason", base.DEC, CHANNEL_REASONS),
	detail = ProtoField.string("cvpn.secure.channel.detail", "Detail"),
	data = ProtoField.bytes("cvpn.secure.channel.data", "Data"),
	data_len = ProtoField.uint32("cvpn.secure.channel.data.len", "Data length", base.DEC),
}

-- The IP tunnel (docs/SECURE.md section 12): a CONFIG record's entries, and the inner packet of
-- a PACKET record (or of a UDP DATA packet), which Wireshark's IP dissector then shows.
local TF = {
	config = ProtoField.uint8("cvpn.tunnel.config.type", "Configuration entry", base.DEC,
		{ [1] = "address", [2] = "MTU", [3] = "route", [4] = "keepalive" }),
	config_len = ProtoField.uint8("cvpn.tunnel.config.len", "Length", base.DEC),
	address = ProtoField.ipv4("cvpn.tunnel.config.address", "Client address"),
	route = ProtoField.ipv4("cvpn.tunnel.config.route", "Route"),
	prefix = ProtoField.uint8("cvpn.tunnel.config.prefix", "Prefix length", base.DEC),
	mtu = ProtoField.uint16("cvpn.tunnel.config.mtu", "MTU", base.DEC),
	keepalive = ProtoField.uint16("cvpn.tunnel.config.keepalive", "Keepalive (seconds)", base.DEC),
	value = ProtoField.bytes("cvpn.tunnel.config.value", "Value (a type not known: skipped)"),
	packet = ProtoField.string("cvpn.tunnel.packet", "Inner packet"),
	version = ProtoField.uint8("cvpn.tunnel.version", "IP version", base.DEC, nil, 0xF0),
	length = ProtoField.uint32("cvpn.tunnel.length", "Length (from its IP header)", base.DEC),
}

-- The UDP transport (docs/SECURE.md section 12): INIT, RESPONSE, COOKIE and DATA packets. They
-- also use cvpn.type ("datagram"), cvpn.secure.mode, .suite, .protocol, .ephemeral, .static and
-- .mac1, and for DATA cvpn.ciphertext, cvpn.secure.record.tag, cvpn.tag_ok, cvpn.decryptor,
-- cvpn.decrypt_status and cvpn.tunnel.*.
local UDP_TYPES = { [1] = "INIT", [2] = "RESPONSE", [3] = "COOKIE", [4] = "DATA" }
local UF = {
	type = ProtoField.uint8("cvpn.udp.type", "Packet type", base.DEC, UDP_TYPES),
	reserved = ProtoField.bytes("cvpn.udp.reserved", "Reserved"),
	sender = ProtoField.uint32("cvpn.udp.sender", "Sender index", base.HEX),
	receiver = ProtoField.uint32("cvpn.udp.receiver", "Receiver index", base.HEX),
	timestamp = ProtoField.bytes("cvpn.udp.timestamp", "Encrypted timestamp (TAI64N)"),
	mac2 = ProtoField.bytes("cvpn.udp.mac2", "mac2"),
	cookie_used = ProtoField.bool("cvpn.udp.mac2_set", "mac2 set (the client holds a cookie)"),
	config = ProtoField.bytes("cvpn.udp.config", "Encrypted configuration (payload)"),
	config_len = ProtoField.uint16("cvpn.udp.config.len", "Configuration length", base.DEC),
	cookie_nonce = ProtoField.bytes("cvpn.udp.cookie.nonce", "Cookie nonce"),
	cookie = ProtoField.bytes("cvpn.udp.cookie", "Encrypted cookie"),
	counter = ProtoField.uint64("cvpn.udp.counter", "Counter (nonce)", base.DEC),
	direction = ProtoField.string("cvpn.udp.direction", "Direction"),
	handshake = ProtoField.uint32("cvpn.udp.handshake", "Handshake (INITs in this conversation)",
		base.DEC),
	client_index = ProtoField.uint32("cvpn.udp.client_index", "Client index", base.HEX),
	server_index = ProtoField.uint32("cvpn.udp.server_index", "Server index", base.HEX),
	init_frame = ProtoField.framenum("cvpn.udp.init_in", "INIT in frame"),
	response_frame = ProtoField.framenum("cvpn.udp.response_in", "RESPONSE in frame"),
	keepalive = ProtoField.bool("cvpn.udp.keepalive", "Keepalive (empty plaintext)"),
	padding = ProtoField.uint32("cvpn.udp.padding", "Zero padding bytes", base.DEC),
	first_seen = ProtoField.framenum("cvpn.udp.replay_of", "Counter first seen in frame"),
}

cvpn.fields = { F.type, F.message, F.proposal, F.proposal_cipher, F.proposal_bits, F.choice,
	F.choice_cipher, F.choice_bits, F.dh_client, F.dh_server, F.dh_digits, F.dh_bits,
	F.ciphertext, F.tag, F.hmac, F.tag_ok, F.decryptor, F.decrypt_status, F.plaintext, F.reply,
	F.reply_padding, F.part, F.reassembled_in, F.segment, F.note, SF.sender, SF.version, SF.mode, SF.suite_count, SF.suites, SF.suite,
	SF.protocol, SF.handshake, SF.handshake_len, SF.ephemeral, SF.static, SF.payload, SF.mac1,
	SF.record, SF.record_len, SF.nonce, SF.key_generation, SF.record_tag, SF.record_type,
	SF.payload_len, SF.padding, CF.id, CF.type, CF.destination, CF.window, CF.port, CF.host_len,
	CF.host, CF.reason, CF.detail, CF.data, CF.data_len, TF.config, TF.config_len, TF.address,
	TF.route, TF.prefix, TF.mtu, TF.keepalive, TF.value, TF.packet, TF.version, TF.length,
	UF.type, UF.reserved, UF.sender, UF.receiver, UF.timestamp, UF.mac2, UF.cookie_used, UF.config,
	UF.config_len, UF.cookie_nonce, UF.cookie, UF.counter, UF.direction, UF.handshake,
	UF.client_index, UF.server_index, UF.init_frame, UF.response_frame, UF.keepalive, UF.padding,
	UF.first_seen }

local E = {
	bad_hmac = ProtoExpert.new("cvpn.bad_hmac", "bad HMAC", expert.group.CHECKSUM,
		expert.severity.ERROR),
	undecrypted = ProtoExpert.new("cvpn.undecrypted", "Cannot decrypt", expert.group.UNDECODED,
		expert.severity.NOTE),
	malformed = ProtoExpert.new("cvpn.malformed", "Malformed message", expert.group.MALFORMED,
		expert.severity.ERROR),
	-- UDP: a counter seen before under the same keys, or too far behind to tell (a receiver
	-- drops both), and a copy of an INIT.
	replay = ProtoExpert.new("cvpn.replay", "Replayed packet", expert.group.SEQUENCE,
		expert.severity.WARN),
}
cvpn.experts = { E.bad_hmac, E.undecrypted, E.malformed, E.replay }

cvpn.prefs.keylog_file = Pref.string("Key log file", "",
	"File of CVPN_LAB, CVPN_SECURE and CVPN_UDP lines written by cvpn-client/cvpn-server " ..
	"--keylog (or $CVPN_KEYLOGFILE)")
cvpn.prefs.channel_http = Pref.bool("Dissect HTTP in channels", true,
	"Hand the DATA of a forwarded channel that starts an HTTP/1.x request or response to " ..
	"Wireshark's HTTP dissector")

local f_tcp_seq = Field.new("tcp.seq")

-- Per-dissection state, reset before every (re)dissection (cvpn.init). The key log is read
-- again each time, so Wireshark's Reload (Ctrl+R) picks up lines appended since.
local conversations -- "endpoint endpoint" -> connection state (first pass only)
local frames        -- frame number -> { conv, dir, stream offsets from and to } (first pass)
local keylog        -- { sessions = { lab = ..., secure = ..., udp = ... }, error = ... }, read on first need
local udp_state     -- the UDP transport's handshakes and counters seen (first pass only)
local udp_frames    -- frame number -> the UDP packet it holds (first pass)

local function reset_state()
	conversations, frames, keylog = {}, {}, nil
	udp_state = { client = {}, server = {}, conversations = {}, windows = {} }
	udp_frames = {}
end
reset_state()
cvpn.init = reset_state

----------------------------------------------------------------------------------------------
-- Framing. Each frame_* function gets the bytes s and the 1-based start i of a message and
-- returns the message (a table; offsets are relative to the message start, 0-based), or
-- NEED_MORE when the message cannot end within s, or HOLD when it could end with s but
-- probably goes on (a DHMKE value whose digits could go on, a reply short of the text it
-- answers). `final` says the peer has spoken since, so the message ends with s: lock-step
-- (docs/PROTOCOL.md), and a held message is then taken as it is. They keep no state.
----------------------------------------------------------------------------------------------

local NEED_MORE, HOLD = {}, {}

local function blanks(s, j) return s:match("^[ \t]*()", j) end

-- Past a complete message's last significant byte at j: eat blanks and one line ending.
local function end_of_message(s, j)
	j = blanks(s, j)
	if s:sub(j, j) == "\r" then j = j + 1 end
	if s:sub(j, j) == "\n" then j = j + 1 end
	return j
end

-- A malformed message runs to the next newline or the end of the data.
local function malformed(s, i, why)
	local nl = s:find("\n", i, true)
	local stop = nl and nl + 1 or #s + 1
	return { len = stop - i, text = s:sub(i, stop - 1):gsub("[\r\n]+$", ""), malformed = why }
end

local function frame_proposal(s, i)
	local j = blanks(s, i + #"ProposedCiphers")
	if j > #s then return NEED_MORE end
	if s:sub(j, j) ~= ":" then return malformed(s, i, "expected ':' after ProposedCiphers") end
	j = j + 1
	local ciphers = {}
	while true do
		j = blanks(s, j)
		local name_at, name, after = s:match("^()([%w_%-]+)()", j)
		if not name then
			if j > #s then return NEED_MORE end
			return malformed(s, i, "expected a cipher name")
		end
		j = blanks(s, after)
		if j > #s then return NEED_MORE end
		if s:sub(j, j) ~= ":" then return malformed(s, i, "expected ':' after " .. name) end
		j = blanks(s, j + 1)
		if j > #s then return NEED_MORE end
		if s:sub(j, j) ~= "[" then return malformed(s, i, "expected '[' after " .. name .. ":") end
		local entry = { name = name, off = name_at - i, len = #name, sizes = {} }
		j = j + 1
		while true do
			j = blanks(s, j)
			local d_at, d, d_after = s:match("^()(%d+)()", j)
			if not d then
				if j > #s then return NEED_MORE end
				return malformed(s, i, "expected a key size for " .. name)
			end
			if d_after > #s then return NEED_MORE end
			table.insert(entry.sizes, { value = tonumber(d), off = d_at - i, len = #d })
			j = blanks(s, d_after)
			local c = s:sub(j, j)
			if c == "]" then j = j + 1; break end
			if c ~= "," then
				if j > #s then return NEED_MORE end
				return malformed(s, i, "expected ',' or ']' in the sizes of " .. name)
			end
			j = j + 1
		end
		table.insert(ciphers, entry)
		local k = blanks(s, j)
		if s:sub(k, k) ~= "," then
			-- End of the data, a line ending or anything the grammar cannot take: complete.
			local stop = end_of_message(s, j)
			return { len = stop - i, text = s:sub(i, j - 1), ciphers = ciphers }
		end
		j = k + 1
	end
end

-- Is the decimal text `d` a strict prefix of a key size the cipher can have?
local function size_can_grow(cipher, d)
	local suite = SUITES[cipher]
	for _, size in ipairs(suite and suite.sizes or {}) do
		local t = tostring(size)
		if #t > #d and t:sub(1, #d) == d then return true end
	end
	return false
end

local function frame_choice(s, i, final)
	local j = blanks(s, i + #"ChosenCipher")
	if j > #s then return NEED_MORE end
	if s:sub(j, j) ~= ":" then return malformed(s, i, "expected ':' after ChosenCipher") end
	j = blanks(s, j + 1)
	local name_at, name, after = s:match("^()([%w_%-]+)()", j)
	if not name or after > #s then
		if not name and j <= #s then return malformed(s, i, "expected a cipher name") end
		return NEED_MORE
	end
	j = blanks(s, after)
	if j > #s then return NEED_MORE end
	local sep = s:sub(j, j)
	if sep ~= "," and sep ~= ":" then return malformed(s, i, "expected ',' after " .. name) end
	j = blanks(s, j + 1)
	local d_at, d, d_after = s:match("^()(%d+)()", j)
	if not d then
		if j > #s then return NEED_MORE end
		return malformed(s, i, "expected a key size")
	end
	if d_after > #s and not final and size_can_grow(name, d) then return HOLD end
	local stop = end_of_message(s, d_after)
	return { len = stop - i, text = s:sub(i, d_after - 1), cipher = name, cipher_off = name_at - i,
		bits = tonumber(d), bits_off = d_at - i, bits_len = #d }
end

-- Can a DHMKE value go on after the digits d? Not past p's 2467 digits, not after a leading
-- zero, and not when every next digit would pass p - 2.
local function dh_can_grow(d)
	if #d >= DH_MAX_DIGITS or d:sub(1, 1) == "0" then return false end
	-- Of two decimal strings of one length, string order is numeric order.
	return #d < #DH_GROW_LIMIT or d <= DH_GROW_LIMIT
end

-- A value ends where the grammar ends it (a non-digit, DH_MAX_DIGITS, no next digit possible)
-- or where the peer answers; never at a digit count (TCP can cut anywhere).
local function frame_dhmke(s, i, final)
	local j = blanks(s, i + #"DHMKE")
	if j > #s then return NEED_MORE end
	if s:sub(j, j) ~= ":" then return malformed(s, i, "expected ':' after DHMKE") end
	j = blanks(s, j + 1)
	local d_at, d, d_after = s:match("^()(%d*)()", j)
	if d == "" then
		if d_after > #s then return NEED_MORE end
		return malformed(s, i, "expected the decimal public value")
	end
	if d_after > #s and not final and dh_can_grow(d) then return HOLD end
	local stop = end_of_message(s, d_after)
	return { len = stop - i, digits = d, digits_off = d_at - i }
end

local TAG_PATTERN = "^" .. string.rep("[0-9a-f]", TAG_HEX_LEN)

-- verify(ct, tag) -> ok, mode (nil when there are no keys). The first candidate split whose
-- tag verifies wins; without keys, the first candidate. With keys and no verifying candidate,
-- a candidate ending exactly at the end of the data is taken as a message with a bad tag.
local function frame_data(s, i, verify)
	local last_start = math.min(#s, i + MAX_DATA_MESSAGE) - TAG_HEX_LEN + 1
	for start = i, last_start, 16 do
		if s:find(TAG_PATTERN, start) then
			local ct, tag = s:sub(i, start - 1), s:sub(start, start + TAG_HEX_LEN - 1)
			local ok, mode = true, nil
			if verify then ok, mode = verify(ct, tag) end
			local ends_data = start + TAG_HEX_LEN - 1 == #s
			if ok or ends_data then
				local m = { len = #ct + TAG_HEX_LEN, ct_len = #ct, tag = tag, hmac_mode = mode }
				if verify then m.tag_ok = ok end
				return m
			end
		end
	end
	if #s - i + 1 > MAX_DATA_MESSAGE then
		return { len = #s - i + 1, malformed = "no 16-aligned tag of 64 lowercase hex characters" }
	end
	return NEED_MORE
end

local REPLY_PREFIX = "Server says: "

-- Does s end inside a UTF-8 character (a lead byte without all its continuation bytes)?
local function ends_inside_utf8(s)
	for back = 1, math.min(3, #s) do
		local c = s:byte(#s - back + 1)
		if c < 0x80 then return false end
		if c >= 0xC0 then return (c >= 0xF0 and 4 or c >= 0xE0 and 3 or 2) > back end
	end
	return false
end

-- expected: the forms the answer to the message can take (prefixed and bare), when the
-- message was decrypted. A reply that is still a beginning of one of them, or that ends inside
-- a UTF-8 character, is held for the rest; otherwise it runs to the end of the data (a later
-- segment before the client speaks again continues it, see "Stream reading").
local function frame_reply(s, i, expected, final)
	local rest = s:sub(i)
	if not final then
		for _, want in ipairs(expected or {}) do
			if #rest < #want and want:sub(1, #rest) == rest then return HOLD end
		end
		if ends_inside_utf8(rest) then return HOLD end
	end
	local stop = #s + 1
	local again = s:find(REPLY_PREFIX, i + 1, true)
	if again then stop = again end
	local raw = s:sub(i, stop - 1)
	local body = raw:gsub("%z+$", "")
	return { len = #raw, text = utf8_safe((body:gsub("%z", ""))), padding = #raw - #body }
end

-- Secure profile (docs/SECURE.md sections 2, 4, 5). Everything after the hellos carries a
-- u16 length, so framing is exact; the hellos have a fixed layout.
local MAGIC = "CVPN"
local SECURE_VERSION = 2
local MODES = { [1] = "key", [2] = "psk" }
local NOISE_PATTERNS = { key = "IKpsk2", psk = "NNpsk0" }
local MAC1_LEN = 16
local NOISE_KEY_LEN = 32
-- Handshake body lengths by mode and message number. Message 1 is the ephemeral key (32), in key
-- mode the client's sealed static key (48), the client's sealed clock (TAI64N, 12 + 16), and mac1.
local SEALED_TIMESTAMP_LEN = 12 + 16
local HANDSHAKE_LEN = {
	key = { 32 + 48 + SEALED_TIMESTAMP_LEN + MAC1_LEN, 48 },
	psk = { 32 + SEALED_TIMESTAMP_LEN + MAC1_LEN, 48 },
}
-- A record's u16 length: the AEAD output of 32 to 16416 bytes of plaintext, the most a
-- channel's DATA needs (3 + 4 + 16384, padded to 32), with the 16-byte tag.
local RECORD_MIN, RECORD_MAX = 48, 16432

local function noise_protocol(mode, suite)
	if NOISE_PATTERNS[mode] and AEAD_SUITES[suite or ""] then
		return "Noise_" .. NOISE_PATTERNS[mode] .. "_25519_" .. suite .. "_SHA256"
	end
end

-- Binary data that cannot be framed runs to the end of the data.
local function malformed_binary(s, i, why)
	return { len = #s - i + 1, malformed = why }
end

-- ClientHello = "CVPN" | version | mode | n | n suite codes; ServerHello = "CVPN" | version |
-- mode | suite. A hello that frames but breaks a rule keeps its fields and lists problems.
local function frame_hello(s, i, side)
	local head = s:sub(i, i + #MAGIC - 1)
	if head ~= MAGIC:sub(1, #head) then
		return malformed_binary(s, i, "expected the magic CVPN of a " .. side .. " hello")
	end
	if #s - i + 1 < 7 then return NEED_MORE end
	local m = { side = side, version = s:byte(i + 4), mode_code = s:byte(i + 5), problems = {} }
	m.mode = MODES[m.mode_code]
	if m.version ~= SECURE_VERSION then
		table.insert(m.problems, "version " .. m.version .. ", not " .. SECURE_VERSION)
	end
	if not m.mode then table.insert(m.problems, "unknown mode " .. m.mode_code) end
	if side == "client" then
		local n = s:byte(i + 6)
		if #s - i + 1 < 7 + n then return NEED_MORE end
		m.len, m.suites = 7 + n, {}
		for k = 1, n do m.suites[k] = s:byte(i + 6 + k) end
		if n < 1 or n > 8 then table.insert(m.problems, n .. " suites offered, not 1 to 8") end
	else
		m.len, m.suite_code = 7, s:byte(i + 6)
		m.suite = SUITE_NAMES[m.suite_code]
		if not m.suite then table.insert(m.problems, "unknown suite " .. m.suite_code) end
	end
	return m
end

-- u16 length | body: a handshake message or a record.
local function frame_prefixed(s, i)
	if #s - i + 1 < 2 then return NEED_MORE end
	local body_len = s:byte(i) * 256 + s:byte(i + 1)
	if #s - i + 1 < 2 + body_len then return NEED_MORE end
	return { len = 2 + body_len, body_len = body_len, problems = {} }
end

----------------------------------------------------------------------------------------------
-- Session crypto (first pass only): key lookup, tag verification, decryption in order.
----------------------------------------------------------------------------------------------

local function hmac_hex(key, data)
	return tohex(ossl.hmac.new(key, "sha256"):final(data))
end

local function keylog_sessions()
	if not keylog then
		local path = cvpn.prefs.keylog_file
		keylog = {}
		if path == nil or path == "" then
			keylog.error = "no key log: set the preference cvpn.keylog_file " ..
				"(Preferences > Protocols > CVPN, or tshark -o cvpn.keylog_file:FILE)"
		else
			keylog.sessions, keylog.error = read_keylog(path)
		end
	end
	return keylog.sessions, keylog.error
end

-- Builds conv.crypto: { verify = fn|nil, decrypt = fn|nil, reason = why not, ... }.
local function setup_crypto(conv)
	local c = { cumulative = "" }
	conv.crypto = c
	if ossl.missing then c.reason = ossl.missing; return c end
	local logs, err = keylog_sessions()
	if not logs then c.reason = err; return c end
	local id = conv.client .. " " .. conv.server
	local entry = logs.lab[id]
	if not entry then
		c.reason = "no key log line for this session (client " .. conv.client_text ..
			", server " .. conv.server_text .. ")"
		return c
	end
	local suite = SUITES[entry.cipher]
	local key = fromhex(entry.key_hex)
	local iv = entry.iv_hex ~= "-" and fromhex(entry.iv_hex) or ""
	if not suite then c.reason = "unknown cipher in the key log: " .. entry.cipher; return c end
	if #key ~= (suite.key_len or entry.bits / 8) or #iv ~= suite.iv_len then
		c.reason = "key log line has a key or IV of the wrong length: " .. entry.line
		return c
	end
	c.mode = entry.hmac
	local ok, probe = pcall(hmac_hex, key, "")
	if ok then
		c.verify = function(ct, tag)
			local per_message = hmac_hex(key, ct)
			if c.mode == "per-message" then return tag == per_message, "per-message" end
			local cumulative = hmac_hex(key, c.cumulative .. ct)
			if c.mode == "cumulative" then return tag == cumulative, "cumulative" end
			-- auto: both agree on message 1; lock in where they differ (see commit_data).
			if tag == cumulative and tag == per_message then return true, "auto" end
			if tag == cumulative then return true, "cumulative" end
			if tag == per_message then return true, "per-message" end
			return false, "auto"
		end
	else
		c.reason = "HMAC-SHA256 not available: " .. short_error(probe)
		return c
	end
	local decrypt, what = suite.new(key, iv, entry.bits)
	if decrypt then
		c.decrypt, c.decryptor = decrypt, what
	else
		c.reason = "cipher not available: " .. entry.cipher .. " " .. entry.bits .. ": " .. what
	end
	return c
end

-- Advances the session past data message `m` (ciphertext ct): HMAC mode lock-in, cumulative
-- input, CBC chain / XOR position, and fills in the plaintext when the tag verified.
local function commit_data(conv, m, ct)
	local c = conv.crypto
	if m.tag_ok and c.mode == "auto" and m.hmac_mode ~= "auto" then c.mode = m.hmac_mode end
	c.cumulative = c.cumulative .. ct
	m.decryptor = c.decryptor
	if not c.verify then
		m.status = c.reason
		return
	end
	if m.tag_ok and m.hmac_mode == "auto" then m.hmac_mode = "auto (both modes agree)" end
	-- Decrypt even a message with a bad tag: the next message's CBC IV is its last block.
	local pt = c.decrypt and c.decrypt(ct)
	if not c.decrypt then
		m.status = c.reason
	elseif not m.tag_ok then
		m.status = "not decrypted: bad HMAC"
	else
		m.plaintext, m.status = pt, "decrypted"
		m.text = utf8_safe(strip_nuls(pt))
		local reversed = reverse_utf8(strip_nuls(pt))
		conv.expected_replies[m.number] = { REPLY_PREFIX .. reversed, reversed }
	end
end

----------------------------------------------------------------------------------------------
-- Secure session crypto (first pass only). Per direction a key and its generation; record n
-- of a direction (from 1) has the nonce n - 1, as Noise's counter runs on across Rekey().
----------------------------------------------------------------------------------------------

-- Codes 7 to 13 are a channel's (docs/SECURE.md section 10): CHANNEL_TYPES names them without
-- the prefix, which tells a channel's DATA and CLOSE from the session's.
local CHANNEL_TYPES = { "OPEN", "ACCEPT", "REFUSE", "DATA", "EOF", "CLOSE", "WINDOW" }
local RECORD_TYPES = { "DATA", "REPLY", "CLOSE", "KEEPALIVE", "REKEY", "ERROR" }
local CHANNEL_FIRST = #RECORD_TYPES + 1
for k, name in ipairs(CHANNEL_TYPES) do RECORD_TYPES[CHANNEL_FIRST + k - 1] = "CHANNEL " .. name end
-- Codes 14 and 15 carry the IP tunnel over TCP (section 12).
local CLOSE, REKEY, CONFIG, PACKET = 3, 5, 14, 15
RECORD_TYPES[CONFIG], RECORD_TYPES[PACKET] = "CONFIG", "PACKET"
local CHANNEL_DATA_MAX = 16384
-- Types only one side may send, and the largest payloads (none for the others).
local RECORD_SENDER = { DATA = "client", REPLY = "server", ERROR = "server",
	["CHANNEL OPEN"] = "client", ["CHANNEL ACCEPT"] = "server", ["CHANNEL REFUSE"] = "server",
	CONFIG = "server" }
local MAX_PAYLOAD = { DATA = 4096, REPLY = 4096 + #REPLY_PREFIX, CONFIG = 4 + CHANNEL_DATA_MAX,
	PACKET = 4 + CHANNEL_DATA_MAX }
for _, name in ipairs(CHANNEL_TYPES) do MAX_PAYLOAD["CHANNEL " .. name] = 4 + CHANNEL_DATA_MAX end

-- Reads type | u16 payload length | payload | zero padding into m; returns what a receiver
-- would refuse (docs/SECURE.md sections 5 and 7), if anything.
local function read_record_plaintext(m, after_close)
	local pt = m.plaintext
	if #pt < 3 then return "plaintext shorter than its 3-byte header" end
	local code, n = pt:byte(1), pt:byte(2) * 256 + pt:byte(3)
	m.type_code, m.payload_len = code, n
	m.record_type = RECORD_TYPES[code] or ("unknown (" .. code .. ")")
	if 3 + n > #pt then return "payload length " .. n .. " runs past the plaintext" end
	m.payload, m.padding = pt:sub(4, 3 + n), #pt - 3 - n
	m.payload_text = utf8_safe(m.payload)
	if #pt ~= 32 * math.ceil((3 + n) / 32) then
		return "padding is not the shortest to a multiple of 32"
	end
	if pt:find("[^%z]", 4 + n) then return "non-zero padding" end
	if not RECORD_TYPES[code] then return "unknown record type " .. code end
	local t = m.record_type
	if RECORD_SENDER[t] and RECORD_SENDER[t] ~= m.sender then
		return t .. " from the " .. m.sender
	end
	if after_close then return t .. " after the " .. m.sender .. "'s CLOSE" end
	local max = MAX_PAYLOAD[t] or 0
	if n > max then return string.format("%s payload of %d bytes (at most %d)", t, n, max) end
	if t == "DATA" and not valid_utf8(m.payload) then return "DATA is not valid UTF-8" end
end

-- Channel records (docs/SECURE.md section 10; common/chan.c checks the same): the fixed parts
-- after the id, the most a REFUSE detail may hold, and the largest window.
local CHANNEL_FIXED = { ACCEPT = 4, WINDOW = 4, EOF = 0, CLOSE = 0 }
local CHANNEL_DETAIL_MAX, CHANNEL_WINDOW_MAX = 200, 2 ^ 30

local function bytes_text(n) return n .. (n == 1 and " byte" or " bytes") end

local function u32(s, i)
	local a, b, c, d = s:byte(i, i + 3)
	return ((a * 256 + b) * 256 + c) * 256 + d
end

-- Reads a channel record's payload p (a CHANNEL_TYPES name in kind). Returns what could be
-- read — { kind, id, window, port, host_len, host, reason, detail, data }, each only when
-- present — and the first rule it breaks, if any. Never fails on short or odd bytes.
local function read_channel(kind, p)
	local c = { kind = kind }
	if #p < 4 then
		return c, kind .. " payload of " .. bytes_text(#p) .. ", shorter than the channel id"
	end
	c.id = u32(p, 1)
	local rest = #p - 4
	local fixed = CHANNEL_FIXED[kind]
	if fixed and rest ~= fixed then
		return c, string.format("%s with %s after the channel id, not %d", kind, bytes_text(rest), fixed)
	end
	local function window_problem()
		if c.window == 0 then return kind .. " window of 0 bytes" end
		if c.window > CHANNEL_WINDOW_MAX then
			return string.format("%s window of %d bytes (at most %d)", kind, c.window,
				CHANNEL_WINDOW_MAX)
		end
	end
	if kind == "OPEN" then
		if rest < 7 then
			return c, "OPEN with " .. bytes_text(rest) .. " after the channel id, too short for a " ..
				"window, a port and a host length"
		end
		c.window, c.port, c.host_len = u32(p, 5), p:byte(9) * 256 + p:byte(10), p:byte(11)
		c.host = p:sub(12, 11 + c.host_len)
		if rest ~= 7 + c.host_len then
			return c, string.format("OPEN host length %d, with %s after it", c.host_len,
				bytes_text(rest - 7))
		end
		if c.host_len == 0 then return c, "OPEN with an empty host" end
		if c.host:find("%z") then return c, "OPEN host has a NUL byte" end
		if not valid_utf8(c.host) then return c, "OPEN host is not valid UTF-8" end
		if c.port == 0 then return c, "OPEN to port 0" end
		return c, window_problem()
	elseif kind == "ACCEPT" or kind == "WINDOW" then
		c.window = u32(p, 5)
		return c, window_problem()
	elseif kind == "REFUSE" then
		if rest < 1 then return c, "REFUSE without a reason" end
		c.reason, c.detail = p:byte(5), p:sub(6)
		if not CHANNEL_REASONS[c.reason] then return c, "REFUSE with unknown reason " .. c.reason end
		if #c.detail > CHANNEL_DETAIL_MAX then
			return c, string.format("REFUSE detail of %d bytes (at most %d)", #c.detail,
				CHANNEL_DETAIL_MAX)
		end
		if not valid_utf8(c.detail) then return c, "REFUSE detail is not valid UTF-8" end
	elseif kind == "DATA" then
		c.data = p:sub(5)
		if rest == 0 then return c, "DATA without a byte" end
		-- More than CHANNEL_DATA_MAX bytes: the record's payload is then too long (MAX_PAYLOAD).
	end
	return c
end

-- The IP tunnel (docs/SECURE.md section 12). A configuration is a list of u8 type | u8 len |
-- value, checked as common/tunconf.c reads it: a known type must have its length, a prefix is at
-- most 32, a route has no host bits, an MTU (0: none) is at least 576, 32 routes at most; unknown
-- types are skipped.
local CONFIG_NAMES = { [1] = "address", [2] = "MTU", [3] = "route", [4] = "keepalive" }
local CONFIG_LEN = { [1] = 5, [2] = 2, [3] = 5, [4] = 2 }
local CONFIG_ROUTES_MAX, CONFIG_MTU_MIN = 32, 576

local function ipv4_text(s, i) return string.format("%d.%d.%d.%d", s:byte(i, i + 3)) end

-- RFC 5952: lowercase, no leading zeros, the longest run of two or more zero groups as "::".
local function ipv6_text(s, i)
	local g, best, best_len, run, run_len = {}, nil, 1, nil, 0
	for k = 1, 8 do
		g[k] = s:byte(i + 2 * k - 2) * 256 + s:byte(i + 2 * k - 1)
		if g[k] == 0 then
			if run_len == 0 then run = k end
			run_len = run_len + 1
			if run_len > best_len then best, best_len = run, run_len end
		else
			run_len = 0
		end
	end
	local out = {}
	for k = 1, 8 do out[k] = string.format("%x", g[k]) end
	if not best then return table.concat(out, ":") end
	return table.concat(out, ":", 1, best - 1) .. "::" .. table.concat(out, ":", best + best_len, 8)
end

-- Reads a CONFIG payload: its entries ({ code, len, off = offset of the type byte, and address,
-- prefix, mtu or keepalive as it holds }) and the first rule it breaks, if any.
local function read_config(p)
	local entries, at, routes = {}, 1, 0
	if #p == 0 then return entries, "CONFIG without an entry" end
	while at <= #p do
		if #p - at < 1 then
			return entries, "CONFIG entry cut short: 1 byte, no length"
		end
		local e = { code = p:byte(at), len = p:byte(at + 1), off = at - 1 }
		local v, name = at + 2, CONFIG_NAMES[e.code]
		if #p - at - 1 < e.len then
			return entries, string.format("CONFIG entry of type %d cut short: %s of %d", e.code,
				bytes_text(#p - at - 1), e.len)
		end
		entries[#entries + 1] = e
		local want = CONFIG_LEN[e.code]
		if want and e.len ~= want then
			e.wrong = true
			return entries, string.format("CONFIG %s of %s, not %d", name, bytes_text(e.len), want)
		end
		if e.code == 1 or e.code == 3 then
			e.address, e.prefix = ipv4_text(p, v), p:byte(v + 4)
			if e.prefix > 32 then
				return entries, string.format("CONFIG %s %s/%d: prefix longer than 32", name,
					e.address, e.prefix)
			end
			if e.code == 3 then
				routes = routes + 1
				if u32(p, v) % 2 ^ (32 - e.prefix) ~= 0 then
					return entries, string.format("CONFIG route %s/%d has host bits set", e.address,
						e.prefix)
				end
				if routes > CONFIG_ROUTES_MAX then
					return entries, string.format("CONFIG with more than %d routes", CONFIG_ROUTES_MAX)
				end
			end
		elseif e.code == 2 then
			e.mtu = p:byte(v) * 256 + p:byte(v + 1)
			if e.mtu ~= 0 and e.mtu < CONFIG_MTU_MIN then
				return entries, string.format("CONFIG MTU %d (at least %d)", e.mtu, CONFIG_MTU_MIN)
			end
		elseif e.code == 4 then
			e.keepalive = p:byte(v) * 256 + p:byte(v + 1)
		end
		at = v + e.len
	end
	return entries
end

-- "10.8.0.2/24, MTU 1420, route 10.0.0.0/8, keepalive 25 s, type 9 (3 bytes)"
local function config_text(entries)
	local parts = {}
	for _, e in ipairs(entries) do
		local t
		if e.wrong then t = CONFIG_NAMES[e.code] .. " of " .. bytes_text(e.len)
		elseif e.code == 1 then t = e.address .. "/" .. e.prefix
		elseif e.code == 2 then t = "MTU " .. e.mtu
		elseif e.code == 3 then t = "route " .. e.address .. "/" .. e.prefix
		elseif e.code == 4 then t = "keepalive " .. e.keepalive .. " s"
		else t = "type " .. e.code .. " (" .. bytes_text(e.len) .. ")" end
		parts[#parts + 1] = t
	end
	return table.concat(parts, ", ")
end

local IP_PROTOCOLS = { [1] = "ICMP", [2] = "IGMP", [6] = "TCP", [17] = "UDP", [41] = "IPv6",
	[47] = "GRE", [50] = "ESP", [58] = "ICMPv6", [132] = "SCTP" }

-- The inner packet at the start of p, as its IP header gives it: { version, length (what the
-- header says: IPv4 total length, IPv6 40 + payload length), text }, or nil and why there is
-- none (the version nibble is not 4 or 6, or p is shorter than that version's header).
local function read_inner(p)
	local v = #p > 0 and rshift(p:byte(1), 4) or nil
	local n = { version = v }
	if v == 4 and #p >= 20 then
		n.length, n.proto = p:byte(3) * 256 + p:byte(4), p:byte(10)
		n.src, n.dst = ipv4_text(p, 13), ipv4_text(p, 17)
	elseif v == 6 and #p >= 40 then
		n.length, n.proto = 40 + p:byte(5) * 256 + p:byte(6), p:byte(7)
		n.src, n.dst = ipv6_text(p, 9), ipv6_text(p, 25)
	elseif v == 4 or v == 6 then
		return nil, string.format("%s, shorter than an IPv%d header", bytes_text(#p), v)
	elseif v then
		return nil, "no IPv4 or IPv6 packet (version " .. v .. ")"
	else
		return nil, "no packet"
	end
	n.text = string.format("IPv%d %s %s -> %s, %s", v, IP_PROTOCOLS[n.proto] or
		("protocol " .. n.proto), n.src, n.dst, bytes_text(n.length))
	return n
end

-- Peer text in a field or the Info column, as utf8_safe, with control characters (NUL ends a
-- string field) as \xNN too, as cvpn's programs print it.
local function peer_text(s)
	return (utf8_safe(s):gsub("[%z\1-\31\127]", function(c)
		return string.format("\\x%02x", c:byte())
	end))
end

-- "host:port", with an IPv6 address in brackets.
local function host_port(host, port)
	host = peer_text(host)
	return (host:find(":") and "[" .. host .. "]" or host) .. ":" .. port
end

-- Builds conv.secure_crypto: { candidates = the session's key log lines, chosen = the line in
-- use, suite, dirs = { c2s = { key, generation }, s2c = ... }, reason = why not }.
local function setup_secure_crypto(conv)
	local c = {}
	conv.secure_crypto = c
	if ossl.missing then c.reason = ossl.missing; return c end
	local logs, err = keylog_sessions()
	if not logs then c.reason = err; return c end
	local lines = logs.secure[conv.client .. " " .. conv.server]
	if not lines then
		c.reason = "no key log line for this session (client " .. conv.client_text ..
			", server " .. conv.server_text .. ")"
		return c
	end
	-- The hellos fix the protocol (a capture that starts later takes the key log's word).
	local negotiated = conv.secure.protocol
	local candidates = {}
	for _, e in ipairs(lines) do
		if AEAD_SUITES[e.cipher] and (not negotiated or e.protocol == negotiated) then
			candidates[#candidates + 1] = e
		end
	end
	if #candidates == 0 then
		c.reason = "the key log line is for " .. lines[1].protocol ..
			(negotiated and (", the hellos negotiated " .. negotiated) or ": unknown cipher")
		return c
	end
	for _, e in ipairs(candidates) do
		local suite = AEAD_SUITES[e.cipher]
		local ok, why = pcall(aead_open, suite, string.rep("\0", 32), 0, "",
			string.rep("\0", AEAD_TAG_LEN))
		if not ok then
			c.reason = "cipher not available: " .. suite.evp .. ": " .. short_error(why)
			return c
		end
	end
	c.candidates = candidates
	return c
end

-- The keys of the line that opens this record (lines can share endpoints: a client port used
-- again later); the first line to open a record is the session's, in both directions.
local function secure_keys(c, dir, m, ad, sealed)
	if c.chosen then return c.dirs[dir] end
	for _, e in ipairs(c.candidates) do
		local suite = AEAD_SUITES[e.cipher]
		local key = fromhex(e[dir .. "_hex"])
		local ok, _, tag_ok = pcall(aead_open, suite, key, m.nonce, ad, sealed)
		if ok and tag_ok then
			c.chosen, c.suite = e, suite
			c.dirs = { c2s = { key = fromhex(e.c2s_hex), generation = 0 },
				s2c = { key = fromhex(e.s2c_hex), generation = 0 } }
			return c.dirs[dir]
		end
	end
end

-- Decrypts record m of direction dir and follows CLOSE and REKEY.
local function open_record(conv, dir, m)
	local c = conv.secure_crypto
	if not c.candidates then m.status = c.reason; return end
	m.decryptor = AEAD_SUITES[(c.chosen or c.candidates[1]).cipher].decryptor
	if m.body_len < AEAD_TAG_LEN then
		m.tag_ok, m.status = false, "not decrypted: shorter than the AEAD tag"
		return
	end
	local ad, sealed = m.raw:sub(1, 2), m.raw:sub(3)
	local k = secure_keys(c, dir, m, ad, sealed)
	if not k then
		m.tag_ok, m.status = false, "not decrypted: bad AEAD tag"
		return
	end
	m.key_generation = k.generation
	local pt, tag_ok = aead_open(c.suite, k.key, m.nonce, ad, sealed)
	m.tag_ok = tag_ok
	if not tag_ok then m.status = "not decrypted: bad AEAD tag"; return end
	m.plaintext = pt
	local d = conv.dirs[dir]
	local problems = { read_record_plaintext(m, d.closed) }
	local kind = m.payload and CHANNEL_TYPES[m.type_code - CHANNEL_FIRST + 1]
	if kind then
		local ch, why = read_channel(kind, m.payload)
		m.channel = ch
		problems[#problems + 1] = why
		-- The client's OPEN names the destination of the records of its id that follow (an id
		-- is used again only after the channel ended, or after a REFUSE).
		if kind == "OPEN" and not why and m.sender == "client" then
			conv.channels[ch.id] = host_port(ch.host, ch.port)
		end
		if ch.id then ch.destination = conv.channels[ch.id] end
	end
	if m.payload and m.type_code == CONFIG then
		local entries, why = read_config(m.payload)
		m.config = entries
		problems[#problems + 1] = why
	elseif m.payload and m.type_code == PACKET then
		local inner, why = read_inner(m.payload)
		m.inner = inner
		problems[#problems + 1] = #m.payload == 0 and "PACKET without a byte" or
			(why and "PACKET holds " .. why)
	end
	for _, problem in ipairs(problems) do table.insert(m.problems, problem) end
	m.status = problems[1] and "decrypted, but a receiver refuses it: " .. problems[1] or "decrypted"
	if m.type_code == CLOSE then d.closed = true end
	-- The sender's later records use Rekey(k); its counter goes on.
	if m.type_code == REKEY then
		k.key = aead_rekey(c.suite, k.key)
		k.generation = k.generation + 1
	end
end

----------------------------------------------------------------------------------------------
-- Message types: one table. dir = who sends it; next = the phase after it.
----------------------------------------------------------------------------------------------

local MESSAGE_TYPES = {
	proposal = { dir = "c2s", keyword = "ProposedCiphers", next = "dhmke" },
	choice = { dir = "s2c", keyword = "ChosenCipher", next = "dhmke" },
	dhmke = { keyword = "DHMKE", next = { c2s = "data", s2c = "reply" } },
	data = { dir = "c2s" },
	reply = { dir = "s2c" },
}

local FIRST_PHASE = { c2s = "proposal", s2c = "choice" }

-- Does s at i start with keyword, or with a beginning of it that ends the data?
local function keyword_state(s, i, keyword)
	local have = s:sub(i, i + #keyword - 1)
	if have == keyword then return "yes" end
	if #have < #keyword and keyword:sub(1, #have) == have then return "partial" end
	return "no"
end

-- Picks the type of the message at s[i] from the direction's phase; in a handshake phase the
-- keywords decide (a capture may start late), otherwise it is a data message or a reply.
local function pick_type(dir, phase, s, i)
	if phase ~= "data" and phase ~= "reply" then
		for _, name in ipairs({ "proposal", "choice", "dhmke" }) do
			local t = MESSAGE_TYPES[name]
			if t.dir == nil or t.dir == dir then
				local state = keyword_state(s, i, t.keyword)
				if state == "yes" then return name end
				if state == "partial" then return nil end
			end
		end
	end
	return dir == "c2s" and "data" or "reply"
end

-- Secure profile: each direction goes hello -> handshake -> records (docs/SECURE.md).
local SECURE_NEXT_PHASE = { hello = "handshake", handshake = "record", record = "record" }

local function contains(list, value)
	for _, v in ipairs(list) do if v == value then return true end end
	return false
end

-- First pass, secure profile: frames the next message of this direction at s[i], updates the
-- state (the negotiation in conv.secure, record counts, keys).
local function parse_secure(conv, dir, s, i)
	local d = conv.dirs[dir]
	local side = dir == "c2s" and "client" or "server"
	local m
	if d.phase == "hello" then m = frame_hello(s, i, side) else m = frame_prefixed(s, i) end
	if m == NEED_MORE then return m end
	m.type, m.sender, m.raw = d.phase, side, s:sub(i, i + m.len - 1)
	if m.malformed then return m end
	d.phase = SECURE_NEXT_PHASE[m.type]
	local hs = conv.secure
	if m.type == "hello" and side == "client" then
		hs.mode, hs.offered = m.mode, m.suites
	elseif m.type == "hello" then
		if hs.mode and m.mode ~= hs.mode then
			table.insert(m.problems, "the client asked for " .. hs.mode .. " mode")
		end
		if hs.offered and not contains(hs.offered, m.suite_code) then
			table.insert(m.problems, "a suite the client did not offer")
		end
		-- The Noise protocol is the server's answer: it is what the handshake runs.
		hs.mode, hs.suite = m.mode, m.suite
		hs.protocol = noise_protocol(m.mode, m.suite)
		m.protocol = hs.protocol
	elseif m.type == "handshake" then
		m.number, m.mode = side == "client" and 1 or 2, hs.mode
		local want = hs.mode and HANDSHAKE_LEN[hs.mode][m.number]
		if want and m.body_len ~= want then
			table.insert(m.problems, string.format("%d bytes, where %s mode's message %d has %d",
				m.body_len, hs.mode, m.number, want))
		end
	else
		d.count = d.count + 1
		m.number, m.nonce = d.count, d.count - 1
		local n = m.body_len
		if n < RECORD_MIN or n > RECORD_MAX or (n - AEAD_TAG_LEN) % 32 ~= 0 then
			table.insert(m.problems, string.format("length %d is not 16 + a multiple of 32 " ..
				"from %d to %d", n, RECORD_MIN, RECORD_MAX))
		end
		if not conv.secure_crypto then setup_secure_crypto(conv) end
		open_record(conv, dir, m)
	end
	return m
end

-- First pass: frames the next message of this direction at s[i], updates the state; final as
-- for the frame_* functions. Returns the message, NEED_MORE or HOLD (then nothing changed).
local function parse_next(conv, dir, s, i, final)
	if not conv.profile then
		-- The first bytes of the connection tell the profiles apart, as they do for the
		-- server; a beginning of the magic that ends the data waits for more.
		local state = keyword_state(s, i, MAGIC)
		if state == "partial" then return NEED_MORE end
		conv.profile = state == "yes" and "secure" or "lab"
		if conv.profile == "secure" then
			conv.secure = {}
			conv.dirs.c2s.phase, conv.dirs.s2c.phase = "hello", "hello"
		end
	end
	if conv.profile == "secure" then return parse_secure(conv, dir, s, i) end
	local d = conv.dirs[dir]
	local name = pick_type(dir, d.phase, s, i)
	if not name then return NEED_MORE end
	local m
	if name == "proposal" then m = frame_proposal(s, i)
	elseif name == "choice" then m = frame_choice(s, i, final)
	elseif name == "dhmke" then m = frame_dhmke(s, i, final)
	elseif name == "data" then
		if not conv.crypto then setup_crypto(conv) end
		m = frame_data(s, i, conv.crypto.verify)
	else
		m = frame_reply(s, i, conv.expected_replies[d.count + 1], final)
	end
	if m == NEED_MORE or m == HOLD then return m end

	m.type, m.raw = name, s:sub(i, i + m.len - 1)
	local nxt = MESSAGE_TYPES[name].next
	if nxt then d.phase = type(nxt) == "table" and nxt[dir] or nxt end
	if name == "dhmke" then
		m.side = (dir == "c2s") and "client" or "server"
		m.bits = decimal_bit_length(m.digits)
	elseif (name == "data" or name == "reply") and not m.malformed then
		d.count = d.count + 1
		m.number = d.count
		if name == "data" then commit_data(conv, m, s:sub(i, i + m.ct_len - 1)) end
	end
	return m
end

----------------------------------------------------------------------------------------------
-- Display: the same for the first pass and every later one.
----------------------------------------------------------------------------------------------

local function suite_name(code)
	return SUITE_NAMES[code] or ("unknown (" .. code .. ")")
end

-- "OPEN channel 1 to localhost:8000, window 262144", "DATA channel 3, 1200 bytes", ...: as
-- much as the record holds.
local function channel_info_text(ch)
	local text = ch.kind
	if not ch.id then return text end
	text = text .. " channel " .. ch.id
	if ch.kind == "OPEN" and ch.host and #ch.host == ch.host_len then
		text = text .. " to " .. host_port(ch.host, ch.port) .. ", window " .. ch.window
	elseif (ch.kind == "ACCEPT" or ch.kind == "OPEN") and ch.window then
		text = text .. ", window " .. ch.window
	elseif ch.kind == "WINDOW" and ch.window then
		text = text .. ", +" .. bytes_text(ch.window)
	elseif ch.kind == "REFUSE" and ch.reason then
		text = text .. ": " .. (CHANNEL_REASONS[ch.reason] or ("unknown reason " .. ch.reason))
		-- The detail, unless it only says the reason again (cvpn-server's does).
		if #ch.detail > 0 and ch.detail ~= CHANNEL_REASONS[ch.reason] then
			text = text .. ' "' .. peer_text(ch.detail) .. '"'
		end
	elseif ch.kind == "DATA" and ch.data then
		text = text .. ", " .. bytes_text(#ch.data)
	end
	return text
end

local function secure_info_text(m)
	if m.type == "hello" and m.side == "client" then
		local names = {}
		for k, code in ipairs(m.suites) do names[k] = suite_name(code) end
		return string.format("ClientHello: %s mode, suites %s", m.mode or "unknown",
			table.concat(names, ", "))
	elseif m.type == "hello" then
		return "ServerHello: " .. suite_name(m.suite_code) ..
			(m.protocol and " -> " .. m.protocol or "")
	elseif m.type == "handshake" then
		if m.number == 1 and m.body_len >= MAC1_LEN then
			return string.format("Handshake 1: %d bytes + mac1", m.body_len - MAC1_LEN)
		end
		return string.format("Handshake %d: %d bytes", m.number, m.body_len)
	end
	local what = m.record_type or (m.body_len .. " bytes")
	if m.payload and (m.record_type == "DATA" or m.record_type == "REPLY") then
		what = what .. string.format(" %q", m.payload_text)
	elseif m.channel then
		what = channel_info_text(m.channel)
	elseif m.config and #m.config > 0 then
		what = what .. " " .. config_text(m.config)
	elseif m.inner then
		what = what .. " " .. m.inner.text
	elseif m.payload and m.type_code == PACKET then
		what = what .. ", " .. bytes_text(#m.payload)
	end
	local verdict = m.tag_ok == false and ", BAD TAG" or ""
	if m.plaintext and m.problems[1] then verdict = ", MALFORMED: " .. m.problems[1] end
	return string.format("Record #%d from %s: %s%s", m.number, m.sender, what, verdict)
end

local function info_text(m)
	if m.malformed then return "Malformed " .. m.type .. ": " .. m.malformed end
	if m.sender then return secure_info_text(m) end
	if m.type == "proposal" then
		local parts = {}
		for _, c in ipairs(m.ciphers) do
			local sizes = {}
			for _, sz in ipairs(c.sizes) do sizes[#sizes + 1] = sz.value end
			parts[#parts + 1] = c.name .. " " .. table.concat(sizes, "/")
		end
		return "Proposal: " .. table.concat(parts, ", ")
	elseif m.type == "choice" then
		return "Choice: " .. m.cipher .. " " .. m.bits
	elseif m.type == "dhmke" then
		return string.format("DHMKE %s public (%d digits, %d bits)", m.side, #m.digits, m.bits)
	elseif m.type == "data" then
		local text = m.plaintext and string.format(" %q", m.text) or ""
		local verdict = m.tag_ok == true and ", tag OK" or (m.tag_ok == false and ", BAD TAG" or "")
		return string.format("Data #%d: %d bytes + tag%s%s", m.number, m.ct_len, verdict, text)
	else
		return string.format("Reply #%d: %s", m.number, m.text)
	end
end

local function show_data(m, tvb, at, subtree)
	subtree:add(F.ciphertext, tvb(at, m.ct_len))
	local tag_item = subtree:add(F.tag, tvb(at + m.ct_len, TAG_HEX_LEN), m.tag)
	if m.hmac_mode then subtree:add(F.hmac, m.hmac_mode):set_generated() end
	if m.tag_ok ~= nil then
		subtree:add(F.tag_ok, m.tag_ok):set_generated()
		if not m.tag_ok then tag_item:add_proto_expert_info(E.bad_hmac) end
	end
	if m.decryptor then subtree:add(F.decryptor, m.decryptor):set_generated() end
	local status = subtree:add(F.decrypt_status, m.status):set_generated()
	if not m.plaintext and m.tag_ok ~= false then
		status:add_proto_expert_info(E.undecrypted, "Cannot decrypt: " .. m.status)
	end
	if m.plaintext then
		local text = strip_nuls(m.plaintext)
		if #m.plaintext > 0 then
			local dec = ByteArray.new(m.plaintext, true):tvb("Decrypted cvpn")
			local lead = #m.plaintext - #m.plaintext:gsub("^%z+", "")
			subtree:add(F.plaintext, dec(lead, #text), m.text)
		else
			subtree:add(F.plaintext, ""):set_generated()
		end
	end
end

-- HTTP in a channel: DATA that starts an HTTP/1.x request or response goes to Wireshark's
-- dissector "http", the entry point that needs nothing from TCP. TCP's port table and its
-- heuristics are not tried: their dissectors get TCP's data about the segment (struct tcpinfo),
-- which a Lua dissector cannot pass on, and any of them may rely on it. Only such DATA: the
-- records after it that continue a message are shown as bytes, as TCP's reassembly is not there
-- to join them. HTTP may not ask TCP to reassemble (can_desegment 0), its errors stay in its own
-- subtree (Wireshark's "Malformed Packet", never a Lua error), and cvpn still sets the columns.
-- The same holds for the inner packets of the IP tunnel, handed to "ip" or "ipv6": they go on to
-- ICMP, UDP, TCP... as in any tunnel. The frame keeps its own addresses and ports (the IP
-- dissector sets the inner ones), for the Source and Destination columns and for TCP. cvpn does
-- not dissect itself inside its own tunnel (a packet to port 4600 in a PACKET record).
local showing -- { pinfo, tree } of the frame being shown, for call_dissector
local dissectors = {} -- name -> Dissector, or false when Wireshark has none

local function starts_http(data)
	return data:find("^[A-Z]+ [^ \r\n]+ HTTP/1%.[01]\r?\n") or data:find("^HTTP/1%.[01] %d%d%d")
end

local function call_dissector(name, data_tvb)
	if not showing then return end
	local d = dissectors[name]
	if d == nil then
		local ok, got = pcall(Dissector.get, name)
		d = ok and got or false
		dissectors[name] = d
	end
	if not d then return end
	local pinfo = showing.pinfo
	local saved = { pinfo.can_desegment, pinfo.src, pinfo.dst, pinfo.net_src, pinfo.net_dst,
		pinfo.src_port, pinfo.dst_port }
	pinfo.can_desegment = 0
	pcall(d.call, d, data_tvb, pinfo, showing.tree)
	pinfo.can_desegment, pinfo.src, pinfo.dst, pinfo.net_src, pinfo.net_dst, pinfo.src_port,
		pinfo.dst_port = table.unpack(saved, 1, 7)
	pinfo.desegment_len, pinfo.desegment_offset = 0, 0
end

local function dissect_http(data_tvb)
	if cvpn.prefs.channel_http then call_dissector("http", data_tvb) end
end

-- A CONFIG record's entries (read_config), at offset 3 of the decrypted record dec.
local function show_config(entries, dec, subtree)
	for _, e in ipairs(entries) do
		local at = 3 + e.off
		local item = subtree:add(TF.config, dec(at, 2 + e.len), e.code)
		item:add(TF.config_len, dec(at + 1, 1))
		if e.address then
			item:append_text(": " .. e.address .. "/" .. e.prefix)
			item:add(e.code == 1 and TF.address or TF.route, dec(at + 2, 4))
			item:add(TF.prefix, dec(at + 6, 1))
		elseif e.mtu then
			item:append_text(": " .. e.mtu)
			item:add(TF.mtu, dec(at + 2, 2))
		elseif e.keepalive then
			item:append_text(": " .. e.keepalive .. " s")
			item:add(TF.keepalive, dec(at + 2, 2))
		elseif e.len > 0 then
			item:add(TF.value, dec(at + 2, e.len))
		end
	end
end

-- An inner packet (read_inner) in range: its summary, then Wireshark's IP dissector.
local function show_inner(inner, range, subtree)
	local item = subtree:add(TF.packet, range, inner.text)
	item:add(TF.version, range(0, 1))
	item:add(TF.length, inner.length):set_generated()
	call_dissector(inner.version == 4 and "ip" or "ipv6", range:tvb())
end

-- A channel record's payload (ch, from read_channel) at offset 3 of the decrypted record dec:
-- what it holds, under the channel id.
local function show_channel(ch, dec, subtree)
	if not ch.id then
		subtree:add(CF.type, ch.kind):set_generated()
		return
	end
	local item = subtree:add(CF.id, dec(3, 4))
	item:append_text(" (" .. ch.kind .. ")")
	item:add(CF.type, ch.kind):set_generated()
	if ch.destination then item:add(CF.destination, ch.destination):set_generated() end
	if ch.window then item:add(CF.window, dec(7, 4)) end
	if ch.port then item:add(CF.port, dec(11, 2)) end
	if ch.host_len then
		item:add(CF.host_len, dec(13, 1))
		if #ch.host > 0 then
			item:add(CF.host, dec(14, #ch.host), peer_text(ch.host))
		else
			item:add(CF.host, ""):set_generated()
		end
	end
	if ch.reason then
		item:add(CF.reason, dec(7, 1))
		if #ch.detail > 0 then
			item:add(CF.detail, dec(8, #ch.detail), peer_text(ch.detail))
		else
			item:add(CF.detail, ""):set_generated()
		end
	end
	if ch.data then
		if #ch.data > 0 then item:add(CF.data, dec(7, #ch.data)) end
		item:add(CF.data_len, #ch.data):set_generated()
		if #ch.data > 0 and starts_http(ch.data) then dissect_http(dec(7, #ch.data):tvb()) end
	end
end

-- The decrypted record in its own tab: type | u16 payload length | payload | padding.
local function show_record_plaintext(m, subtree)
	local dec = ByteArray.new(m.plaintext, true):tvb("Decrypted cvpn")
	subtree:add(SF.record_type, dec(0, 1), m.record_type)
	subtree:add(SF.payload_len, dec(1, 2))
	if not m.payload then return end
	local field = ({ DATA = F.plaintext, REPLY = F.reply })[m.record_type]
	if field and #m.payload > 0 then
		subtree:add(field, dec(3, #m.payload), m.payload_text)
	elseif field then
		subtree:add(field, ""):set_generated()
	end
	if m.channel then show_channel(m.channel, dec, subtree) end
	if m.config then show_config(m.config, dec, subtree) end
	if m.inner then show_inner(m.inner, dec(3, #m.payload), subtree) end
	if m.padding > 0 then
		subtree:add(SF.padding, dec(3 + #m.payload, m.padding), m.padding)
	else
		subtree:add(SF.padding, 0):set_generated()
	end
end

local function show_record(m, tvb, at, subtree)
	subtree:add(SF.record, m.number):set_generated()
	subtree:add(SF.record_len, tvb(at, 2))
	subtree:add(SF.nonce, m.nonce):set_generated()
	local ct_len = math.max(m.body_len - AEAD_TAG_LEN, 0)
	if ct_len > 0 then subtree:add(F.ciphertext, tvb(at + 2, ct_len)) end
	local tag_item = subtree
	if m.body_len >= AEAD_TAG_LEN then
		tag_item = subtree:add(SF.record_tag, tvb(at + 2 + ct_len, AEAD_TAG_LEN))
	end
	if m.key_generation then subtree:add(SF.key_generation, m.key_generation):set_generated() end
	if m.tag_ok ~= nil then
		subtree:add(F.tag_ok, m.tag_ok):set_generated()
		-- The lab's expert info for a bad tag (cvpn.bad_hmac), so one filter finds both.
		if not m.tag_ok then tag_item:add_proto_expert_info(E.bad_hmac, "bad AEAD tag") end
	end
	if m.decryptor then subtree:add(F.decryptor, m.decryptor):set_generated() end
	local status = subtree:add(F.decrypt_status, m.status):set_generated()
	if not m.plaintext and m.tag_ok ~= false then
		status:add_proto_expert_info(E.undecrypted, "Cannot decrypt: " .. m.status)
	end
	if m.plaintext and m.record_type then show_record_plaintext(m, subtree) end
end

local function show_secure(m, tvb, at, subtree)
	subtree:add(SF.sender, m.sender):set_generated()
	if m.type == "hello" then
		subtree:add(SF.version, tvb(at + 4, 1))
		subtree:add(SF.mode, tvb(at + 5, 1), m.mode or ("unknown (" .. m.mode_code .. ")"))
		if m.side == "client" then
			local list = subtree:add(SF.suite_count, tvb(at + 6, 1))
			for k, code in ipairs(m.suites) do
				list:add(SF.suites, tvb(at + 6 + k, 1), suite_name(code))
			end
		else
			subtree:add(SF.suite, tvb(at + 6, 1), suite_name(m.suite_code))
			if m.protocol then subtree:add(SF.protocol, m.protocol):set_generated() end
		end
	elseif m.type == "handshake" then
		subtree:add(SF.handshake, m.number):set_generated()
		subtree:add(SF.handshake_len, tvb(at, 2))
		local body = at + 2
		local noise_len = m.number == 1 and m.body_len - MAC1_LEN or m.body_len
		-- Noise tokens: e first; in IK message 1 then the encrypted s; last the payload's tag.
		if noise_len >= NOISE_KEY_LEN + AEAD_TAG_LEN then
			subtree:add(SF.ephemeral, tvb(body, NOISE_KEY_LEN))
			if m.number == 1 and m.body_len == HANDSHAKE_LEN.key[1] and m.mode == "key" then
				subtree:add(SF.static, tvb(body + NOISE_KEY_LEN, NOISE_KEY_LEN + AEAD_TAG_LEN))
			end
			subtree:add(SF.payload, tvb(body + noise_len - AEAD_TAG_LEN, AEAD_TAG_LEN))
		end
		if m.number == 1 and noise_len >= 0 then
			subtree:add(SF.mac1, tvb(body + noise_len, MAC1_LEN))
		end
	else
		show_record(m, tvb, at, subtree)
	end
	for _, problem in ipairs(m.problems) do
		subtree:add_proto_expert_info(E.malformed, "Malformed " .. m.type .. ": " .. problem)
	end
end

local function show(m, tvb, at, tree)
	local subtree = tree:add(cvpn, tvb(at, m.len))
	subtree:append_text(": " .. m.type)
	subtree:add(F.type, m.type):set_generated()
	if m.malformed then
		subtree:add_proto_expert_info(E.malformed, "Malformed " .. m.type .. ": " .. m.malformed)
		return subtree
	end
	if m.sender then
		show_secure(m, tvb, at, subtree)
		return subtree
	end
	if m.type == "proposal" then
		local p = subtree:add(F.proposal, tvb(at, #m.text), m.text)
		for _, c in ipairs(m.ciphers) do
			local ci = p:add(F.proposal_cipher, tvb(at + c.off, c.len), c.name)
			for _, sz in ipairs(c.sizes) do
				ci:add(F.proposal_bits, tvb(at + sz.off, sz.len), sz.value)
			end
		end
	elseif m.type == "choice" then
		local ch = subtree:add(F.choice, tvb(at, #m.text), m.text)
		ch:add(F.choice_cipher, tvb(at + m.cipher_off, #m.cipher), m.cipher)
		ch:add(F.choice_bits, tvb(at + m.bits_off, m.bits_len), m.bits)
	elseif m.type == "dhmke" then
		local field = m.side == "client" and F.dh_client or F.dh_server
		local range = tvb(at + m.digits_off, #m.digits)
		local v = subtree:add(field, range, m.digits)
		v:add(F.dh_digits, range, #m.digits):set_generated()
		v:add(F.dh_bits, range, m.bits):set_generated()
	elseif m.type == "data" then
		subtree:add(F.message, m.number):set_generated()
		show_data(m, tvb, at, subtree)
	else
		subtree:add(F.message, m.number):set_generated()
		subtree:add(F.reply, tvb(at, m.len - m.padding), m.text)
		subtree:add(F.reply_padding, m.padding):set_generated()
	end
	return subtree
end

----------------------------------------------------------------------------------------------
-- Stream reading (first pass only). Each direction's bytes are read as one stream, whatever
-- TCP's segments: the bytes not yet in a message wait in the direction's buffer, a message
-- that spans segments is shown from a "Reassembled cvpn" tab in the frame of its last byte,
-- and the frames before show which message their bytes belong to. TCP is never asked to
-- reassemble: only this reader knows that the peer's bytes end a message (lock-step).
----------------------------------------------------------------------------------------------

-- Messages that can go on when more bytes come before the peer speaks: handshake text, which
-- could take another entry or a line ending, and replies, which could take more text or NULs.
local OPEN_TYPES = { proposal = true, choice = true, dhmke = true, reply = true }

local function new_direction(name)
	return { name = name, phase = FIRST_PHASE[name], count = 0,
		total = 0,            -- bytes of the stream seen so far
		buf = "", buf_from = 1, -- unread bytes (or the open message), from this stream offset
		held = false,         -- buf holds a message that could end at its last byte (HOLD)
		open = nil,           -- the last message, if it ended at the last byte and may grow
		messages = {},        -- in stream order, with stream offsets from and to
		ranges = {} }         -- the frames, in stream order: { frame, from, to }
end

-- The index of the first element of list whose `to` is at or past pos (list in stream order).
local function first_reaching(list, pos)
	local lo, hi = 1, #list + 1
	while lo < hi do
		local mid = math.floor((lo + hi) / 2)
		if list[mid].to < pos then lo = mid + 1 else hi = mid end
	end
	return lo
end

-- A message just read at buf[i]: its stream offsets and frames; it joins the direction's
-- messages, or replaces `reread` (the open message read again) when it grew.
local function place(d, m, i, reread)
	m.dir, m.from = d.name, d.buf_from + i - 1
	m.to = m.from + m.len - 1
	m.first_frame = d.ranges[first_reaching(d.ranges, m.from)].frame
	m.last_frame = d.ranges[first_reaching(d.ranges, m.to)].frame
	if reread and i == 1 then
		if m.len == reread.len then return reread, false end
		d.messages[#d.messages] = m
		m.grew_from = reread.last_frame
		return m, true
	end
	d.messages[#d.messages + 1] = m
	return m, true
end

-- Reads the messages the direction's buffer now holds; final: the peer has spoken, so held
-- messages end here. Returns the messages read now (or grown).
local function read_messages(conv, dir, final)
	local d = conv.dirs[dir]
	local reread = d.open
	if reread then d.phase, d.count = reread.before.phase, reread.before.count end
	d.open, d.held = nil, false
	local i, read = 1, {}
	while i <= #d.buf do
		local before = { phase = d.phase, count = d.count }
		local m = parse_next(conv, dir, d.buf, i, final)
		if m == NEED_MORE or m == HOLD then
			d.held = m == HOLD
			break
		end
		local new
		m, new = place(d, m, i, reread)
		if new then read[#read + 1] = m end
		i = i + m.len
		if i > #d.buf and not final and OPEN_TYPES[m.type] and conv.profile == "lab" then
			d.open, m.before = m, before
		end
	end
	-- An open message read again that no longer ends anywhere is pending bytes again.
	if reread and i == 1 then table.remove(d.messages) end
	local keep = d.open and d.open.from - d.buf_from + 1 or i
	d.buf, d.buf_from = d.buf:sub(keep), d.buf_from + keep - 1
	return read
end

-- First pass: the bytes s of frame fnum, sent in direction dir. Returns the frame's record and
-- the peer's messages that these bytes end (to be shown now, as their frames were already).
local function feed(conv, dir, fnum, s)
	local peer = dir == "c2s" and "s2c" or "c2s"
	local late = {}
	if #conv.dirs[peer].buf > 0 then late = read_messages(conv, peer, true) end
	local d = conv.dirs[dir]
	local rec = { conv = conv, dir = dir, frame = fnum, from = d.total + 1, to = d.total + #s }
	d.total = rec.to
	d.ranges[#d.ranges + 1] = rec
	d.buf = d.buf .. s
	read_messages(conv, dir, false)
	return rec, late
end

-- Who is the client: the sender of ProposedCiphers, the receiver of ChosenCipher, otherwise
-- the side that is not on port 4600 (a capture that starts late). Both secure hellos begin
-- with CVPN, but the server's only answers the client's: the first one is the client's,
-- unless it comes from port 4600.
local function sender_is_client(pinfo, s)
	if s:sub(1, 15) == "ProposedCiphers" then return true end
	if s:sub(1, 12) == "ChosenCipher" then return false end
	return pinfo.src_port ~= PORT
end

local function new_conversation(pinfo, s)
	local ca, cp, sa, sp = pinfo.src, pinfo.src_port, pinfo.dst, pinfo.dst_port
	if not sender_is_client(pinfo, s) then ca, cp, sa, sp = sa, sp, ca, cp end
	return { client = endpoint_key(ca, cp), server = endpoint_key(sa, sp),
		client_text = tostring(ca) .. ":" .. cp, server_text = tostring(sa) .. ":" .. sp,
		dirs = { c2s = new_direction("c2s"), s2c = new_direction("s2c") }, expected_replies = {},
		channels = {} }
end

-- Does the client start a new session here: a session's first bytes from the client, after
-- the client's side of the old one has ended a message (the same ports used again)?
local function starts_again(conv, from, s)
	local c2s = conv.dirs.c2s
	local opening = s:sub(1, 15) == "ProposedCiphers" or
		s:sub(1, #MAGIC + 1) == MAGIC .. string.char(SECURE_VERSION)
	return opening and from == conv.client and c2s.total > 0 and (c2s.buf == "" or c2s.open)
end

-- The connection's state, keyed by its two endpoints in a fixed order: the same in every
-- pass, with or without a protocol tree (tcp.stream is only there with a tree).
local function conversation(pinfo, s)
	local a, b = endpoint_key(pinfo.src, pinfo.src_port), endpoint_key(pinfo.dst, pinfo.dst_port)
	local id = a < b and a .. " " .. b or b .. " " .. a
	local conv = conversations[id]
	if not conv or starts_again(conv, a, s) then
		conv = new_conversation(pinfo, s)
		conversations[id] = conv
	end
	return conv, a == conv.client and "c2s" or "s2c"
end

----------------------------------------------------------------------------------------------
-- A frame's display: its messages (whole, or the part of one that ends in a later frame)
----------------------------------------------------------------------------------------------

local function part_name(m)
	if m.type == "dhmke" then return "DHMKE " .. m.side .. " public" end
	if m.sender then
		return m.number and string.format("%s #%d from %s", m.type, m.number, m.sender) or m.type
	end
	return m.number and string.format("%s #%d", m.type, m.number) or m.type
end

-- What the unread bytes at the end of a direction will be, as far as their start tells.
local function pending_name(conv, d)
	if not conv.profile then return "message" end
	local name = d.phase or "message"
	for _, t in ipairs({ "proposal", "choice", "dhmke" }) do
		local keyword = MESSAGE_TYPES[t].keyword
		if d.buf:sub(1, #keyword) == keyword then name = t end
	end
	if name == "dhmke" then return "DHMKE " .. (d.name == "c2s" and "client" or "server") .. " public" end
	if name == "data" or name == "reply" then return part_name({ type = name, number = d.count + 1 }) end
	return name
end

-- Bytes of this frame that belong to a message shown in another frame (or to none yet).
local function show_part(tvb, at, len, what, in_frame, tree)
	local item = tree:add(cvpn, tvb(at, len))
	item:append_text(": part of " .. what)
	item:add(F.part, what):set_generated()
	if in_frame then item:add(F.reassembled_in, in_frame):set_generated() end
	return "[CVPN part of " .. what .. (in_frame and ", in frame " .. in_frame or ", not complete") .. "]"
end

-- A whole message: from this frame's bytes when it lies within them, otherwise from its own
-- tab, with the frames it came from.
local function show_whole(m, tvb, rec, tree, note)
	local d = rec.conv.dirs[m.dir]
	local own = m.dir == rec.dir and m.from >= rec.from and m.to <= rec.to
	local mtvb, at = tvb, m.from - rec.from
	if not own then mtvb, at = ByteArray.new(m.raw, true):tvb("Reassembled cvpn"), 0 end
	local subtree = show(m, mtvb, at, tree)
	if not own then
		for k = first_reaching(d.ranges, m.from), first_reaching(d.ranges, m.to) do
			subtree:add(F.segment, d.ranges[k].frame):set_generated()
		end
	end
	if note then subtree:add(F.note, note):set_generated() end
	return info_text(m)
end

-- Everything this frame shows. late: on the first pass, the peer's messages that this frame's
-- bytes have just ended; later passes show them in the frame of their last byte.
local function show_frame(tvb, tree, rec, late)
	local d = rec.conv.dirs[rec.dir]
	local infos, parts = {}, {}
	for _, m in ipairs(late or {}) do
		infos[#infos + 1] = show_whole(m, tvb, rec, tree, "ended by the " ..
			(m.dir == "c2s" and "server" or "client") .. "'s answer in this frame (lock-step)")
	end
	local covered = rec.from - 1
	for k = first_reaching(d.messages, rec.from), #d.messages do
		local m = d.messages[k]
		if m.from > rec.to then break end
		if m.to <= rec.to then
			local note = late and m.grew_from and m.grew_from ~= rec.frame and
				"continues the bytes shown in frame " .. m.grew_from .. " as a whole message"
			infos[#infos + 1] = show_whole(m, tvb, rec, tree, note or nil)
		else
			local at = math.max(m.from, rec.from) - rec.from
			parts[#parts + 1] = show_part(tvb, at, rec.to - rec.from - at + 1, part_name(m),
				m.last_frame, tree)
		end
		covered = m.to
	end
	if covered < rec.to then
		local at = math.max(covered + 1, rec.from) - rec.from
		parts[#parts + 1] = show_part(tvb, at, rec.to - rec.from - at + 1, pending_name(rec.conv, d), nil,
			tree)
	end
	return #infos > 0 and infos or parts
end

----------------------------------------------------------------------------------------------
-- The UDP transport (docs/SECURE.md section 12). One datagram is one packet: there is no stream
-- to read, and each packet is read once, on the first pass, in frame order; later passes show
-- what it was found to hold. A DATA packet's receiver index finds its keys (the key log's
-- CVPN_UDP line with that index, whatever the addresses: a client may roam), its counter is its
-- nonce. Handshakes are numbered by their INITs in their conversation (two addresses and
-- ports); the keys of one whose INIT the capture lacks number it where a packet first uses them.
----------------------------------------------------------------------------------------------

local PT_UDP = 3 -- pinfo.port_type of a UDP packet
local UDP_INIT, UDP_RESPONSE, UDP_COOKIE, UDP_DATA = 1, 2, 3, 4
local UDP_INIT_LEN = 8 + NOISE_KEY_LEN + 48 + SEALED_TIMESTAMP_LEN + 2 * MAC1_LEN -- 148
local UDP_RESPONSE_MIN = 12 + NOISE_KEY_LEN + AEAD_TAG_LEN + 2 * MAC1_LEN -- 92: no configuration
local UDP_CONFIG_MAX = 256
local UDP_COOKIE_LEN = 8 + 12 + 16 + AEAD_TAG_LEN -- 52
local UDP_DATA_HEADER, UDP_PAD = 16, 16
local UDP_WINDOW = 1984 -- how far behind the highest counter a packet may come (common/replaywin.c)

local function index_hex(s, i) return string.format("%08x", u32(s, i)) end

-- What makes the packet unreadable (an unknown type, a length its type cannot have), if anything.
local function udp_layout(s)
	local code, n = s:byte(1), #s
	local name = UDP_TYPES[code]
	if not name then return "unknown packet type " .. code end
	if code == UDP_INIT and n ~= UDP_INIT_LEN then
		return string.format("INIT of %s, not %d", bytes_text(n), UDP_INIT_LEN)
	elseif code == UDP_RESPONSE and (n < UDP_RESPONSE_MIN or n > UDP_RESPONSE_MIN + UDP_CONFIG_MAX) then
		return string.format("RESPONSE of %s, not %d to %d", bytes_text(n), UDP_RESPONSE_MIN,
			UDP_RESPONSE_MIN + UDP_CONFIG_MAX)
	elseif code == UDP_COOKIE and n ~= UDP_COOKIE_LEN then
		return string.format("COOKIE of %s, not %d", bytes_text(n), UDP_COOKIE_LEN)
	elseif code == UDP_DATA and (n < UDP_DATA_HEADER + AEAD_TAG_LEN or
		(n - UDP_DATA_HEADER - AEAD_TAG_LEN) % UDP_PAD ~= 0) then
		return string.format("DATA of %s, not %d + a multiple of %d", bytes_text(n),
			UDP_DATA_HEADER + AEAD_TAG_LEN, UDP_PAD)
	end
end

-- A new handshake, numbered in conversation conv.
local function new_handshake(conv)
	local n = (udp_state.conversations[conv] or 0) + 1
	udp_state.conversations[conv] = n
	return { number = n }
end

local function register(hs, side, index)
	hs[side .. "_index"] = index
	udp_state[side][index] = hs
end

-- What a packet shows of its handshake: as known when the packet came (the same in every pass).
local function handshake_view(hs)
	if not hs then return nil end
	return { number = hs.number, client_index = hs.client_index, server_index = hs.server_index,
		init_frame = hs.init_frame, response_frame = hs.response_frame }
end

-- The counter window of a receiver index (side "?" when the direction is unknown): returns why
-- a receiver drops counter n, if it does; counts n when asked (only an authenticated counter
-- moves a receiver's window; without keys every counter counts).
local function udp_window(m, count)
	local key = (m.side or "?") .. " " .. m.receiver
	local w = udp_state.windows[key]
	if not w then
		w = { seen = {}, top = -1 }
		udp_state.windows[key] = w
	end
	local why
	if m.counter <= w.top and w.top - m.counter >= UDP_WINDOW then
		m.too_old = true
		why = string.format("counter %s is %d or more behind the highest, %.0f", m.counter_text,
			UDP_WINDOW, w.top)
	elseif w.seen[m.counter_bytes] then
		m.replay_of = w.seen[m.counter_bytes]
		why = string.format("counter %s was in frame %d: a replay", m.counter_text, m.replay_of)
	elseif count then
		w.seen[m.counter_bytes] = m.frame
		if m.counter > w.top then w.top = m.counter end
	end
	return why
end

-- Opens DATA packet m (bytes s) with the key log line its receiver index names; fills in the
-- side it goes to, its handshake and what it holds.
local function open_udp_data(m, s, pinfo, conv)
	local rcv = m.receiver
	-- The side whose index it is: from the handshakes seen, else the key log, else the port.
	local sides = { "server", "client" }
	if udp_state.server[rcv] and not udp_state.client[rcv] then sides = { "server" }
	elseif udp_state.client[rcv] and not udp_state.server[rcv] then sides = { "client" } end
	local logs, err = keylog_sessions()
	local candidates = {}
	for _, side in ipairs(sides) do
		for _, e in ipairs(logs and logs.udp[side][rcv] or {}) do
			candidates[#candidates + 1] = { side = side, entry = e }
		end
	end
	local ad, sealed = s:sub(1, UDP_DATA_HEADER), s:sub(UDP_DATA_HEADER + 1)
	local pt, opened
	if ossl.missing then
		m.status = ossl.missing
	elseif not logs then
		m.status = err
	elseif #candidates == 0 then
		m.status = "no CVPN_UDP key log line with index " .. rcv
	else
		for _, c in ipairs(candidates) do
			local suite = AEAD_SUITES[c.entry.cipher]
			if not suite then
				m.status = "unknown cipher in the key log: " .. c.entry.protocol
			else
				local key = fromhex(c.side == "server" and c.entry.c2s_hex or c.entry.s2c_hex)
				local ok, out, tag_ok = pcall(aead_open, suite, key, m.counter_bytes, ad, sealed)
				if not ok then
					m.status = "cipher not available: " .. suite.evp .. ": " .. short_error(out)
				else
					m.decryptor, m.tag_ok = suite.decryptor, tag_ok
					m.status = "not decrypted: bad AEAD tag"
					if tag_ok then pt, opened = out, c; break end
				end
			end
		end
	end
	if #sides == 2 then
		local side = opened and opened.side or (#candidates > 0 and candidates[1].side)
		if not side and pinfo.dst_port == PORT then side = "server"
		elseif not side and pinfo.src_port == PORT then side = "client" end
		m.side = side or nil
	else
		m.side = sides[1]
	end
	local hs = m.side and udp_state[m.side][rcv]
	if not hs and opened then
		-- Keys of a handshake whose INIT and RESPONSE the capture lacks: number it here.
		local e = opened.entry
		hs = udp_state.client[e.client_index] or udp_state.server[e.server_index] or
			new_handshake(conv)
		register(hs, "client", e.client_index)
		register(hs, "server", e.server_index)
	end
	m.hs = handshake_view(hs)
	if m.tag_ok == false then return end
	m.window_problem = udp_window(m, pt ~= nil or m.tag_ok == nil)
	if not pt then return end
	m.plaintext = pt
	if #pt == 0 then
		m.keepalive = true
	else
		local inner, no = read_inner(pt)
		if inner and (inner.length > #pt or (inner.version == 4 and inner.length < 20)) then
			inner, no = nil, string.format("an IPv%d header that says %s, in %s", inner.version,
				bytes_text(inner.length), bytes_text(#pt))
		end
		if inner then
			m.inner, m.padding = inner, #pt - inner.length
		else
			table.insert(m.problems, "the plaintext holds " .. no)
		end
	end
	local why = m.window_problem or m.problems[1]
	m.status = why and "decrypted, but a receiver drops it: " .. why or "decrypted"
end

local function udp_conversation(pinfo)
	local a, b = endpoint_key(pinfo.src, pinfo.src_port), endpoint_key(pinfo.dst, pinfo.dst_port)
	return a < b and a .. " " .. b or b .. " " .. a
end

-- First pass: reads the packet of frame fnum (bytes s) and updates the handshakes and windows.
local function parse_udp(tvb, pinfo, s, fnum)
	local m = { code = s:byte(1), frame = fnum, problems = {} }
	m.layout = udp_layout(s)
	if m.layout then return m end
	local conv = udp_conversation(pinfo)
	if m.code == UDP_INIT then
		m.mode_code, m.suite_code, m.sender = s:byte(2), s:byte(3), index_hex(s, 5)
		m.mode, m.suite = MODES[m.mode_code], SUITE_NAMES[m.suite_code]
		m.protocol = m.mode and noise_protocol(m.mode, m.suite)
		m.mac2_set = s:sub(-MAC1_LEN) ~= string.rep("\0", MAC1_LEN)
		if m.mode ~= "key" then
			table.insert(m.problems, "INIT in " .. (m.mode and m.mode .. " mode" or
				"unknown mode " .. m.mode_code) .. ": the UDP transport runs key mode")
		end
		if not m.suite then table.insert(m.problems, "INIT with unknown suite " .. m.suite_code) end
		if s:byte(4) ~= 0 then table.insert(m.problems, "INIT reserved byte is not zero") end
		local hs = udp_state.client[m.sender]
		if hs and hs.init_frame then
			m.copy_of = hs.init_frame
		else
			hs = hs or new_handshake(conv)
			hs.init_frame = fnum
			register(hs, "client", m.sender)
		end
		m.hs = handshake_view(hs)
		return m
	end
	if s:sub(2, 4) ~= "\0\0\0" then
		table.insert(m.problems, UDP_TYPES[m.code] .. " reserved bytes are not zero")
	end
	if m.code == UDP_RESPONSE then
		m.sender, m.receiver = index_hex(s, 5), index_hex(s, 9)
		m.config_len = #s - UDP_RESPONSE_MIN
		local hs = udp_state.client[m.receiver]
		if not hs then
			hs = new_handshake(conv)
			register(hs, "client", m.receiver)
		end
		if not hs.response_frame then
			hs.response_frame = fnum
			register(hs, "server", m.sender)
		end
		m.hs = handshake_view(hs)
	elseif m.code == UDP_COOKIE then
		m.receiver = index_hex(s, 5)
		m.hs = handshake_view(udp_state.client[m.receiver])
	else
		m.receiver, m.counter_bytes = index_hex(s, 5), s:sub(9, 16)
		m.counter = u32(s, 9) * 2 ^ 32 + u32(s, 13)
		m.counter_text = tostring(tvb(8, 8):uint64())
		m.sealed_len = #s - UDP_DATA_HEADER
		open_udp_data(m, s, pinfo, conv)
	end
	return m
end

local function index_text(hex) return "0x" .. hex end

local function udp_info_text(m)
	local name = UDP_TYPES[m.code]
	if m.layout then return "Malformed " .. (name or "packet") .. ": " .. m.layout end
	local hs, text = m.hs
	if m.code == UDP_INIT then
		text = string.format("INIT: handshake %d, client index %s, %s", hs.number,
			index_text(m.sender), m.suite or "unknown suite")
		if m.mac2_set then text = text .. ", mac2 set (a cookie)" end
		if m.copy_of then text = text .. ", COPY of frame " .. m.copy_of end
	elseif m.code == UDP_RESPONSE then
		text = string.format("RESPONSE: handshake %d, server index %s to client index %s, " ..
			"configuration of %s (sealed)", hs.number, index_text(m.sender),
			index_text(m.receiver), bytes_text(m.config_len))
	elseif m.code == UDP_COOKIE then
		text = "COOKIE to client index " .. index_text(m.receiver) ..
			(hs and " (handshake " .. hs.number .. ")" or "")
	else
		text = "DATA" .. (m.side and " to " .. m.side or "") .. ", " ..
			(hs and string.format("handshake %d (index %s)", hs.number, index_text(m.receiver))
				or "index " .. index_text(m.receiver)) .. ", counter " .. m.counter_text .. ": "
		if m.keepalive then text = text .. "keepalive"
		elseif m.inner then text = text .. m.inner.text
		else text = text .. bytes_text(m.sealed_len or 0) .. " sealed" end
		if m.tag_ok == false then text = text .. ", BAD TAG"
		elseif m.replay_of then text = text .. ", REPLAY of frame " .. m.replay_of
		elseif m.too_old then text = text .. ", TOO OLD" end
		if m.problems[1] then text = text .. ", MALFORMED: " .. m.problems[1] end
		return text
	end
	if m.problems[1] then text = text .. ", MALFORMED: " .. m.problems[1] end
	return text
end

local function show_handshake(m, subtree)
	local hs = m.hs
	if not hs then return end
	local item = subtree:add(UF.handshake, hs.number):set_generated()
	if hs.client_index then
		item:add(UF.client_index, tonumber(hs.client_index, 16)):set_generated()
	end
	if hs.server_index then
		item:add(UF.server_index, tonumber(hs.server_index, 16)):set_generated()
	end
	if hs.init_frame then item:add(UF.init_frame, hs.init_frame):set_generated() end
	if hs.response_frame then item:add(UF.response_frame, hs.response_frame):set_generated() end
end

local function show_udp_data(m, tvb, subtree)
	local n = tvb:len()
	subtree:add(UF.counter, tvb(8, 8))
	if m.side then subtree:add(UF.direction, "to " .. m.side):set_generated() end
	show_handshake(m, subtree)
	local ct_len = n - UDP_DATA_HEADER - AEAD_TAG_LEN
	if ct_len > 0 then subtree:add(F.ciphertext, tvb(UDP_DATA_HEADER, ct_len)) end
	local tag_item = subtree:add(SF.record_tag, tvb(n - AEAD_TAG_LEN, AEAD_TAG_LEN))
	if m.tag_ok ~= nil then
		subtree:add(F.tag_ok, m.tag_ok):set_generated()
		if not m.tag_ok then tag_item:add_proto_expert_info(E.bad_hmac, "bad AEAD tag") end
	end
	if m.decryptor then subtree:add(F.decryptor, m.decryptor):set_generated() end
	local status = subtree:add(F.decrypt_status, m.status):set_generated()
	if not m.plaintext and m.tag_ok ~= false then
		status:add_proto_expert_info(E.undecrypted, "Cannot decrypt: " .. m.status)
	end
	if m.replay_of then subtree:add(UF.first_seen, m.replay_of):set_generated() end
	if not m.plaintext then return end
	if m.keepalive then
		subtree:add(UF.keepalive, true):set_generated()
		return
	end
	local dec = ByteArray.new(m.plaintext, true):tvb("Decrypted cvpn")
	if m.inner then
		show_inner(m.inner, dec(0, m.inner.length), subtree)
		if m.padding > 0 then
			subtree:add(UF.padding, dec(m.inner.length, m.padding), m.padding)
		else
			subtree:add(UF.padding, 0):set_generated()
		end
	end
end

local function show_udp(m, tvb, tree)
	local n, name = tvb:len(), UDP_TYPES[m.code]
	local subtree = tree:add(cvpn, tvb())
	subtree:append_text(": " .. (name or "unknown packet"))
	subtree:add(F.type, "datagram"):set_generated()
	subtree:add(UF.type, tvb(0, 1))
	if m.layout then
		subtree:add_proto_expert_info(E.malformed, "Malformed " .. (name or "packet") .. ": " ..
			m.layout)
		return
	end
	if m.code == UDP_INIT then
		subtree:add(SF.mode, tvb(1, 1), m.mode or ("unknown (" .. m.mode_code .. ")"))
		subtree:add(SF.suite, tvb(2, 1), suite_name(m.suite_code))
		if m.protocol then subtree:add(SF.protocol, m.protocol):set_generated() end
		subtree:add(UF.reserved, tvb(3, 1))
		subtree:add(UF.sender, tvb(4, 4))
		show_handshake(m, subtree)
		subtree:add(SF.ephemeral, tvb(8, NOISE_KEY_LEN))
		subtree:add(SF.static, tvb(40, 48))
		subtree:add(UF.timestamp, tvb(88, SEALED_TIMESTAMP_LEN))
	else
		subtree:add(UF.reserved, tvb(1, 3))
		if m.sender then subtree:add(UF.sender, tvb(4, 4)) end
		subtree:add(UF.receiver, tvb(m.sender and 8 or 4, 4))
	end
	if m.code == UDP_RESPONSE then
		show_handshake(m, subtree)
		subtree:add(SF.ephemeral, tvb(12, NOISE_KEY_LEN))
		subtree:add(UF.config, tvb(44, m.config_len + AEAD_TAG_LEN))
		subtree:add(UF.config_len, m.config_len):set_generated()
	elseif m.code == UDP_COOKIE then
		show_handshake(m, subtree)
		subtree:add(UF.cookie_nonce, tvb(8, 12))
		subtree:add(UF.cookie, tvb(20, 16 + AEAD_TAG_LEN))
	elseif m.code == UDP_DATA then
		show_udp_data(m, tvb, subtree)
	end
	if m.code == UDP_INIT or m.code == UDP_RESPONSE then
		subtree:add(SF.mac1, tvb(n - 2 * MAC1_LEN, MAC1_LEN))
		local mac2 = subtree:add(UF.mac2, tvb(n - MAC1_LEN, MAC1_LEN))
		if m.code == UDP_INIT then
			if not m.mac2_set then mac2:append_text(" (zeros: no cookie)") end
			subtree:add(UF.cookie_used, m.mac2_set):set_generated()
		end
	end
	if m.copy_of then
		subtree:add_proto_expert_info(E.replay, "Replayed packet: a copy of the INIT in frame " ..
			m.copy_of .. " (a server refuses it)")
	end
	if m.window_problem then
		subtree:add_proto_expert_info(E.replay, "Replayed packet: " .. m.window_problem ..
			" (a receiver drops it)")
	end
	for _, problem in ipairs(m.problems) do
		subtree:add_proto_expert_info(E.malformed, "Malformed " .. name .. ": " .. problem)
	end
end

local function dissect_udp(tvb, pinfo, tree, s)
	local m = udp_frames[pinfo.number]
	if not m then
		m = parse_udp(tvb, pinfo, s, pinfo.number)
		udp_frames[pinfo.number] = m
	end
	showing = { pinfo = pinfo, tree = tree }
	show_udp(m, tvb, tree)
	showing = nil
	pinfo.cols.protocol:clear_fence()
	pinfo.cols.protocol = "CVPN"
	pinfo.cols.info:clear_fence()
	pinfo.cols.info = udp_info_text(m)
	return #s
end

function cvpn.dissector(tvb, pinfo, tree)
	local s = tvb:raw()
	if #s == 0 or showing then return 0 end
	if pinfo.port_type == PT_UDP then return dissect_udp(tvb, pinfo, tree, s) end
	local rec, late = frames[pinfo.number], nil
	if not rec then
		local conv, dir = conversation(pinfo, s)
		rec, late = feed(conv, dir, pinfo.number, s)
		frames[pinfo.number] = rec
	end
	showing = { pinfo = pinfo, tree = tree }
	local infos = show_frame(tvb, tree, rec, late)
	showing = nil
	pinfo.cols.protocol = "CVPN"
	pinfo.cols.info:clear_fence() -- HTTP in a channel sets one
	pinfo.cols.info = table.concat(infos, " | ")
	return #s
end

-- Any port: a connection whose first client bytes are "ProposedCiphers", or the magic and
-- version of a secure ClientHello.
local function heuristic(tvb, pinfo, tree)
	if showing then return false end
	local n = tvb:len()
	local lab = n >= 15 and tvb:raw(0, 15) == "ProposedCiphers"
	local hello = MAGIC .. string.char(SECURE_VERSION)
	local secure = n >= #hello and tvb:raw(0, #hello) == hello
	if not lab and not secure then return false end
	local seq = f_tcp_seq()
	if seq and seq.value ~= 1 then return false end
	pinfo.conversation = cvpn
	cvpn.dissector(tvb, pinfo, tree)
	return true
end

-- Any UDP port: a packet whose type (1 to 4), reserved bytes, mode and suite (INIT) and length
-- fit section 12; the rest of its conversation then comes here.
local function heuristic_udp(tvb, pinfo, tree)
	if showing or tvb:len() < 4 then return false end
	local s = tvb:raw()
	local code = s:byte(1)
	if code == UDP_INIT then
		if not (MODES[s:byte(2)] and SUITE_NAMES[s:byte(3)] and s:byte(4) == 0) then return false end
	elseif not UDP_TYPES[code] or s:sub(2, 4) ~= "\0\0\0" then
		return false
	end
	if udp_layout(s) then return false end
	pinfo.conversation = cvpn
	cvpn.dissector(tvb, pinfo, tree)
	return true
end

DissectorTable.get("tcp.port"):add(PORT, cvpn)
cvpn:register_heuristic("tcp", heuristic)
DissectorTable.get("udp.port"):add(PORT, cvpn)
cvpn:register_heuristic("udp", heuristic_udp)
