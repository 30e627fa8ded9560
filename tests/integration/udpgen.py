#!/usr/bin/python3
"""Writes a capture of the UDP transport (docs/SECURE.md section 12) with known keys, and checks
what the dissector makes of it.

No recorded capture holds the UDP transport yet (the programs' TUN mode needs root and two
network namespaces), so this writes the packets itself. The handshake messages are opaque bytes
of the right lengths (the dissector never decrypts the handshake); DATA packets are sealed as
section 12 says (ChaCha20-Poly1305 or AES-256-GCM, the counter as the suite's Noise nonce, the
first 16 bytes as associated data, the inner packet padded with zeros to a multiple of 16) and
carry real IPv4 and IPv6 packets (innerpkt.py: ICMP echo, DNS over UDP, ICMPv6 echo, checksums
right). The key log has one CVPN_UDP line per completed handshake (section 9). The capture:

    client A (ChaChaPoly): INIT, RESPONSE, then DATA both ways: ICMP echo, DNS query and
        answer, a keepalive, counters out of order, a replayed DATA, a bit-flipped DATA (its tag
        fails), ICMPv6 echo; a second handshake (the keys change) while DATA under the first
        keys is still in flight both ways; DATA from a new address (the client roamed)
    a DATA with an index no key log line has
    client B (AESGCM): INIT, COOKIE (the server is under load), INIT again with mac2, RESPONSE
        without configuration, DATA both ways, a counter far ahead and one too old for the
        window, a plaintext that is no whole IP packet, a copy of its INIT, a DATA of a length no
        DATA has, a packet of an unknown type, a counter above 2^53

build: writes the pcap (Ethernet, IPv4, UDP to the server's port), the key log and what the
    dissector must show of each frame (JSON): its cvpn fields, expert infos, Info text and the
    fields Wireshark's own dissectors give the inner packet, with the key log and without.
check: compares tshark -T json runs (with ip.check_checksum and udp.check_checksum on) and
    tshark -T fields runs of frame.number and _ws.col.Info with it, field by field; prints the
    first differences and a summary; exits 1 when any frame differs.

Python 3 standard library and python3-cryptography.
"""
import argparse
import hashlib
import ipaddress
import json
import os
import random
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import innerpkt  # noqa: E402
from resegment import flat_fields, get, strict_json  # noqa: E402

SUITES = {"ChaChaPoly": 1, "AESGCM": 2}
WINDOW = 1984
NO_KEY_LOG = ("no key log: set the preference cvpn.keylog_file (Preferences > Protocols > CVPN, "
              "or tshark -o cvpn.keylog_file:FILE)")
EXPERT = "_ws.expert.message"
# The fields compared for every frame (absent ones must be absent), besides the expert infos.
CHECKED = """cvpn.type cvpn.udp.type cvpn.secure.mode cvpn.secure.suite cvpn.secure.protocol
cvpn.udp.sender cvpn.udp.receiver cvpn.udp.handshake cvpn.udp.client_index cvpn.udp.server_index
cvpn.udp.init_in cvpn.udp.response_in cvpn.udp.mac2_set cvpn.udp.config.len cvpn.udp.counter
cvpn.udp.direction cvpn.ciphertext cvpn.tag_ok cvpn.decrypt_status cvpn.udp.keepalive
cvpn.udp.padding cvpn.udp.replay_of cvpn.tunnel.packet cvpn.tunnel.version
cvpn.tunnel.length""".split()


def hexbytes(b):
    return ":".join("%02x" % x for x in b)


def bytes_text(n):
    return f"{n} byte" if n == 1 else f"{n} bytes"


