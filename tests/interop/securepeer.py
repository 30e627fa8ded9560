#!/usr/bin/python3
"""Independent Python peer for the cvpn secure profile (interoperability tests).

Written only from docs/SECURE.md and the Noise Protocol Framework (revision 34); it shares no
code with the C implementation. The Noise layer is Debian's python3-dissononce, checked here
against the cacophony vectors (``selftest``).

Wire format (SECURE.md sections 2-5):

    C->S  ClientHello = "CVPN" | 2 | mode | n | suites[n]
    S->C  ServerHello = "CVPN" | 2 | mode | suite
    C->S  u16 len | Noise message 1 (payload: the client's clock, TAI64N) | mac1 (16)
    S->C  u16 len | Noise message 2
    both  u16 len | AEAD(k, n, ad = u16 len, type | u16 plen | payload | zero padding to 32)

    prologue = "CVPN v2" | u16 len | ClientHello | u16 len | ServerHello
    mac1     = HMAC-SHA256(SHA-256("mac1----" | server public key or PSK), message 1)[:16]

Mode 1 (key) runs Noise_IKpsk2_25519_<cipher>_SHA256 (all-zero PSK when none is configured);
mode 2 (psk) runs Noise_NNpsk0_25519_<cipher>_SHA256. Suite 1 is ChaChaPoly, suite 2 AESGCM.

Sub-commands: ``selftest``, ``genkey``, ``pubkey``, ``server``, ``client``, ``forward`` (channels,
SECURE.md section 10) and ``attack`` (see ``--help`` of each).
"""

import argparse
import base64
import dataclasses
import hashlib
import hmac
import json
import os
import select
import socket
import stat
import struct
import sys
import threading
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from dissononce.cipher.aesgcm import AESGCMCipher
from dissononce.cipher.chachapoly import ChaChaPolyCipher
from dissononce.dh.x25519.private import PrivateKey
from dissononce.dh.x25519.public import PublicKey
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.exceptions.decrypt import DecryptFailedException
from dissononce.extras.dh.dangerous.dh_nogen import NoGenDH
from dissononce.extras.meta.protocol.factory import NoiseProtocolFactory
from dissononce.extras.meta.protocol.protocol import NoiseProtocol
from dissononce.processing.impl.cipherstate import CipherState

# --------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------

MAGIC = b"CVPN"
VERSION = 2
MODE_KEY = 1
MODE_PSK = 2
MODE_PATTERNS = {MODE_KEY: "IKpsk2", MODE_PSK: "NNpsk0"}
SUITE_CODES = {"ChaChaPoly": 1, "AESGCM": 2}
SUITE_NAMES = {code: name for name, code in SUITE_CODES.items()}
DEFAULT_SUITES = "ChaChaPoly,AESGCM"
MAX_OFFERED_SUITES = 8
CLIENT_HELLO_FIXED_LEN = 7  # magic, version, mode, n
SERVER_HELLO_LEN = 7  # magic, version, mode, suite

PROLOGUE_LABEL = b"CVPN v2"
MAC1_LABEL = b"mac1----"
MAC1_LEN = 16
KEY_LEN = 32
TAG_LEN = 16
# Message 1's payload is a 12-byte TAI64N timestamp, message 2's is empty: every handshake
# message has one exact length.
TIMESTAMP_LEN = 12
TAI64_EPOCH = 2 ** 62 + 10
MESSAGE1_LEN = {MODE_KEY: KEY_LEN + (KEY_LEN + TAG_LEN) + TIMESTAMP_LEN + TAG_LEN,
                MODE_PSK: KEY_LEN + TIMESTAMP_LEN + TAG_LEN}
MESSAGE2_LEN = KEY_LEN + TAG_LEN

DATA, REPLY, CLOSE, KEEPALIVE, REKEY, ERROR = 1, 2, 3, 4, 5, 6
# Channels (SECURE.md section 10): every payload starts with the u32 channel id.
OPEN, ACCEPT, REFUSE, CH_DATA, CH_EOF, CH_CLOSE, WINDOW = 7, 8, 9, 10, 11, 12, 13
CHANNEL_NAMES = {OPEN: "OPEN", ACCEPT: "ACCEPT", REFUSE: "REFUSE", CH_DATA: "channel DATA",
                 CH_EOF: "EOF", CH_CLOSE: "channel CLOSE", WINDOW: "WINDOW"}
TYPE_NAMES = {DATA: "DATA", REPLY: "REPLY", CLOSE: "CLOSE", KEEPALIVE: "KEEPALIVE",
              REKEY: "REKEY", ERROR: "ERROR", **CHANNEL_NAMES}
TYPES_WITH_PAYLOAD = (DATA, REPLY, *CHANNEL_NAMES)
SERVER_ACCEPTS = frozenset((DATA, CLOSE, KEEPALIVE, REKEY))
CLIENT_ACCEPTS = frozenset((REPLY, CLOSE, KEEPALIVE, REKEY, ERROR))
# What a client that forwards takes: the server's side of the channel records too.
FORWARD_ACCEPTS = CLIENT_ACCEPTS | {ACCEPT, REFUSE, CH_DATA, CH_EOF, CH_CLOSE, WINDOW}
RECORD_HEADER_LEN = 3  # type, u16 payload length
PAD_TO = 32
MAX_PAYLOAD = 4096
CHANNEL_DATA_MAX = 16384
CHANNEL_PAYLOAD_MAX = 4 + CHANNEL_DATA_MAX
CHANNEL_WINDOW = 256 * 1024  # what we grant, as cvpn does
CHANNEL_EARLY = 16384  # what a client may send after OPEN, before the answer
CHANNEL_WINDOW_MAX = 2 ** 30
CHANNEL_HOST_MAX = 255
REFUSE_REASONS = {1: "not allowed", 2: "connection refused", 3: "unreachable", 4: "timed out",
                  5: "too many channels"}
MIN_RECORD = PAD_TO + TAG_LEN
MAX_RECORD = CHANNEL_PAYLOAD_MAX + RECORD_HEADER_LEN + (PAD_TO - 1) + TAG_LEN  # SECURE.md section 5

REKEY_AFTER_RECORDS = 2 ** 20
REKEY_AFTER_SECONDS = 600.0
MAX_RECORDS = 2 ** 60
MAX_NONCE = 2 ** 64 - 1

REPLY_PREFIX = "Server says: "
GENERIC_ERROR = "decryption failed"
TRUNCATED = "truncated"
HANDSHAKE_EOF = "connection closed during handshake"
DEFAULT_TIMEOUT = 10.0
DEFAULT_ACCEPT_TIMEOUT = 300.0
MAX_KEY_FILE = 1024
MAX_STDIN_MESSAGES = 10000
LOOPBACK_TIMEOUT = 5.0

ATTACKS = {
    "bad_mac1": "message 1 with one mac1 bit flipped: closed before message 2",
    "replay_record": "the same DATA record twice: closed, no second REPLY",
    "reorder": "record 2 before record 1: closed, no REPLY",
    "tamper_record": "one ciphertext bit flipped: closed, no REPLY",
    "truncate": "DATA, then TCP close without CLOSE: closed (the server logs truncation)",
    "downgrade_hello": "hello sent offers AESGCM, prologue binds ChaChaPoly,AESGCM: refused",
    "wrong_psk": "Noise with a one-bit-off PSK (mac1 still right): refused",
    "unknown_client_key": "a fresh client key (key mode): refused before message 2",
    "replay_initiation": "a whole session, then its hello and message 1 sent again: refused before message 2",
    "over_padded": "a DATA record padded to 64 bytes where 32 hold it: closed, no REPLY",
    "psk_bypass": "psk mode at a server that only accepts listed client keys: refused at the hello",
}


class PeerError(Exception):
    """A protocol failure; its text is the one-line reason that is reported."""


class PeerClosed(PeerError):
    """The peer closed or reset the TCP connection."""


class PeerRefused(PeerError):
    """The peer sent an ERROR record: it refused what it received, then closes."""


class PeerTimeout(PeerError):
    """The peer sent nothing within the time allowed."""


# --------------------------------------------------------------------------------------------
# Noise (dissononce) with a correct Rekey()
# --------------------------------------------------------------------------------------------


class _NoiseRekey:
    """Mixin giving Noise's REKEY(k): the first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros).

    dissononce 0.34.3 returns the whole 48-byte ciphertext (tag included), which the AEAD
    then refuses as a key. Its CipherState.rekey() also resets n to 0, which Noise's Rekey()
    does not do: Direction.rekey() restores n.
    """

    def rekey(self, key):
        """Return the next key for ``key``."""
        return super().rekey(key)[:KEY_LEN]


class NoiseChaChaPoly(_NoiseRekey, ChaChaPolyCipher):
    """ChaChaPoly cipher functions with a correct REKEY."""


class NoiseAESGCM(_NoiseRekey, AESGCMCipher):
    """AESGCM cipher functions with a correct REKEY."""


