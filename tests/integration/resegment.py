#!/usr/bin/python3
"""Re-segments a recorded lab session and checks what the dissector makes of it.

build: reads one session's TCP payloads (lines "SRCPORT HEX" in capture order, as
    tshark -Y 'tcp.len > 0' -T fields -e tcp.srcport -e tcp.payload prints them), joins each
    turn (the protocol is lock-step, so a turn is one message) and writes a pcap in which the
    same session is sent many times, each time as a TCP stream of its own with the turns cut
    at other places: one tshark run then checks hundreds of segmentations. Stream 0 is the
    session with every turn whole. Plans (any number, in this order):
      cut:T:A:B:S   turn T (0-based, in session order) cut once at each offset A, A+S, ... B
                    (negative offsets count from the turn's end)
      mss:A:B:S     every turn cut into segments of M bytes, for M = A, A+S, ... B
      random:N      N streams, each turn cut at 0 to 5 random places (see --seed)
    Also writes the key log for every stream (the session's lines with each stream's
    endpoints) and a manifest (stream number, what was cut).

check: reads tshark -T json outputs of such a pcap (strict UTF-8 JSON, or it fails) and
    compares, stream by stream, the messages the dissector shows with the session's own
    turns: types, numbers, proposal, choice, both DH values, every ciphertext and tag, the
    verdicts, every plaintext (the reply reversed: replies are the reversed text, so no crypto
    is needed here) and every reply; and every stream's fields, all of them but those that say
    where the bytes were, with stream 0's. Prints one line per failing stream (at most 20) and
    a summary; exits 1 when any stream differs.

Python 3 standard library only.
"""
import argparse
import json
import random
import struct
import sys
import time

SERVER_PORT = 4600
FIRST_CLIENT_PORT = 20000
REPLY_PREFIX = "Server says: "


# --- Reading the session -----------------------------------------------------------------


def read_turns(path, server_port, keep=None):
    """The session as [(from_client, bytes)], consecutive payloads of one side joined; only
    the first `keep` turns when given."""
    turns = []
    for line in open(path):
        words = line.split()
        if len(words) != 2:
            continue
        from_client = int(words[0]) != server_port
        data = bytes.fromhex(words[1])
        if turns and turns[-1][0] == from_client:
            turns[-1] = (from_client, turns[-1][1] + data)
        else:
            turns.append((from_client, data))
    return turns[:keep] if keep else turns


# --- Cut plans -----------------------------------------------------------------------------


def offsets(a, b, step, length):
    """Offsets a, a+step, ... b inside a turn of `length` bytes (negative: from its end)."""
    a, b = (a + length if a < 0 else a), (b + length if b < 0 else b)
    return [k for k in range(a, b + 1, step) if 0 < k < length]


def variants(turns, plans, rng):
    """[(description, [cuts per turn])]: stream 0 whole, then one entry per cut variant."""
    whole = [[] for _ in turns]
    out = [("whole", whole)]
    for plan in plans:
        kind, *arg = plan.split(":")
        if kind == "cut":
            t, a, b, step = map(int, arg)
            for k in offsets(a, b, step, len(turns[t][1])):
                cuts = [[] for _ in turns]
                cuts[t] = [k]
                out.append((f"turn {t} cut at {k}", cuts))
        elif kind == "mss":
            for mss in offsets(*map(int, arg), 1 << 30):
                cuts = [list(range(mss, len(d), mss)) for _, d in turns]
                out.append((f"mss {mss}", cuts))
        elif kind == "random":
            for n in range(int(arg[0])):
                cuts = []
                for _, d in turns:
                    count = rng.choice([0, 1, 1, 2, 3, 5]) if len(d) > 1 else 0
                    cuts.append(sorted(rng.sample(range(1, len(d)), min(count, len(d) - 1))))
                out.append((f"random {n}: " + " ".join(",".join(map(str, c)) or "-" for c in cuts),
                            cuts))
        else:
            raise SystemExit("unknown plan: " + plan)
    return out


def segments(data, cuts):
    bounds = [0] + cuts + [len(data)]
    return [data[bounds[k]:bounds[k + 1]] for k in range(len(bounds) - 1)]