class Handshake:
    """One handshake: its indexes, its number in its conversation, its keys, its counters."""

    def __init__(self, cap, conv, suite):
        rng = cap.rng
        self.suite, self.conv = suite, conv
        self.client_index, self.server_index = rng.getrandbits(32), rng.getrandbits(32)
        self.c2s, self.s2c = rng.randbytes(32), rng.randbytes(32)
        cap.numbers[conv] = cap.numbers.get(conv, 0) + 1
        self.number = cap.numbers[conv]
        self.init_frame = self.response_frame = None
        self.next = {"client": 0, "server": 0}
        self.protocol = f"Noise_IKpsk2_25519_{suite}_SHA256"

    def view(self):
        """The fields of the handshake, as a packet shows them."""
        f = {"cvpn.udp.handshake": [str(self.number)],
             "cvpn.udp.client_index": ["0x%08x" % self.client_index]}
        if self.response_frame:
            f["cvpn.udp.server_index"] = ["0x%08x" % self.server_index]
        if self.init_frame:
            f["cvpn.udp.init_in"] = [str(self.init_frame)]
        if self.response_frame:
            f["cvpn.udp.response_in"] = [str(self.response_frame)]
        return f

    def seal(self, side, counter, plaintext, receiver):
        header = bytes([4, 0, 0, 0]) + struct.pack(">IQ", receiver, counter)
        key = self.c2s if side == "client" else self.s2c
        aead = ChaCha20Poly1305(key) if self.suite == "ChaChaPoly" else AESGCM(key)
        nonce = b"\0" * 4 + struct.pack("<Q" if self.suite == "ChaChaPoly" else ">Q", counter)
        return header + aead.encrypt(nonce, plaintext, header)


