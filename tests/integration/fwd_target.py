#!/usr/bin/python3
"""Destinations for the port-forwarding tests: one listener on 127.0.0.1 that behaves as told.

    fwd_target.py MODE [--port-file FILE] [--log FILE]

Modes:
  echo    echoes every byte; after the peer's EOF, half-closes its own side (then closes)
  answer  reads until EOF, then answers "N bytes, sha256 HEX" and closes (a reply after EOF)
  sink    accepts and never reads (a small receive buffer, so that the sender fills it soon)
  reset   accepts and resets the connection at once
  hang    a listener whose backlog is full: connecting to it hangs until the caller's timeout

It prints "Listening on PORT" once ready (and writes PORT to --port-file), then one line per
connection event to --log: "accepted", "closed". It runs until killed; every loop is bounded
by the connections it has, and it never reads or writes on a blocking socket.
"""

import argparse
import hashlib
import resource
import selectors
import signal
import socket
import struct
import sys

MAX_CONNECTIONS = 4096
READ_SIZE = 65536


class Target:
    """One listener and its connections, driven by a selector."""

    def __init__(self, mode, log):
        self.mode = mode
        self.log = log
        self.sel = selectors.DefaultSelector()
        self.listener = socket.socket()
        if mode == "sink":
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0 if mode == "hang" else 1024)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.held = []
        self.state = {}  # socket -> [bytes to send, bytes read, sha256, peer ended]

    def note(self, text):
        """Write one event line to the log."""
        if self.log:
            self.log.write(text + "\n")
            self.log.flush()

    def fill_backlog(self):
        """Connect until a connection no longer completes: the accept queue is full."""
        for _ in range(16):
            sock = socket.socket()
            sock.settimeout(0.5)
            try:
                sock.connect(("127.0.0.1", self.port))
            except OSError:
                sock.close()
                return True
            self.held.append(sock)
        return False

    def accept(self):
        """Accept every waiting connection."""
        for _ in range(MAX_CONNECTIONS):
            try:
                sock, _ = self.listener.accept()
            except BlockingIOError:
                return
            sock.setblocking(False)
            self.note("accepted")
            if self.mode == "reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
                self.note("closed")
                continue
            self.state[sock] = [b"", 0, hashlib.sha256(), False]
            if self.mode != "sink":
                self.sel.register(sock, selectors.EVENT_READ)
            else:
                self.held.append(sock)

    def close(self, sock):
        """Close one connection."""
        self.sel.unregister(sock)
        del self.state[sock]
        sock.close()
        self.note("closed")

    def readable(self, sock):
        """Read what arrived; echo it or count it; act on EOF."""
        st = self.state[sock]
        try:
            data = sock.recv(READ_SIZE)
        except ConnectionError:
            self.close(sock)
            return
        if data:
            st[1] += len(data)
            st[2].update(data)
            if self.mode == "echo":
                st[0] += data
        else:
            st[3] = True
            if self.mode == "answer":
                st[0] += f"{st[1]} bytes, sha256 {st[2].hexdigest()}\n".encode()
        self.writable(sock)

    def writable(self, sock):
        """Send what waits; once the peer ended and nothing waits, end our side and close."""
        st = self.state[sock]
        try:
            if st[0]:
                st[0] = st[0][sock.send(st[0]):]
        except BlockingIOError:
            pass
        except ConnectionError:
            self.close(sock)
            return
        if st[3] and not st[0]:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            self.close(sock)
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if st[0] else 0)
        if st[3]:
            events = selectors.EVENT_WRITE
        self.sel.modify(sock, events)

    def serve(self):
        """Run until killed."""
        self.sel.register(self.listener, selectors.EVENT_READ)
        while True:
            for key, events in self.sel.select():
                if key.fileobj is self.listener:
                    self.accept()
                elif events & selectors.EVENT_READ and not self.state[key.fileobj][3]:
                    self.readable(key.fileobj)
                elif key.fileobj in self.state:
                    self.writable(key.fileobj)


def main():
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("mode", choices=("echo", "answer", "sink", "reset", "hang"))
    parser.add_argument("--port-file")
    parser.add_argument("--log")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 2 * MAX_CONNECTIONS)), hard))
    log = open(args.log, "a", encoding="ascii") if args.log else None
    target = Target(args.mode, log)
    if args.mode == "hang" and not target.fill_backlog():
        print("cannot fill the backlog", file=sys.stderr)
        return 1
    if args.port_file:
        with open(args.port_file, "w", encoding="ascii") as handle:
            handle.write(f"{target.port}\n")
    print(f"Listening on {target.port}", flush=True)
    if args.mode == "hang":
        # Never accept: the queue stays full, and a new connection's SYN goes unanswered.
        while True:
            signal.pause()
    target.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
