#!/usr/bin/python3
"""A hostile lab client for the negative tests: sends one kind of bad input.

Usage: hostile.py PORT CASE [KEYLOG]

Prints one line saying how the server ended the conversation and exits 0 when
the server closed the connection without sending anything in answer to the
bad input (the reference behaviour), 1 otherwise. The crypto comes from the
independent peer in tests/interop/labpeer.py.
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
import labpeer  # noqa: E402

P = labpeer.P
PROPOSAL = b"ProposedCiphers:AES:[256]"


def dhmke(value):
    return b"DHMKE:" + str(value).encode()


# Bad first messages: the server must close without a word.
PROPOSALS = {
    "proposal_empty": b"ProposedCiphers:",
    "proposal_garbage": b"GET / HTTP/1.0\r\n\r\n",
    "proposal_lowercase": b"proposedciphers:AES:[256]",
    "proposal_no_common": b"ProposedCiphers:RC4:[128],AES:[512]",
    "proposal_bad_number": b"ProposedCiphers:AES:[12a8]",
    "proposal_huge_number": b"ProposedCiphers:AES:[99999999999999999999]",
    "proposal_no_brackets": b"ProposedCiphers:AES:256",
    "proposal_oversized": b"ProposedCiphers:" + b",".join([b"AES:[128]"] * 500),
    "proposal_nul": b"ProposedCiphers:AES:[2\x0056]",
}

# Bad DH values after a good proposal.
DH_VALUES = {
    "dh_zero": dhmke(0),
    "dh_one": dhmke(1),
    "dh_p_minus_1": dhmke(P - 1),
    "dh_p": dhmke(P),
    "dh_p_plus_1": dhmke(P + 1),
    "dh_too_many_digits": b"DHMKE:" + b"1" * 2468,
    "dh_non_digits": b"DHMKE:12345abc",
    "dh_negative": dhmke(-5),
}


def recv_until_quiet(sock, quiet=0.3, limit=15.0):
    """Read until the peer pauses for ``quiet`` seconds; b"" plus closed=True on EOF."""
    data = b""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        sock.settimeout(quiet if data else max(0.01, end - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data, False
        if not chunk:
            return data, True
        data += chunk
    return data, False


def recv_until(sock, done, limit=30.0):
    """Read until ``done(data)`` holds, EOF, or ``limit`` seconds; return what came."""
    data = b""
    end = time.monotonic() + limit
    while not done(data) and time.monotonic() < end:
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data


def expect_silent_close(sock, limit=15.0):
    """Wait for EOF; fail if the server sends anything first."""
    sock.settimeout(limit)
    try:
        data = sock.recv(65536)
    except socket.timeout:
        print("server kept the connection open")
        return 1
    except ConnectionResetError:
        print("server reset the connection")
        return 0
    if data:
        print(f"server answered {len(data)} bytes: {data[:60]!r}")
        return 1
    print("server closed the connection silently")
    return 0


def handshake(sock, keylog=None):
    """Run a real handshake (AES-256); return the sending channel (and log its keys)."""
    sock.sendall(PROPOSAL)
    choice, _ = recv_until_quiet(sock)
    if choice != b"ChosenCipher:AES,256":
        raise SystemExit(f"unexpected choice {choice!r}")
    x = labpeer.dh_private_key()
    sock.sendall(dhmke(labpeer.dh_public_key(x)))
    answer, _ = recv_until_quiet(sock, quiet=0.5)
    y = int(answer.decode().split(":", 1)[1])
    channel = labpeer.SecureChannel("AES", 256, labpeer.shared_key_hex(y, x), "cumulative")
    if keylog:
        client, server = sock.getsockname(), sock.getpeername()
        with open(keylog, "a", encoding="ascii") as f:
            f.write(f"CVPN_LAB {client[0]}:{client[1]} {server[0]}:{server[1]} AES 256 "
                    f"{channel.key.hex()} {channel.iv.hex()} cumulative\n")
    return channel


def data_case(sock, case, keylog=None):
    """Send one bad data message after a good one; return the exit status."""
    channel = handshake(sock, keylog)
    sock.sendall(channel.seal(b"first"))
    reply, _ = recv_until_quiet(sock)
    if reply != b"Server says: tsrif":
        print(f"bad reply to a good message: {reply!r}")
        return 1
    wire = channel.seal(b"second message")
    if case == "data_bad_tag":
        wire = wire[:-1] + (b"0" if wire[-1:] != b"0" else b"1")
    elif case == "data_flipped_ciphertext":
        wire = bytes([wire[0] ^ 1]) + wire[1:]
    elif case == "data_uppercase_tag":
        wire = wire[:-64] + wire[-64:].upper()
    elif case == "data_oversized":
        wire = b"\xff" * 4100 + wire[-64:]
    elif case == "data_truncated_stall":
        sock.sendall(wire[:20])
        return expect_silent_close(sock)
    elif case == "data_truncated_close":
        sock.sendall(wire[:20])
        sock.shutdown(socket.SHUT_WR)
        return expect_silent_close(sock)
    elif case == "data_tag_only_garbage":
        wire = b"x" * 64
    else:
        raise SystemExit(f"unknown case {case}")
    sock.sendall(wire)
    return expect_silent_close(sock)


def raw_session(sock, proposal):
    """A good session that prints the raw bytes of the choice and of the reply to "hello"."""
    sock.sendall(proposal)
    choice, _ = recv_until_quiet(sock)
    x = labpeer.dh_private_key()
    sock.sendall(dhmke(labpeer.dh_public_key(x)))
    answer, _ = recv_until_quiet(sock, quiet=0.5)
    y = int(answer.decode().strip().split(":", 1)[1])
    channel = labpeer.SecureChannel("AES", 256, labpeer.shared_key_hex(y, x), "cumulative")
    sock.sendall(channel.seal(b"hello"))
    reply, _ = recv_until_quiet(sock)
    print(f"choice: {choice.decode().strip()}")
    print(f"choice_newline: {choice[-1:] == bytes([10])}")
    print(f"dhmke_newline: {answer[-1:] == bytes([10])}")
    print(f"reply: {reply.rstrip(bytes(1)).decode()}")
    print(f"reply_nuls: {len(reply) - len(reply.rstrip(bytes(1)))}")
    return 0


def pipelined(sock):
    """A line-terminated proposal and DHMKE in one segment, then two data messages in one segment.

    (Without a newline a proposal can always go on, so it ends only when the
    peer pauses: pipelining needs the terminator.)
    """
    x = labpeer.dh_private_key()
    sock.sendall(PROPOSAL + b"\n" + dhmke(labpeer.dh_public_key(x)) + b"\n")
    # The server mirrors the newlines: its DHMKE ends with one, however long its work takes.
    data = recv_until(sock, lambda d: b"DHMKE:" in d and d.endswith(b"\n"))
    if not data.startswith(b"ChosenCipher:AES,256\nDHMKE:"):
        print(f"unexpected handshake answer {data[:40]!r}")
        return 1
    y = int(data[len(b"ChosenCipher:AES,256\nDHMKE:"):])
    channel = labpeer.SecureChannel("AES", 256, labpeer.shared_key_hex(y, x), "cumulative")
    sock.sendall(channel.seal(b"one") + channel.seal(b"two"))
    replies, _ = recv_until_quiet(sock)
    print(f"replies={replies!r}")
    return 0 if replies == b"Server says: enoServer says: owt" else 1


def reset_during_work(sock):
    """Send a DHMKE, then reset the connection while the server computes."""
    sock.sendall(PROPOSAL)
    recv_until_quiet(sock)
    sock.sendall(dhmke(labpeer.dh_public_key(labpeer.dh_private_key())))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    return 0


def main():
    port, case = int(sys.argv[1]), sys.argv[2]
    keylog = sys.argv[3] if len(sys.argv) > 3 else None
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if case in PROPOSALS:
        sock.sendall(PROPOSALS[case])
        return expect_silent_close(sock)
    if case in DH_VALUES:
        sock.sendall(PROPOSAL)
        recv_until_quiet(sock)
        sock.sendall(DH_VALUES[case])
        return expect_silent_close(sock)
    if case == "silent":
        return expect_silent_close(sock)
    if case == "raw_newline":
        return raw_session(sock, PROPOSAL + b"\n")
    if case == "raw":
        return raw_session(sock, PROPOSAL)
    if case == "pipelined":
        return pipelined(sock)
    if case == "reset_during_work":
        return reset_during_work(sock)
    return data_case(sock, case, keylog)


if __name__ == "__main__":
    sys.exit(main())
