#!/usr/bin/python3
"""Writes secure-profile sessions (docs/SECURE.md) with known transport keys, and checks what the
dissector makes of them.

The real programs cannot yet send every channel record (port forwarding is being written), nor
malformed ones at all, so this makes whole sessions itself: the hellos, two handshake messages
of the right lengths (opaque bytes: the dissector cannot decrypt the handshake anyway), then
records sealed as section 5 says (ChaCha20-Poly1305 or AES-256-GCM, the Noise nonce, the u16
length as associated data, zero padding to a multiple of 32), following a REKEY with Noise's
Rekey(). The sessions:
    channels   key mode, ChaChaPoly: a chat message, then every channel record type (OPEN,
               ACCEPT, REFUSE with each reason, DATA, EOF, CLOSE, WINDOW), a REKEY each way in
               the middle, DATA of 16384 bytes both ways (the largest record, cut by TCP)
    stealth    psk mode, AESGCM, as a stealth client sends it (section 11): the ClientHello and
               handshake message 1 in one segment before the ServerHello arrives; an HTTP GET
               through a channel, answered by a response that spans two DATA records
    stealth2   key mode, ChaChaPoly, stealth with the hello and message 1 in two segments
    malformed  channel records that decrypt but break section 10: short, bad lengths, a host
               that is not UTF-8 or has a NUL, zero or too large windows, port 0, unknown
               reasons, details too long or not UTF-8, DATA without bytes or too long, and
               types from the wrong side (OPEN from the server, ACCEPT and REFUSE from the
               client)
    again      a new session from the client port of `channels` (the same endpoints used again)
    tunnel     the IP tunnel over TCP (section 12), AESGCM: the server's CONFIG (address, MTU,
               routes, a type the client skips, keepalive), PACKET records both ways holding
               ICMP echo, DNS over UDP and ICMPv6 echo (innerpkt.py, checksums right), two in one
               segment, 1400-byte ones cut by TCP; then CONFIGs that break section 12 (from the
               client, empty, cut short, wrong lengths, a prefix past 32, host bits in a route, a
               small MTU, 33 routes) and PACKETs that hold no IP packet
    ended      key mode, AESGCM: a chat message, then the server ends the session with its CLOSE
               first (section 5), which the client does not answer
Each session is also written again cut at other places (--copies, --mss) as streams of their
own, which must show the same.

build: writes the pcap (one TCP stream per session, 10.0.0.1 -> 10.0.0.2:4600), the key log
    (CVPN_SECURE lines, section 9) and what the dissector must show (JSON: per stream, every
    message's fields and its Info text).
check: compares tshark -T json runs (-J "tcp cvpn ip ipv6 icmp icmpv6 udp dns", with
    ip.check_checksum and udp.check_checksum on) and a tshark -T fields run of tcp.stream and
    _ws.col.Info with it, field by field, the inner packets' own fields (innerpkt.FIELDS, from
    Wireshark's IP, ICMP, UDP and DNS dissectors) with the record that carries them; prints the
    first differences and a summary; exits 1 when any stream differs.

Python 3 standard library and python3-cryptography.
"""
import argparse
import hashlib
import json
import os
import random
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import innerpkt  # noqa: E402
from resegment import (PLACE_FIELDS, Endpoints, flat_fields, get, stream_packets,  # noqa: E402
                       strict_json, write_pcap)

SERVER_PORT = 4600
FIRST_CLIENT_PORT = 30000
TAG = 16
MODES = {"key": 1, "psk": 2}
PATTERNS = {"key": "IKpsk2", "psk": "NNpsk0"}
SUITES = {"ChaChaPoly": 1, "AESGCM": 2}
HANDSHAKE1 = {"key": 32 + 48 + 28 + 16, "psk": 32 + 28 + 16}
REPLY_PREFIX = "Server says: "
TYPES = {"DATA": 1, "REPLY": 2, "CLOSE": 3, "KEEPALIVE": 4, "REKEY": 5, "ERROR": 6}
CHANNEL_TYPES = ["OPEN", "ACCEPT", "REFUSE", "DATA", "EOF", "CLOSE", "WINDOW"]
for _k, _name in enumerate(CHANNEL_TYPES):
    TYPES["CHANNEL " + _name] = 7 + _k
TYPES.update({"CONFIG": 14, "PACKET": 15})
REASONS = {1: "not allowed by the server", 2: "connection refused", 3: "unreachable",
           4: "timed out", 5: "too many channels"}
WINDOW = 256 * 1024
DATA_MAX = 16384

