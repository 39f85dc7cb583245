"""The Merkle tree over the whole custody ledger, as RFC 9162 (Certificate Transparency 2.0)
defines it: hashes, inclusion proofs and consistency proofs, and their verification.

Pure: no database. The tree's nodes are read through a ``NodeSource`` that answers *tiles*:
the complete nodes at a stored height (a multiple of ``TILE_HEIGHT``), 256 to a tile, as
C2SP tlog-tiles lays them out. Any other node is hashed up from at most 128 nodes of the
stored height below it, so a proof in a tree of 10 million leaves reads three or four tiles
whatever the size of the ledger, and the store keeps only 1/256 + 1/65536 + ... of the
nodes besides the leaves (``core.custody.tree`` keeps them in PostgreSQL).

Leaves are recorded events. What a leaf commits to is ``leaf_data``: the event's public
outline (item, sequence, kind, time recorded) and its chain hash (``core.custody.hashing``),
which in turn covers every field of the event. A receipt can so show the outline, let anyone
recompute the leaf from it, and keep the personal fields (places, parties, evidence) out of
sight while still committing to them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

HASH_SIZE = 32
TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
EMPTY_ROOT = hashlib.sha256(b"").digest()

LEAF_DATA_VERSION = "hoso-custody-event/v1"


def leaf_data(item_code: str, seq: int, kind: str, recorded_at_utc: str, event_hash: str) -> bytes:
    """The bytes a leaf commits to. ``recorded_at_utc`` as the chain hash writes it
    (``2026-12-03T01:02:03.000004Z``); ``event_hash`` the event's chain hash in hex.

    One field a line, so a browser or a ten-line script rebuilds it without a JSON encoder."""
    return (
        f"{LEAF_DATA_VERSION}\n{item_code}\n{seq}\n{kind}\n{recorded_at_utc}\n{event_hash}\n"
    ).encode()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1): RFC 9162's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def fold_level(hashes: Sequence[bytes]) -> bytes:
    """The root of a complete subtree given its 2^h nodes at one height."""
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def root_of(hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes held in memory (tests, tools, a tile's partial right edge)."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = split_point(len(hashes))
    return node_hash(root_of(hashes[:k]), root_of(hashes[k:]))


class NodeSource(Protocol):
    def tile(self, height: int, index: int) -> Sequence[bytes]:
        """Complete nodes ``index*256 ..`` at ``height`` (a multiple of TILE_HEIGHT; 0 are
        the leaf hashes), up to 256 of them: fewer only at the tree's right edge."""
        ...


class Tree:
    """A tree of ``size`` leaves read through a ``NodeSource``, with the tiles it read kept
    for the length of one proof or root (a source may change as leaves are added)."""

    def __init__(self, source: NodeSource, size: int) -> None:
        self.source = source
        self.size = size
        self._tiles: dict[tuple[int, int], Sequence[bytes]] = {}

    def _tile(self, height: int, index: int) -> Sequence[bytes]:
        key = (height, index)
        tile = self._tiles.get(key)
        if tile is None:
            tile = self._tiles[key] = self.source.tile(height, index)
        return tile

    def complete(self, height: int, index: int) -> bytes:
        """The node over leaves [index*2^height, (index+1)*2^height), all of which exist."""
        base = height - height % TILE_HEIGHT
        span = 1 << (height - base)  # nodes at the stored height under this one
        first = index * span
        tile = self._tile(base, first // TILE_WIDTH)
        offset = first % TILE_WIDTH
        nodes = tile[offset : offset + span]
        if len(nodes) != span:
            raise LookupError(f"the store lacks nodes at height {base} from {first}")
        return fold_level(nodes)

    def subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for any range that RFC 9162's recursion asks for."""
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0 and start % n == 0:
            height = n.bit_length() - 1
            return self.complete(height, start >> height)
        k = split_point(n)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def root(self) -> bytes:
        return self.subtree(0, self.size)

    def inclusion_proof(self, index: int) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162 section 2.1.3.1, the deepest sibling first."""
        if not 0 <= index < self.size:
            raise ValueError(f"leaf {index} is not in a tree of {self.size}")
        proof: list[bytes] = []
        start, end = 0, self.size
        # Walk down from the root, collecting siblings; reversed at the end.
        while end - start > 1:
            k = split_point(end - start)
            if index < start + k:
                proof.append(self.subtree(start + k, end))
                end = start + k
            else:
                proof.append(self.subtree(start, start + k))
                start = start + k
        proof.reverse()
        return proof

    def consistency_proof(self, old_size: int) -> list[bytes]:
        """PROOF(old_size, D[size]) of RFC 9162 section 2.1.4.1."""
        if not 0 < old_size <= self.size:
            raise ValueError(f"no consistency proof from {old_size} to {self.size}")
        if old_size == self.size:
            return []
        proof: list[bytes] = []
        start, end, m, whole = 0, self.size, old_size, True
        while True:
            n = end - start
            if m == n:
                if not whole:
                    proof.append(self.subtree(start, end))
                break
            k = split_point(n)
            if m <= k:
                proof.append(self.subtree(start + k, end))
                end = start + k
            else:
                proof.append(self.subtree(start, start + k))
                start, m, whole = start + k, m - k, False
        proof.reverse()
        return proof


class MemorySource:
    """Every leaf hash in memory, tiles computed on demand: tests and offline tools."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.leaves = leaves

    def tile(self, height: int, index: int) -> Sequence[bytes]:
        span = 1 << height
        first = index * TILE_WIDTH
        count = max(0, min(TILE_WIDTH, len(self.leaves) // span - first))
        return [
            root_of(self.leaves[(first + i) * span : (first + i + 1) * span]) for i in range(count)
        ]


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2. A tree is consistent with itself when the roots agree."""
    if old_size < 1 or old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


class RootBuilder:
    """The root of a growing list of leaves in O(log n) memory: verify streams millions of
    events through it and asks for the root at each signed head's size on the way."""

    def __init__(self) -> None:
        self.size = 0
        # Complete subtrees, largest first; their sizes are the bits of ``size``.
        self._stack: list[tuple[int, bytes]] = []

    def add(self, leaf: bytes) -> None:
        self.size += 1
        height, node = 0, leaf
        while self._stack and self._stack[-1][0] == height:
            _, left = self._stack.pop()
            node = node_hash(left, node)
            height += 1
        self._stack.append((height, node))

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        node = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node
