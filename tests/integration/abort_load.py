#!/usr/bin/python3
"""Raw, aborted and hostile connections for the fault, hostile-load and drift tests.

Usage:
  abort_load.py point PORT CASE hold|reset|shutreset [--psk FILE]
      Goes as far as CASE says into a session, then either prints "ready LOCALPORT" and
      waits (for the test to SIGKILL it), or resets the connection (SO_LINGER 0; shutreset
      sends a FIN first) and prints "reset LOCALPORT". Cases: see POINTS.
  abort_load.py stall PORT lab|secure INTERVAL [--limit SEC]
      Slowloris: a valid first message (a long proposal, or a psk-mode hello and message 1),
      one byte every INTERVAL seconds, until the server closes (at most SEC seconds);
      prints "closed after S s (sent N bytes, why)".
  abort_load.py hostile PORT --sources N --count N --seconds S [--concurrency N] [--rate R] [--hold S]
      Garbage and half-open connections from 127.0.1.1..127.0.1.N, round robin, at most
      R a second; prints one line of counts.
  abort_load.py noread PORT [--count N] [--seconds S]
      A lab session with a small receive buffer that sends up to N messages of 1,000 bytes
      and never reads the replies; prints "closed after N messages" once the server drops
      it, or "open after N messages".
  abort_load.py abort PORT --count N [--seconds S] [--rate R] [--deep M --psk FILE]
      N aborted handshakes (connect, a partial proposal or hello or garbage, close or reset),
      a few at a time, M of them after the server's Diffie-Hellman (lab and secure);
      prints one line of counts.

Everything is bounded in count and time and talks to 127.0.0.1 only (sources in 127/8).
The crypto comes from the independent peers in tests/interop.
"""
import argparse
import errno
import os
import selectors
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
import labpeer  # noqa: E402

PROPOSAL = b"ProposedCiphers:AES:[256]"
CHOICE = b"ChosenCipher:AES,256"
HOST = "127.0.0.1"