# The fields compared for every message (absent ones must be absent), besides the expert
# messages; the rest is compared with the session's first stream.
CHECKED = """cvpn.type cvpn.secure.sender cvpn.secure.version cvpn.secure.mode cvpn.secure.suites
cvpn.secure.suite cvpn.secure.protocol cvpn.secure.handshake cvpn.secure.handshake.len
cvpn.secure.record cvpn.secure.record.len cvpn.secure.record.nonce
cvpn.secure.record.key_generation cvpn.tag_ok cvpn.decrypt_status cvpn.secure.record.type
cvpn.secure.record.payload_len cvpn.secure.record.padding cvpn.plaintext cvpn.reply
cvpn.secure.channel.id cvpn.secure.channel.type cvpn.secure.channel.destination
cvpn.secure.channel.window cvpn.secure.channel.port cvpn.secure.channel.host_len
cvpn.secure.channel.host cvpn.secure.channel.reason cvpn.secure.channel.detail
cvpn.secure.channel.data cvpn.secure.channel.data.len cvpn.tunnel.config.type
cvpn.tunnel.config.len cvpn.tunnel.config.address cvpn.tunnel.config.route
cvpn.tunnel.config.prefix cvpn.tunnel.config.mtu cvpn.tunnel.config.keepalive
cvpn.tunnel.config.value cvpn.tunnel.packet cvpn.tunnel.version cvpn.tunnel.length""".split()
EXPERT = "_ws.expert.message"


def hexbytes(b):
    return ":".join("%02x" % x for x in b)


def utf8_safe(b):
    """The dissector's text for bytes: UTF-8, each byte outside a character as \\xNN."""
    out, i = [], 0
    while i < len(b):
        for n in (1, 2, 3, 4):
            try:
                out.append(b[i:i + n].decode("utf-8"))
                i += n
                break
            except UnicodeDecodeError:
                continue
        else:
            out.append("\\x%02x" % b[i])
            i += 1
    return "".join(out)


def lua_q(text):
    """Lua's %q for text without control characters: quotes, with \\ and " escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def peer_text(b):
    """The dissector's text for a peer's host or detail: utf8_safe, control characters too."""
    return "".join("\\x%02x" % ord(c) if ord(c) < 32 or ord(c) == 127 else c for c in utf8_safe(b))


def bytes_text(n):
    return f"{n} byte" if n == 1 else f"{n} bytes"


def host_port(host, port):
    h = peer_text(host)
    return ("[" + h + "]" if ":" in h else h) + f":{port}"


class Sealer:
    """One direction's sending cipher: seals records, counts nonces, follows REKEY."""

    def __init__(self, cipher, key):
        self.cipher, self.key, self.n, self.generation = cipher, key, 0, 0

    def aead(self, key):
        return ChaCha20Poly1305(key) if self.cipher == "ChaChaPoly" else AESGCM(key)

    def nonce(self, n):
        return b"\0" * 4 + struct.pack("<Q" if self.cipher == "ChaChaPoly" else ">Q", n)

    def seal(self, code, payload):
        pt = bytes([code]) + struct.pack(">H", len(payload)) + payload
        pt += b"\0" * (-len(pt) % 32)
        ad = struct.pack(">H", len(pt) + TAG)
        rec = ad + self.aead(self.key).encrypt(self.nonce(self.n), pt, ad)
        info = {"number": self.n + 1, "nonce": self.n, "generation": self.generation,
                "len": len(pt) + TAG, "padding": len(pt) - 3 - len(payload)}
        self.n += 1
        if code == TYPES["REKEY"]:
            self.key = self.aead(self.key).encrypt(b"\0" * 4 + b"\xff" * 8, b"\0" * 32, b"")[:32]
            self.generation += 1
        return rec, info


def u32(v):
    return struct.pack(">I", v)


def open_payload(cid, host, port, window=WINDOW, host_len=None):
    return u32(cid) + u32(window) + struct.pack(">HB", port, len(host) if host_len is None
                                                else host_len) + host


