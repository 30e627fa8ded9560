#!/usr/bin/python3
"""A flood of UDP transport INITs from spoofed source addresses, for test_vpn.sh.

    vpnflood.py SERVER_IP PORT SERVER_PUBLIC_KEY --sources CIDR [--rate N] [--seconds N]

Each INIT (docs/SECURE.md section 12) carries a right mac1, keyed by the server's public key
as any client could key it, and garbage where Noise message 1 goes; its IPv4 source address is
drawn from --sources, so that the server's answers (COOKIEs under load) reach nobody. A server
under load must answer each with a COOKIE and no Diffie-Hellman. Sent with a raw socket
(IP_HDRINCL), which needs CAP_NET_RAW; the UDP checksum is left 0 (none, which IPv4 allows).
Prints what it sent on exit.
"""

import argparse
import base64
import hashlib
import hmac
import ipaddress
import os
import random
import socket
import struct
import sys
import time

INIT, MODE_KEY, SUITE_CHACHAPOLY = 1, 1, 1
NOISE1_LEN = 32 + 48 + 12 + 16
MAC_LEN = 16


def init_packet(mac1_key):
    """One INIT: header, a random sender index, garbage for Noise message 1, mac1, mac2 zero."""
    body = struct.pack("!BBBBI", INIT, MODE_KEY, SUITE_CHACHAPOLY, 0, random.getrandbits(32)) + os.urandom(NOISE1_LEN)
    mac1 = hmac.new(mac1_key, body, hashlib.sha256).digest()[:MAC_LEN]
    return body + mac1 + bytes(MAC_LEN)


def ipv4_udp(src, dst, sport, dport, payload):
    """An IPv4 header (the kernel fills in its checksum and id) and a UDP header without a checksum."""
    total = 20 + 8 + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0, 64, socket.IPPROTO_UDP, 0, src, dst)
    return ip + struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("server")
    parser.add_argument("port", type=int)
    parser.add_argument("key", help="the server's public key, base64")
    parser.add_argument("--sources", required=True, help="the network spoofed sources are drawn from")
    parser.add_argument("--rate", type=float, default=5000, help="packets a second (default 5000)")
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()

    mac1_key = hashlib.sha256(b"mac1----" + base64.b64decode(args.key)).digest()
    net = ipaddress.ip_network(args.sources)
    dst = socket.inet_aton(args.server)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sent = 0
    start = time.monotonic()
    end = start + args.seconds
    while (now := time.monotonic()) < end:
        # Keep to the rate: send what is due, then sleep a little.
        due = int((now - start) * args.rate) - sent
        for _ in range(max(due, 0)):
            src = net.network_address + random.randrange(1, net.num_addresses - 1)
            packet = ipv4_udp(src.packed, dst, random.randrange(1024, 65536), args.port, init_packet(mac1_key))
            try:
                raw.sendto(packet, (args.server, 0))
                sent += 1
            except OSError:
                pass
        time.sleep(0.002)
    print(f"sent {sent} INITs from {args.sources} in {args.seconds:g} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
