#!/usr/bin/python3
"""Local applications for the client's port-forwarding tests: each connects to a forwarded port.

    fwd_app.py send PORT FILE          send FILE, half-close, print what comes back until EOF
    fwd_app.py many PORT N --events F  hold N connections at once, then check each one's answer
    fwd_app.py stall PORT PATH         ask an HTTP server for PATH, read a little, then never read;
                                       print how the connection ended (reset or eof)
    fwd_app.py socks PORT HEX...       send each HEX chunk in turn, print the bytes that came back
    fwd_app.py burst PORT... --seed S  connections that send at once and reset soon after, to each
                                       PORT in turn: a random count of bytes, a random pause

Every connection is to 127.0.0.1; every wait is bounded (--seconds, default 120) and a test that
runs out of time exits 2 with a line saying what it waited for.
"""

import argparse
import hashlib
import random
import resource
import select
import socket
import struct
import sys
import time

READ_SIZE = 65536


def deadline_left(deadline, what):
    """Seconds left before deadline; exits 2 naming what was awaited once none are."""
    left = deadline - time.monotonic()
    if left <= 0:
        print(f"timed out waiting for {what}", file=sys.stderr)
        sys.exit(2)
    return left


def connect(port, deadline):
    """A connection to 127.0.0.1:port; exits 2 saying so when there is none."""
    try:
        return socket.create_connection(("127.0.0.1", port), timeout=deadline_left(deadline, "connect"))
    except OSError as e:
        print(f"cannot connect to 127.0.0.1:{port}: {e}", file=sys.stderr)
        sys.exit(2)


def read_to_eof(sock, deadline):
    """Everything the peer sends until it ends its side."""
    chunks = []
    while True:
        sock.settimeout(deadline_left(deadline, "the end of the answer"))
        data = sock.recv(READ_SIZE)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def cmd_send(args, deadline):
    """send: the file, then EOF; the answer comes after it (a half-close both ways)."""
    with open(args.file, "rb") as handle:
        payload = handle.read()
    sock = connect(args.port, deadline)
    sock.sendall(payload)
    sock.shutdown(socket.SHUT_WR)
    sys.stdout.write(read_to_eof(sock, deadline).decode("ascii", "replace"))
    sock.close()
    return 0


def accepted(path):
    """How many connections the destination has accepted, by its event log."""
    try:
        with open(path, encoding="ascii") as handle:
            return sum(1 for line in handle if line.strip() == "accepted")
    except OSError:
        return 0


def cmd_many(args, deadline):
    """many: N connections, each with its own bytes, all open at the destination before any ends."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.n + 64)), hard))
    base = accepted(args.events)
    socks, payloads = [], []
    for i in range(args.n):
        sock = connect(args.port, deadline)
        payload = f"connection {i}\n".encode() * (1 + i % 7)
        sock.sendall(payload)
        socks.append(sock)
        payloads.append(payload)
    while accepted(args.events) - base < args.n:
        deadline_left(deadline, f"{args.n} connections at the destination ({accepted(args.events) - base} so far)")
        time.sleep(0.05)
    print(f"holding {args.n}", flush=True)
    for sock in socks:
        sock.shutdown(socket.SHUT_WR)
    bad = 0
    for sock, payload in zip(socks, payloads):
        want = f"{len(payload)} bytes, sha256 {hashlib.sha256(payload).hexdigest()}\n".encode()
        if read_to_eof(sock, deadline) != want:
            bad += 1
        sock.close()
    print(f"answers: {args.n - bad} right, {bad} wrong")
    return 1 if bad else 0


def cmd_stall(args, deadline):
    """stall: a reader that stops reading; says how the tunnel ended its connection."""
    sock = connect(args.port, deadline)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    sock.sendall(f"GET {args.path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
    sock.settimeout(deadline_left(deadline, "the first bytes"))
    if not sock.recv(4096):
        print("eof before any byte")
        return 1
    print("stalled", flush=True)
    poller = select.poll()
    poller.register(sock, select.POLLERR | select.POLLHUP | select.POLLRDHUP)
    while True:
        events = poller.poll(1000 * min(1.0, deadline_left(deadline, "the connection's end")))
        if events:
            ev = events[0][1]
            print("reset" if ev & (select.POLLERR | select.POLLHUP) else "eof", flush=True)
            return 0


def cmd_socks(args, deadline):
    """socks: raw bytes to a SOCKS5 port, chunk by chunk; prints what came back, in hex."""
    sock = connect(args.port, deadline)
    got = b""
    for chunk in args.hex:
        try:
            sock.sendall(bytes.fromhex(chunk))
        except OSError:
            break
        sock.settimeout(min(10.0, deadline_left(deadline, "a reply")))
        try:
            data = sock.recv(READ_SIZE)
        except (socket.timeout, OSError):
            data = b""
        got += data
        if not data:
            break
    print(got.hex())
    return 0


def cmd_burst(args, deadline):
    """burst: connections reset before, while or after the server answers their channel."""
    rng = random.Random(args.seed)
    at_cap = 0
    for i in range(args.n):
        port = args.ports[i % len(args.ports)]
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=deadline_left(deadline, "connect"))
        except (ConnectionResetError, ConnectionAbortedError):
            # The tunnel closed it at once: at its cap while earlier channels still end.
            at_cap += 1
            continue
        except OSError as e:
            print(f"cannot connect to 127.0.0.1:{port}: {e}", file=sys.stderr)
            return 2
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            sock.sendall(b"x" * rng.choice((0, 1, rng.randrange(2, 40000))))
        except OSError:
            pass  # the tunnel closed it first (a refusal that came back at once)
        time.sleep(rng.choice((0, rng.uniform(0, 0.0005), rng.uniform(0, 0.003))))
        sock.close()
    print(f"reset {args.n} ({at_cap} closed at once by the tunnel)")
    return 0


def main():
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=120)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("send")
    p.add_argument("port", type=int)
    p.add_argument("file")
    p = sub.add_parser("many")
    p.add_argument("port", type=int)
    p.add_argument("n", type=int)
    p.add_argument("--events", required=True)
    p = sub.add_parser("stall")
    p.add_argument("port", type=int)
    p.add_argument("path")
    p = sub.add_parser("socks")
    p.add_argument("port", type=int)
    p.add_argument("hex", nargs="+")
    p = sub.add_parser("burst")
    p.add_argument("ports", type=int, nargs="+")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--seed", type=int, required=True)
    args = parser.parse_args()
    deadline = time.monotonic() + args.seconds
    return {"send": cmd_send, "many": cmd_many, "stall": cmd_stall, "socks": cmd_socks,
            "burst": cmd_burst}[args.cmd](args, deadline)


if __name__ == "__main__":
    sys.exit(main())