class Session:
    """A session being written: its turns (side, bytes, cut offsets) and what the dissector must
    show of each message."""

    def __init__(self, name, mode, cipher, seed):
        self.name, self.mode, self.cipher = name, mode, cipher
        rng = random.Random(hashlib.sha256(f"{seed} {name}".encode()).digest())
        self.rng = rng
        self.c2s_key, self.s2c_key = rng.randbytes(32), rng.randbytes(32)
        self.sealers = {"client": Sealer(cipher, self.c2s_key), "server": Sealer(cipher, self.s2c_key)}
        self.protocol = f"Noise_{PATTERNS[mode]}_25519_{cipher}_SHA256"
        self.turns, self.messages = [], []
        self.channels = {}   # id -> "host:port" of the client's last good OPEN
        self.closed = set()  # sides that sent the session's CLOSE

    def send(self, side, data, message=None, join=False):
        """Appends bytes of one side; consecutive bytes of a side form one turn, its segments cut
        where each send began (unless join: in the previous send's segment), then every MSS
        bytes."""
        if self.turns and self.turns[-1][0] == side:
            if not join:
                self.turns[-1][2].append(len(self.turns[-1][1]))
            self.turns[-1][1] += data
        else:
            self.turns.append([side, bytearray(data), []])
        if message is not None:
            self.messages.append(message)

    # --- Hellos and handshake ---------------------------------------------------------------

    def client_hello(self, suites):
        codes = [SUITES[s] for s in suites]
        self.send("client", b"CVPN" + bytes([2, MODES[self.mode], len(codes)] + codes), {
            "fields": {"cvpn.type": ["hello"], "cvpn.secure.sender": ["client"],
                       "cvpn.secure.version": ["2"], "cvpn.secure.mode": [self.mode],
                       "cvpn.secure.suites": list(suites)},
            "info": f"ClientHello: {self.mode} mode, suites {', '.join(suites)}"})

    def server_hello(self):
        self.send("server", b"CVPN" + bytes([2, MODES[self.mode], SUITES[self.cipher]]), {
            "fields": {"cvpn.type": ["hello"], "cvpn.secure.sender": ["server"],
                       "cvpn.secure.version": ["2"], "cvpn.secure.mode": [self.mode],
                       "cvpn.secure.suite": [self.cipher], "cvpn.secure.protocol": [self.protocol]},
            "info": f"ServerHello: {self.cipher} -> {self.protocol}"})

    def handshake(self, number, join=False):
        side = "client" if number == 1 else "server"
        n = HANDSHAKE1[self.mode] if number == 1 else 48
        self.send(side, struct.pack(">H", n) + self.rng.randbytes(n), {
            "fields": {"cvpn.type": ["handshake"], "cvpn.secure.sender": [side],
                       "cvpn.secure.handshake": [str(number)],
                       "cvpn.secure.handshake.len": [str(n)]},
            "info": f"Handshake 1: {n - 16} bytes + mac1" if number == 1 else
                    f"Handshake 2: {n} bytes"}, join=join)

    def start(self, stealth=False, split=False):
        """Hellos and handshake: in turn, or as a stealth client sends them (message 1 right
        after the ClientHello, in the same segment unless split), and the server's answer."""
        if not stealth:
            self.client_hello(["ChaChaPoly", "AESGCM"] if self.cipher == "ChaChaPoly" else [self.cipher])
            self.server_hello()
            self.handshake(1)
            self.handshake(2)
            return
        self.client_hello([self.cipher])
        self.handshake(1, join=not split)   # one segment: hello and message 1 together
        self.server_hello()
        self.handshake(2, join=True)        # the server's hello and message 2 in one too

    # --- Records ------------------------------------------------------------------------------

    def record(self, side, rtype, payload=b"", problems=(), channel=None, same_segment=False,
               config=None, inner=None):
        """Seals one record of `side` and notes what the dissector must show; problems: what a
        receiver refuses, in the dissector's words; config: a CONFIG's entries as the dissector
        reads them (config_entry); inner: a PACKET's packet (an innerpkt.Inner)."""
        rec, info = self.sealers[side].seal(TYPES[rtype], payload)
        problems = list(problems)
        f = {"cvpn.type": ["record"], "cvpn.secure.sender": [side],
             "cvpn.secure.record": [str(info["number"])], "cvpn.secure.record.len": [str(info["len"])],
             "cvpn.secure.record.nonce": [str(info["nonce"])],
             "cvpn.secure.record.key_generation": [str(info["generation"])], "cvpn.tag_ok": ["1"],
             "cvpn.secure.record.type": [rtype], "cvpn.secure.record.payload_len": [str(len(payload))],
             "cvpn.secure.record.padding": [str(info["padding"])]}
        what = rtype
        if rtype in ("DATA", "REPLY"):
            text = payload.decode("utf-8")
            f["cvpn.plaintext" if rtype == "DATA" else "cvpn.reply"] = [text]
            what += " " + lua_q(text)
        elif rtype.startswith("CHANNEL "):
            what = self.channel_fields(side, rtype[8:], payload, f, problems, channel or {})
        elif rtype == "CONFIG":
            what = config_fields(config or [], f)
        elif rtype == "PACKET" and inner is not None:
            f.update(inner_fields(inner))
            what += " " + inner.summary
        elif rtype == "PACKET":
            what += ", " + bytes_text(len(payload))
        if side in self.closed:
            problems.insert(0, f"{rtype} after the {side}'s CLOSE")
        if rtype == "CLOSE":
            self.closed.add(side)
        f["cvpn.decrypt_status"] = ["decrypted, but a receiver refuses it: " + problems[0]
                                    if problems else "decrypted"]
        verdict = ", MALFORMED: " + problems[0] if problems else ""
        message = {"fields": f, "experts": ["Malformed record: " + p for p in problems],
                   "info": f"Record #{info['number']} from {side}: {what}{verdict}"}
        if inner is not None:
            message["inner"] = inner.fields
        self.send(side, rec, message, join=same_segment)

    def channel_fields(self, side, kind, p, f, problems, ch):
        """The channel fields of payload p (kind: OPEN, ...) into f; returns the Info text. ch
        says what the payload holds: the test's own account, not a parse of p."""
        f["cvpn.secure.channel.type"] = [kind]
        if "id" not in ch:
            return kind
        cid = ch["id"]
        f["cvpn.secure.channel.id"] = [str(cid)]
        text = f"{kind} channel {cid}"
        if kind == "OPEN" and not problems and side == "client":
            self.channels[cid] = host_port(ch["host"], ch["port"])
        if cid in self.channels:
            f["cvpn.secure.channel.destination"] = [self.channels[cid]]
        if "window" in ch:
            f["cvpn.secure.channel.window"] = [str(ch["window"])]
        if "port" in ch:
            f["cvpn.secure.channel.port"] = [str(ch["port"])]
        if "host" in ch:
            f["cvpn.secure.channel.host_len"] = [str(ch["host_len"])]
            f["cvpn.secure.channel.host"] = [peer_text(ch["host"])]
        if "reason" in ch:
            f["cvpn.secure.channel.reason"] = [str(ch["reason"])]
            f["cvpn.secure.channel.detail"] = [peer_text(ch["detail"])]
        if "data" in ch:
            if ch["data"]:
                f["cvpn.secure.channel.data"] = [hexbytes(ch["data"])]
            f["cvpn.secure.channel.data.len"] = [str(len(ch["data"]))]
        if kind == "OPEN" and "host" in ch and len(ch["host"]) == ch["host_len"]:
            text += f" to {host_port(ch['host'], ch['port'])}, window {ch['window']}"
        elif kind in ("ACCEPT", "OPEN") and "window" in ch:
            text += f", window {ch['window']}"
        elif kind == "WINDOW" and "window" in ch:
            text += f", +{bytes_text(ch['window'])}"
        elif kind == "REFUSE" and "reason" in ch:
            text += ": " + REASONS.get(ch["reason"], f"unknown reason {ch['reason']}")
            if ch["detail"] and ch["detail"] != REASONS.get(ch["reason"], "").encode():
                text += ' "' + peer_text(ch["detail"]) + '"'
        elif kind == "DATA" and "data" in ch:
            text += f", {bytes_text(len(ch['data']))}"
        return text

    # Well-formed channel records: payload and account together.
    def open(self, cid, host, port, window=WINDOW, **kw):
        host = host.encode() if isinstance(host, str) else host
        self.record("client", "CHANNEL OPEN", open_payload(cid, host, port, window), channel={
            "id": cid, "window": window, "port": port, "host": host, "host_len": len(host)}, **kw)

    def accept(self, cid, window=WINDOW, **kw):
        self.record("server", "CHANNEL ACCEPT", u32(cid) + u32(window),
                    channel={"id": cid, "window": window}, **kw)

    def refuse(self, cid, reason, detail=b"", **kw):
        self.record("server", "CHANNEL REFUSE", u32(cid) + bytes([reason]) + detail,
                    channel={"id": cid, "reason": reason, "detail": detail}, **kw)

    def data(self, side, cid, data, **kw):
        self.record(side, "CHANNEL DATA", u32(cid) + data, channel={"id": cid, "data": data}, **kw)

    def bare(self, side, kind, cid, **kw):
        self.record(side, "CHANNEL " + kind, u32(cid), channel={"id": cid}, **kw)

    def window(self, side, cid, increment, **kw):
        self.record(side, "CHANNEL WINDOW", u32(cid) + u32(increment),
                    channel={"id": cid, "window": increment}, **kw)

    def config(self, entries, **kw):
        self.record("server", "CONFIG", b"".join(e["bytes"] for e in entries), config=entries, **kw)

    def packet(self, side, inner, **kw):
        self.record(side, "PACKET", inner.data, inner=inner, **kw)

    def chat(self, text):
        self.record("client", "DATA", text.encode())
        self.record("server", "REPLY", (REPLY_PREFIX + text[::-1]).encode())

    def close(self):
        self.record("client", "CLOSE")
        self.record("server", "CLOSE")


