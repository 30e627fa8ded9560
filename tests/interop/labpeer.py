#!/usr/bin/python3
"""Independent Python peer for the "Custom VPN" lab protocol (interoperability tests).

Written only from the lab protocol's description (now docs/PROTOCOL.md) and
tests/vectors/lab-vectors.json; it shares no code with the C implementation.

Wire format (lock-step, no framing):

    C->S  ProposedCiphers:NAME:[SIZE,...],NAME:[SIZE,...]
    S->C  ChosenCipher:NAME,SIZE
    C->S  DHMKE:<decimal y_c>          y = 2^x mod p, RFC 3526 group 18
    S->C  DHMKE:<decimal y_s>
    C->S  CBC(text NUL-padded to 16) || hex(HMAC-SHA256(key, ciphertext...))
    S->C  "Server says: " + reversed text    (clear text)

Sub-commands: ``server``, ``client`` and ``selftest`` (see ``--help``).
"""

import argparse
import hashlib
import hmac
import json
import random
import re
import secrets
import select
import socket
import sys
import time
from pathlib import Path

from Cryptodome.Cipher import AES, DES, DES3, Blowfish
from Cryptodome.Hash import HMAC, SHA256

# --------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------

QUIET_SECONDS = 0.3
"""A message that may be whole ends after this long without new data."""

PARTIAL_SECONDS = 5.0
"""A message that is visibly cut (a lost segment comes back late) ends after this long."""

PLAUSIBLE_DH_DIGITS = 2460
"""A DH value this long may be whole; a uniform value below 10^2459 comes once in 10^7."""

# Where a message read so far stands (docs/PROTOCOL.md, "Reading without framing").
FINAL, AT_PAUSE, OPEN = "final", "at pause", "open"

DEFAULT_TIMEOUT = 20.0
DEFAULT_CIPHERS = "AES:128,192,256 Blowfish:112,224,448 DES3:128,192 DES:56"
PRIVATE_KEY_BYTES = 88  # diffiehellman 0.13.3: 640 // 8 + 8 random bytes
MAX_DH_DIGITS = 2467  # y < p < 10^2467
TAG_HEX_LEN = 64
PAD_BLOCK = 16
REPLY_PREFIX = "Server says: "
QUIT_COMMAND = "\\quit"

GROUP18_SHA256 = "39ab4feab950a3128fb71accb9fc3965d857012e081998a85996e3ea8b3c3bcf"
GENERATOR = 2

# Key sizes (bits) this peer can actually run, per cipher name (names are case-sensitive).
VALID_SIZES = {
    "AES": (128, 192, 256),
    "Blowfish": tuple(range(32, 449, 8)),  # 4..56 byte keys
    "DES": (56,),
    "DES3": (128, 192),  # two-key and three-key EDE
    "XOR": tuple(range(8, 257, 8)),  # 1..32 byte repeating key (pycrypto limit)
    "None": tuple(range(0, 513, 8)),  # HMAC key = shared_key[0:SIZE/8], at most 64 chars
}
BLOCK_CIPHERS = {"AES": AES, "Blowfish": Blowfish, "DES": DES, "DES3": DES3}
IV_LENGTHS = {"AES": 16, "Blowfish": 8, "DES": 8, "DES3": 8}

HEX_TAG_RE = re.compile(rb"[0-9a-f]{64}")
PROPOSAL_ENTRY = r"([A-Za-z0-9]+):\[(\d{1,6}(?:,\d{1,6})*)\]"
PROPOSAL_ENTRY_RE = re.compile(PROPOSAL_ENTRY)
PROPOSAL_RE = re.compile(rf"ProposedCiphers:{PROPOSAL_ENTRY}(?:,{PROPOSAL_ENTRY})*")
CHOICE_RE = re.compile(r"ChosenCipher:([A-Za-z0-9]+)[,:](\d{1,6})")
DHMKE_RE = re.compile(r"DHMKE:(\d{1,%d})" % MAX_DH_DIGITS)
WHITESPACE_RE = re.compile(r"\s+")


class ProtocolError(Exception):
    """Any violation of the lab protocol, a timeout or an early close by the peer."""


# --------------------------------------------------------------------------------------------
# Diffie-Hellman, RFC 3526 group 18
# --------------------------------------------------------------------------------------------


