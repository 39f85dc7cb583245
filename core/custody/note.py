"""Signed tree heads in the C2SP formats: signed-note (c2sp.org/signed-note) carrying a
checkpoint (c2sp.org/tlog-checkpoint), Ed25519.

A checkpoint's text is the log's origin line, the tree size, the root hash in base64, then
extension lines; hoso writes one: ``time <UTC instant>``, when the head was signed. The note
adds a blank line and one line per signature: ``— <key name> base64(key id || signature)``.
Keys are written as Go's ``golang.org/x/mod/sumdb/note`` writes them, so the same strings
work with that ecosystem's tools:
``<name>+<8 hex key id>+base64(0x01 || public key)`` to verify and
``PRIVATE+KEY+<name>+<8 hex key id>+base64(0x01 || seed)`` to sign.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
_DASH = "\u2014 "


class NoteError(ValueError):
    """A note, key or checkpoint that cannot be trusted; the message says why."""


def key_id(name: str, public_key: bytes) -> int:
    """SHA-256(name || 0x0A || 0x01 || public key)[:4], big-endian (signed-note)."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _check_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: int
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        # The base64 key may itself hold "+": only the first two separate fields.
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError("a verifier key is <name>+<key id>+<base64 key>")
        name, hex_id, encoded = parts
        _check_name(name)
        try:
            raw = base64.b64decode(encoded, validate=True)
            claimed = int(hex_id, 16)
        except (binascii.Error, ValueError):
            raise NoteError("the verifier key's id or key is not valid hex/base64") from None
        if len(hex_id) != 8 or len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("the verifier key is not an Ed25519 key of this format")
        if key_id(name, raw[1:]) != claimed:
            raise NoteError("the verifier key's id does not match its name and key")
        return cls(name, claimed, raw[1:])

    def vkey(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{encoded}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    name: str
    seed: bytes = field(repr=False)

    @classmethod
    def parse(cls, skey: str) -> Signer:
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("a signing key is PRIVATE+KEY+<name>+<key id>+<base64 key>")
        name, hex_id, encoded = parts[2:]
        _check_name(name)
        try:
            raw = base64.b64decode(encoded, validate=True)
            claimed = int(hex_id, 16)
        except (binascii.Error, ValueError):
            raise NoteError("the signing key's id or key is not valid hex/base64") from None
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("the signing key is not an Ed25519 key of this format")
        signer = cls(name, raw[1:])
        if signer.verifier.key_id != claimed:
            raise NoteError("the signing key's id does not match its name and key")
        return signer

    @classmethod
    def generate(cls, name: str) -> Signer:
        _check_name(name)
        private = Ed25519PrivateKey.generate()
        return cls(name, private.private_bytes_raw())

    @classmethod
    def derived(
        cls, name: str, secret: str, purpose: bytes = b"hoso ledger signing key v1"
    ) -> Signer:
        """A key derived from the server secret: what runs when no key is configured, so a
        fresh install signs from its first minute (docs/ledger.md: configure a real one).
        Each ``purpose`` gives an unrelated key."""
        _check_name(name)
        seed = hmac.new(secret.encode(), purpose, hashlib.sha256).digest()
        return cls(name, seed)

    @property
    def verifier(self) -> Verifier:
        public = _raw_public(Ed25519PrivateKey.from_private_bytes(self.seed).public_key())
        return Verifier(self.name, key_id(self.name, public), public)

    def skey(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id:08x}+{encoded}"

    def sign(self, text: str) -> str:
        """The signed note: ``text`` (ending in a newline), a blank line, one signature."""
        if not text.endswith("\n") or "\n\n" in text:
            raise NoteError("a note's text ends in one newline and holds no blank line")
        signature = Ed25519PrivateKey.from_private_bytes(self.seed).sign(text.encode())
        blob = self.verifier.key_id.to_bytes(4, "big") + signature
        return f"{text}\n{_DASH}{self.name} {base64.b64encode(blob).decode()}\n"


def open_note(note: str, verifiers: list[Verifier]) -> tuple[str, Verifier]:
    """The note's text and the known key that signed it; NoteError says what is wrong."""
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise NoteError("the note holds control characters")
    text, sep, signatures = note.rpartition("\n\n")
    if not sep:
        raise NoteError("the note has no signature block (a blank line, then signatures)")
    text += "\n"
    known = {(v.name, v.key_id): v for v in verifiers}
    good: Verifier | None = None
    lines = signatures.split("\n")
    if lines[-1] != "" or len(lines) < 2:
        raise NoteError("the signature block must end with a newline")
    for line in lines[:-1]:
        if not line.startswith(_DASH):
            raise NoteError(f"not a signature line: {line[:40]!r}")
        name, _, encoded = line[len(_DASH) :].rpartition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise NoteError(f"the signature of {name} is not base64") from None
        if len(blob) < 5:
            raise NoteError(f"the signature of {name} is too short")
        verifier = known.get((name, int.from_bytes(blob[:4], "big")))
        if verifier is None:
            continue  # signed-note: signatures from unknown keys are ignored
        if not verifier.verify(text.encode(), blob[4:]):
            raise NoteError(f"the signature of {name} ({verifier.key_id:08x}) is not valid")
        good = verifier
    if good is None:
        names = ", ".join(f"{v.name}+{v.key_id:08x}" for v in verifiers) or "none"
        raise NoteError(f"no signature by a trusted key (trusted: {names})")
    return text, good


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    signed_at: datetime | None = None

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        if self.signed_at is not None:
            lines.append("time " + self.signed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("a checkpoint is origin, size and root hash, one a line")
        origin, size_text, root_text = lines[0], lines[1], lines[2]
        if not origin:
            raise NoteError("the checkpoint's origin line is empty")
        if not size_text.isascii() or not size_text.isdigit() or size_text != str(int(size_text)):
            raise NoteError(f"the checkpoint's size {size_text!r} is not a decimal number")
        try:
            root = base64.b64decode(root_text, validate=True)
        except binascii.Error:
            raise NoteError("the checkpoint's root hash is not base64") from None
        if len(root) != 32:
            raise NoteError("the checkpoint's root hash is not 32 bytes")
        signed_at = None
        for extension in lines[3:-1]:
            if extension.startswith("time "):
                try:
                    signed_at = datetime.strptime(extension[5:], "%Y-%m-%dT%H:%M:%SZ")
                except ValueError:
                    raise NoteError(f"bad time line {extension!r}") from None
                signed_at = signed_at.replace(tzinfo=UTC)
        return cls(origin, int(size_text), root, signed_at)


def open_checkpoint(note: str, verifiers: list[Verifier], origin: str | None = None) -> Checkpoint:
    """A signed checkpoint checked against trusted keys (and the expected origin)."""
    text, _ = open_note(note, verifiers)
    checkpoint = Checkpoint.parse(text)
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"the checkpoint is of log {checkpoint.origin!r}, not {origin!r}")
    return checkpoint