# The IP tunnel's configuration (section 12): u8 type | u8 len | value. Each entry also says what
# the dissector shows of it: its fields, its text in the Info column.
CONFIG_FIELDS = {1: "cvpn.tunnel.config.address", 3: "cvpn.tunnel.config.route"}


def config_entry(code, value, length=None, text=None, fields=None):
    n = len(value) if length is None else length
    return {"bytes": bytes([code, n]) + value, "code": code, "len": n, "text": text,
            "fields": fields or {"cvpn.tunnel.config.value": [hexbytes(value)] if value else []}}


def cfg_prefix(code, address, prefix):
    fields = {CONFIG_FIELDS[code]: [address], "cvpn.tunnel.config.prefix": [str(prefix)]}
    return config_entry(code, innerpkt.ipaddress.ip_address(address).packed + bytes([prefix]),
                        text=("route " if code == 3 else "") + f"{address}/{prefix}", fields=fields)


def cfg_u16(code, value):
    field, text = ({2: ("cvpn.tunnel.config.mtu", f"MTU {value}"),
                    4: ("cvpn.tunnel.config.keepalive", f"keepalive {value} s")})[code]
    return config_entry(code, struct.pack(">H", value), text=text, fields={field: [str(value)]})


def config_fields(entries, f):
    """A CONFIG's entries into the fields f; returns the record's Info text."""
    for e in entries:
        for key, value in [("cvpn.tunnel.config.type", str(e["code"])),
                           ("cvpn.tunnel.config.len", str(e["len"]))] + \
                [(k, v) for k, vs in e["fields"].items() for v in vs]:
            f.setdefault(key, []).append(value)
    texts = [e["text"] or f"type {e['code']} ({bytes_text(e['len'])})" for e in entries]
    return "CONFIG" + (" " + ", ".join(texts) if texts else "")


def inner_fields(inner):
    """What the dissector itself shows of an inner packet (Wireshark's dissectors show the rest)."""
    version = inner.data[0] >> 4
    length = len(inner.data)
    return {"cvpn.tunnel.packet": [inner.summary], "cvpn.tunnel.version": [str(version)],
            "cvpn.tunnel.length": [str(length)]}