NOISE_CIPHERS = {"ChaChaPoly": NoiseChaChaPoly, "AESGCM": NoiseAESGCM}


def protocol_name(mode, suite):
    """Return the Noise protocol name for a mode code and a suite code."""
    return f"Noise_{MODE_PATTERNS[mode]}_25519_{SUITE_NAMES[suite]}_SHA256"


def noise_protocol(name):
    """Return dissononce's NoiseProtocol for ``name``, using the cipher classes above."""
    base = NoiseProtocolFactory().get_noise_protocol(name)
    return NoiseProtocol(base.pattern, base.dh, NOISE_CIPHERS[base.cipher.name](), base.hash)


def start_handshake(name, initiator, prologue, static=None, remote=None, psks=None, dh=None):
    """Return an initialised dissononce HandshakeState.

    ``static`` is a dissononce KeyPair, ``remote`` a PublicKey, ``psks`` a list of 32-byte
    keys, ``dh`` a replacement DH object (the selftest's fixed ephemerals).
    """
    protocol = noise_protocol(name)
    handshake = protocol.create_handshakestate(dh=dh)
    handshake.initialize(protocol.pattern, initiator, prologue, s=static, rs=remote, psks=psks)
    return handshake


def keypair(private):
    """Return the dissononce X25519 KeyPair of 32 private-key bytes."""
    return X25519DH().generate_keypair(PrivateKey(private))


# --------------------------------------------------------------------------------------------
# Keys (SECURE.md section 8)
# --------------------------------------------------------------------------------------------


def encode_key(raw):
    """Return a 32-byte key as 44 characters of base64."""
    return base64.b64encode(raw).decode("ascii")


def decode_key(text):
    """Return the 32 bytes of a base64 key; raise ValueError otherwise."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (ValueError, TypeError) as exc:
        raise ValueError("not a base64 key") from exc
    if len(raw) != KEY_LEN:
        raise ValueError(f"key is {len(raw)} bytes, not {KEY_LEN}")
    return raw


def key_argument(text):
    """argparse type: a base64 32-byte key given on the command line."""
    try:
        return decode_key(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def read_secret_file(path):
    """Return the key in a private-key or PSK file, refusing one that group or others can read."""
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_mode & (stat.S_IRGRP | stat.S_IROTH):
                raise PeerError(f"{path} is readable by group or others (chmod 600 it)")
            text = handle.read(MAX_KEY_FILE + 1)
    except OSError as exc:
        raise PeerError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        if len(text) > MAX_KEY_FILE:
            raise ValueError("file too long")
        return decode_key(text.decode("ascii"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise PeerError(f"{path}: {exc}") from exc


def read_authorized_clients(path):
    """Return the set of public keys in ``path``: one base64 key a line, '#' starts a comment."""
    keys = set()
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PeerError(f"cannot read {path}: {exc}") from exc
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            keys.add(decode_key(text))
        except ValueError as exc:
            raise PeerError(f"{path}:{number}: {exc}") from exc
    return keys


def new_private_key():
    """Return 32 fresh private-key bytes from the operating system's generator."""
    return X25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def public_key(private):
    """Return the X25519 public key of 32 private-key bytes."""
    return keypair(private).public.data


# --------------------------------------------------------------------------------------------
# Hellos, prologue, mac1 (SECURE.md sections 2-4)
# --------------------------------------------------------------------------------------------