# --- Writing a pcap ------------------------------------------------------------------------


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class Endpoints:
    """Addresses of one family; builds Ethernet frames carrying TCP segments."""

    def __init__(self, family):
        self.family = family
        if family == 4:
            self.client, self.server = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
        else:
            self.client = bytes.fromhex("fd00" + "00" * 13 + "01")
            self.server = bytes.fromhex("fd00" + "00" * 13 + "02")
        self.ip_id = 0

    def text(self, addr, port):
        if self.family == 4:
            return ".".join(map(str, addr)) + f":{port}"
        groups = [addr[k:k + 2].hex().lstrip("0") or "0" for k in range(0, 16, 2)]
        return "[fd00::" + groups[-1] + f"]:{port}"

    def frame(self, src, dst, sport, dport, seq, ack, flags, payload):
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4,
                          flags, 65535, 0, 0)
        if self.family == 4:
            pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
        else:
            pseudo = src + dst + struct.pack("!I3xB", len(tcp) + len(payload), 6)
        sum_ = checksum(pseudo + tcp + payload)
        tcp = tcp[:16] + struct.pack("!H", sum_) + tcp[18:]
        if self.family == 4:
            self.ip_id = (self.ip_id + 1) & 0xFFFF
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), self.ip_id,
                             0x4000, 64, 6, 0, src, dst)
            ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
            ethertype = 0x0800
        else:
            ip = struct.pack("!IHBB16s16s", 6 << 28, len(tcp) + len(payload), 6, 64, src, dst)
            ethertype = 0x86DD
        eth = b"\0\0\0\0\0\2" + b"\0\0\0\0\0\1" + struct.pack("!H", ethertype)
        return eth + ip + tcp + payload


SYN, FIN, PSH, ACK = 0x02, 0x01, 0x08, 0x10


def stream_packets(ends, n, port, turns, cuts):
    """The packets of stream n: handshake, every turn in its segments, both FINs. Each
    stream starts from other sequence numbers, as a port used again must (RFC 9293)."""
    c_seq, s_seq = 1000 + n * 1_000_000, 500_000 + n * 1_000_000
    c, s = (ends.client, port), (ends.server, SERVER_PORT)

    def pkt(from_client, flags, payload=b""):
        nonlocal c_seq, s_seq
        if from_client:
            p = ends.frame(c[0], s[0], c[1], s[1], c_seq, s_seq, flags, payload)
            c_seq += len(payload) + (1 if flags & (SYN | FIN) else 0)
        else:
            p = ends.frame(s[0], c[0], s[1], c[1], s_seq, c_seq, flags, payload)
            s_seq += len(payload) + (1 if flags & (SYN | FIN) else 0)
        return p

    out = [ends.frame(c[0], s[0], c[1], s[1], c_seq, 0, SYN, b"")]
    c_seq += 1
    out.append(pkt(False, SYN | ACK))
    out.append(pkt(True, ACK))
    for (from_client, data), turn_cuts in zip(turns, cuts):
        segs = segments(data, turn_cuts)
        for k, seg in enumerate(segs):
            out.append(pkt(from_client, ACK | (PSH if k == len(segs) - 1 else 0), seg))
    out.append(pkt(True, FIN | ACK))
    out.append(pkt(False, FIN | ACK))
    out.append(pkt(True, ACK))
    return out