def http_request(host, path="/"):
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: cvpn-test\r\n"
            "Accept: */*\r\n\r\n").encode()


def http_response(body):
    return (f"HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3\r\nContent-type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def channels_session(seed):
    s = Session("channels", "key", "ChaChaPoly", seed)
    s.start()
    s.chat("hello")
    # A web page through channel 1.
    s.open(1, "localhost", 8000)
    s.accept(1)
    req = http_request("localhost:8000", "/index.html")
    s.data("client", 1, req)
    body = b"<html><body>cvpn channel test</body></html>\n"
    s.data("server", 1, http_response(body))
    # Refused: each reason, with and without a detail, an id used again after its REFUSE.
    s.open(2, "dénied.example", 8080)
    s.refuse(2, 1, "no permit for dénied.example:8080".encode())
    s.open(2, "10.0.0.9", 22)
    s.refuse(2, 2, b"connection refused")   # as cvpn-server says it: the reason's text again
    s.open(3, "nowhere.invalid", 443)
    s.refuse(3, 3, b"name does not resolve")
    s.open(4, "fd00::9", 25)
    s.refuse(4, 4, b"no answer in 10 s")
    s.open(5, "localhost", 5432)
    s.refuse(5, 5, b"at most 64 channels")
    # Both sides rekey in the middle.
    s.record("client", "REKEY")
    s.record("server", "REKEY")
    # Bulk through channel 6: the largest DATA each way (cut by TCP), windows granted back.
    s.open(6, "bulk.example", 9000, window=1 << 30)
    s.accept(6, window=131072)
    big = bytes(s.rng.randrange(256) for _ in range(DATA_MAX))
    s.data("server", 6, big)
    s.data("client", 6, big[::-1])
    s.window("client", 6, 16384)
    s.window("server", 6, 1 << 30)
    s.record("client", "KEEPALIVE")
    s.data("client", 6, b"x")
    s.bare("client", "EOF", 6)
    s.bare("server", "EOF", 6)
    s.bare("server", "CLOSE", 6)
    s.bare("client", "CLOSE", 6)
    # Channel 1 ends: the server closes first, the client still answers.
    s.bare("server", "EOF", 1)
    s.bare("server", "CLOSE", 1, same_segment=True)
    s.bare("client", "CLOSE", 1)
    s.chat("bye")
    s.close()
    return s


def stealth_session(seed):
    s = Session("stealth", "psk", "AESGCM", seed)
    s.start(stealth=True)
    s.open(7, "127.0.0.1", 8000)
    s.accept(7)
    s.data("client", 7, http_request("127.0.0.1:8000", "/big.txt"))
    body = bytes(s.rng.choice(b"abcdefghijklmnopqrstuvwxyz\n") for _ in range(20000))
    resp = http_response(body)
    s.data("server", 7, resp[:DATA_MAX])
    s.data("server", 7, resp[DATA_MAX:], same_segment=True)
    s.window("client", 7, 131072)
    s.bare("client", "EOF", 7)
    s.bare("server", "EOF", 7)
    s.bare("server", "CLOSE", 7, same_segment=True)
    s.bare("client", "CLOSE", 7)
    s.close()
    return s


def stealth2_session(seed):
    s = Session("stealth2", "key", "ChaChaPoly", seed)
    s.start(stealth=True, split=True)
    s.chat("héllo wörld ✓")
    s.close()
    return s


def malformed_session(seed):
    s = Session("malformed", "key", "ChaChaPoly", seed)
    s.start()
    rec = s.record
    rec("client", "CHANNEL OPEN", b"\0\0\1", problems=[
        "OPEN payload of 3 bytes, shorter than the channel id"])
    rec("client", "CHANNEL OPEN", u32(9) + u32(WINDOW) + b"\0\x50", channel={"id": 9}, problems=[
        "OPEN with 6 bytes after the channel id, too short for a window, a port and a host length"])
    rec("client", "CHANNEL OPEN", open_payload(9, b"example.org", 80, host_len=12),
        channel={"id": 9, "window": WINDOW, "port": 80, "host": b"example.org", "host_len": 12},
        problems=["OPEN host length 12, with 11 bytes after it"])
    rec("client", "CHANNEL OPEN", open_payload(9, b"", 80),
        channel={"id": 9, "window": WINDOW, "port": 80, "host": b"", "host_len": 0},
        problems=["OPEN with an empty host"])
    bad = b"bad\xff\xfehost"
    rec("client", "CHANNEL OPEN", open_payload(9, bad, 80),
        channel={"id": 9, "window": WINDOW, "port": 80, "host": bad, "host_len": len(bad)},
        problems=["OPEN host is not valid UTF-8"])
    nul = b"evil\0.example"
    rec("client", "CHANNEL OPEN", open_payload(9, nul, 80),
        channel={"id": 9, "window": WINDOW, "port": 80, "host": nul, "host_len": len(nul)},
        problems=["OPEN host has a NUL byte"])
    for port, window, why in ((0, WINDOW, "OPEN to port 0"),
                              (80, 0, "OPEN window of 0 bytes"),
                              (80, (1 << 30) + 1, "OPEN window of 1073741825 bytes (at most 1073741824)")):
        rec("client", "CHANNEL OPEN", open_payload(9, b"example.org", port, window),
            channel={"id": 9, "window": window, "port": port, "host": b"example.org",
                     "host_len": 11}, problems=[why])
    # Types from the wrong side.
    rec("server", "CHANNEL OPEN", open_payload(10, b"client.example", 22),
        channel={"id": 10, "window": WINDOW, "port": 22, "host": b"client.example", "host_len": 14},
        problems=["CHANNEL OPEN from the server"])
    # A good OPEN, then the client answers itself.
    s.open(11, "example.org", 80)
    rec("client", "CHANNEL ACCEPT", u32(11) + u32(WINDOW), channel={"id": 11, "window": WINDOW},
        problems=["CHANNEL ACCEPT from the client"])
    rec("client", "CHANNEL REFUSE", u32(11) + b"\1",
        channel={"id": 11, "reason": 1, "detail": b""}, problems=["CHANNEL REFUSE from the client"])
    # Fixed lengths, windows, reasons and details.
    rec("server", "CHANNEL ACCEPT", u32(11) + b"\0\1\0", channel={"id": 11},
        problems=["ACCEPT with 3 bytes after the channel id, not 4"])
    rec("server", "CHANNEL ACCEPT", u32(11) + u32(0), channel={"id": 11, "window": 0},
        problems=["ACCEPT window of 0 bytes"])
    rec("server", "CHANNEL REFUSE", u32(11), channel={"id": 11},
        problems=["REFUSE without a reason"])
    rec("server", "CHANNEL REFUSE", u32(11) + b"\x09why", channel={"id": 11, "reason": 9,
        "detail": b"why"}, problems=["REFUSE with unknown reason 9"])
    rec("server", "CHANNEL REFUSE", u32(11) + b"\2" + b"d" * 201, channel={"id": 11, "reason": 2,
        "detail": b"d" * 201}, problems=["REFUSE detail of 201 bytes (at most 200)"])
    rec("server", "CHANNEL REFUSE", u32(11) + b"\3no\xc3", channel={"id": 11, "reason": 3,
        "detail": b"no\xc3"}, problems=["REFUSE detail is not valid UTF-8"])
    rec("client", "CHANNEL DATA", u32(11), channel={"id": 11, "data": b""},
        problems=["DATA without a byte"])
    rec("client", "CHANNEL DATA", u32(11) + b"z" * (DATA_MAX + 1),
        channel={"id": 11, "data": b"z" * (DATA_MAX + 1)},
        problems=["CHANNEL DATA payload of 16389 bytes (at most 16388)"])
    rec("client", "CHANNEL EOF", u32(11) + b"\0", channel={"id": 11},
        problems=["EOF with 1 byte after the channel id, not 0"])
    rec("server", "CHANNEL CLOSE", b"\0\0\0", problems=[
        "CLOSE payload of 3 bytes, shorter than the channel id"])
    rec("client", "CHANNEL WINDOW", u32(11) + u32(0), channel={"id": 11, "window": 0},
        problems=["WINDOW window of 0 bytes"])
    rec("client", "CHANNEL WINDOW", u32(11) + u32(5) + b"\0", channel={"id": 11},
        problems=["WINDOW with 5 bytes after the channel id, not 4"])
    s.close()
    # After the session's CLOSE nothing may come, not even a good channel record.
    s.bare("client", "CLOSE", 11)
    return s


def again_session(seed):
    s = Session("again", "psk", "ChaChaPoly", seed)
    s.start()
    s.open(1, "localhost", 8000)
    s.accept(1)
    s.bare("client", "CLOSE", 1)
    s.bare("server", "CLOSE", 1)
    s.close()
    return s


def tunnel_session(seed):
    s = Session("tunnel", "key", "AESGCM", seed)
    s.start()
    me, gw, me6, gw6 = "10.8.0.2", "10.8.0.1", "fd00:8::2", "fd00:8::1"
    s.config([cfg_prefix(1, me, 24), cfg_u16(2, 1420), cfg_prefix(3, "192.168.50.0", 24),
              cfg_prefix(3, "0.0.0.0", 0), config_entry(9, b"\1\2\3"), cfg_u16(4, 25)])
    ping = b"cvpn tunnel ping " * 3
    s.packet("client", innerpkt.icmp_echo(me, gw, 0x4242, 1, ping))
    s.packet("server", innerpkt.icmp_echo(gw, me, 0x4242, 1, ping, reply=True))
    s.packet("client", innerpkt.dns_query(me, gw, 53000, 0x1d1d, "intranet.example"))
    s.packet("server", innerpkt.dns_answer(gw, me, 53000, 0x1d1d, "intranet.example", "192.168.50.7"))
    s.packet("client", innerpkt.icmpv6_echo(me6, gw6, 7, 1, b"tunnel v6"))
    s.packet("server", innerpkt.icmpv6_echo(gw6, me6, 7, 1, b"tunnel v6", reply=True))
    # Two packets in one segment, then 1400-byte ones (TCP cuts them in the copies).
    s.packet("client", innerpkt.icmp_echo(me, gw, 0x4242, 2, b"two"))
    s.packet("client", innerpkt.udp(me, "192.168.50.7", 40000, 9, b"discard me"), same_segment=True)
    big = bytes(s.rng.randrange(256) for _ in range(1400 - 28))
    s.packet("client", innerpkt.icmp_echo(me, gw, 0x4242, 3, big))
    s.packet("server", innerpkt.icmp_echo(gw, me, 0x4242, 3, big, reply=True))
    # CONFIGs that break section 12 (common/tunconf.c refuses them), PACKETs without a packet.
    rec = s.record
    entry = [cfg_prefix(1, me, 24)]
    rec("client", "CONFIG", entry[0]["bytes"], config=entry, problems=["CONFIG from the client"])
    rec("server", "CONFIG", b"", config=[], problems=["CONFIG without an entry"])
    cut = cfg_u16(2, 1420)
    rec("server", "CONFIG", cut["bytes"] + b"\4\2\0", config=[cut],
        problems=["CONFIG entry of type 4 cut short: 1 byte of 2"])
    rec("server", "CONFIG", b"\2", config=[], problems=["CONFIG entry cut short: 1 byte, no length"])
    wrong = config_entry(1, b"\x0a\x08\x00\x02", text="address of 4 bytes")
    rec("server", "CONFIG", wrong["bytes"], config=[wrong],
        problems=["CONFIG address of 4 bytes, not 5"])
    long_prefix = cfg_prefix(1, me, 33)
    rec("server", "CONFIG", long_prefix["bytes"], config=[long_prefix],
        problems=["CONFIG address 10.8.0.2/33: prefix longer than 32"])
    host_bits = cfg_prefix(3, "10.8.0.1", 24)
    rec("server", "CONFIG", host_bits["bytes"], config=[host_bits],
        problems=["CONFIG route 10.8.0.1/24 has host bits set"])
    small = cfg_u16(2, 500)
    rec("server", "CONFIG", small["bytes"], config=[small], problems=["CONFIG MTU 500 (at least 576)"])
    routes = [cfg_prefix(3, f"10.{k}.0.0", 16) for k in range(33)]
    rec("server", "CONFIG", b"".join(e["bytes"] for e in routes), config=routes,
        problems=["CONFIG with more than 32 routes"])
    rec("client", "PACKET", b"\x00not ip", problems=["PACKET holds no IPv4 or IPv6 packet (version 0)"])
    rec("client", "PACKET", b"\x45" + bytes(10), problems=["PACKET holds 11 bytes, shorter than an IPv4 header"])
    rec("server", "PACKET", b"", problems=["PACKET without a byte"])
    s.close()
    return s


def ended_session(seed):
    s = Session("ended", "key", "AESGCM", seed)
    s.start()
    s.chat("idle soon")
    # The server ends the session first (its idle timeout, its shutdown): the client answers nothing.
    s.record("server", "CLOSE")
    return s


SESSIONS = [channels_session, stealth_session, stealth2_session, malformed_session, again_session,
            tunnel_session, ended_session]


def cuts_of(turn, mss):
    """Cut offsets of a turn: where each send began, and every mss bytes of a longer one."""
    side, data, starts = turn
    cuts = set(starts)
    bounds = sorted(cuts | {0, len(data)})
    for a, b in zip(bounds, bounds[1:]):
        cuts.update(range(a + mss, b, mss))
    return sorted(c for c in cuts if 0 < c < len(data))


def build(args):
    seed = args.seed
    rng = random.Random(seed)
    sessions = [make(seed) for make in SESSIONS]
    ends = Endpoints(4)
    streams, expect, keylines = [], [], []
    port_of = {}

    def add(session, cuts, what, port=None):
        n = len(streams)
        port = port or FIRST_CLIENT_PORT + n
        port_of.setdefault(session.name, port)
        turns = [(side == "client", bytes(data)) for side, data, _ in session.turns]
        streams.append(stream_packets(ends, n, port, turns, cuts))
        keylines.append(" ".join(["CVPN_SECURE", ends.text(ends.client, port),
                                  ends.text(ends.server, SERVER_PORT), session.protocol,
                                  session.c2s_key.hex(), session.s2c_key.hex()]))
        expect.append({"stream": n, "session": session.name, "what": what,
                       "messages": session.messages})

    for s in sessions:
        port = port_of["channels"] if s.name == "again" else None
        add(s, [cuts_of(t, 1448) for t in s.turns], "as sent, MSS 1448", port)
    # The same sessions cut elsewhere: each segment at a few random places, and small MSSs.
    for s in sessions:
        if s.name == "again":
            continue
        for k in range(args.copies):
            cuts = []
            for side, data, starts in s.turns:
                extra = rng.sample(range(1, len(data)), min(len(data) - 1, rng.choice([0, 1, 2, 5])))
                cuts.append(sorted(set(cuts_of((side, data, starts), 1448)) | set(extra)))
            add(s, cuts, f"random cuts {k}")
        for mss in args.mss:
            add(s, [cuts_of((side, data, []), mss) for side, data, _ in s.turns], f"MSS {mss}")
    write_pcap(args.out, streams, 1)
    with open(args.keys_out, "w") as f:
        f.write("\n".join(keylines) + "\n")
    with open(args.expect, "w") as f:
        json.dump(expect, f)
    print(f"# securegen: seed {seed}, {len(streams)} streams "
          f"({', '.join(s.name for s in sessions)})")


# --- Checking ------------------------------------------------------------------------------


def messages_by_stream(packets, extra=()):
    """{tcp.stream: [the cvpn.* fields (and extra) of each message shown, in order, with "inner":
    the fields of the inner packet that follows it, if any]}; parts left out. The layers before
    the (outer) TCP layer are the frame's own."""
    streams = {}
    for packet in packets:
        layers = get(get(packet, "_source")[0], "layers")[0]
        stream = int(get(get(layers, "tcp")[0], "tcp.stream")[0])
        after_tcp, last = False, None
        for name, layer in layers:
            if not after_tcp:
                after_tcp = name == "tcp"
            elif name == "cvpn":
                fields = flat_fields(layer, {}, extra)
                last = None
                if "cvpn.type" in fields:
                    last = {k: v for k, v in fields.items() if k not in PLACE_FIELDS}
                    streams.setdefault(stream, []).append(last)
            elif name in innerpkt.INNER_LAYERS and last is not None:
                innerpkt.inner_fields_of(layer, last.setdefault("inner", {}))
    return streams


def differs(want, got):
    if len(want) != len(got):
        shown = " ".join((m.get("cvpn.type") or ["?"])[0] for m in got)
        return f"{len(got)} messages ({shown[:80]}), not {len(want)}"
    for n, (w, g) in enumerate(zip(want, got), 1):
        for key in CHECKED:
            if g.get(key) != w["fields"].get(key):
                return (f"message {n} ({w['info'][:50]}): {key} = {str(g.get(key))[:60]}, "
                        f"not {str(w['fields'].get(key))[:60]}")
        if g.get(EXPERT, []) != w.get("experts", []):
            return f"message {n} ({w['info'][:50]}): expert infos {g.get(EXPERT)}, not {w.get('experts')}"
        if g.get("inner", {}) != w.get("inner", {}):
            gi, wi = g.get("inner", {}), w.get("inner", {})
            key = next((k for k in sorted(set(gi) | set(wi)) if gi.get(k) != wi.get(k)))
            return f"message {n} ({w['info'][:50]}): inner {key} = {gi.get(key)}, not {wi.get(key)}"
    return None


def check(args):
    expect = json.load(open(args.expect))
    bad = 0

    def fail(text):
        nonlocal bad
        bad += 1
        if bad <= 20:
            print(text)

    for run in args.runs:
        try:
            streams = messages_by_stream(strict_json(run), (EXPERT,))
        except (UnicodeDecodeError, ValueError) as e:
            print(f"not valid UTF-8 JSON: {run}: {e}")
            return 1
        first = {}
        for e in expect:
            got = streams.get(e["stream"], [])
            why = differs(e["messages"], got)
            ref = first.setdefault(e["session"], got)
            if why is None and got != ref:
                why = "differs from the session's first stream in a field not checked above"
            if why:
                fail(f"{run}: stream {e['stream']} ({e['session']}, {e['what']}): {why}")
        if len(streams) != len(expect):
            fail(f"{run}: {len(streams)} streams show messages, not {len(expect)}")
    if args.info:
        infos = {}
        for line in open(args.info, encoding="utf-8"):
            stream, _, info = line.rstrip("\n").partition("\t")
            infos.setdefault(int(stream), []).extend(info.split(" | "))
        for e in expect:
            want = [m["info"] for m in e["messages"]]
            got = infos.get(e["stream"], [])
            if got != want:
                diff = next((f"#{k + 1}: {g!r}, not {w!r}" for k, (g, w) in enumerate(zip(got, want))
                             if g != w), f"{len(got)} lines, not {len(want)}")
                fail(f"{args.info}: stream {e['stream']} ({e['session']}, {e['what']}): Info {diff}")
    print(f"# securegen: {len(expect)} streams, {sum(len(e['messages']) for e in expect)} "
          f"messages, {bad} differences")
    return 1 if bad else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--out", required=True, help="pcap to write")
    b.add_argument("--keys-out", required=True, help="key log to write")
    b.add_argument("--expect", required=True, help="JSON of what the dissector must show")
    b.add_argument("--seed", type=int, default=18, help="keys, bytes and random cuts")
    b.add_argument("--copies", type=int, default=2, help="randomly cut copies of each session")
    b.add_argument("--mss", type=int, nargs="*", default=[], help="copies cut at these MSSs")
    c = sub.add_parser("check")
    c.add_argument("--expect", required=True)
    c.add_argument("--info", help="tshark -T fields -e tcp.stream -e _ws.col.Info -Y cvpn.type")
    c.add_argument("runs", nargs="*", help="tshark -T json -J 'tcp cvpn ip ipv6 icmp icmpv6 udp "
                   "dns' outputs")
    args = p.parse_args()
    return build(args) if args.command == "build" else check(args)


if __name__ == "__main__":
    sys.exit(main() or 0)
