#!/usr/bin/python3
"""A lossy link between two network namespaces, in user space.

    impair.py NS_A NS_B [--loss P] [--delay MIN:MAX] [--dup P] [--mtu N] [--seed N] [--seconds N]

Joins NS_A and NS_B with a point-to-point link made of two TUN devices, one in each namespace
(cvpn-a: 192.0.2.1 and 2001:db8::1 in NS_A, cvpn-b: 192.0.2.2 and 2001:db8::2 in NS_B, TEST-NET
addresses that exist only inside them), and copies every IP packet across: dropped with
probability P, delayed by a uniform MIN..MAX milliseconds each (so packets overtake each other:
reordering), sometimes twice (duplication). The kernels on both sides run real TCP over it: real
segments of the MTU, real retransmissions after a real loss.

This is `tc qdisc add ... netem` for kernels built without it (CONFIG_NET_SCH_NETEM), which
include the one CI runs on. Prints "ready" once both ends are up, statistics on exit (SIGTERM,
SIGINT or --seconds, which bounds it): "reordered" counts packets delivered after one that left
later. Needs CAP_NET_ADMIN (root) and /dev/net/tun.

For the UDP transport's tests (test_vpn.sh), SIGUSR1 sends the last IPv4 UDP datagram seen from
NS_A to NS_B once more (a replay), and a copy of it with one bit of its last byte flipped (its UDP
checksum then left 0: none, as IPv4 allows), and prints "injected" on stderr.
"""

import argparse
import ctypes
import fcntl
import heapq
import os
import random
import secrets
import select
import signal
import struct
import subprocess
import sys
import time

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

ENDS = (
    ("cvpn-a", "192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2"),
    ("cvpn-b", "192.0.2.2", "192.0.2.1", "2001:db8::2", "2001:db8::1"),
)

libc = ctypes.CDLL(None, use_errno=True)