def write_pcap(path, streams, interleave):
    """Streams side by side, `interleave` at a time, one packet of each in turn, 1 ms apart."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        t = 1_700_000_000 * 1_000_000
        for first in range(0, len(streams), interleave):
            group = [list(reversed(p)) for p in streams[first:first + interleave]]
            while any(group):
                for packets in group:
                    if packets:
                        frame = packets.pop()
                        t += 1000
                        f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000,
                                            len(frame), len(frame)))
                        f.write(frame)


def build(args):
    turns = read_turns(args.source, SERVER_PORT, args.turns)
    seed = args.seed if args.seed is not None else int(time.time() * 1000) % 1_000_000
    print(f"# resegment: seed {seed} (rerun with --seed {seed})")
    plans = variants(turns, args.plans, random.Random(seed))
    ends = Endpoints(args.family)
    keylines = [l.split() for l in open(args.keys) if l.startswith("CVPN_LAB ")]
    streams = []
    with open(args.keys_out, "w") as keys, open(args.manifest, "w") as manifest:
        for n, (what, cuts) in enumerate(plans):
            port = FIRST_CLIENT_PORT + (0 if args.same_port else n)
            streams.append(stream_packets(ends, n, port, turns, cuts))
            manifest.write(f"{n}\t{what}\n")
            for w in keylines:
                keys.write(" ".join([w[0], ends.text(ends.client, port),
                                     ends.text(ends.server, SERVER_PORT)] + w[3:]) + "\n")
    write_pcap(args.out, streams, args.interleave)
    print(f"# resegment: {len(streams)} streams of {len(turns)} turns, IPv{args.family}")


# --- Checking tshark's JSON ----------------------------------------------------------------


def strict_json(path):
    """tshark -T json output, as (key, value) lists: it repeats keys (one cvpn per message)."""
    raw = open(path, "rb").read()
    text = raw.decode("utf-8")  # strict: half a character anywhere fails here
    return json.loads(text, object_pairs_hook=lambda pairs: pairs)


def get(pairs, key):
    return [v for k, v in pairs if k == key]


def flat_fields(pairs, out, extra=()):
    """Every cvpn.* field of one cvpn subtree (and those named in extra), in tree order, with
    its values."""
    for k, v in pairs:
        if isinstance(v, list) and v and isinstance(v[0], tuple):
            flat_fields(v, out, extra)
        elif k.startswith("cvpn.") or k in extra:
            out.setdefault(k, []).extend(v if isinstance(v, list) else [v])
    return out


# Fields that say where a message's bytes were, which changes with the segmentation.
PLACE_FIELDS = {"cvpn.part", "cvpn.reassembled_in", "cvpn.segment", "cvpn.note"}


def messages_by_stream(packets, extra=()):
    """{tcp.stream: [the cvpn.* fields (and extra) of each message shown, in order]}; parts
    left out."""
    streams = {}
    for packet in packets:
        layers = get(get(packet, "_source")[0], "layers")[0]
        stream = int(get(get(layers, "tcp")[0], "tcp.stream")[0])
        for layer in get(layers, "cvpn"):
            fields = flat_fields(layer, {}, extra)
            if "cvpn.type" in fields:
                streams.setdefault(stream, []).append(
                    {k: v for k, v in fields.items() if k not in PLACE_FIELDS})
    return streams


def expected_messages(turns):
    """What the dissector must show for the session, from its bytes alone."""
    out, data_n, reply_n, dh_side = [], 0, 0, ["client", "server"]
    replies = [d for c, d in turns if not c and not d.startswith((b"ChosenCipher", b"DHMKE"))]
    for from_client, d in turns:
        text = d.decode("latin-1")
        if text.startswith("ProposedCiphers"):
            out.append({"cvpn.type": ["proposal"], "cvpn.proposal": [text.rstrip("\r\n")]})
        elif text.startswith("ChosenCipher"):
            out.append({"cvpn.type": ["choice"], "cvpn.choice": [text.rstrip("\r\n")]})
        elif text.startswith("DHMKE:"):
            side = dh_side.pop(0)
            digits = text[6:].strip()
            out.append({"cvpn.type": ["dhmke"], f"cvpn.dh.{side}_public": [digits],
                        "cvpn.dh.digits": [str(len(digits))],
                        "cvpn.dh.bits": [str(int(digits).bit_length())]})
        elif from_client:
            data_n += 1
            reply = replies[data_n - 1].rstrip(b"\0").decode("utf-8") if data_n <= len(replies) \
                else None
            plain = reply[len(REPLY_PREFIX):][::-1] if reply is not None else None
            ct = d[:-64]
            m = {"cvpn.type": ["data"], "cvpn.message": [str(data_n)], "cvpn.tag_ok": ["1"],
                 "cvpn.decrypt_status": ["decrypted"], "cvpn.tag": [d[-64:].decode()]}
            if ct:
                m["cvpn.ciphertext"] = [":".join("%02x" % b for b in ct)]
            if plain is not None:
                m["cvpn.plaintext"] = [plain]
            out.append(m)
        else:
            reply_n += 1
            body = d.rstrip(b"\0")
            out.append({"cvpn.type": ["reply"], "cvpn.message": [str(reply_n)],
                        "cvpn.reply": [body.decode("utf-8")],
                        "cvpn.reply.padding": [str(len(d) - len(body))]})
    return out


def differs(want, got):
    """The first difference between the expected messages and what a stream shows, or None."""
    if len(want) != len(got):
        types = [m.get("cvpn.type", ["?"])[0] for m in got]
        return f"{len(got)} messages ({' '.join(types)}), not {len(want)}"
    for n, (w, g) in enumerate(zip(want, got), 1):
        for key, value in w.items():
            if g.get(key) != value:
                shown = str(g.get(key))[:60]
                return f"message {n} ({w['cvpn.type'][0]}): {key} = {shown}, not {str(value)[:60]}"
    return None


def last_of_each(messages):
    """A message shown again, whole, after its first part was shown as if complete (a
    one-pass dissection without the text a reply must have) counts once, as last shown."""
    out = []
    for m in messages:
        if out and "cvpn.message" in m and out[-1].get("cvpn.type") == m.get("cvpn.type") \
                and out[-1].get("cvpn.message") == m["cvpn.message"]:
            out[-1] = m
        else:
            out.append(m)
    return out


def check(args):
    turns = read_turns(args.source, SERVER_PORT, args.turns)
    manifest = dict(l.rstrip("\n").split("\t", 1) for l in open(args.manifest)) \
        if args.manifest else {"0": "as recorded"}
    want = expected_messages(turns)
    if args.no_keys:
        for m in want:
            for key in ("cvpn.tag_ok", "cvpn.plaintext"):
                m.pop(key, None)
            if m["cvpn.type"] == ["data"]:
                m["cvpn.decrypt_status"] = ["no key log: set the preference cvpn.keylog_file "
                                            "(Preferences > Protocols > CVPN, or tshark -o "
                                            "cvpn.keylog_file:FILE)"]
    bad = 0
    for run in args.runs:
        try:
            streams = messages_by_stream(strict_json(run))
        except (UnicodeDecodeError, ValueError) as e:
            print(f"not valid UTF-8 JSON: {run}: {e}")
            return 1
        reference = streams.get(0, [])
        for n in range(len(manifest)):
            got = streams.get(n, [])
            if args.last_of_each:
                got = last_of_each(got)
            why = differs(want, got)
            if why is None and got != reference:
                why = "differs from the whole session's stream 0 in a field not checked above"
            if why:
                bad += 1
                if bad <= 20:
                    print(f"{run}: stream {n} ({manifest[str(n)]}): {why}")
        print(f"# {run}: {len(manifest)} streams, {len(want)} messages each, "
              f"{bad} streams differ so far")
    return 1 if bad else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--source", required=True, help="payload lines: SRCPORT HEX")
    b.add_argument("--keys", required=True, help="the session's key log")
    b.add_argument("--out", required=True, help="pcap to write")
    b.add_argument("--keys-out", required=True)
    b.add_argument("--manifest", required=True)
    b.add_argument("--family", type=int, choices=(4, 6), default=4)
    b.add_argument("--seed", type=int)
    b.add_argument("--interleave", type=int, default=4, help="streams sent side by side")
    b.add_argument("--same-port", action="store_true",
                   help="every stream from one client port (a port used again)")
    b.add_argument("--turns", type=int, help="only the session's first N turns")
    b.add_argument("plans", nargs="*")
    c = sub.add_parser("check")
    c.add_argument("--source", required=True)
    c.add_argument("--manifest", help="default: one stream, as recorded")
    c.add_argument("--turns", type=int, help="only the session's first N turns")
    c.add_argument("--last-of-each", action="store_true",
                   help="a message shown twice in a row counts as last shown")
    c.add_argument("--no-keys", action="store_true", help="the runs had no key log")
    c.add_argument("runs", nargs="+", help="tshark -T json outputs")
    args = p.parse_args()
    if args.command == "build":
        build(args)
        return 0
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