def tai64n(unix_ns):
    """Return TAI64N of a time in ns since 1970: 2^62 + 10 + seconds, then nanoseconds."""
    return struct.pack(">QI", TAI64_EPOCH + unix_ns // 10 ** 9, unix_ns % 10 ** 9)


def encode_client_hello(mode, suites):
    """Return the ClientHello bytes for a mode and a list of suite codes."""
    return MAGIC + bytes([VERSION, mode, len(suites)]) + bytes(suites)


def encode_server_hello(mode, suite):
    """Return the ServerHello bytes."""
    return MAGIC + bytes([VERSION, mode, suite])


def read_client_hello(wire):
    """Read a ClientHello; return (raw bytes, mode, offered suite codes)."""
    head = wire.recv_exact(CLIENT_HELLO_FIXED_LEN, HANDSHAKE_EOF)
    if head[:4] != MAGIC:
        raise PeerError("bad hello: not the secure profile")
    if head[4] != VERSION:
        raise PeerError(f"bad hello: unsupported version {head[4]}")
    mode, count = head[5], head[6]
    if mode not in MODE_PATTERNS or not 1 <= count <= MAX_OFFERED_SUITES:
        raise PeerError("bad hello")
    suites = wire.recv_exact(count, HANDSHAKE_EOF)
    return head + suites, mode, list(suites)


def parse_server_hello(raw, mode, offered):
    """Return the suite code of a ServerHello after checking it answers our ClientHello."""
    if raw[:4] != MAGIC or raw[4] != VERSION or raw[5] != mode or raw[6] not in offered:
        raise PeerError("bad server hello")
    return raw[6]


def choose_suite(preference, offered):
    """Return the first suite of our preference list that the client offered, or None."""
    return next((suite for suite in preference if suite in offered), None)


def make_prologue(client_hello, server_hello):
    """Return the Noise prologue binding both hellos."""
    return (PROLOGUE_LABEL + struct.pack(">H", len(client_hello)) + client_hello
            + struct.pack(">H", len(server_hello)) + server_hello)


def mac1_key(mode, server_public, psk):
    """Return SHA-256("mac1----" | server public key) in key mode, or with the PSK in psk mode."""
    material = server_public if mode == MODE_KEY else psk
    return hashlib.sha256(MAC1_LABEL + material).digest()


def compute_mac1(key, message1):
    """Return the first 16 bytes of HMAC-SHA256(key, message 1)."""
    return hmac.new(key, message1, hashlib.sha256).digest()[:MAC1_LEN]


def frame(message):
    """Return a handshake message behind its u16 length."""
    return struct.pack(">H", len(message)) + message


def read_frame(wire, expected_len):
    """Read a length-prefixed handshake message that must be exactly ``expected_len`` bytes."""
    (length,) = struct.unpack(">H", wire.recv_exact(2, HANDSHAKE_EOF))
    if length != expected_len:
        raise PeerError(f"bad handshake message length {length}")
    return wire.recv_exact(length, HANDSHAKE_EOF)


# --------------------------------------------------------------------------------------------
# Transport records (SECURE.md sections 5-7)
# --------------------------------------------------------------------------------------------


def payload_limit(rtype):
    """Return the longest payload a record of ``rtype`` may carry."""
    return CHANNEL_PAYLOAD_MAX if rtype in CHANNEL_NAMES else MAX_PAYLOAD


def encode_plaintext(rtype, payload=b""):
    """Return type | u16 payload length | payload | zero padding to a multiple of 32."""
    if len(payload) > payload_limit(rtype):
        raise PeerError("message too long")
    body = bytes([rtype]) + struct.pack(">H", len(payload)) + payload
    return body + bytes(-len(body) % PAD_TO)


def decode_plaintext(plaintext):
    """Return (type, payload) of a decrypted record; any defect raises the generic error."""
    if len(plaintext) < RECORD_HEADER_LEN or len(plaintext) % PAD_TO:
        raise PeerError(GENERIC_ERROR)
    rtype = plaintext[0]
    (length,) = struct.unpack(">H", plaintext[1:RECORD_HEADER_LEN])
    end = RECORD_HEADER_LEN + length
    if (rtype not in TYPE_NAMES or length > payload_limit(rtype) or end > len(plaintext)
            or len(plaintext) - end >= PAD_TO or any(plaintext[end:])
            or (length and rtype not in TYPES_WITH_PAYLOAD)):
        raise PeerError(GENERIC_ERROR)
    return rtype, plaintext[RECORD_HEADER_LEN:end]


def valid_record_length(length):
    """Return whether a record length can hold a padded plaintext and its tag."""
    return MIN_RECORD <= length <= MAX_RECORD and (length - TAG_LEN) % PAD_TO == 0


class Direction:
    """One direction of the record layer: a Noise CipherState and its record counters."""

    def __init__(self, cipherstate):
        self.state = cipherstate
        self.count = 0
        self.key_records = 0
        self.key_since = time.monotonic()

    def _check_limit(self):
        """Refuse to use a direction that has carried MAX_RECORDS records."""
        if self.count >= MAX_RECORDS:
            raise PeerError("record limit reached: a new handshake is needed")

    def encrypt(self, ad, plaintext):
        """Return the AEAD output for the next nonce."""
        self._check_limit()
        output = self.state.encrypt_with_ad(ad, plaintext)
        self.count += 1
        self.key_records += 1
        return output

    def decrypt(self, ad, ciphertext):
        """Return the plaintext of the next record, or raise the generic error."""
        self._check_limit()
        try:
            plaintext = self.state.decrypt_with_ad(ad, ciphertext)
        except DecryptFailedException as exc:
            raise PeerError(GENERIC_ERROR) from exc
        self.count += 1
        self.key_records += 1
        return plaintext

    def rekey(self):
        """Apply Noise Rekey(): a new key, the nonce carries on."""
        self.state.rekey()
        self.state.set_nonce(self.count)
        self.key_records = 0
        self.key_since = time.monotonic()

    def rekey_due(self, after_records):
        """Return whether this direction must rekey before its next record."""
        return (self.key_records >= after_records
                or time.monotonic() - self.key_since >= REKEY_AFTER_SECONDS)


class Wire:
    """A TCP connection with a timeout on every operation; it keeps what it sent when told to."""

    def __init__(self, sock, timeout):
        self.sock = sock
        self.timeout = timeout
        self.sent = None  # a list to keep every send in, for replay attacks
        sock.settimeout(timeout)

    def send(self, data):
        """Send all of ``data``."""
        if self.sent is not None:
            self.sent.append(bytes(data))
        try:
            self.sock.sendall(data)
        except TimeoutError as exc:
            raise PeerTimeout("timeout") from exc
        except OSError as exc:
            raise PeerClosed("connection closed") from exc

    def recv_exact(self, count, eof_reason):
        """Return exactly ``count`` bytes; raise PeerClosed(eof_reason) if the peer closes first."""
        buf = bytearray()
        while len(buf) < count:
            try:
                chunk = self.sock.recv(count - len(buf))
            except TimeoutError as exc:
                raise PeerTimeout("timeout") from exc
            except OSError as exc:
                raise PeerClosed(eof_reason) from exc
            if not chunk:
                raise PeerClosed(eof_reason)
            buf += chunk
        return bytes(buf)

    def shutdown_write(self):
        """Half-close: the peer reads end of file, we can still read."""
        self.sock.shutdown(socket.SHUT_WR)


class Session:
    """An established secure session: AEAD records in both directions over one Wire."""

    def __init__(self, wire, send_state, recv_state, accepted, rekey_after=REKEY_AFTER_RECORDS):
        self.wire = wire
        self.tx = Direction(send_state)
        self.rx = Direction(recv_state)
        self.accepted = accepted
        self.rekey_after = rekey_after

    def seal(self, rtype, payload=b"", extra_padding=0):
        """Return the wire bytes of one record under the next send nonce (extra_padding: a bad one)."""
        plaintext = encode_plaintext(rtype, payload) + bytes(extra_padding)
        header = struct.pack(">H", len(plaintext) + TAG_LEN)
        return header + self.tx.encrypt(header, plaintext)

    def frames(self, rtype, payload=b""):
        """Return the wire bytes of one record, preceded by REKEY (and a rekey) when one is due."""
        rekey = b""
        if self.tx.rekey_due(self.rekey_after):
            rekey = self.seal(REKEY)
            self.tx.rekey()
        return rekey + self.seal(rtype, payload)

    def send(self, rtype, payload=b""):
        """Send one record (see ``frames``)."""
        self.wire.send(self.frames(rtype, payload))

    def read_record(self):
        """Read, authenticate and decode one record; return (type, payload)."""
        header = self.wire.recv_exact(2, TRUNCATED)
        (length,) = struct.unpack(">H", header)
        if not valid_record_length(length):
            raise PeerError(GENERIC_ERROR)
        body = self.wire.recv_exact(length, TRUNCATED)
        rtype, payload = decode_plaintext(self.rx.decrypt(header, body))
        if rtype not in self.accepted:
            raise PeerError(GENERIC_ERROR)
        return rtype, payload

    def receive(self):
        """Return the next record that is not KEEPALIVE or REKEY, applying REKEY on the way."""
        deadline = time.monotonic() + self.wire.timeout
        while time.monotonic() < deadline:
            rtype, payload = self.read_record()
            if rtype == REKEY:
                self.rx.rekey()
            elif rtype != KEEPALIVE:
                return rtype, payload
        raise PeerTimeout("timeout")


def decode_text(payload):
    """Return a DATA or REPLY payload as text; invalid UTF-8 is the generic error."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PeerError(GENERIC_ERROR) from exc


def reply_text(text):
    """Return the server's reply to ``text``: the prefix and the text reversed by code point."""
    return REPLY_PREFIX + text[::-1]


def printable(text):
    """Return ``text`` with control characters escaped, for one output line."""
    return "".join(ch.encode("unicode_escape").decode("ascii")
                   if ord(ch) < 0x20 or 0x7f <= ord(ch) < 0xa0 else ch for ch in text)


# --------------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class ServerConfig:
    """What the server knows and accepts."""

    static: object = None  # dissononce KeyPair, for key mode
    psk: bytes = None  # for psk mode, and as key mode's PSK
    authorized: set = None  # client public keys; None accepts any
    suites: list = dataclasses.field(default_factory=lambda: list(SUITE_NAMES))
    timeout: float = DEFAULT_TIMEOUT
    rekey_after: int = REKEY_AFTER_RECORDS
    emit: object = None  # callable printing one stdout line
    idle_timeout: float = None  # seconds without a record before the server ends the session


def server_handshake(wire, cfg):
    """Run the hellos and the Noise handshake as the responder; return the Session."""
    client_hello, mode, offered = read_client_hello(wire)
    if mode == MODE_KEY and cfg.static is None:
        raise PeerError("cannot serve key mode: no --key")
    if mode == MODE_PSK and cfg.psk is None:
        raise PeerError("cannot serve psk mode: no --psk")
    suite = choose_suite(cfg.suites, offered)
    if suite is None:
        raise PeerError("no shared suite")
    server_hello = encode_server_hello(mode, suite)
    wire.send(server_hello)

    message = read_frame(wire, MESSAGE1_LEN[mode] + MAC1_LEN)
    message1, mac = message[:-MAC1_LEN], message[-MAC1_LEN:]
    server_public = cfg.static.public.data if mode == MODE_KEY else None
    expected = compute_mac1(mac1_key(mode, server_public, cfg.psk), message1)
    if not hmac.compare_digest(mac, expected):
        raise PeerError("bad mac1")

    psk = cfg.psk if cfg.psk is not None else bytes(KEY_LEN)
    static = cfg.static if mode == MODE_KEY else None
    handshake = start_handshake(protocol_name(mode, suite), False,
                                make_prologue(client_hello, server_hello),
                                static=static, psks=[psk])
    payload = bytearray()
    try:
        handshake.read_message(message1, payload)
    except (DecryptFailedException, ValueError) as exc:
        raise PeerError("handshake failed") from exc
    if len(payload) != TIMESTAMP_LEN:
        raise PeerError("handshake failed")
    if mode == MODE_KEY and cfg.authorized is not None and handshake.rs.data not in cfg.authorized:
        raise PeerError("unauthorized client key")
    message2 = bytearray()
    to_server, to_client = handshake.write_message(b"", message2)
    wire.send(frame(bytes(message2)))
    return Session(wire, to_client, to_server, SERVER_ACCEPTS, cfg.rekey_after)


def serve_connection(sock, cfg):
    """Serve one connection until a CLOSE ends it; raise PeerError on any failure."""
    session = server_handshake(Wire(sock, cfg.timeout), cfg)
    for _ in range(MAX_RECORDS):
        if cfg.idle_timeout is not None and not select.select([sock], [], [], cfg.idle_timeout)[0]:
            # The server ends the session first (SECURE.md section 5): CLOSE, then the TCP close;
            # the client answers nothing.
            session.send(CLOSE)
            cfg.emit("Ending the session: idle timeout (sent CLOSE)")
            return
        rtype, payload = session.receive()
        if rtype == CLOSE:
            session.send(CLOSE)
            return
        text = decode_text(payload)
        cfg.emit(f"Received: {printable(text)}")
        answer = reply_text(text).encode("utf-8")
        if len(answer) > MAX_PAYLOAD:
            session.send(ERROR)
            raise PeerError("reply too long")
        session.send(REPLY, answer)
    raise PeerError("record limit reached: a new handshake is needed")


def accept_and_serve(listener, cfg):
    """Accept one connection and serve it; return None on success or the failure reason."""
    sock, _ = listener.accept()
    with sock:
        try:
            serve_connection(sock, cfg)
        except PeerError as exc:
            return str(exc)
    return None


def run_server(args):
    """server sub-command: listen, serve connections one at a time."""
    authorized = None
    if args.authorized_clients:
        authorized = read_authorized_clients(args.authorized_clients)
    cfg = ServerConfig(
        static=keypair(read_secret_file(args.key)) if args.key else None,
        psk=read_secret_file(args.psk) if args.psk else None, authorized=authorized,
        suites=args.suites, timeout=args.timeout, rekey_after=args.rekey_after, emit=say,
        idle_timeout=args.idle_timeout)
    if cfg.static is None and cfg.psk is None:
        raise PeerError("need --key or --psk")
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    with socket.create_server((args.host, args.port), family=family) as listener:
        listener.settimeout(args.accept_timeout)
        host, port = listener.getsockname()[:2]
        say(f"Listening on {host}:{port}")
        while True:
            try:
                reason = accept_and_serve(listener, cfg)
            except TimeoutError:
                if args.once:
                    raise PeerError("no connection within --accept-timeout") from None
                return 0
            if reason is not None:
                warn(f"error: {reason}")
            if args.once:
                return 1 if reason else 0


# --------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class ClientConfig:
    """What the client knows and offers; the last four fields serve the attack helpers."""

    mode: int
    suites: list
    server_public: bytes = None
    static: object = None  # dissononce KeyPair (key mode)
    psk: bytes = None
    timeout: float = DEFAULT_TIMEOUT
    rekey_after: int = REKEY_AFTER_RECORDS
    prologue_suites: list = None  # bind a ClientHello other than the one sent
    noise_psk: bytes = None  # run Noise with this PSK, but key mac1 with ``psk``
    corrupt_mac1: bool = False
    accept_bad_message2: bool = False  # derive keys even when message 2 does not verify


def connect(host, port, timeout):
    """Return a Wire connected to host:port."""
    try:
        return Wire(socket.create_connection((host, port), timeout=timeout), timeout)
    except OSError as exc:
        raise PeerError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from exc


def client_handshake(wire, cfg):
    """Run the hellos and the Noise handshake as the initiator; return (Session, protocol name)."""
    client_hello = encode_client_hello(cfg.mode, cfg.suites)
    wire.send(client_hello)
    server_hello = wire.recv_exact(SERVER_HELLO_LEN, HANDSHAKE_EOF)
    suite = parse_server_hello(server_hello, cfg.mode, cfg.suites)
    bound_hello = client_hello
    if cfg.prologue_suites is not None:
        bound_hello = encode_client_hello(cfg.mode, cfg.prologue_suites)
    name = protocol_name(cfg.mode, suite)
    static = remote = None
    if cfg.mode == MODE_KEY:
        static = cfg.static or keypair(new_private_key())  # anonymous without --key
        remote = PublicKey(cfg.server_public)
    handshake = start_handshake(name, True, make_prologue(bound_hello, server_hello),
                                static=static, remote=remote,
                                psks=[cfg.noise_psk or cfg.psk or bytes(KEY_LEN)])
    message1 = bytearray()
    handshake.write_message(tai64n(time.time_ns()), message1)
    mac = bytearray(compute_mac1(mac1_key(cfg.mode, cfg.server_public, cfg.psk), message1))
    if cfg.corrupt_mac1:
        mac[0] ^= 0x01
    wire.send(frame(bytes(message1 + mac)))

    message2 = read_frame(wire, MESSAGE2_LEN)
    payload = bytearray()
    try:
        states = handshake.read_message(message2, payload)
    except (DecryptFailedException, ValueError) as exc:
        if not cfg.accept_bad_message2:
            raise PeerError("handshake failed") from exc
        states = handshake.symmetricstate.split()
    if payload:
        raise PeerError("handshake failed")
    to_server, to_client = states
    return Session(wire, to_server, to_client, CLIENT_ACCEPTS, cfg.rekey_after), name


def exchange(session, text, on_reply):
    """Send one DATA record and check the REPLY; call on_reply with its text."""
    session.send(DATA, text.encode("utf-8"))
    check_reply(session, text, on_reply)


def exchange_pipelined(session, messages, on_reply):
    """Send every DATA record in one write, then check the REPLYs in order."""
    session.wire.send(b"".join(session.frames(DATA, text.encode("utf-8")) for text in messages))
    for text in messages:
        check_reply(session, text, on_reply)


def check_reply(session, text, on_reply):
    """Read the REPLY to ``text`` and check it; call on_reply with its text."""
    rtype, payload = session.receive()
    if rtype == ERROR:
        raise PeerError("the server refused the message (ERROR)")
    if rtype == CLOSE:
        raise PeerError("the server ended the session (CLOSE) before its reply")
    if rtype != REPLY:
        raise PeerError(f"unexpected {TYPE_NAMES[rtype]} record")
    answer = decode_text(payload)
    on_reply(answer)
    if answer != reply_text(text):
        raise PeerError("unexpected reply")


def finish(session):
    """Send CLOSE and wait for the server's CLOSE."""
    session.send(CLOSE)
    rtype, _ = session.receive()
    if rtype != CLOSE:
        raise PeerError(f"unexpected {TYPE_NAMES[rtype]} record instead of CLOSE")


def await_server_close(session):
    """Wait for the server to end the session with CLOSE; then only its TCP close may come."""
    rtype, _ = session.receive()
    if rtype != CLOSE:
        raise PeerError(f"unexpected {TYPE_NAMES[rtype]} record instead of the server's CLOSE")
    try:
        after = session.wire.sock.recv(1)
    except TimeoutError as exc:
        raise PeerTimeout("the server did not close the connection after its CLOSE") from exc
    except OSError:
        after = b""  # a reset ends the connection too
    if after:
        raise PeerError("bytes after the server's CLOSE")


def run_session(host, port, cfg, messages, on_start, on_reply, pipeline=False, wait_close=False):
    """Connect, handshake, exchange ``messages`` and close; raise PeerError on any failure.

    With ``pipeline`` every message goes out in one write before any reply is read. With
    ``wait_close`` the client sends no CLOSE: it waits for the server to end the session.
    """
    wire = connect(host, port, cfg.timeout)
    with wire.sock:
        session, name = client_handshake(wire, cfg)
        on_start(f"Using {name}")
        if pipeline:
            exchange_pipelined(session, messages, on_reply)
        else:
            for text in messages:
                exchange(session, text, on_reply)
        if wait_close:
            await_server_close(session)
            on_start("session: ended by the server (CLOSE)")
        else:
            finish(session)


def client_config(args):
    """Return the ClientConfig described by the client or attack command line."""
    if args.server_key is not None:
        return ClientConfig(
            mode=MODE_KEY, suites=args.suites, server_public=args.server_key,
            static=keypair(read_secret_file(args.key)) if args.key else None,
            psk=read_secret_file(args.psk) if args.psk else None,
            timeout=args.timeout, rekey_after=args.rekey_after)
    if args.key:
        raise PeerError("--key needs --server-key")
    if not args.psk:
        raise PeerError("need --server-key or --psk")
    return ClientConfig(mode=MODE_PSK, suites=args.suites, psk=read_secret_file(args.psk),
                        timeout=args.timeout, rekey_after=args.rekey_after)


def stdin_messages():
    """Return the lines of standard input (UTF-8), at most MAX_STDIN_MESSAGES of them."""
    messages = []
    for line in sys.stdin.buffer:
        if len(messages) >= MAX_STDIN_MESSAGES:
            raise PeerError("too many messages on stdin")
        try:
            messages.append(line.decode("utf-8").rstrip("\r\n"))
        except UnicodeDecodeError as exc:
            raise PeerError("stdin is not valid UTF-8") from exc
    return messages


def run_client(args):
    """client sub-command."""
    cfg = client_config(args)
    messages = args.messages if args.messages is not None else stdin_messages()
    run_session(args.host, args.port, cfg, messages, say, lambda text: say(printable(text)),
                pipeline=args.pipeline, wait_close=args.wait_close)
    return 0


# --------------------------------------------------------------------------------------------
# Channels: a forwarding client (SECURE.md section 10)
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Channel:
    """One channel: what it sends, what it received, and its windows both ways.

    ``mode`` is "echo" (send everything, EOF, read until the server's EOF and CLOSE), "sink"
    (send until the server's window stays closed, never EOF), "blind" (send everything at
    once, ignoring the window: a protocol violation the server must refuse) or "cancel"
    (CLOSE right after OPEN, before any answer: the server answers CLOSE). An ``early``
    channel sends from its OPEN on, within the CHANNEL_EARLY bytes the server takes before
    its answer (all at once when blind).
    """

    cid: int
    dest: str
    outgoing: bytes
    mode: str = "echo"
    early: bool = False
    state: str = "opening"  # opening, open, refused
    reason: int = 0
    detail: str = ""
    credit: int = 0  # bytes the server still takes from us
    sent: int = 0
    received: bytearray = dataclasses.field(default_factory=bytearray)
    granted: int = CHANNEL_WINDOW  # bytes the server may still send us
    delivered: int = 0  # bytes received since our last WINDOW
    sent_eof: bool = False
    got_eof: bool = False
    sent_close: bool = False
    got_close: bool = False
    closed_at: float = 0.0  # when the server's window last reached zero (sink)

    def finished(self):
        """Return whether the channel is over: refused, or CLOSE both ways."""
        return self.state == "refused" or (self.sent_close and self.got_close)

    def wants_to_send(self):
        """Return whether the channel has bytes to send and may send them now."""
        if not self.may_send() or self.sent_close or self.sent >= len(self.outgoing):
            return False
        return self.mode == "blind" or self.credit > 0

    def may_send(self):
        """Return whether the channel may send DATA and EOF: open, or early and not answered yet."""
        return self.state == "open" or (self.early and self.state == "opening")

    def summary(self):
        """Return the one line the forward sub-command prints for the channel."""
        if self.state == "refused":
            return (f"channel {self.cid} {self.dest}: refused {self.reason} "
                    f"({REFUSE_REASONS.get(self.reason, '?')}: {self.detail})")
        if self.state == "opening":
            return f"channel {self.cid} {self.dest}: no answer"
        if self.state == "cancelled":
            return f"channel {self.cid} {self.dest}: cancelled, end={'close' if self.got_close else 'open'}"
        end = ("eof+close" if self.got_eof and self.got_close else
               "close without eof" if self.got_close else "eof" if self.got_eof else "open")
        line = (f"channel {self.cid} {self.dest}: sent {self.sent}, received {len(self.received)}, "
                f"echo={'yes' if bytes(self.received) == self.outgoing else 'no'}, end={end}")
        if 0 < len(self.received) <= 200:
            try:
                line += f", reply={printable(self.received.decode('utf-8').strip())}"
            except UnicodeDecodeError:
                pass
        return line


def split_destination(text):
    """Return (host, port) of "HOST:PORT" or "[V6]:PORT"; the host goes into OPEN bare."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise PeerError(f"bad destination {text!r} (expected HOST:PORT)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    encoded = host.encode("utf-8")
    if not 0 < len(encoded) <= CHANNEL_HOST_MAX or b"\0" in encoded:
        raise PeerError(f"bad destination host {host!r}")
    return host, int(port)


class ChannelClient:
    """Channels over one established Session, in one thread: it never sends beyond the window
    the server granted (unless told to, "blind"), and grants the server more with WINDOW once
    half of its own window is delivered."""

    def __init__(self, session, pause=0.0):
        self.session = session
        session.accepted = FORWARD_ACCEPTS
        self.channels = {}
        self.pending = []
        self.pause = pause  # seconds to stop reading once every channel is open and has sent

    def queue(self, rtype, cid, body=b""):
        """Queue one channel record; queued records go out together (``flush``)."""
        self.pending.append(self.session.frames(rtype, struct.pack(">I", cid) + body))
        if len(self.pending) >= 64:
            self.flush()

    def flush(self):
        """Send every queued record in one write."""
        if self.pending:
            data, self.pending = b"".join(self.pending), []
            self.session.wire.send(data)

    def open(self, dest, outgoing, mode, early=False):
        """Queue an OPEN for ``dest`` (HOST:PORT); return the Channel."""
        host, port = split_destination(dest)
        cid = len(self.channels) + 1
        channel = Channel(cid, dest, outgoing, mode, early, credit=CHANNEL_EARLY if early else 0)
        self.channels[cid] = channel
        encoded = host.encode("utf-8")
        self.queue(OPEN, cid, struct.pack(">IHB", CHANNEL_WINDOW, port, len(encoded)) + encoded)
        if mode == "cancel":
            # Early, its bytes go between the OPEN and the CLOSE: the server must drop them.
            if early and outgoing:
                channel.sent = min(len(outgoing), CHANNEL_EARLY, CHANNEL_DATA_MAX)
                self.queue(CH_DATA, cid, outgoing[:channel.sent])
            self.queue(CH_CLOSE, cid)
            channel.sent_close = True
        return channel

    def send_some(self):
        """Queue the DATA (and EOF) every channel may send now."""
        for channel in self.channels.values():
            while channel.wants_to_send():
                size = min(CHANNEL_DATA_MAX, len(channel.outgoing) - channel.sent)
                if channel.mode != "blind":
                    size = min(size, channel.credit)
                chunk = channel.outgoing[channel.sent:channel.sent + size]
                self.queue(CH_DATA, channel.cid, chunk)
                channel.sent += size
                channel.credit -= size
                if channel.credit <= 0 and not channel.closed_at:
                    channel.closed_at = time.monotonic()
            if (channel.mode == "echo" and channel.may_send() and not channel.sent_eof
                    and not channel.sent_close and channel.sent == len(channel.outgoing)):
                self.queue(CH_EOF, channel.cid)
                channel.sent_eof = True

    def take(self, rtype, payload):
        """Apply one record from the server."""
        if rtype == REKEY:
            self.session.rx.rekey()
            return
        if rtype == KEEPALIVE:
            return
        if rtype == ERROR:
            raise PeerRefused("the server refused what it received (ERROR)")
        if rtype not in CHANNEL_NAMES or len(payload) < 4:
            raise PeerError(f"unexpected {TYPE_NAMES[rtype]} record")
        (cid,) = struct.unpack(">I", payload[:4])
        channel = self.channels.get(cid)
        if channel is None or channel.state == "refused" or channel.got_close:
            raise PeerError(f"{TYPE_NAMES[rtype]} for channel {cid}, which is not open")
        self.take_channel(channel, rtype, payload[4:])

    def take_channel(self, channel, rtype, body):
        """Apply one channel record to ``channel``; the server breaking the protocol raises."""
        if channel.mode == "cancel" and channel.state == "opening" and rtype == CH_CLOSE:
            channel.state, channel.got_close = "cancelled", True
            return
        if rtype in (ACCEPT, REFUSE) and channel.state != "opening":
            raise PeerError(f"{TYPE_NAMES[rtype]} for channel {channel.cid}, which was answered")
        if rtype == ACCEPT:
            (window,) = struct.unpack(">I", body)
            if not 0 < window <= CHANNEL_WINDOW_MAX or (channel.mode != "blind" and window < channel.sent):
                raise PeerError(f"ACCEPT with window {window}, {channel.sent} bytes sent before it")
            # The window counts from the OPEN: what went before the answer is part of it.
            channel.state, channel.credit = "open", window - channel.sent
        elif rtype == REFUSE:
            if not body or not 1 <= body[0] <= 5 or len(body) - 1 > 200:
                raise PeerError("malformed REFUSE")
            channel.state, channel.reason = "refused", body[0]
            channel.detail = body[1:].decode("utf-8")
        elif channel.state != "open":
            raise PeerError(f"{TYPE_NAMES[rtype]} for channel {channel.cid} before its ACCEPT")
        elif rtype == CH_DATA:
            self.take_data(channel, body)
        elif rtype == CH_EOF:
            channel.got_eof = True
        elif rtype == CH_CLOSE:
            channel.got_close = True
            if not channel.sent_close:
                self.queue(CH_CLOSE, channel.cid)
                channel.sent_close = True
        else:  # WINDOW
            (more,) = struct.unpack(">I", body)
            channel.credit += more
            channel.closed_at = 0.0

    def take_data(self, channel, body):
        """Keep the server's DATA, check it fits our window, and grant more when half is used."""
        if channel.got_eof or not body:
            raise PeerError(f"DATA on channel {channel.cid} after its EOF")
        if len(body) > channel.granted:
            raise PeerError(f"the server overran our window on channel {channel.cid}")
        channel.received += body
        channel.granted -= len(body)
        channel.delivered += len(body)
        if channel.delivered >= CHANNEL_WINDOW // 2:
            self.queue(WINDOW, channel.cid, struct.pack(">I", channel.delivered))
            channel.granted += channel.delivered
            channel.delivered = 0

    def run(self, done, deadline):
        """Send and receive until ``done()`` is true; raise PeerTimeout at ``deadline``."""
        sock = self.session.wire.sock
        while True:
            self.send_some()
            self.flush()
            if done():
                return
            self.maybe_pause()
            left = deadline - time.monotonic()
            if left <= 0:
                raise PeerTimeout("timeout")
            busy = any(channel.wants_to_send() for channel in self.channels.values())
            readable, _, _ = select.select([sock], [], [], 0 if busy else min(left, 0.2))
            if readable:
                self.take(*self.session.read_record())


    def maybe_pause(self):
        """Stop reading once for ``pause`` seconds when every channel is open and has sent: a
        client slower than its destinations, whose output the server must hold back."""
        channels = self.channels.values()
        if self.pause and all(c.state == "open" and c.sent > 0 for c in channels if c.mode != "cancel"):
            time.sleep(self.pause)
            self.pause = 0.0


def sink_stalled(channel, quiet):
    """Return whether a sink channel's window stayed closed for ``quiet`` seconds (or it sent all)."""
    if channel.state != "open" or channel.got_close or channel.sent >= len(channel.outgoing):
        return True
    return channel.credit <= 0 and time.monotonic() - channel.closed_at >= quiet


def forward_done(client, die, stray):
    """Return the test of the forward sub-command's loop: every channel answered and over."""
    def done():
        channels = client.channels.values()
        if die:
            return all(c.state == "refused" or (c.state == "open" and c.sent > 0) for c in channels)
        if stray or any(c.mode == "blind" for c in channels):
            return False  # until the server closes the session
        return all(c.finished() if c.mode in ("echo", "cancel") else
                   c.state != "opening" and sink_stalled(c, 1.0) for c in channels)
    return done


def payload_for(cid, size):
    """Return ``size`` bytes for channel ``cid``, the same on every run."""
    return hashlib.shake_256(struct.pack(">I", cid)).digest(size) if size else b""


def run_forward(args):
    """forward sub-command: open channels, move bytes, print one line per channel."""
    cfg = client_config(args)
    deadline = time.monotonic() + args.deadline
    wire = connect(args.host, args.port, cfg.timeout)
    with wire.sock:
        session, name = client_handshake(wire, cfg)
        say(f"Using {name}")
        client = ChannelClient(session, args.pause or 0.0)
        for dest in args.to or []:
            for _ in range(args.count):
                cid = len(client.channels) + 1
                client.open(dest, payload_for(cid, args.bytes), "blind" if args.blind else "echo", args.early)
        for dest in args.sink or []:
            client.open(dest, payload_for(0, args.sink_bytes), "sink")
        for dest in args.cancel or []:
            client.open(dest, payload_for(0, args.bytes) if args.early else b"", "cancel", args.early)
        if args.stray:
            # A record for a channel nobody opened: the server must end the session.
            client.queue(CH_DATA, 4242, b"stray")
        status = forward_session(client, args, deadline)
        for channel in client.channels.values():
            say(channel.summary())
        return status


def forward_session(client, args, deadline):
    """Run the channels, then end the session as asked; return the exit status."""
    try:
        client.run(forward_done(client, args.die, args.stray), deadline)
    except PeerClosed:
        say("session: closed by the server")
        return 0 if args.blind or args.stray else 1
    except PeerRefused:
        say("session: refused by the server (ERROR)")
        return 0 if args.blind or args.stray else 1
    except PeerError as exc:
        say(f"session: {exc}")
        return 1
    if args.die:
        # An abortive close: the server reads a reset in the middle of every channel.
        client.session.wire.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        say("session: died on purpose")
        return 0
    client.flush()
    client.session.send(CLOSE)
    for _ in range(len(client.channels) * 4 + 16):
        rtype, payload = client.session.read_record()
        if rtype == CLOSE:
            say("session: closed cleanly")
            return 0
        client.take(rtype, payload)
    say("session: no CLOSE from the server")
    return 1


# --------------------------------------------------------------------------------------------
# Attack helpers
# --------------------------------------------------------------------------------------------


def expect_refused_handshake(wire, cfg, report):
    """Run a handshake the server must refuse before message 2; return True if it did."""
    try:
        client_handshake(wire, cfg)
    except PeerClosed:
        report("server closed the connection before message 2")
        return True
    except PeerTimeout:
        report("server kept the connection open")
        return False
    except PeerError as exc:
        report(f"server answered: {exc}")
        return False
    report("server completed the handshake")
    return False


def expect_silent_close(session, report):
    """Return True if the server now closes without releasing a record (ERROR is allowed)."""
    for _ in range(2):
        try:
            rtype, _ = session.receive()
        except PeerClosed:
            report("server closed the connection")
            return True
        except PeerError as exc:
            report(f"no clean close: {exc}")
            return False
        if rtype != ERROR:
            report(f"server released a {TYPE_NAMES[rtype]} record")
            return False
        report("server sent ERROR")
    report("server kept sending records")
    return False


def flip_bit(record, index):
    """Return ``record`` with the low bit of byte ``index`` flipped."""
    changed = bytearray(record)
    changed[index] ^= 0x01
    return bytes(changed)


def attack_records(case, session, report):
    """Misbehave on an established session as ``case`` says; return True if the server coped."""
    if case == "replay_record":
        record = session.seal(DATA, b"replay me")
        session.wire.send(record)
        rtype, _ = session.receive()
        report(f"first copy answered with {TYPE_NAMES[rtype]}; sending it again")
        session.wire.send(record)
    elif case == "reorder":
        first = session.seal(DATA, b"first")
        second = session.seal(DATA, b"second")
        report("sending record 2 before record 1")
        session.wire.send(second + first)
    elif case == "tamper_record":
        record = session.seal(DATA, b"tamper with me")
        report("sending a DATA record with one ciphertext bit flipped")
        session.wire.send(flip_bit(record, 2 + PAD_TO // 2))
    elif case == "over_padded":
        report("sending a DATA record with 32 bytes of padding too many")
        session.wire.send(session.seal(DATA, b"padded", extra_padding=PAD_TO))
    else:  # truncate
        exchange(session, "truncate me", lambda text: report(f"reply: {text}"))
        report("closing the TCP connection without CLOSE")
        session.wire.shutdown_write()
    return expect_silent_close(session, report)


def replay_initiation(host, port, cfg, report):
    """Complete a session, then send its ClientHello and message 1 again on a new connection."""
    wire = connect(host, port, cfg.timeout)
    with wire.sock:
        wire.sent = []
        session, name = client_handshake(wire, cfg)
        hello, message1 = wire.sent[0], wire.sent[1]
        exchange(session, "first", lambda text: report(f"original session ({name}) answered: {text}"))
        finish(session)
    wire = connect(host, port, cfg.timeout)
    with wire.sock:
        wire.send(hello)
        wire.recv_exact(SERVER_HELLO_LEN, HANDSHAKE_EOF)
        report("sending the captured message 1 again")
        wire.send(message1)
        try:
            wire.recv_exact(2, HANDSHAKE_EOF)
        except PeerClosed:
            report("server closed the connection before message 2")
            return True
        except PeerTimeout:
            report("server kept the connection open")
            return False
        report("server answered the copy with message 2")
        return False


def run_attack_case(case, host, port, cfg, report):
    """Run one attack against host:port; return True if the server behaved correctly."""
    cfg = dataclasses.replace(cfg)
    if case == "replay_initiation":
        return replay_initiation(host, port, cfg, report)
    if case == "psk_bypass":
        if cfg.mode != MODE_PSK:
            raise PeerError("psk_bypass needs --psk and no --server-key")
        wire = connect(host, port, cfg.timeout)
        with wire.sock:
            wire.send(encode_client_hello(cfg.mode, cfg.suites))
            try:
                wire.recv_exact(SERVER_HELLO_LEN, HANDSHAKE_EOF)
            except PeerClosed:
                report("server closed the connection after our psk-mode hello")
                return True
            report("server answered our psk-mode hello")
            return False
    if case == "bad_mac1":
        cfg.corrupt_mac1 = True
    elif case == "downgrade_hello":
        cfg.prologue_suites = [SUITE_CODES["ChaChaPoly"], SUITE_CODES["AESGCM"]]
        cfg.suites = [SUITE_CODES["AESGCM"]]
        report("sent ClientHello offers AESGCM only; the prologue binds ChaChaPoly,AESGCM")
    elif case == "wrong_psk":
        # mac1 stays right (keyed by the given PSK in psk mode), so Noise itself must refuse.
        cfg.noise_psk = flip_bit(cfg.psk or bytes(KEY_LEN), 0)
        cfg.accept_bad_message2 = True
    elif case == "unknown_client_key":
        if cfg.mode != MODE_KEY:
            raise PeerError("unknown_client_key needs --server-key")
        cfg.static = keypair(new_private_key())
    wire = connect(host, port, cfg.timeout)
    with wire.sock:
        if case in ("bad_mac1", "downgrade_hello", "unknown_client_key") or (
                case == "wrong_psk" and cfg.mode == MODE_PSK):
            return expect_refused_handshake(wire, cfg, report)
        try:
            session, name = client_handshake(wire, cfg)
        except PeerError as exc:
            report(f"handshake failed: {exc}")
            return False
        report(f"handshake done ({name})")
        if case == "wrong_psk":
            report("message 2 did not verify on our side; sending DATA under our keys anyway")
            session.wire.send(session.seal(DATA, b"wrong psk"))
            return expect_silent_close(session, report)
        return attack_records(case, session, report)


def run_attack(args):
    """attack sub-command: exit 0 when the server closed without releasing anything."""
    cfg = client_config(args)
    def report(text):
        say(f"{args.case}: {text}")

    if run_attack_case(args.case, args.host, args.port, cfg, report):
        say(f"ok: {args.case}: the server refused")
        return 0
    say(f"FAIL: {args.case}: the server did not refuse")
    return 1


# --------------------------------------------------------------------------------------------
# Key commands
# --------------------------------------------------------------------------------------------


def run_genkey(_args):
    """genkey sub-command: print a new private key (and make a regular-file stdout 0600)."""
    if stat.S_ISREG(os.fstat(sys.stdout.fileno()).st_mode):
        os.fchmod(sys.stdout.fileno(), 0o600)
    say(encode_key(new_private_key()))
    return 0


def run_pubkey(_args):
    """pubkey sub-command: read a private key on stdin, print its public key."""
    text = sys.stdin.read(MAX_KEY_FILE + 1)
    try:
        if len(text) > MAX_KEY_FILE:
            raise ValueError("input too long")
        private = decode_key(text)
    except ValueError as exc:
        raise PeerError(f"stdin: {exc}") from exc
    say(encode_key(public_key(private)))
    return 0


# --------------------------------------------------------------------------------------------
# Self-test
# --------------------------------------------------------------------------------------------


def default_vectors_path():
    """Return <repository>/tests/vectors/noise/cacophony-subset.json."""
    return Path(__file__).resolve().parent.parent / "vectors/noise/cacophony-subset.json"


class SelfTest:
    """Prints one ok/FAIL line per check and counts the failures."""

    def __init__(self):
        self.passed = 0
        self.failures = 0

    def check(self, label, ok, detail=""):
        """Record one check."""
        if ok:
            self.passed += 1
            say(f"ok   {label}")
        else:
            self.failures += 1
            say(f"FAIL {label}{': ' + detail if detail else ''}")


def vector_handshake(vector, role):
    """Return the HandshakeState of ``role`` ('init' or 'resp') of a cacophony vector."""
    protocol = noise_protocol(vector["protocol_name"])
    fixed_ephemeral = NoGenDH(protocol.dh, PrivateKey(bytes.fromhex(vector[f"{role}_ephemeral"])))
    static = vector.get(f"{role}_static")
    remote = vector.get(f"{role}_remote_static")
    psks = vector.get(f"{role}_psks")
    return start_handshake(
        vector["protocol_name"], role == "init", bytes.fromhex(vector[f"{role}_prologue"]),
        static=keypair(bytes.fromhex(static)) if static else None,
        remote=PublicKey(bytes.fromhex(remote)) if remote else None,
        psks=[bytes.fromhex(psk) for psk in psks] if psks else None,
        dh=fixed_ephemeral)


def vector_message(index, message, peers, ciphers):
    """Send cacophony message ``index`` from its sender to its receiver.

    Return (wire bytes, received payload, split result or None). Messages alternate, the
    initiator first; after the handshake the initiator sends with the first Split() cipher.
    """
    sender, receiver = peers if index % 2 == 0 else peers[::-1]
    payload = bytes.fromhex(message["payload"])
    if ciphers is None:
        wire, received = bytearray(), bytearray()
        sent_split = sender.write_message(payload, wire)
        received_split = receiver.read_message(bytes(wire), received)
        split = (sent_split, received_split) if index % 2 == 0 else (received_split, sent_split)
        return bytes(wire), bytes(received), split if sent_split else None
    (init_send, init_recv), (resp_recv, resp_send) = ciphers
    send, recv = (init_send, resp_recv) if index % 2 == 0 else (resp_send, init_recv)
    wire = send.encrypt_with_ad(b"", payload)
    return wire, recv.decrypt_with_ad(b"", wire), None


def selftest_vector(t, vector):
    """Check every message and the handshake hash of one cacophony vector."""
    name = vector["protocol_name"]
    peers = (vector_handshake(vector, "init"), vector_handshake(vector, "resp"))
    ciphers = None
    for index, message in enumerate(vector["messages"]):
        try:
            wire, received, split = vector_message(index, message, peers, ciphers)
        except (DecryptFailedException, ValueError, AssertionError) as exc:
            t.check(f"{name} message {index}", False, repr(exc))
            return
        ciphers = split or ciphers
        ok = wire.hex() == message["ciphertext"] and received.hex() == message["payload"]
        t.check(f"{name} message {index}", ok, f"got {wire.hex()}")
    hashes = [peer.symmetricstate.get_handshake_hash().hex() for peer in peers]
    t.check(f"{name} handshake hash", hashes == [vector["handshake_hash"]] * 2, repr(hashes))


def selftest_vectors(t, path):
    """Run all cacophony vectors in ``path``."""
    try:
        vectors = json.loads(Path(path).read_text(encoding="utf-8"))["vectors"]
    except (OSError, ValueError, KeyError) as exc:
        t.check(f"load {path}", False, str(exc))
        return
    t.check(f"load {path} ({len(vectors)} vectors)", len(vectors) == 8)
    for vector in vectors:
        selftest_vector(t, vector)


def raw_nonce(suite, counter):
    """Return the 12-byte nonce of the Noise cipher functions, written out independently."""
    order = "little" if suite == "ChaChaPoly" else "big"
    return bytes(4) + counter.to_bytes(8, order)


def selftest_rekey(t):
    """Check Rekey() against its definition with the raw AEADs: new key, nonce kept."""
    aeads = {"ChaChaPoly": ChaCha20Poly1305, "AESGCM": AESGCM}
    for suite, aead in aeads.items():
        key = bytes(range(KEY_LEN))
        direction = Direction(CipherState(NOISE_CIPHERS[suite]()))
        direction.state.initialize_key(key)
        for _ in range(3):
            direction.encrypt(b"", b"x")
        direction.rekey()
        got = direction.encrypt(b"ad", b"after rekey")
        new_key = aead(key).encrypt(raw_nonce(suite, MAX_NONCE), bytes(KEY_LEN), b"")[:KEY_LEN]
        want = aead(new_key).encrypt(raw_nonce(suite, 3), b"after rekey", b"ad")
        t.check(f"Rekey() {suite}: REKEY(k) and nonce 3 kept", got == want)


def rejects(plaintext):
    """Return whether decode_plaintext refuses ``plaintext`` with the generic error."""
    try:
        decode_plaintext(plaintext)
    except PeerError as exc:
        return str(exc) == GENERIC_ERROR
    return False


def selftest_records(t):
    """Check the plaintext layout and its rejection rules."""
    sizes = [len(encode_plaintext(DATA, b"a" * n)) for n in (0, 29, 30, 4096)]
    t.check("record padding to 32 (0, 29, 30, 4096 bytes)", sizes == [32, 32, 64, 4128],
            repr(sizes))
    t.check("largest record fits the limit", valid_record_length(4128 + TAG_LEN))
    good = encode_plaintext(DATA, b"hi")
    t.check("round trip", decode_plaintext(good) == (DATA, b"hi"))
    bad = {
        "nonzero padding": good[:-1] + b"\x01",
        "unpadded": good[:5],
        "extra padding block": good + bytes(PAD_TO),
        "unknown type": b"\x0e" + good[1:],
        "payload past end": good[:1] + b"\x00\x40" + good[3:],
        "CLOSE with payload": bytes([CLOSE]) + good[1:],
    }
    for label, plaintext in bad.items():
        t.check(f"record rejects {label}", rejects(plaintext))


class LoopbackServer:
    """A server on 127.0.0.1 in a thread, serving exactly one connection."""

    def __init__(self, cfg):
        self.lines = []
        self.reason = None
        cfg.emit = self.lines.append
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(cfg.timeout)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, args=(cfg,), daemon=True)
        self.thread.start()

    def _serve(self, cfg):
        """Thread body: serve one connection and keep the failure reason."""
        try:
            self.reason = accept_and_serve(self.listener, cfg)
        except OSError as exc:
            self.reason = f"accept: {exc}"

    def finish(self, timeout):
        """Wait for the server thread; return its failure reason or None."""
        self.thread.join(timeout)
        self.listener.close()
        return "server thread still running" if self.thread.is_alive() else self.reason


def loopback_configs(keys, mode, server_suites, rekey_after=REKEY_AFTER_RECORDS):
    """Return matching (ServerConfig, ClientConfig); the server authorizes the client's key."""
    server = ServerConfig(static=keys["server"], psk=keys["psk"],
                          authorized={keys["client"].public.data}, suites=server_suites,
                          timeout=LOOPBACK_TIMEOUT, rekey_after=rekey_after)
    client = ClientConfig(mode=mode, suites=[1, 2], server_public=keys["server"].public.data,
                          static=keys["client"], psk=keys["psk"], timeout=LOOPBACK_TIMEOUT,
                          rekey_after=rekey_after)
    return server, client


def selftest_loopback(t, keys):
    """Run our client against our server in both modes and both suites, with rekeys."""
    messages = ["hello", "héllo wörld ✓", "a" * (MAX_PAYLOAD - len(REPLY_PREFIX))]
    for mode in (MODE_KEY, MODE_PSK):
        for suite in (1, 2):
            server_cfg, client_cfg = loopback_configs(keys, mode, [suite], rekey_after=2)
            server = LoopbackServer(server_cfg)
            replies, started = [], []
            try:
                run_session("127.0.0.1", server.port, client_cfg, messages, started.append,
                            replies.append)
                error = None
            except PeerError as exc:
                error = str(exc)
            reason = server.finish(LOOPBACK_TIMEOUT)
            ok = (error is None and reason is None
                  and started == [f"Using {protocol_name(mode, suite)}"]
                  and replies == [reply_text(m) for m in messages]
                  and server.lines == [f"Received: {m}" for m in messages])
            t.check(f"loopback {protocol_name(mode, suite)} with REKEY", ok,
                    f"client: {error}, server: {reason}")
    selftest_server_close(t, keys)


def selftest_server_close(t, keys):
    """The server ends an idle session with CLOSE first; the client takes it, and nothing follows."""
    server_cfg, client_cfg = loopback_configs(keys, MODE_KEY, [1])
    server_cfg.idle_timeout = 0.2
    server = LoopbackServer(server_cfg)
    notes = []
    try:
        run_session("127.0.0.1", server.port, client_cfg, ["hi"], notes.append, notes.append,
                    wait_close=True)
        error = None
    except PeerError as exc:
        error = str(exc)
    reason = server.finish(LOOPBACK_TIMEOUT)
    t.check("loopback: the server ends an idle session with CLOSE, the client takes it",
            error is None and reason is None and notes[-1] == "session: ended by the server (CLOSE)"
            and server.lines[-1] == "Ending the session: idle timeout (sent CLOSE)",
            f"client: {error}, server: {reason}, lines: {server.lines}")


ATTACK_EXPECTATIONS = [
    # case, mode, server's reason
    ("bad_mac1", MODE_KEY, "bad mac1"),
    ("bad_mac1", MODE_PSK, "bad mac1"),
    ("replay_record", MODE_KEY, GENERIC_ERROR),
    ("reorder", MODE_PSK, GENERIC_ERROR),
    ("tamper_record", MODE_KEY, GENERIC_ERROR),
    ("truncate", MODE_PSK, TRUNCATED),
    ("downgrade_hello", MODE_KEY, "handshake failed"),
    ("downgrade_hello", MODE_PSK, "handshake failed"),
    ("wrong_psk", MODE_KEY, GENERIC_ERROR),
    ("wrong_psk", MODE_PSK, "handshake failed"),
    ("unknown_client_key", MODE_KEY, "unauthorized client key"),
]


def selftest_attacks(t, keys):
    """Run every attack helper against our own server and check the server's reason."""
    for case, mode, expected in ATTACK_EXPECTATIONS:
        server_cfg, client_cfg = loopback_configs(keys, mode, [1, 2])
        server = LoopbackServer(server_cfg)
        notes = []
        try:
            refused = run_attack_case(case, "127.0.0.1", server.port, client_cfg, notes.append)
        except PeerError as exc:
            refused = False
            notes.append(str(exc))
        reason = server.finish(LOOPBACK_TIMEOUT)
        t.check(f"attack {case} ({MODE_PATTERNS[mode]}): server says {expected!r}",
                refused and reason == expected, f"server: {reason!r}; client: {'; '.join(notes)}")


def run_selftest(args):
    """selftest sub-command: return 0 when every check passed."""
    t = SelfTest()
    selftest_vectors(t, args.vectors)
    selftest_rekey(t)
    selftest_records(t)
    keys = {name: keypair(new_private_key()) for name in ("server", "client")}
    keys["psk"] = os.urandom(KEY_LEN)
    selftest_loopback(t, keys)
    selftest_attacks(t, keys)
    say(f"{t.passed} passed, {t.failures} failed")
    return 1 if t.failures else 0


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def say(text):
    """Print one line to stdout and flush it."""
    print(text, flush=True)


def warn(text):
    """Print one line to stderr and flush it."""
    print(text, file=sys.stderr, flush=True)


def suite_list(text):
    """argparse type: comma-separated suite names, in preference order."""
    names = [name.strip() for name in text.split(",")]
    if not names or len(names) > MAX_OFFERED_SUITES or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError("want 1 to 8 distinct suites, e.g. ChaChaPoly,AESGCM")
    unknown = [name for name in names if name not in SUITE_CODES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown suite {unknown[0]!r} (ChaChaPoly, AESGCM)")
    return [SUITE_CODES[name] for name in names]


def positive(kind):
    """Return an argparse type accepting positive numbers of ``kind``."""
    def convert(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError("must be positive")
        return value
    return convert


def build_parser():
    """Return the argparse parser with every sub-command."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def add_common(sub):
        sub.add_argument("--port", type=int, required=True)
        sub.add_argument("--host", default="127.0.0.1")
        sub.add_argument("--psk", metavar="FILE", help="pre-shared key file (base64, mode 0600)")
        sub.add_argument("--key", metavar="FILE", help="our private key file (base64, mode 0600)")
        sub.add_argument("--suites", type=suite_list, default=suite_list(DEFAULT_SUITES),
                         help=f"suites in preference order (default {DEFAULT_SUITES})")
        sub.add_argument("--timeout", type=positive(float), default=DEFAULT_TIMEOUT,
                         help="seconds allowed for each network operation (default %(default)s)")
        sub.add_argument("--rekey-after", type=positive(int), default=REKEY_AFTER_RECORDS,
                         metavar="N", help="send REKEY after N records with one key (default 2^20)")

    def add_client_side(sub):
        add_common(sub)
        sub.add_argument("--server-key", type=key_argument, metavar="BASE64",
                         help="the server's public key: key mode (IKpsk2); without it, psk mode")

    server = commands.add_parser("server", help="serve secure-profile clients one at a time")
    add_common(server)
    server.add_argument("--authorized-clients", metavar="FILE",
                        help="accept only these client public keys (one base64 key a line)")
    server.add_argument("--once", action="store_true", help="exit after the first connection")
    server.add_argument("--idle-timeout", type=positive(float), default=None, metavar="SEC",
                        help="end a session idle for SEC seconds with CLOSE first (default never)")
    server.add_argument("--accept-timeout", type=positive(float), default=DEFAULT_ACCEPT_TIMEOUT,
                        help="exit after this many seconds without a new connection "
                        "(default %(default)s)")

    client = commands.add_parser("client", help="connect, send messages, check the replies")
    add_client_side(client)
    client.add_argument("-m", "--message", dest="messages", action="extend", nargs="+",
                        metavar="MSG", help="messages to send (default: lines of stdin)")
    client.add_argument("--pipeline", action="store_true",
                        help="send every message in one write before reading any reply")
    client.add_argument("--wait-close", action="store_true",
                        help="after the messages, send no CLOSE: wait for the server's (its idle "
                        "timeout, its shutdown), then for its TCP close")

    forward = commands.add_parser(
        "forward", help="open channels (port forwarding) and move bytes through them",
        description="Opens --count channels to each --to destination at once; each sends --bytes "
        "bytes, then EOF, and reads until the server's EOF and CLOSE. Prints one line per channel "
        "and exits 0 when the session ended as asked.")
    add_client_side(forward)
    forward.add_argument("--to", action="append", metavar="HOST:PORT",
                         help="a destination ([V6]:PORT for IPv6); repeat")
    forward.add_argument("--count", type=positive(int), default=1,
                         help="channels to open to each --to at once (default 1)")
    forward.add_argument("--bytes", type=int, default=64, help="bytes each channel sends (default 64)")
    forward.add_argument("--sink", action="append", metavar="HOST:PORT",
                         help="a destination that does not read: send until the window stays closed")
    forward.add_argument("--sink-bytes", type=positive(int), default=16 << 20,
                         help="the most a --sink channel sends (default 16 MiB)")
    forward.add_argument("--cancel", action="append", metavar="HOST:PORT",
                         help="OPEN and CLOSE at once, before the answer; repeat")
    forward.add_argument("--blind", action="store_true",
                         help="ignore the server's windows (it must close the session)")
    forward.add_argument("--pause", type=positive(float), default=None, metavar="SEC",
                         help="stop reading for SEC seconds once every channel is open and has sent")
    forward.add_argument("--early", action="store_true",
                         help="--to channels send from their OPEN on, before the answer (16384 bytes at most)")
    forward.add_argument("--stray", action="store_true",
                         help="send DATA for a channel never opened (the server must close the session)")
    forward.add_argument("--die", action="store_true",
                         help="reset the connection once every channel is answered and has sent")
    forward.add_argument("--deadline", type=positive(float), default=60.0,
                         help="seconds the whole run may take (default %(default)s)")

    attack = commands.add_parser(
        "attack", help="misbehave; exit 0 if the server refuses",
        epilog="cases (each expects the server to close without releasing anything): "
        + "; ".join(f"{case}: {text}" for case, text in ATTACKS.items()))
    add_client_side(attack)
    attack.add_argument("case", choices=ATTACKS)

    commands.add_parser("genkey", help="print a new base64 private key")
    commands.add_parser("pubkey", help="read a private key on stdin, print its public key")
    selftest = commands.add_parser("selftest", help="cacophony vectors, loopback sessions, attacks")
    selftest.add_argument("--vectors", default=str(default_vectors_path()))
    return parser


def main(argv=None):
    """Entry point; returns the process exit status."""
    args = build_parser().parse_args(argv)
    sys.stdout.reconfigure(encoding="utf-8", errors="replace")
    runners = {"server": run_server, "client": run_client, "attack": run_attack, "forward": run_forward,
               "genkey": run_genkey, "pubkey": run_pubkey, "selftest": run_selftest}
    try:
        return runners[args.command](args)
    except PeerError as exc:
        warn(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