def linger0(sock):
    """Make close() send RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def recv_until(sock, predicate, limit=10.0):
    """Read until predicate(data) holds; raise on EOF or timeout."""
    data = b""
    end = time.monotonic() + limit
    while not predicate(data):
        left = end - time.monotonic()
        if left <= 0:
            raise SystemExit(f"timeout, got {data[:60]!r}")
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit(f"server closed, got {data[:60]!r}")
        data += chunk
    return data


# ---- The lab profile, from labpeer ----

def lab_dhmke():
    x = labpeer.dh_private_key()
    return x, b"DHMKE:" + str(labpeer.dh_public_key(x)).encode()


def lab_session(sock):
    """A full lab handshake (AES-256) and one good exchange; return the channel."""
    sock.sendall(PROPOSAL)
    recv_until(sock, lambda d: d == CHOICE)
    x, mine = lab_dhmke()
    sock.sendall(mine)
    # The server's value is complete when the quiet period passes; read with a short pause.
    data = recv_until(sock, lambda d: d.startswith(b"DHMKE:") and len(d) > 2400, 20)
    sock.settimeout(0.3)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                raise SystemExit("server closed after its DHMKE")
            data += chunk
    except socket.timeout:
        pass
    y = int(data[6:].decode())
    channel = labpeer.SecureChannel("AES", 256, labpeer.shared_key_hex(y, x), "cumulative")
    sock.sendall(channel.seal(b"first"))
    recv_until(sock, lambda d: d == b"Server says: tsrif")
    return channel


# ---- The secure profile, from securepeer (imported only when needed: it needs dissononce) ----

class Stop(Exception):
    """Raised by a truncating wire once it has sent its prefix."""


def secure_config(psk_file):
    import securepeer as sp
    return sp, sp.ClientConfig(mode=sp.MODE_PSK, suites=[1], psk=sp.read_secret_file(psk_file), timeout=10.0)


def secure_session(sock, psk_file):
    """A full secure handshake (psk mode) and one good exchange; return (securepeer, session)."""
    sp, cfg = secure_config(psk_file)
    wire = sp.Wire(sock, 10.0)
    session, _ = sp.client_handshake(wire, cfg)
    sp.exchange(session, "first", lambda text: None)
    return sp, session


def secure_message1(sock, psk_file):
    """Run the hellos; return the framed message 1 (with its mac1), unsent."""
    sp, cfg = secure_config(psk_file)
    captured = []

    class Capturing(sp.Wire):
        """Sends the ClientHello, keeps message 1."""

        def send(self, data):
            if data.startswith(sp.MAGIC):
                super().send(data)
            else:
                captured.append(data)
                raise Stop()

    try:
        sp.client_handshake(Capturing(sock, 10.0), cfg)
    except Stop:
        pass
    return captured[0]


# ---- point: go to one place in a session, then wait to be killed, or reset ----

def point_case(sock, case, psk):
    """Run CASE's steps up to its last message; return that message's bytes (unsent)."""
    if case == "connected":
        return b""
    if case == "lab_proposal_partial":
        return PROPOSAL[:12]
    if case == "lab_proposal":
        # A newline, so that the server answers at once.
        return PROPOSAL + b"\n"
    if case.startswith("lab_dhmke") or case == "lab_choice":
        sock.sendall(PROPOSAL)
        recv_until(sock, lambda d: d == CHOICE)
        # The server computes its DH on the pool, then writes its DHMKE.
        return {"lab_choice": b"", "lab_dhmke_partial": lab_dhmke()[1][:1200], "lab_dhmke": lab_dhmke()[1]}[case]
    if case.startswith("lab_message"):
        wire = lab_session(sock).seal(b"second message")
        return wire[:40] if case.endswith("_partial") else wire
    if case == "sec_hello_partial":
        return b"CVPN\x02"
    if case == "sec_hello":
        return b"CVPN\x02\x02\x01\x01"
    if case.startswith("sec_msg1"):
        wire = secure_message1(sock, psk)
        return wire[:30] if case.endswith("_partial") else wire
    if case.startswith("sec_record"):
        sp, session = secure_session(sock, psk)
        wire = session.seal(sp.DATA, b"second message")
        return wire[:20] if case.endswith("_partial") else wire
    raise SystemExit(f"unknown case {case}")


POINTS = ("connected lab_proposal_partial lab_proposal lab_choice lab_dhmke_partial lab_dhmke "
          "lab_message_partial lab_message sec_hello_partial sec_hello sec_msg1_partial sec_msg1 "
          "sec_record_partial sec_record").split()


def cmd_point(args):
    sock = socket.create_connection((HOST, args.port), timeout=10)
    last = point_case(sock, args.case, args.psk)
    port = sock.getsockname()[1]
    if args.gate:
        # The test stops the server here, so that it finds our last message,
        # our FIN and our RST all waiting when it runs again.
        print(f"gate {port}", flush=True)
        if not sys.stdin.readline():
            return 1
    if last:
        sock.sendall(last)
    if args.then in ("reset", "shutreset"):
        if args.then == "shutreset":
            # FIN first, then RST: the server's socket goes from CLOSE_WAIT to
            # reset, and its next write fails with EPIPE (SIGPIPE if not ignored).
            sock.shutdown(socket.SHUT_WR)
        linger0(sock)
        sock.close()
        print(f"reset {port}", flush=True)
        return 0
    print(f"ready {port}", flush=True)
    time.sleep(60)  # the test kills us long before this
    return 1


# ---- stall: slowloris ----

def cmd_stall(args):
    if args.profile == "lab":
        payload = b"ProposedCiphers:AES:[128,192,256],Blowfish:[112,224,448],DES3:[128,192],DES:[56]"
        payload += b",AES:[256]" * 400
    else:
        payload = b"CVPN\x02\x02\x01\x01" + b"\x00\x40" + os.urandom(0x40)
    sock = socket.create_connection((HOST, args.port), timeout=10)
    start = time.monotonic()
    sent = 0
    reason = "limit"
    while time.monotonic() - start < args.limit and sent < len(payload):
        try:
            sock.send(payload[sent:sent + 1])
            sent += 1
        except OSError as exc:
            reason = os.strerror(exc.errno)
            break
        # Wait the interval, but notice a close at once.
        sock.settimeout(args.interval)
        try:
            data = sock.recv(4096)
            if not data:
                reason = "eof"
                break
            if args.profile == "lab" or not data.startswith(b"CVPN"):
                reason = f"server sent {data[:20]!r}"
                break
        except socket.timeout:
            pass
        except OSError as exc:
            reason = os.strerror(exc.errno)
            break
    print(f"closed after {time.monotonic() - start:.2f} s (sent {sent} bytes, {reason})", flush=True)
    return 0 if reason != "limit" else 1


# ---- hostile and abort: many short connections, non-blocking ----

GARBAGE = [
    b"GET / HTTP/1.0\r\n\r\n",
    b"ProposedCiphers:AES:[256\x00]\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(100),
    b"CVPN\x02\x02\x01\x01\x00\x40" + bytes(0x40),   # psk hello and a message 1 that fails its mac1
    b"CVPN\x09\x09\x09",
    b"SSH-2.0-OpenSSH_9.2\r\n",
]


class Conn:
    __slots__ = ("sock", "kind", "payload", "opened", "hold", "rst", "got")


def run_many(port, count, seconds, concurrency, sources, plan, rate):
    """Open `count` connections as `plan(i)` says, at most `concurrency` at a time and `rate` a second."""
    sel = selectors.DefaultSelector()
    stats = {"opened": 0, "connect_failed": 0, "closed_by_server": 0, "closed_by_us": 0,
             "answered": 0, "reset_by_server": 0}
    start = time.monotonic()
    live = 0
    i = 0

    def finish(c, how):
        nonlocal live
        sel.unregister(c.sock)
        if how == "us" and c.rst:
            linger0(c.sock)
        c.sock.close()
        stats["closed_by_us" if how == "us" else how] += 1
        live -= 1

    while time.monotonic() - start < seconds and (i < count or live):
        while i < count and live < concurrency and i < rate * (time.monotonic() - start) + 1:
            kind, payload, hold, rst = plan(i)
            i += 1
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if sources:
                s.bind((f"127.0.1.{1 + i % sources}", 0))
            s.setblocking(False)
            err = s.connect_ex((HOST, port))
            if err not in (0, errno.EINPROGRESS):
                stats["connect_failed"] += 1
                s.close()
                continue
            c = Conn()
            c.sock, c.kind, c.payload, c.opened, c.hold, c.rst, c.got = s, kind, payload, time.monotonic(), hold, rst, 0
            sel.register(s, selectors.EVENT_WRITE, c)
            live += 1
            stats["opened"] += 1
        for key, ev in sel.select(0.02):
            c = key.data
            if ev & selectors.EVENT_WRITE:
                if c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    stats["connect_failed"] += 1
                    stats["opened"] -= 1
                    finish(c, "us")
                    continue
                try:
                    if c.payload:
                        c.sock.send(c.payload)
                except OSError:
                    finish(c, "reset_by_server")
                    continue
                if c.hold == 0:
                    finish(c, "us")
                    continue
                sel.modify(c.sock, selectors.EVENT_READ, c)
            else:
                try:
                    data = c.sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    finish(c, "reset_by_server")
                    continue
                if not data:
                    finish(c, "closed_by_server")
                else:
                    c.got += len(data)
                    if c.got == len(data):
                        stats["answered"] += 1
        now = time.monotonic()
        for key in list(sel.get_map().values()):
            c = key.data
            if c.hold and now - c.opened > c.hold:
                finish(c, "us")
    for key in list(sel.get_map().values()):
        key.data.sock.close()
        stats["closed_by_us"] += 1
    stats["seconds"] = round(time.monotonic() - start, 2)
    stats["not_started"] = count - i
    return stats


def cmd_hostile(args):
    def plan(i):
        k = i % 4
        if k == 0:   # half-open: connect and say nothing; the server's deadline ends it
            return "silent", b"", args.hold, False
        if k == 1:   # half-open: a partial secure hello, then nothing
            return "partial", b"CVPN\x02", args.hold, False
        # garbage, then read until the server closes (at most `hold`); k == 3 ones end with a reset
        return "garbage", GARBAGE[i % len(GARBAGE)], args.hold, k == 3

    stats = run_many(args.port, args.count, args.seconds, args.concurrency, args.sources, plan, args.rate)
    print(" ".join(f"{k}={v}" for k, v in stats.items()), flush=True)
    return 0


def cmd_abort(args):
    partial_lab = [PROPOSAL[:n] for n in (1, 5, 16, 20)]

    def plan(i):
        k = i % 5
        if k == 0:
            return "partial", partial_lab[i % 4], 0, i % 2 == 0
        if k == 1:
            return "partial", b"CVPN\x02\x02", 0, i % 2 == 0
        if k == 2:
            return "garbage", GARBAGE[i % len(GARBAGE)], 0, i % 2 == 0
        if k == 3:
            return "empty", b"", 0, i % 2 == 0
        return "garbage", os.urandom(1 + i % 300), 0, True

    start = time.monotonic()
    deep = deep_aborts(args.port, args.deep, args.psk, start + args.seconds) if args.deep else 0
    left = max(1.0, args.seconds - (time.monotonic() - start))
    stats = run_many(args.port, args.count - deep, left, args.concurrency, 0, plan, args.rate)
    stats["deep"] = deep
    stats["seconds"] = round(time.monotonic() - start, 2)
    print(" ".join(f"{k}={v}" for k, v in stats.items()), flush=True)
    return 0 if stats["not_started"] == 0 else 1


def deep_aborts(port, count, psk, deadline):
    """Aborts after the server's Diffie-Hellman: a lab DHMKE or a secure message 1 (psk mode),
    then a close or a reset, either at once (the server is still on its DH) or after its answer.
    Returns how many went through (the server may refuse some: too many handshakes)."""
    _, mine = lab_dhmke()  # one value for all: the server's work is the same
    done = 0
    for i in range(count):
        if time.monotonic() > deadline:
            break
        try:
            sock = socket.create_connection((HOST, port), timeout=10)
            if i % 2 == 0:
                sock.sendall(PROPOSAL + b"\n")
                recv_until(sock, lambda d: d.startswith(CHOICE))
                sock.sendall(mine + b"\n")
                if i % 4 == 0:
                    recv_until(sock, lambda d: d.endswith(b"\n"), 20)
            else:
                sock.sendall(secure_message1(sock, psk))
                if i % 4 == 1:
                    recv_until(sock, lambda d: len(d) >= 50)
            if i % 3 == 0:
                linger0(sock)
            sock.close()
            done += 1
        except (Exception, SystemExit) as exc:  # securepeer's errors and recv_until's too
            print(f"deep abort {i}: {exc}", file=sys.stderr)
    return done


# ---- noread: a client that never reads its replies ----

def cmd_noread(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Small before connecting, so that the window the server sees stays small.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect((HOST, args.port))
    channel = lab_session(sock)
    end, sent = time.monotonic() + args.seconds, 0
    try:
        while sent < args.count and time.monotonic() < end:
            sock.settimeout(max(0.1, end - time.monotonic()))
            sock.sendall(channel.seal(b"m" * 1000))
            sent += 1
    except OSError:  # reset or broken pipe: the server dropped us
        print(f"closed after {sent} messages", flush=True)
        return 0
    print(f"open after {sent} messages", flush=True)
    return 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("point")
    p.add_argument("port", type=int)
    p.add_argument("case", choices=POINTS)
    p.add_argument("then", choices=("hold", "reset", "shutreset"))
    p.add_argument("--psk")
    p.add_argument("--gate", action="store_true")
    p = sub.add_parser("stall")
    p.add_argument("port", type=int)
    p.add_argument("profile", choices=("lab", "secure"))
    p.add_argument("interval", type=float)
    p.add_argument("--limit", type=float, default=20)
    p = sub.add_parser("hostile")
    p.add_argument("port", type=int)
    p.add_argument("--sources", type=int, default=50)
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--concurrency", type=int, default=100)
    p.add_argument("--hold", type=float, default=5)
    p.add_argument("--rate", type=float, default=100)
    p = sub.add_parser("noread")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, default=20000)
    p.add_argument("--seconds", type=float, default=20)
    p = sub.add_parser("abort")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--rate", type=float, default=1000)
    p.add_argument("--deep", type=int, default=0, help="how many of them abort after the server's DH (needs --psk)")
    p.add_argument("--psk")
    args = ap.parse_args()
    return {"point": cmd_point, "stall": cmd_stall, "hostile": cmd_hostile,
            "abort": cmd_abort, "noread": cmd_noread}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
