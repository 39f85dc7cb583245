#!/usr/bin/env python3
"""Check a hoso hand-off receipt offline, trusting nothing but the ledger's public key.

    python3 tools/verify_receipt.py receipt.json --key '<name>+<key id>+<base64 key>'
    curl -s https://<server>/api/v1/receipts/<id> | python3 tools/verify_receipt.py - --key ...

Standalone on purpose: the standard library and the ``cryptography`` package only, none of
hoso's code, so an inspector can read all of it and it checks the server's implementation
rather than sharing its mistakes. The steps:

1. the leaf hash is recomputed from the event's fields (RFC 9162: SHA-256 of 0x00 || data);
2. the signed head (a C2SP checkpoint in a signed note) is checked with the public key;
3. the inclusion proof is walked from the leaf to the root (RFC 9162 section 2.1.3.2) and the
   root compared with the signed one.

Prints "valid" (exit 0), or "not valid:" and each problem (exit 1), or "pending" when no
signed head covers the event yet (exit 2).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def _b64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a string")
    return base64.b64decode(text, validate=True)


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def parse_key(vkey: str) -> tuple[str, int, bytes]:
    name, hex_id, encoded = vkey.strip().split("+", 2)  # base64 may hold "+" too
    raw = _b64(encoded)
    if len(raw) != 33 or raw[0] != 1 or len(hex_id) != 8:
        raise ValueError(f"not an Ed25519 verifier key: {vkey!r}")
    expected = hashlib.sha256(name.encode() + b"\n\x01" + raw[1:]).digest()[:4]
    if int(hex_id, 16) != int.from_bytes(expected, "big"):
        raise ValueError(f"the key id of {vkey!r} does not match its name and key")
    return name, int(hex_id, 16), raw[1:]


def open_note(note: str, keys: list[tuple[str, int, bytes]]) -> tuple[str | None, str | None]:
    """(text, None) when a known key's signature verifies; (None, problem) otherwise."""
    body, sep, signatures = note.rpartition("\n\n")
    if not sep:
        return None, "the head carries no signature"
    text = body + "\n"
    trusted = False
    for line in signatures.split("\n"):
        if not line:
            continue
        if not line.startswith("\u2014 "):
            return None, "a malformed signature line in the head"
        name, _, encoded = line[2:].rpartition(" ")
        try:
            blob = _b64(encoded)
        except (binascii.Error, ValueError):
            return None, "a signature of the head is not base64"
        key_id = int.from_bytes(blob[:4], "big")
        for known_name, known_id, public in keys:
            if (known_name, known_id) != (name, key_id):
                continue
            try:
                Ed25519PublicKey.from_public_bytes(public).verify(blob[4:], text.encode())
            except InvalidSignature:
                return None, "the head's signature does not verify: the head was altered"
            trusted = True
    if not trusted:
        return None, "the head is not signed by the given public key"
    return text, None


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


Key = tuple[str, int, bytes]


def check(receipt: Any, keys: list[Key], origin: str | None) -> tuple[str, list[str]]:
    """("valid" | "pending" | "invalid", problems)."""
    problems: list[str] = []
    event = receipt.get("event") if isinstance(receipt, dict) else None
    try:
        assert isinstance(event, dict)
        item, seq, kind = str(event["item"]), int(event["seq"]), str(event["kind"])
        recorded, chain = str(event["recorded_at"]), str(event["hash"])
    except (AssertionError, KeyError, TypeError, ValueError):
        return "invalid", ["the receipt lacks the event's fields"]
    if origin is not None and receipt.get("log") != origin:
        problems.append(f"the receipt is of log {receipt.get('log')!r}, not {origin!r}")
    data = f"hoso-custody-event/v1\n{item}\n{seq}\n{kind}\n{recorded}\n{chain}\n".encode()
    leaf = hashlib.sha256(b"\x00" + data).digest()
    try:
        claimed = _b64(receipt.get("leaf_hash"))
    except (binascii.Error, ValueError):
        claimed = b""
    if leaf != claimed:
        problems.append(
            "the event's fields (item, number, kind, time or hash) do not match the leaf "
            "hash: the receipt was altered"
        )
    if not receipt.get("checkpoint"):
        return ("invalid" if problems else "pending"), problems
    text, problem = open_note(str(receipt["checkpoint"]), keys)
    if text is None:
        return "invalid", [*problems, str(problem)]
    lines = text.split("\n")
    if origin is not None and lines[0] != origin:
        problems.append(f"the head is of log {lines[0]!r}, not {origin!r}")
    try:
        size, root = int(lines[1]), _b64(lines[2])
        proof = [_b64(p) for p in receipt.get("proof") or []]
        index = int(receipt.get("leaf_index"))
    except (binascii.Error, ValueError, TypeError, IndexError):
        return "invalid", [*problems, "the head or the proof is malformed"]
    if not verify_inclusion(index, size, leaf, proof, root):
        problems.append(
            f"the inclusion proof does not lead to the signed root (head of {size} events): "
            "this event is not in the signed ledger"
        )
    return ("invalid" if problems else "valid"), problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("receipt", help="the receipt's JSON file, or - for standard input")
    parser.add_argument("--key", action="append", required=True,
                        help="a trusted public key <name>+<id>+<base64>; repeatable")  # fmt: skip
    parser.add_argument("--origin", help="the log's name the head must carry")
    args = parser.parse_args(argv)
    raw = sys.stdin.read() if args.receipt == "-" else open(args.receipt, encoding="utf-8").read()
    try:
        receipt = json.loads(raw)
    except json.JSONDecodeError as exc:
        print(f"not valid:\n- the receipt cannot be read (not valid JSON: {exc})")
        return 1
    state, problems = check(receipt, [parse_key(k) for k in args.key], args.origin)
    if state == "valid":
        print("valid")
        return 0
    if state == "pending":
        print("pending: no signed head covers this event yet; fetch the receipt again later")
        return 2
    print("not valid:")
    for problem in problems:
        print(f"- {problem}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
