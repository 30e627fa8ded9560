#!/usr/bin/python3
"""IPv4 and IPv6 packets that the IP tunnel carries (docs/SECURE.md section 12), for the
generated sessions of securegen.py (PACKET records over TCP) and udpgen.py (DATA packets over
UDP): ICMP and ICMPv6 echo, UDP with a DNS query or answer, each with correct checksums, and
what the dissector and Wireshark's own dissectors must show of it.

Each builder returns an Inner: the packet's bytes, the dissector's summary of it (the text of
cvpn.tunnel.packet and of the Info column) and the fields Wireshark's IP, ICMP, UDP and DNS
dissectors must give it.

Python 3 standard library only.
"""
import ipaddress
import struct

PROTOCOL_NAMES = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6"}


def checksum(data):
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class Inner:
    def __init__(self, data, summary, fields):
        self.data, self.summary, self.fields = data, summary, fields


def _addr(text):
    return ipaddress.ip_address(text)


def _summary(version, proto, src, dst, length):
    """The dissector's text: RFC 5952 addresses, as Python's ipaddress writes them."""
    name = PROTOCOL_NAMES.get(proto, f"protocol {proto}")
    return f"IPv{version} {name} {_addr(src)} -> {_addr(dst)}, {length} bytes"


def ipv4(src, dst, proto, payload, ident=0x1234, ttl=64):
    total = 20 + len(payload)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ident, 0x4000, ttl, proto, 0,
                         _addr(src).packed, _addr(dst).packed)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    fields = {"ip.version": ["4"], "ip.src": [src], "ip.dst": [dst], "ip.proto": [str(proto)],
              "ip.len": [str(total)], "ip.checksum.status": ["1"]}
    return header + payload, _summary(4, proto, src, dst, total), fields


def ipv6(src, dst, next_header, payload, hop_limit=64):
    header = struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_header, hop_limit,
                         _addr(src).packed, _addr(dst).packed)
    # Wireshark's IPv6 dissector gives ip.version too.
    fields = {"ip.version": ["6"], "ipv6.version": ["6"], "ipv6.src": [str(_addr(src))], "ipv6.dst": [str(_addr(dst))],
              "ipv6.nxt": [str(next_header)], "ipv6.plen": [str(len(payload))]}
    return header + payload, _summary(6, next_header, src, dst, 40 + len(payload)), fields


def _pseudo(src, dst, proto, length):
    a, b = _addr(src), _addr(dst)
    if a.version == 4:
        return a.packed + b.packed + struct.pack("!BBH", 0, proto, length)
    return a.packed + b.packed + struct.pack("!I3xB", length, proto)


def icmp_echo(src, dst, ident, seq, data, reply=False):
    """An ICMP echo request (type 8) or reply (type 0) over IPv4."""
    kind = 0 if reply else 8
    msg = struct.pack("!BBHHH", kind, 0, 0, ident, seq) + data
    msg = msg[:2] + struct.pack("!H", checksum(msg)) + msg[4:]
    packet, summary, fields = ipv4(src, dst, 1, msg)
    fields.update({"icmp.type": [str(kind)], "icmp.code": ["0"], "icmp.seq": [str(seq)],
                   "icmp.checksum.status": ["1"]})
    return Inner(packet, summary, fields)


def icmpv6_echo(src, dst, ident, seq, data, reply=False):
    """An ICMPv6 echo request (type 128) or reply (129) over IPv6."""
    kind = 129 if reply else 128
    msg = struct.pack("!BBHHH", kind, 0, 0, ident, seq) + data
    msg = msg[:2] + struct.pack("!H", checksum(_pseudo(src, dst, 58, len(msg)) + msg)) + msg[4:]
    packet, summary, fields = ipv6(src, dst, 58, msg)
    fields.update({"icmpv6.type": [str(kind)], "icmpv6.code": ["0"], "icmpv6.echo.sequence_number":
                   [str(seq)], "icmpv6.checksum.status": ["1"]})
    return Inner(packet, summary, fields)


def udp(src, dst, sport, dport, payload):
    """A UDP datagram over IPv4 or IPv6 (by the addresses), its checksum over the pseudo-header."""
    length = 8 + len(payload)
    seg = struct.pack("!HHHH", sport, dport, length, 0) + payload
    proto = 17
    sum_ = checksum(_pseudo(src, dst, proto, length) + seg) or 0xFFFF
    seg = seg[:6] + struct.pack("!H", sum_) + seg[8:]
    build = ipv4 if _addr(src).version == 4 else ipv6
    packet, summary, fields = build(src, dst, proto, seg)
    fields.update({"udp.srcport": [str(sport)], "udp.dstport": [str(dport)],
                   "udp.length": [str(length)], "udp.checksum.status": ["1"]})
    return Inner(packet, summary, fields)


def _qname(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def dns_query(src, dst, sport, ident, name):
    """A DNS query for the A record of name, to port 53."""
    msg = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + _qname(name) + struct.pack("!HH", 1, 1)
    inner = udp(src, dst, sport, 53, msg)
    inner.fields.update({"dns.id": ["0x%04x" % ident], "dns.flags.response": ["0"],
                         "dns.qry.name": [name]})
    return inner


def dns_answer(src, dst, dport, ident, name, address):
    """The answer to dns_query: one A record."""
    msg = (struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0) + _qname(name) +
           struct.pack("!HH", 1, 1) + struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) +
           _addr(address).packed)
    inner = udp(src, dst, 53, dport, msg)
    inner.fields.update({"dns.id": ["0x%04x" % ident], "dns.flags.response": ["1"],
                         "dns.qry.name": [name], "dns.resp.name": [name], "dns.a": [address]})
    return inner


# The fields compared for every inner packet (absent ones must be absent).
FIELDS = sorted({k for make in (
    lambda: icmp_echo("10.0.0.1", "10.0.0.2", 1, 1, b""),
    lambda: icmpv6_echo("fd00::1", "fd00::2", 1, 1, b""),
    lambda: dns_answer("10.0.0.1", "10.0.0.2", 5353, 1, "a.example", "10.0.0.3"))
    for k in make().fields})


# The layers Wireshark's own dissectors give an inner packet in tshark -T json, and the
# fields of them that the generated captures check.
INNER_LAYERS = {"ip", "ipv6", "icmp", "icmpv6", "udp", "dns"}


def inner_fields_of(pairs, out):
    """The FIELDS of one layer of an inner packet (pairs of tshark -T json), in tree order."""
    for k, v in pairs:
        if isinstance(v, list) and v and isinstance(v[0], tuple):
            inner_fields_of(v, out)
        elif k in FIELDS:
            out.setdefault(k, []).extend(v if isinstance(v, list) else [v])
    return out