def setns(fd):
    """Move this thread into the network namespace that fd refers to."""
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def open_tun(namespace, name):
    """Create the TUN device name inside namespace; return its descriptor (the device lives while it is open)."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    there = os.open(f"/var/run/netns/{namespace}", os.O_RDONLY)
    try:
        setns(there)
        fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    finally:
        setns(home)
        os.close(there)
        os.close(home)
    os.set_blocking(fd, False)
    return fd


def configure(namespace, end, mtu):
    """Bring one end up with its addresses and the MTU."""
    name, v4, peer4, v6, peer6 = end
    for cmd in (
        ["link", "set", name, "mtu", str(mtu), "up"],
        ["addr", "add", v4, "peer", peer4, "dev", name],
        ["-6", "addr", "add", v6, "peer", peer6, "dev", name, "nodad"],
    ):
        subprocess.run(["ip", "-n", namespace] + cmd, check=True)


def fraction(text):
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a probability below 1")
    return value


def delay_range(text):
    try:
        low, high = (float(x) for x in text.split(":"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad delay {text!r} (want MIN:MAX milliseconds)") from exc
    if not 0 <= low <= high:
        raise argparse.ArgumentTypeError(f"bad delay {text!r} (want 0 <= MIN <= MAX)")
    return low / 1000, high / 1000


class Link:
    """Packets in flight between the two TUN ends, each with its own delivery time."""

    def __init__(self, fds, args, rng):
        self.fds = fds
        self.args = args
        self.rng = rng
        self.queue = []      # (when, sequence, to_fd, packet)
        self.sequence = 0
        self.last_delivered = {}  # to_fd: the highest sequence delivered that way
        self.last_udp = None      # the last IPv4 UDP datagram from A to B
        self.stats = {"packets": 0, "dropped": 0, "duplicated": 0, "delivered": 0, "write_errors": 0,
                      "reordered": 0}

    def arrive(self, from_fd):
        """Read every packet waiting on one end and schedule it towards the other."""
        to_fd = self.fds[1] if from_fd == self.fds[0] else self.fds[0]
        while True:
            try:
                packet = os.read(from_fd, 65536)
            except BlockingIOError:
                return
            self.stats["packets"] += 1
            if from_fd == self.fds[0] and len(packet) >= 28 and packet[0] >> 4 == 4 and packet[9] == 17:
                self.last_udp = packet
            if self.rng.random() < self.args.loss:
                self.stats["dropped"] += 1
                continue
            copies = 2 if self.rng.random() < self.args.dup else 1
            self.stats["duplicated"] += copies - 1
            for _ in range(copies):
                when = time.monotonic() + self.rng.uniform(*self.args.delay)
                self.sequence += 1
                heapq.heappush(self.queue, (when, self.sequence, to_fd, packet))

    def inject(self):
        """Replays the last UDP datagram from A to B, then sends it with its last bit flipped."""
        if self.last_udp is None:
            print("injected nothing: no UDP datagram seen yet", file=sys.stderr, flush=True)
            return
        flipped = bytearray(self.last_udp)
        ihl = (flipped[0] & 0x0F) * 4
        flipped[ihl + 6:ihl + 8] = b"\0\0"
        flipped[-1] ^= 0x01
        for packet in (self.last_udp, bytes(flipped)):
            os.write(self.fds[1], packet)
        print("injected a replay and a flipped copy", file=sys.stderr, flush=True)

    def deliver_due(self):
        """Write the packets whose time has come; return seconds until the next one (or None)."""
        now = time.monotonic()
        while self.queue and self.queue[0][0] <= now:
            _, sequence, to_fd, packet = heapq.heappop(self.queue)
            if sequence < self.last_delivered.get(to_fd, 0):
                self.stats["reordered"] += 1
            self.last_delivered[to_fd] = max(sequence, self.last_delivered.get(to_fd, 0))
            try:
                os.write(to_fd, packet)
                self.stats["delivered"] += 1
            except OSError:
                # A full queue or an end going down: the packet is lost, as on a real link.
                self.stats["write_errors"] += 1
        return self.queue[0][0] - now if self.queue else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("ns_a")
    parser.add_argument("ns_b")
    parser.add_argument("--loss", type=fraction, default=0.07, help="drop probability (default 0.07)")
    parser.add_argument("--delay", type=delay_range, default=(0.05, 0.2),
                        help="MIN:MAX milliseconds of delay per packet (default 50:200)")
    parser.add_argument("--dup", type=fraction, default=0.01, help="duplication probability (default 0.01)")
    parser.add_argument("--mtu", type=int, default=1500)
    parser.add_argument("--seed", type=int, help="seed of the impairments (default: random, printed)")
    parser.add_argument("--seconds", type=float, default=1800, help="stop after this long (default 1800)")
    args = parser.parse_args()

    seed = args.seed if args.seed is not None else secrets.randbits(32)
    fds = (open_tun(args.ns_a, ENDS[0][0]), open_tun(args.ns_b, ENDS[1][0]))
    configure(args.ns_a, ENDS[0], args.mtu)
    configure(args.ns_b, ENDS[1], args.mtu)
    link = Link(fds, args, random.Random(seed))
    stop = []
    inject = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.signal(signal.SIGUSR1, lambda *_: inject.append(1))
    print(f"ready (loss {args.loss}, delay {args.delay[0] * 1000:g}-{args.delay[1] * 1000:g} ms, "
          f"dup {args.dup}, mtu {args.mtu}, seed {seed})", flush=True)
    end = time.monotonic() + args.seconds
    while not stop and time.monotonic() < end:
        while inject:
            inject.pop()
            link.inject()
        wait = link.deliver_due()
        wait = 0.5 if wait is None else min(wait, 0.5)
        try:
            readable, _, _ = select.select(list(fds), [], [], max(wait, 0))
        except InterruptedError:
            continue
        for fd in readable:
            link.arrive(fd)
    print(" ".join(f"{k} {v}" for k, v in link.stats.items()), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
