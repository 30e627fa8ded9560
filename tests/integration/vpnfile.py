#!/usr/bin/python3
"""Moves one file over TCP, for test_vpn.sh's checks through the tunnel.

    vpnfile.py send HOST PORT FILE       listen on HOST:PORT, send FILE to the first connection, exit
    vpnfile.py receive HOST PORT FILE    connect (retrying for up to 20 s), write what comes to FILE

Prints "listening" once the sender listens. Every wait is bounded (60 s).
"""

import socket
import sys
import time


def send(host, port, path):
    with socket.create_server((host, port)) as server:
        server.settimeout(60)
        print("listening", flush=True)
        conn, _ = server.accept()
        with conn, open(path, "rb") as f:
            conn.sendall(f.read())


def receive(host, port, path):
    deadline = time.monotonic() + 20
    while True:
        try:
            conn = socket.create_connection((host, port), timeout=60)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    with conn, open(path, "wb") as f:
        while data := conn.recv(65536):
            f.write(data)


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("send", "receive"):
        print(__doc__, file=sys.stderr)
        return 64
    (send if sys.argv[1] == "send" else receive)(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    return 0


if __name__ == "__main__":
    sys.exit(main())