class Capture:
    """The packets being written, each with what the dissector must show of it, with the key log
    ("keys") and without ("nokeys")."""

    def __init__(self, seed, server_port):
        self.rng = random.Random(hashlib.sha256(f"{seed} udp".encode()).digest())
        self.server = ("10.0.0.2", server_port)
        self.port = server_port
        self.frames, self.keylines, self.numbers = [], [], {}
        self.t = 1_700_000_000 * 1_000_000
        # (mode, side, receiver) -> {"seen": {counter: frame}, "top": highest}: the windows.
        self.windows = {}

    def conv(self, client):
        return client

    def add(self, src, dst, payload, expect, delay_ms=1):
        self.t += delay_ms * 1000
        self.frames.append({"t": self.t, "src": src, "dst": dst, "payload": payload,
                            "expect": expect})
        return len(self.frames)

    def next_frame(self):
        return len(self.frames) + 1

    # --- Handshake packets ---------------------------------------------------------------

    def init(self, client, hs, mac2=False, copy_of=None, raw=None, delay_ms=1):
        if raw is None:
            raw = (bytes([1, 1, SUITES[hs.suite], 0]) + struct.pack(">I", hs.client_index) +
                   self.rng.randbytes(108 + 16) + (self.rng.randbytes(16) if mac2 else bytes(16)))
        if copy_of is None:
            hs.init_frame = self.next_frame()
        fields = {"cvpn.type": ["datagram"], "cvpn.udp.type": ["1"], "cvpn.secure.mode": ["key"],
                  "cvpn.secure.suite": [hs.suite], "cvpn.secure.protocol": [hs.protocol],
                  "cvpn.udp.sender": ["0x%08x" % hs.client_index], "cvpn.udp.mac2_set": [
                      "1" if mac2 else "0"]}
        fields.update(hs.view())
        info = f"INIT: handshake {hs.number}, client index 0x{hs.client_index:08x}, {hs.suite}"
        experts = []
        if mac2:
            info += ", mac2 set (a cookie)"
        if copy_of:
            info += f", COPY of frame {copy_of}"
            experts.append(f"Replayed packet: a copy of the INIT in frame {copy_of} (a server "
                           "refuses it)")
        e = {"fields": fields, "experts": experts, "info": info}
        self.add(client, self.server, raw, {"keys": e, "nokeys": e}, delay_ms)
        return raw

    def response(self, client, hs, config_len):
        hs.response_frame = self.next_frame()
        raw = (bytes([2, 0, 0, 0]) + struct.pack(">II", hs.server_index, hs.client_index) +
               self.rng.randbytes(32 + config_len + 16 + 16) + bytes(16))
        fields = {"cvpn.type": ["datagram"], "cvpn.udp.type": ["2"],
                  "cvpn.udp.sender": ["0x%08x" % hs.server_index],
                  "cvpn.udp.receiver": ["0x%08x" % hs.client_index],
                  "cvpn.udp.config.len": [str(config_len)]}
        fields.update(hs.view())
        e = {"fields": fields, "experts": [],
             "info": f"RESPONSE: handshake {hs.number}, server index 0x{hs.server_index:08x} to "
                     f"client index 0x{hs.client_index:08x}, configuration of "
                     f"{bytes_text(config_len)} (sealed)"}
        self.add(self.server, client, raw, {"keys": e, "nokeys": e})
        self.keylines.append(" ".join([
            "CVPN_UDP", "%s:%d" % client, "%s:%d" % self.server, hs.protocol,
            "%08x" % hs.client_index, "%08x" % hs.server_index, hs.c2s.hex(), hs.s2c.hex()]))

    def cookie(self, client, hs):
        raw = bytes([3, 0, 0, 0]) + struct.pack(">I", hs.client_index) + self.rng.randbytes(12 + 32)
        fields = {"cvpn.type": ["datagram"], "cvpn.udp.type": ["3"],
                  "cvpn.udp.receiver": ["0x%08x" % hs.client_index]}
        fields.update(hs.view())
        e = {"fields": fields, "experts": [],
             "info": f"COOKIE to client index 0x{hs.client_index:08x} (handshake {hs.number})"}
        self.add(self.server, client, raw, {"keys": e, "nokeys": e})

    # --- DATA ----------------------------------------------------------------------------

    def window(self, mode, side, receiver, counter, count):
        """RFC 6479 as the dissector applies it: returns (why, replay_of)."""
        w = self.windows.setdefault((mode, side, receiver), {"seen": {}, "top": -1})
        if counter <= w["top"] and w["top"] - counter >= WINDOW:
            return (f"counter {counter} is {WINDOW} or more behind the highest, {w['top']}",
                    None)
        if counter in w["seen"]:
            first = w["seen"][counter]
            return f"counter {counter} was in frame {first}: a replay", first
        if count:
            w["seen"][counter] = self.next_frame()
            w["top"] = max(w["top"], counter)
        return None, None

    def data(self, client, hs, side, inner=None, counter=None, flip=False, raw=None,
             plaintext=None, malformed=None, receiver=None, in_log=True, delay_ms=1):
        """A DATA packet of `side` under hs (None: an index nobody knows), holding inner (an
        innerpkt.Inner), nothing (a keepalive) or plaintext; raw: the bytes of an earlier
        packet, sent again. malformed: why a receiver drops the plaintext."""
        if counter is None:
            counter = hs.next[side]
        if hs is not None:
            hs.next[side] = max(hs.next[side], counter + 1)
            receiver = hs.server_index if side == "client" else hs.client_index
        if plaintext is None:
            plaintext = inner.data if inner is not None else b""
        padded = plaintext + bytes(-len(plaintext) % 16)
        if raw is None:
            if hs is not None:
                raw = hs.seal(side, counter, padded, receiver)
            else:
                raw = bytes([4, 0, 0, 0]) + struct.pack(">IQ", receiver, counter) + \
                    self.rng.randbytes(len(padded) + 16)
            if flip:
                raw = bytearray(raw)
                raw[20] ^= 0x04
                raw = bytes(raw)
        to = "server" if side == "client" else "client"
        src, dst = (client, self.server) if side == "client" else (self.server, client)
        known = hs is not None and hs.response_frame is not None
        direction = to if known or self.port == 4600 else None
        base = {"cvpn.type": ["datagram"], "cvpn.udp.type": ["4"],
                "cvpn.udp.receiver": ["0x%08x" % receiver], "cvpn.udp.counter": [str(counter)]}
        if direction:
            base["cvpn.udp.direction"] = ["to " + direction]
        ct = raw[16:-16]
        if ct:
            base["cvpn.ciphertext"] = [hexbytes(ct)]
        where = (f"handshake {hs.number} (index 0x{receiver:08x})" if known
                 else f"index 0x{receiver:08x}")
        head = "DATA" + (f" to {direction}" if direction else "") + f", {where}, counter {counter}: "
        sealed = f"{bytes_text(len(raw) - 16)} sealed"
        expect = {}
        for mode in ("keys", "nokeys"):
            f = dict(base)
            if known:
                f.update(hs.view())
            experts = []
            decrypted = mode == "keys" and hs is not None and in_log and not flip
            if mode == "keys" and hs is not None and in_log:
                f["cvpn.tag_ok"] = ["0" if flip else "1"]
            if mode == "keys" and flip:
                experts.append("bad AEAD tag")
                status = "not decrypted: bad AEAD tag"
            elif mode == "keys" and hs is not None and in_log:
                status = "decrypted"
            elif mode == "keys":
                status = f"no CVPN_UDP key log line with index {receiver:08x}"
            else:
                status = NO_KEY_LOG
            if not decrypted and not (mode == "keys" and flip):
                experts.append("Cannot decrypt: " + status)
            why, first = (None, None) if mode == "keys" and flip else \
                self.window(mode, to, receiver, counter, True)
            problems = [malformed] if decrypted and malformed else []
            if decrypted and (why or problems):
                status = "decrypted, but a receiver drops it: " + (why or problems[0])
            f["cvpn.decrypt_status"] = [status]
            if first:
                f["cvpn.udp.replay_of"] = [str(first)]
            if why:
                experts.append(f"Replayed packet: {why} (a receiver drops it)")
            experts += ["Malformed DATA: " + p for p in problems]
            info = head
            message = {}
            if decrypted and not plaintext:
                f["cvpn.udp.keepalive"] = ["1"]
                info += "keepalive"
            elif decrypted and inner is not None:
                f["cvpn.tunnel.packet"] = [inner.summary]
                f["cvpn.tunnel.version"] = [str(inner.data[0] >> 4)]
                f["cvpn.tunnel.length"] = [str(len(inner.data))]
                f["cvpn.udp.padding"] = [str(len(padded) - len(inner.data))]
                message["inner"] = inner.fields
                info += inner.summary
            else:
                info += sealed
            if mode == "keys" and flip:
                info += ", BAD TAG"
            elif first:
                info += f", REPLAY of frame {first}"
            elif why:
                info += ", TOO OLD"
            if problems:
                info += ", MALFORMED: " + problems[0]
            message.update({"fields": f, "experts": experts, "info": info})
            expect[mode] = message
        self.add(src, dst, raw, expect, delay_ms)
        return raw

    def bad(self, client, raw, why):
        """A packet the dissector cannot read: its type and why."""
        e = {"fields": {"cvpn.type": ["datagram"], "cvpn.udp.type": [str(raw[0])]},
             "experts": [f"Malformed {why[0]}: {why[1]}"], "info": f"Malformed {why[0]}: {why[1]}"}
        self.add(client, self.server, raw, {"keys": e, "nokeys": e})

    # --- Writing ----------------------------------------------------------------------------

    def frame(self, src, dst, payload):
        udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0) + payload
        s, d = ipaddress.ip_address(src[0]).packed, ipaddress.ip_address(dst[0]).packed
        sum_ = innerpkt.checksum(s + d + struct.pack("!BBH", 0, 17, len(udp)) + udp) or 0xFFFF
        udp = udp[:6] + struct.pack("!H", sum_) + udp[8:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0x4000, 64, 17, 0, s, d)
        ip = ip[:10] + struct.pack("!H", innerpkt.checksum(ip)) + ip[12:]
        return b"\0\0\0\0\0\2\0\0\0\0\0\1\x08\x00" + ip + udp

    def write(self, pcap, keys, expect):
        with open(pcap, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
            for fr in self.frames:
                data = self.frame(fr["src"], fr["dst"], fr["payload"])
                f.write(struct.pack("<IIII", fr["t"] // 1_000_000, fr["t"] % 1_000_000,
                                    len(data), len(data)))
                f.write(data)
        with open(keys, "w") as f:
            f.write("\n".join(self.keylines) + "\n")
        with open(expect, "w") as f:
            json.dump([fr["expect"] for fr in self.frames], f)


def session(seed, server_port):
    cap = Capture(seed, server_port)
    a, roamed, b = ("10.0.0.1", 40000), ("10.0.0.3", 40001), ("10.0.0.4", 40002)
    me, gw, me6, gw6 = "10.8.0.2", "10.8.0.1", "fd00:8::2", "fd00:8::1"
    I = innerpkt
    # Client A, ChaChaPoly: a handshake, then DATA both ways.
    a1 = Handshake(cap, a, "ChaChaPoly")
    cap.init(a, a1)
    cap.response(a, a1, 22)
    ping = b"udp tunnel ping " * 3
    cap.data(a, a1, "client", I.icmp_echo(me, gw, 0x77, 1, ping))
    cap.data(a, a1, "server", I.icmp_echo(gw, me, 0x77, 1, ping, reply=True))
    cap.data(a, a1, "client", I.dns_query(me, gw, 53001, 0x2e2e, "vpn.example"))
    cap.data(a, a1, "server", I.dns_answer(gw, me, 53001, 0x2e2e, "vpn.example", "10.8.0.1"))
    cap.data(a, a1, "client")                                    # a keepalive
    cap.data(a, a1, "client", I.icmp_echo(me, gw, 0x77, 3, b"three"), counter=4)
    later = cap.data(a, a1, "client", I.icmp_echo(me, gw, 0x77, 2, b"two"), counter=3)
    cap.data(a, a1, "client", I.icmp_echo(me, gw, 0x77, 2, b"two"), counter=3, raw=later)
    cap.data(a, a1, "server", I.icmp_echo(gw, me, 0x77, 2, b"two", reply=True), flip=True)
    cap.data(a, a1, "client", I.icmpv6_echo(me6, gw6, 9, 1, b"over udp"), counter=5)
    cap.data(a, a1, "server", I.icmpv6_echo(gw6, me6, 9, 1, b"over udp", reply=True))
    # 120 s later a second handshake: DATA under the first keys is still in flight both ways.
    a2 = Handshake(cap, a, "ChaChaPoly")
    cap.init(a, a2, delay_ms=120_000)
    cap.data(a, a1, "client", I.udp(me, "192.168.50.7", 40000, 9, b"old keys"))
    cap.response(a, a2, 22)
    cap.data(a, a2, "client", I.icmp_echo(me, gw, 0x77, 4, ping))
    cap.data(a, a1, "server", I.icmp_echo(gw, me, 0x77, 3, b"three", reply=True))
    cap.data(a, a2, "server", I.icmp_echo(gw, me, 0x77, 4, ping, reply=True))
    # The client roams: the same keys from another address.
    cap.data(roamed, a2, "client", I.udp(me, "192.168.50.7", 40000, 9, b"roamed"))
    cap.data(roamed, a2, "server")                               # a keepalive
    # An index no key log line has.
    cap.data(a, None, "client", plaintext=bytes(48), receiver=0xdeadbeef, counter=7)
    # Client B, AESGCM: a COOKIE first, then the INIT again with mac2.
    b1 = Handshake(cap, b, "AESGCM")
    cap.init(b, b1)
    cap.cookie(b, b1)
    b2 = Handshake(cap, b, "AESGCM")
    init_b2 = cap.init(b, b2, mac2=True)
    init_b2_frame = b2.init_frame
    cap.response(b, b2, 0)
    cap.data(b, b2, "client", I.dns_query(me, gw, 53002, 0x3f3f, "ipv6.example"))
    cap.data(b, b2, "server", I.dns_answer(gw, me, 53002, 0x3f3f, "ipv6.example", "10.8.0.9"))
    cap.data(b, b2, "client", I.icmp_echo(me, gw, 0x88, 1, b"far ahead"), counter=2000)
    cap.data(b, b2, "client", I.icmp_echo(me, gw, 0x88, 2, b"too old"), counter=5)
    cut = I.ipv4(me, gw, 17, b"")[0]
    cut = cut[:2] + struct.pack(">H", 100) + cut[4:]
    cap.data(b, b2, "client", plaintext=cut, counter=2001,
             malformed="the plaintext holds an IPv4 header that says 100 bytes, in 32 bytes")
    cap.init(b, b2, mac2=True, copy_of=init_b2_frame, raw=init_b2)
    cap.bad(b, bytes([4, 0, 0, 0]) + bytes(36), ("DATA", "DATA of 40 bytes, not 32 + a multiple of 16"))
    cap.bad(b, bytes([7, 0, 0, 0]) + bytes(28), ("packet", "unknown packet type 7"))
    cap.data(b, b2, "client", I.icmp_echo(me, gw, 0x88, 3, b"2^56 + 3"), counter=(1 << 56) + 3)
    return cap


def build(args):
    cap = session(args.seed, args.server_port)
    cap.write(args.out, args.keys_out, args.expect)
    print(f"# udpgen: seed {args.seed}, {len(cap.frames)} packets, {len(cap.keylines)} handshakes "
          f"in the key log, server port {args.server_port}")


# --- Checking ------------------------------------------------------------------------------


def messages_by_frame(packets):
    """{frame number: [each cvpn message's fields, with "inner": the inner packet's]}."""
    frames = {}
    for packet in packets:
        layers = get(get(packet, "_source")[0], "layers")[0]
        number = int(get(get(layers, "frame")[0], "frame.number")[0])
        after_udp, last = False, None
        for name, layer in layers:
            if not after_udp:
                after_udp = name == "udp"
            elif name == "cvpn":
                last = flat_fields(layer, {}, (EXPERT,))
                frames.setdefault(number, []).append(last)
            elif name in innerpkt.INNER_LAYERS and last is not None:
                innerpkt.inner_fields_of(layer, last.setdefault("inner", {}))
    return frames


def differs(want, got):
    if len(got) != 1:
        return f"{len(got)} cvpn messages, not 1"
    g = got[0]
    for key in CHECKED:
        if g.get(key) != want["fields"].get(key):
            return f"{key} = {str(g.get(key))[:70]}, not {str(want['fields'].get(key))[:70]}"
    if g.get(EXPERT, []) != want["experts"]:
        return f"expert infos {g.get(EXPERT)}, not {want['experts']}"
    gi, wi = g.get("inner", {}), want.get("inner", {})
    if gi != wi:
        key = next(k for k in sorted(set(gi) | set(wi)) if gi.get(k) != wi.get(k))
        return f"inner {key} = {gi.get(key)}, not {wi.get(key)}"
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
            frames = messages_by_frame(strict_json(run))
        except (UnicodeDecodeError, ValueError) as e:
            print(f"not valid UTF-8 JSON: {run}: {e}")
            return 1
        for n, e in enumerate(expect, 1):
            why = differs(e[args.mode], frames.get(n, []))
            if why:
                fail(f"{run}: frame {n} ({e[args.mode]['info'][:60]}): {why}")
        if len(frames) != len(expect):
            fail(f"{run}: {len(frames)} frames show cvpn, not {len(expect)}")
    for path in args.info or []:
        got = {}
        for line in open(path, encoding="utf-8"):
            number, _, info = line.rstrip("\n").partition("\t")
            got[int(number)] = info
        for n, e in enumerate(expect, 1):
            if got.get(n) != e[args.mode]["info"]:
                fail(f"{path}: frame {n}: Info {got.get(n)!r}, not {e[args.mode]['info']!r}")
    print(f"# udpgen: {len(expect)} packets ({args.mode}), {bad} differences")
    return 1 if bad else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--out", required=True, help="pcap to write")
    b.add_argument("--keys-out", required=True, help="key log to write")
    b.add_argument("--expect", required=True, help="JSON of what the dissector must show")
    b.add_argument("--seed", type=int, default=19, help="keys, indexes and bytes")
    b.add_argument("--server-port", type=int, default=4600,
                   help="another port than 4600 tests the heuristic")
    c = sub.add_parser("check")
    c.add_argument("--expect", required=True)
    c.add_argument("--mode", choices=("keys", "nokeys"), default="keys",
                   help="the runs had the key log, or none")
    c.add_argument("--info", action="append",
                   help="tshark -T fields -e frame.number -e _ws.col.Info -Y cvpn output")
    c.add_argument("runs", nargs="*", help="tshark -T json outputs")
    args = p.parse_args()
    return build(args) if args.command == "build" else check(args)


if __name__ == "__main__":
    sys.exit(main() or 0)