def _pi_times_power_of_two(bits):
    """Return floor(pi * 2**bits), using Machin's formula in fixed point with 64 guard bits."""
    guard = 64
    one = 1 << (bits + guard)

    def arctan_inverse(x):
        """Return arctan(1/x) scaled by ``one`` (alternating Taylor series)."""
        total, power, k, sign = 0, one // x, 1, 1
        while power:
            total += sign * (power // k)
            power //= x * x
            k += 2
            sign = -sign
        return total

    pi_scaled = 16 * arctan_inverse(5) - 4 * arctan_inverse(239)
    return pi_scaled >> guard


def _group18_prime():
    """Compute the RFC 3526 8192-bit MODP prime and check it against its known SHA-256."""
    p = 2**8192 - 2**8128 - 1 + 2**64 * (_pi_times_power_of_two(8062) + 4743158)
    digest = hashlib.sha256(p.to_bytes(1024, "big")).hexdigest()
    if digest != GROUP18_SHA256:
        raise RuntimeError(f"group 18 prime self-check failed (sha256 {digest})")
    return p


P = _group18_prime()


def dh_private_key(private_hex=None):
    """Return a private exponent: from ``private_hex`` or 88 fresh random bytes (big-endian)."""
    raw = bytes.fromhex(private_hex) if private_hex else secrets.token_bytes(PRIVATE_KEY_BYTES)
    return int.from_bytes(raw, "big")


def dh_public_key(private):
    """Return g^x mod p."""
    return pow(GENERATOR, private, P)


def check_peer_public_key(y, residue=True):
    """Apply the reference's check: 2 < y < p-1 and (unless told not to) y is a quadratic residue."""
    if not 2 < y < P - 1:
        raise ProtocolError("peer DH public key out of range")
    if residue and pow(y, (P - 1) // 2, P) != 1:
        raise ProtocolError("peer DH public key is not a quadratic residue")


def shared_secret_bytes(peer_public, private):
    """Return s = y^x mod p encoded like the reference: bit_length // 8 + 1 bytes, big-endian."""
    s = pow(peer_public, private, P)
    return s.to_bytes(s.bit_length() // 8 + 1, "big")


def shared_key_hex(peer_public, private):
    """Return the 64-char lowercase hex ``shared_key`` = sha256(secret bytes)."""
    return hashlib.sha256(shared_secret_bytes(peer_public, private)).hexdigest()


# --------------------------------------------------------------------------------------------
# Keys, ciphers, HMAC
# --------------------------------------------------------------------------------------------


def derive_key_iv(name, size, shared_key):
    """Return (key, iv) as ASCII bytes sliced from the hex ``shared_key`` (iv is None if unused).

    key = shared_key[0:size/8] (DES: shared_key[0:7] + NUL); iv = the last 16 (AES) or
    8 (Blowfish, DES, DES3) characters.
    """
    if name == "DES":
        key = shared_key[:7].encode("ascii") + b"\x00"
    else:
        key = shared_key[: size // 8].encode("ascii")
    iv_len = IV_LENGTHS.get(name)
    iv = shared_key[-iv_len:].encode("ascii") if iv_len else None
    return key, iv


class XorStream:
    """pycrypto-style XOR "cipher": repeating key, position kept across calls, no IV."""

    def __init__(self, key):
        if not key:
            raise ProtocolError("XOR needs a key of at least one byte")
        self._key = key
        self._position = 0

    def encrypt(self, data):
        """XOR ``data`` with the key stream, continuing where the previous call stopped."""
        n = len(self._key)
        out = bytes(b ^ self._key[(self._position + i) % n] for i, b in enumerate(data))
        self._position = (self._position + len(data)) % n
        return out

    decrypt = encrypt


class IdentityCipher:
    """The spec's ``None`` cipher: no encryption."""

    @staticmethod
    def encrypt(data):
        """Return ``data`` unchanged."""
        return data

    decrypt = encrypt


def make_cipher(name, key, iv):
    """Return one session cipher object (CBC state is kept across messages)."""
    if name == "XOR":
        return XorStream(key)
    if name == "None":
        return IdentityCipher()
    module = BLOCK_CIPHERS[name]
    try:
        return module.new(key, module.MODE_CBC, iv=iv)
    except ValueError as exc:  # e.g. a DES3 key that degenerates to single DES
        raise ProtocolError(f"cannot create {name} cipher: {exc}") from exc


def pad16(data):
    """Append NUL bytes up to a multiple of 16 bytes (nothing if aligned or empty)."""
    return data + b"\x00" * (-len(data) % PAD_BLOCK)


class SecureChannel:
    """One direction of protected traffic: one cipher object and one HMAC transcript per session.

    ``hmac_mode`` is ``cumulative`` (tag_n = HMAC(c_1 || ... || c_n)), ``per-message``
    (tag_n = HMAC(c_n)) or, for receiving only, ``auto`` (accept either; lock in the mode
    at the first message whose tag matches only one of them).
    """

    def __init__(self, name, size, shared_key, hmac_mode):
        self.key, self.iv = derive_key_iv(name, size, shared_key)
        self.hmac_mode = hmac_mode
        self._cipher = make_cipher(name, self.key, self.iv)
        self._transcript = HMAC.new(self.key, digestmod=SHA256)

    def _next_tags(self, ciphertext):
        """Return (transcript HMAC including ``ciphertext``, per-message hex tag)."""
        cumulative = self._transcript.copy()
        cumulative.update(ciphertext)
        per_message = HMAC.new(self.key, ciphertext, digestmod=SHA256).hexdigest()
        return cumulative, per_message

    def seal(self, plaintext):
        """Return the wire form of ``plaintext`` (bytes): ciphertext || 64 hex chars of tag."""
        ciphertext = self._cipher.encrypt(pad16(plaintext))
        cumulative, per_message = self._next_tags(ciphertext)
        self._transcript = cumulative
        tag = per_message if self.hmac_mode == "per-message" else cumulative.hexdigest()
        return ciphertext + tag.encode("ascii")

    def open(self, wire):
        """Verify and decrypt one wire message; return the padded plaintext bytes."""
        if len(wire) < TAG_HEX_LEN or (len(wire) - TAG_HEX_LEN) % PAD_BLOCK:
            raise ProtocolError(f"malformed data message ({len(wire)} bytes)")
        ciphertext, tag = wire[:-TAG_HEX_LEN], wire[-TAG_HEX_LEN:]
        cumulative, per_message = self._next_tags(ciphertext)
        cumulative_ok = self.hmac_mode != "per-message" and hmac.compare_digest(
            tag, cumulative.hexdigest().encode("ascii")
        )
        per_message_ok = self.hmac_mode != "cumulative" and hmac.compare_digest(
            tag, per_message.encode("ascii")
        )
        if not (cumulative_ok or per_message_ok):
            raise ProtocolError("bad HMAC")
        if self.hmac_mode == "auto" and cumulative_ok != per_message_ok:
            self.hmac_mode = "cumulative" if cumulative_ok else "per-message"
        self._transcript = cumulative
        return self._cipher.decrypt(ciphertext)


# --------------------------------------------------------------------------------------------
# Handshake messages
# --------------------------------------------------------------------------------------------


def parse_cipher_list(text):
    """Parse the CLI form 'AES:128,192,256 Blowfish:[112,224]' into an ordered dict."""
    ciphers = {}
    for entry in text.replace(";", " ").split():
        name, sep, sizes_text = entry.partition(":")
        sizes_text = sizes_text.strip("[]")
        if not sep or not sizes_text:
            raise argparse.ArgumentTypeError(f"bad cipher entry {entry!r} (want NAME:SIZE,...)")
        if name not in VALID_SIZES:
            raise argparse.ArgumentTypeError(f"unknown cipher {name!r}")
        if name in ciphers:
            raise argparse.ArgumentTypeError(f"cipher {name!r} listed twice")
        try:
            sizes = [int(s) for s in sizes_text.split(",")]
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"bad key size in {entry!r}") from exc
        for size in sizes:
            if size not in VALID_SIZES[name]:
                raise argparse.ArgumentTypeError(f"unsupported key size {name} {size}")
        ciphers[name] = sizes
    if not ciphers:
        raise argparse.ArgumentTypeError("empty cipher list")
    return ciphers


def format_proposal(ciphers):
    """Return 'ProposedCiphers:AES:[128,256],DES:[56]' (no spaces)."""
    entries = (f"{name}:[{','.join(str(s) for s in sizes)}]" for name, sizes in ciphers.items())
    return "ProposedCiphers:" + ",".join(entries)


def _compact_ascii(raw, what):
    """Decode a handshake message as ASCII and drop all whitespace (tolerated anywhere)."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"{what} is not ASCII") from exc
    return WHITESPACE_RE.sub("", text)


def parse_proposal(raw):
    """Parse a ProposedCiphers message (bytes) into {name: [sizes]} in the client's order."""
    text = _compact_ascii(raw, "proposal")
    if not PROPOSAL_RE.fullmatch(text):
        raise ProtocolError(f"malformed proposal {text[:80]!r}")
    proposal = {}
    for match in PROPOSAL_ENTRY_RE.finditer(text):
        sizes = proposal.setdefault(match.group(1), [])
        for size in map(int, match.group(2).split(",")):
            if size not in sizes:
                sizes.append(size)
    return proposal


def select_cipher(server_ciphers, proposal):
    """Return (name, size): the common cipher with the largest common key size, or None.

    Sizes are compared across algorithms as plain numbers; ties go to the cipher listed
    first by the server.
    """
    best = None
    for name, sizes in server_ciphers.items():
        common = set(sizes) & set(proposal.get(name, ()))
        if common and (best is None or max(common) > best[1]):
            best = (name, max(common))
    return best


def format_choice(name, size):
    """Return 'ChosenCipher:NAME,SIZE' (comma, as every reference server sends)."""
    return f"ChosenCipher:{name},{size}"


def parse_choice(raw):
    """Parse 'ChosenCipher:NAME,SIZE' (',' or ':' separator, whitespace tolerated)."""
    text = _compact_ascii(raw, "cipher choice")
    match = CHOICE_RE.fullmatch(text)
    if not match:
        raise ProtocolError(f"malformed cipher choice {text[:80]!r}")
    return match.group(1), int(match.group(2))


def format_dhmke(public):
    """Return 'DHMKE:<decimal>'."""
    return f"DHMKE:{public}"


def parse_dhmke(raw, residue=True):
    """Parse and check a 'DHMKE:<decimal>' message; return the peer's public value."""
    text = _compact_ascii(raw, "DHMKE message")
    match = DHMKE_RE.fullmatch(text)
    if not match:
        raise ProtocolError(f"malformed DHMKE message ({len(raw)} bytes, starts {text[:20]!r})")
    public = int(match.group(1))
    check_peer_public_key(public, residue)
    return public


def expected_reply(text, reply_style):
    """Return the server's reply bytes for ``text``: plain 'Server says: <rev>' or bare '<rev>'."""
    reversed_text = text[::-1]
    if reply_style == "plain":
        reversed_text = REPLY_PREFIX + reversed_text
    return reversed_text.encode("utf-8")


def cipher_label(name, size):
    """Return the 'AES256' form both sides print."""
    return f"{name}{size}"


# --------------------------------------------------------------------------------------------
# Transport: reading unframed messages
# --------------------------------------------------------------------------------------------


def proposal_end(buf):
    """A proposal ends at a newline; at a pause only after a ']' (cut inside an entry, it waits)."""
    if b"\n" in buf:
        return FINAL
    return AT_PAUSE if buf.rstrip().endswith(b"]") else OPEN


def choice_end(proposed):
    """Return where a choice stands: whole at a pause once it names a size we proposed."""
    def end(buf):
        if b"\n" in buf:
            return FINAL
        try:
            name, size = parse_choice(buf)
        except ProtocolError:
            return OPEN
        return AT_PAUSE if size in proposed.get(name, ()) else OPEN
    return end


def dhmke_end(buf):
    """A DH value may be whole at a pause once it has PLAUSIBLE_DH_DIGITS digits."""
    if b"\n" in buf:
        return FINAL
    digits = len(buf.rstrip()) - len("DHMKE:")
    if digits >= MAX_DH_DIGITS:
        return FINAL
    return AT_PAUSE if digits >= PLAUSIBLE_DH_DIGITS else OPEN


def data_message_end(buf):
    """A data message is whole when it is 16*k bytes followed by 64 lowercase hex chars."""
    whole = (
        len(buf) >= TAG_HEX_LEN
        and (len(buf) - TAG_HEX_LEN) % PAD_BLOCK == 0
        and HEX_TAG_RE.fullmatch(buf[-TAG_HEX_LEN:]) is not None
    )
    return FINAL if whole else OPEN


def reply_end(expected):
    """Return where a reply stands: whole once it equals ``expected`` (NULs aside); cut while it
    is the start of it; another reply ends at a pause."""
    def end(buf):
        shown = buf.replace(b"\x00", b"")
        if shown == expected:
            return FINAL
        return OPEN if expected.startswith(shown) else AT_PAUSE
    return end


class Cutter:
    """Sends a message in pieces, pausing between them, as a path that loses segments does.

    Cuts fall only where the message is visibly incomplete (``allowed(k)``): a cut where it
    could be whole is a documented limit of the protocol, not something a receiver can mend.
    """

    def __init__(self, pauses, rng):
        self.low, self.high = pauses
        self.rng = rng

    def pieces(self, data, allowed):
        """Return data split at 1 to 3 random allowed points."""
        points = [k for k in range(1, len(data)) if allowed(k)]
        cuts = sorted(self.rng.sample(points, min(len(points), self.rng.randint(1, 3))))
        return [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]

    def pause(self):
        """Sleep between two pieces."""
        time.sleep(self.rng.uniform(self.low, self.high))


def cut_anywhere(_data):
    """Every cut of a choice, a data message or a reply leaves it visibly incomplete."""
    return lambda k: True


def cut_proposal(data):
    """A proposal cut right after a ']' looks whole."""
    return lambda k: data[k - 1:k] != b"]"


def cut_dhmke(_data):
    """A DH value cut after PLAUSIBLE_DH_DIGITS digits looks whole."""
    return lambda k: k - len("DHMKE:") < PLAUSIBLE_DH_DIGITS


class Connection:
    """A TCP socket with message-level reads for a protocol without framing."""

    def __init__(self, sock, timeout, cutter=None):
        self.sock = sock
        self.timeout = timeout
        self.cutter = cutter
        self.eof = False
        sock.settimeout(timeout)
        # Each piece must leave at once, not wait for the peer's ACK (Nagle).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, data, cuts=cut_anywhere):
        """Send one message: with a single sendall, or cut where ``cuts(data)`` allows."""
        if self.cutter is None:
            self.sock.sendall(data)
            return
        pieces = self.cutter.pieces(data, cuts(data))
        for i, piece in enumerate(pieces):
            if i > 0:
                self.cutter.pause()
            self.sock.sendall(piece)

    def _readable(self, seconds):
        """Return True if data (or EOF) can be read within ``seconds``."""
        return bool(select.select([self.sock], [], [], max(seconds, 0))[0])

    def receive(self, where, quiet_when_empty=False):
        """Read one message and return it (b'' if the peer closed before sending anything).

        ``where(buf)`` says where the message stands: FINAL ends it once no more data is
        already waiting, AT_PAUSE after QUIET_SECONDS without new data, OPEN (visibly cut)
        after PARTIAL_SECONDS. Nothing at all ends after QUIET_SECONDS with
        ``quiet_when_empty``, else never. EOF ends it too. Raises ProtocolError after
        ``timeout``.
        """
        deadline = time.monotonic() + self.timeout
        buf = bytearray()
        while True:
            end = where(bytes(buf)) if buf else None
            if end == FINAL and not self._readable(0):
                return bytes(buf)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProtocolError(f"timed out after {self.timeout:g} s waiting for the peer")
            if buf:
                pause = PARTIAL_SECONDS if end == OPEN else QUIET_SECONDS
            else:
                pause = QUIET_SECONDS if quiet_when_empty else None
            if not self._readable(remaining if pause is None else min(remaining, pause)):
                if pause is not None and pause <= remaining:
                    return bytes(buf)
                continue
            chunk = self.sock.recv(65536)
            if not chunk:
                self.eof = True
                return bytes(buf)
            buf += chunk


# --------------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------------


def say(text):
    """Print one line to stdout and flush it."""
    print(text, flush=True)


def cutter(args):
    """The Cutter that --cut-pauses asks for (seeded, and the seed printed), or None."""
    if args.cut_pauses is None:
        return None
    seed = args.seed if args.seed is not None else secrets.randbits(32)
    print(f"cutting messages, seed {seed}", file=sys.stderr, flush=True)
    return Cutter(args.cut_pauses, random.Random(seed))


def serve_session(conn, args):
    """Run one server session; return normally when the client closes cleanly."""
    raw = conn.receive(proposal_end)
    if not raw:
        raise ProtocolError("client closed before sending a proposal")
    proposal = parse_proposal(raw)
    newline = "\n" if args.newline or raw.endswith(b"\n") else ""
    choice = select_cipher(args.ciphers, proposal)
    if choice is None:
        raise ProtocolError("could not agree on a cipher")
    name, size = choice
    private = dh_private_key(args.private_hex)
    public = dh_public_key(private)
    conn.send((format_choice(name, size) + newline).encode("ascii"))
    say(f"We are going to use {cipher_label(name, size)}")

    raw = conn.receive(dhmke_end)
    if not raw:
        raise ProtocolError("client closed before sending its DHMKE")
    shared_key = shared_key_hex(parse_dhmke(raw, not args.skip_residue_check), private)
    conn.send((format_dhmke(public) + newline).encode("ascii"), cut_dhmke)

    channel = SecureChannel(name, size, shared_key, args.hmac)
    while True:
        wire = conn.receive(data_message_end)
        if not wire:
            return  # client closed: clean end of session
        try:
            text = channel.open(wire).strip(b"\x00").decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("decrypted message is not valid UTF-8") from exc
        say(f"Received: {text}")
        reply = expected_reply(text, args.reply)
        if reply:
            conn.send(reply)


def run_server(args):
    """Listen and serve clients one at a time; with --once, return after the first session."""
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    # "::" takes IPv4 clients too, as a server listening on every address does.
    with socket.create_server((args.host, args.port), family=family,
                              dualstack_ipv6=args.host == "::") as listener:
        host, port = listener.getsockname()[:2]
        say(f"Listening on {host}:{port}")
        while True:
            sock, _ = listener.accept()
            status = 0
            with sock:
                try:
                    serve_session(Connection(sock, args.timeout, cutter(args)), args)
                except (ProtocolError, OSError) as exc:
                    print(f"error: {exc}", file=sys.stderr, flush=True)
                    status = 1
            if args.once:
                return status


# --------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------


def stdin_messages():
    """Yield stdin lines (UTF-8) without their line terminators."""
    for line in sys.stdin.buffer:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("stdin is not valid UTF-8") from exc
        yield text.rstrip("\n").rstrip("\r")


def client_session(conn, args, messages):
    """Negotiate, then send each message and check each reply."""
    newline = "\n" if args.newline else ""
    conn.send((format_proposal(args.ciphers) + newline).encode("ascii"), cut_proposal)
    raw = conn.receive(choice_end(args.ciphers))
    if not raw:
        raise ProtocolError("server closed the connection after the proposal")
    name, size = parse_choice(raw)
    if size not in args.ciphers.get(name, ()):
        raise ProtocolError(f"server chose {cipher_label(name, size)}, which was not proposed")
    say(f"We are going to use {cipher_label(name, size)}")

    private = dh_private_key(args.private_hex)
    conn.send((format_dhmke(dh_public_key(private)) + newline).encode("ascii"), cut_dhmke)
    raw = conn.receive(dhmke_end)
    if not raw:
        raise ProtocolError("server closed the connection after our DHMKE")
    shared_key = shared_key_hex(parse_dhmke(raw, not args.skip_residue_check), private)

    channel = SecureChannel(name, size, shared_key, args.hmac)
    for text in messages:
        if text == QUIT_COMMAND:
            break
        try:
            plaintext = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ProtocolError(f"message {text!r} cannot be encoded as UTF-8") from exc
        conn.send(channel.seal(plaintext))
        expected = expected_reply(text, args.reply)
        raw = conn.receive(reply_end(expected), quiet_when_empty=not expected)
        if not raw and conn.eof:
            raise ProtocolError("server closed the connection instead of replying")
        shown = raw.replace(b"\x00", b"")
        if raw:
            say(shown.decode("utf-8", errors="replace"))
        if shown != expected:
            raise ProtocolError(f"unexpected reply {shown!r}, expected {expected!r}")


def run_client(args):
    """Connect, run one session and close; return the exit status."""
    messages = args.messages if args.messages is not None else stdin_messages()
    try:
        with socket.create_connection((args.host, args.port), timeout=args.timeout) as sock:
            client_session(Connection(sock, args.timeout, cutter(args)), args, messages)
    except (ProtocolError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


# --------------------------------------------------------------------------------------------
# Self-test against the published vectors
# --------------------------------------------------------------------------------------------

# The course's test_encrypt_message vectors (fresh AES-CBC objects): text, key, iv, ct, tag.
SPEC_AES_VECTORS = [
    (
        "infosec",
        "49094793659111181547021843208480",
        "2442744371103948",
        "a6d32f9a57dbb5d273b8b8c4901d6c5b",
        "051b7f5638e3a1d0eda1fd638ec35b333cda0c4497e90b9722c70934ab40eb96",
    ),
    (
        "octoduck",
        "2e97c59d79d1b1483364113f55d92b41",
        "fbcf95cef4b0cb47",
        "c5ec0068ace64c8cda4df6314f746757",
        "c7593c078051c1982878fb0d239f51350a33b519009a03da8d3668b496737ec2",
    ),
    (
        "Information Assurance and Security",
        "2e97c59d79d1b148",
        "3364113f55d92b41",
        "fbd2d3c46aa409838e0b15f306d73c1f915125b3af1ec0ef3265aa7da36d3aea"
        "0bfa3d161c6ff30fed768dd43a67201d",
        "1b072fe79eda09516021f7a5a99107524bb7846ea66efa9ae19b146144791416",
    ),
]

# The course's test_get_key_and_iv vectors (docs/PROTOCOL.md, section 4): (shared_key, cipher, size, key, iv).
SPEC_KEY_IV_VECTORS = [
    ("2e97c59d79d1b1483364113f55d92b41b7d2deb25b637416fbcf95cef4b0cb47", "AES", 128,
     b"2e97c59d79d1b148", b"fbcf95cef4b0cb47"),
    ("2e97c59d79d1b1483364113f55d92b41b7d2deb25b637416fbcf95cef4b0cb47", "AES", 256,
     b"2e97c59d79d1b1483364113f55d92b41", b"fbcf95cef4b0cb47"),
    ("2e97c59d79d1b1483364113f55d92b41b7d2deb25b637416fbcf95cef4b0cb47", "Blowfish", 224,
     b"2e97c59d79d1b1483364113f55d9", b"f4b0cb47"),
    ("2e97c59d79d1b1483364113f55d92b41b7d2deb25b637416fbcf95cef4b0cb47", "DES3", 128,
     b"2e97c59d79d1b148", b"f4b0cb47"),
    ("123456789", "DES", 56, b"1234567\x00", b"23456789"),
]

FULL_PROPOSAL = "ProposedCiphers:DES:[56],AES:[128,192,256],Blowfish:[112,224,448]"


def default_vectors_path():
    """Return <repository>/tests/vectors/lab-vectors.json."""
    return Path(__file__).resolve().parent.parent / "vectors/lab-vectors.json"


class SelfTest:
    """Collects ok/FAIL lines."""

    def __init__(self):
        self.failures = 0

    def check(self, label, actual, expected):
        """Print 'ok LABEL' or 'FAIL LABEL: got ..., want ...'."""
        if actual == expected:
            say(f"ok   {label}")
        else:
            self.failures += 1
            say(f"FAIL {label}: got {_short(actual)}, want {_short(expected)}")

    def raises(self, label, func):
        """Check that ``func()`` raises ProtocolError."""
        try:
            func()
        except ProtocolError:
            say(f"ok   {label}")
        else:
            self.failures += 1
            say(f"FAIL {label}: no error raised")


def _short(value):
    """Return a repr of ``value`` shortened for one output line."""
    text = repr(value)
    return text if len(text) <= 90 else text[:60] + "..." + text[-20:]


def _selftest_handshake(t):
    """Checks of sections 3 (negotiation) and 4 (group) of the spec."""
    t.check("group 18 prime: 8192 bits, sha256", (P.bit_length(),
            hashlib.sha256(P.to_bytes(1024, "big")).hexdigest()), (8192, GROUP18_SHA256))
    t.check("proposal format AES:[256]", format_proposal({"AES": [256]}), "ProposedCiphers:AES:[256]")
    t.check("proposal format (capture)",
            format_proposal({"DES": [56], "AES": [128, 192, 256], "Blowfish": [112, 224, 448]}),
            FULL_PROPOSAL)
    full = {"DES": [56], "AES": [128, 192, 256], "Blowfish": [112, 224, 448]}
    t.check("proposal parse (capture)", parse_proposal(FULL_PROPOSAL.encode()), full)
    t.check("proposal parse (spaces, newline)",
            parse_proposal(b"ProposedCiphers:DES:[56],AES:[128, 192, 256],Blowfish:[112, 224, 448]\r\n"),
            full)
    t.raises("proposal parse rejects garbage", lambda: parse_proposal(b"ProposedCiphers:AES[128]"))
    t.check("select Blowfish 448 over AES 256",
            select_cipher({"AES": [256], "Blowfish": [224, 448]}, full), ("Blowfish", 448))
    t.check("select AES 256", select_cipher({"AES": [128, 256], "Blowfish": [112, 224]}, full),
            ("AES", 256))
    t.check("select AES 128", select_cipher({"AES": [128]}, full), ("AES", 128))
    t.check("select tie: first in server list",
            select_cipher({"DES3": [192], "AES": [192]}, {"AES": [192], "DES3": [192]}), ("DES3", 192))
    t.check("select no common cipher", select_cipher({"AES": [192]}, {"AES": [128]}), None)
    t.check("choice parse ','", parse_choice(b"ChosenCipher:AES,256"), ("AES", 256))
    t.check("choice parse ':' + newline", parse_choice(b"ChosenCipher:Blowfish:224\n"),
            ("Blowfish", 224))


def _selftest_vectors(t, vectors):
    """Checks against lab-vectors.json: DH, shared key, key/IV, chained CBC, HMAC modes."""
    x_c = dh_private_key(vectors["client_private_hex"])
    x_s = dh_private_key(vectors["server_private_hex"])
    y_c, y_s = dh_public_key(x_c), dh_public_key(x_s)
    t.check("DH client public", str(y_c), vectors["client_public_dec"])
    t.check("DH server public", str(y_s), vectors["server_public_dec"])
    t.check("DHMKE parse + residue check (client value)",
            parse_dhmke(("DHMKE:" + vectors["client_public_dec"] + "\n").encode()), y_c)
    t.raises("DHMKE rejects y = 1", lambda: parse_dhmke(b"DHMKE:1"))
    t.raises("DHMKE rejects a non-residue", lambda: parse_dhmke(b"DHMKE:%d" % (P - 2)))
    secret = vectors["shared_secret_bytes_hex"]
    t.check("shared secret bytes (client side)", shared_secret_bytes(y_s, x_c).hex(), secret)
    t.check("shared secret bytes (server side)", shared_secret_bytes(y_c, x_s).hex(), secret)
    shared_key = shared_key_hex(y_s, x_c)
    t.check("shared_key", shared_key, vectors["shared_key"])

    aes = vectors["aes256"]
    t.check("AES256 key/iv", derive_key_iv("AES", 256, shared_key),
            (aes["key"].encode(), aes["iv"].encode()))
    des = vectors["des56"]
    t.check("DES56 key/iv", derive_key_iv("DES", 56, shared_key),
            (bytes.fromhex(des["key_hex"]), des["iv"].encode()))

    for mode, wire2 in (("cumulative", aes["wire2_cumulative_hex"]),
                        ("per-message", aes["wire2_per_message_hex"])):
        sender = SecureChannel("AES", 256, shared_key, mode)
        t.check(f"AES256 {mode} wire1", sender.seal(aes["msg1"].encode()).hex(), aes["wire1_hex"])
        t.check(f"AES256 {mode} wire2 (chained)", sender.seal(aes["msg2"].encode()).hex(), wire2)
        for receiver_mode in (mode, "auto"):
            receiver = SecureChannel("AES", 256, shared_key, receiver_mode)
            texts = [receiver.open(bytes.fromhex(w)).strip(b"\x00").decode()
                     for w in (aes["wire1_hex"], wire2)]
            t.check(f"AES256 receive {mode} as {receiver_mode}", (texts, receiver.hmac_mode),
                    ([aes["msg1"], aes["msg2"]], mode))
    wrong = SecureChannel("AES", 256, shared_key, "cumulative")
    wrong.open(bytes.fromhex(aes["wire1_hex"]))
    t.raises("cumulative receiver rejects per-message wire2",
             lambda: wrong.open(bytes.fromhex(aes["wire2_per_message_hex"])))
    tampered = bytearray.fromhex(aes["wire1_hex"])
    tampered[0] ^= 1
    t.raises("tampered ciphertext rejected",
             lambda: SecureChannel("AES", 256, shared_key, "auto").open(bytes(tampered)))

    sender = SecureChannel("DES", 56, shared_key, "cumulative")
    t.check("DES56 wire1", sender.seal(des["msg1"].encode()).hex(), des["wire1_hex"])


def _selftest_spec_tables(t):
    """Checks of the key/IV table (section 5), the AES vectors (6.2) and the reply (6.5)."""
    for shared_key, name, size, key, iv in SPEC_KEY_IV_VECTORS:
        t.check(f"key/iv {name}{size} of {shared_key[:9]}...", derive_key_iv(name, size, shared_key),
                (key, iv))
    for text, key, iv, ct_hex, tag_hex in SPEC_AES_VECTORS:
        cipher = AES.new(key.encode(), AES.MODE_CBC, iv=iv.encode())
        ciphertext = cipher.encrypt(pad16(text.encode()))
        tag = HMAC.new(key.encode(), ciphertext, digestmod=SHA256).hexdigest()
        t.check(f"6.2 AES vector {text!r}", (ciphertext.hex(), tag), (ct_hex, tag_hex))
    t.check("pad16", [len(pad16(b"x" * n)) for n in (0, 5, 16, 34)], [0, 16, 16, 48])
    t.check("reply reverses code points", expected_reply("héllo wörld ✓", "plain"),
            "Server says: ✓ dlröw olléh".encode())
    stream = XorStream(b"abc")
    t.check("XOR keeps its position across messages",
            stream.encrypt(b"\x00" * 4) + stream.encrypt(b"\x00" * 4), b"abcabcab")


def run_selftest(args):
    """Run all self-checks; return 0 if all passed."""
    t = SelfTest()
    _selftest_handshake(t)
    try:
        vectors = json.loads(Path(args.vectors).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        t.failures += 1
        say(f"FAIL load {args.vectors}: {exc}")
    else:
        _selftest_vectors(t, vectors)
    _selftest_spec_tables(t)
    say(f"{t.failures} failure(s)")
    return 1 if t.failures else 0


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def private_hex(text):
    """argparse type: a non-empty hex string giving an exponent > 1."""
    try:
        value = int.from_bytes(bytes.fromhex(text), "big")
    except ValueError as exc:
        raise argparse.ArgumentTypeError("not an even-length hex string") from exc
    if value <= 1:
        raise argparse.ArgumentTypeError("private exponent must be > 1")
    return text


def pause_range(text):
    """Parse 'MIN:MAX' seconds for --cut-pauses."""
    try:
        low, high = (float(x) for x in text.split(":"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad pause range {text!r} (want MIN:MAX seconds)") from exc
    if not 0 <= low <= high:
        raise argparse.ArgumentTypeError(f"bad pause range {text!r} (want 0 <= MIN <= MAX)")
    return low, high


def build_parser():
    """Return the argparse parser with the server, client and selftest sub-commands."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def add_common(sub, hmac_choices, hmac_default):
        sub.add_argument("--port", type=int, required=True)
        sub.add_argument("--host", default="127.0.0.1")
        sub.add_argument("--ciphers", type=parse_cipher_list, default=DEFAULT_CIPHERS,
                         help=f"space-separated NAME:SIZE,... (default {DEFAULT_CIPHERS!r})")
        sub.add_argument("--hmac", choices=hmac_choices, default=hmac_default)
        sub.add_argument("--newline", action="store_true",
                         help="terminate our handshake messages with a newline")
        sub.add_argument("--reply", choices=("plain", "bare"), default="plain",
                         help="'Server says: <reversed>' (plain) or just '<reversed>' (bare)")
        sub.add_argument("--private-hex", type=private_hex,
                         help="fixed DH private exponent (big-endian hex) instead of 88 random bytes")
        sub.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                         help="seconds to wait for each peer message (default %(default)s)")
        sub.add_argument("--cut-pauses", type=pause_range, metavar="MIN:MAX",
                         help="send each message in 2-4 pieces, cut where it is visibly "
                              "incomplete, pausing MIN to MAX seconds between them")
        sub.add_argument("--seed", type=int, help="seed of the cuts (default: random, printed)")
        sub.add_argument("--skip-residue-check", action="store_true",
                         help="skip the 1.3 s quadratic residue check of the peer's DH value "
                              "(for tests that run hundreds of sessions)")

    server = commands.add_parser("server", help="serve clients one at a time")
    add_common(server, ("cumulative", "per-message", "auto"), "cumulative")
    server.add_argument("--once", action="store_true", help="exit after the first session")

    client = commands.add_parser("client", help="connect, send messages, check the replies")
    add_common(client, ("cumulative", "per-message"), "cumulative")
    client.add_argument("-m", "--message", dest="messages", action="extend", nargs="+",
                        metavar="MSG", help="messages to send (default: lines of stdin)")

    selftest = commands.add_parser("selftest", help="check against the published vectors")
    selftest.add_argument("--vectors", default=str(default_vectors_path()))
    return parser


def main(argv=None):
    """Entry point; returns the process exit status."""
    args = build_parser().parse_args(argv)
    sys.stdout.reconfigure(encoding="utf-8", errors="replace")
    runners = {"server": run_server, "client": run_client, "selftest": run_selftest}
    try:
        return runners[args.command](args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
