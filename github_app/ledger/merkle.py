"""RFC 9162 Merkle tree hashing and inclusion proofs (pure; no I/O).

Leaves are ledger entry hashes: ``leaf = SHA-256(0x00 || entry hash bytes)`` and
``node = SHA-256(0x01 || left || right)``; the tree over ``n`` leaves splits at the largest power
of two below ``n`` (RFC 9162 §2.1.1), and the empty tree's hash is ``SHA-256("")``.

Everything streams: :class:`MerkleFrontier` keeps only the roots of the perfect subtrees along
the tree's right edge (at most 64 hashes), so a root over a million leaves needs one pass and
almost no memory, and :func:`inclusion_proof` computes an audit path in the same single pass.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(entry_hash: bytes) -> bytes:
    """The Merkle leaf for an entry: SHA-256(0x00 || entry hash bytes)."""
    return hashlib.sha256(_LEAF_PREFIX + entry_hash).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


class MerkleFrontier:
    """The right edge of an RFC 9162 tree being built leaf by leaf.

    ``stack`` holds the roots of the perfect subtrees that make up the tree, largest first; their
    sizes are the set bits of ``size``.  Appending merges equal-sized subtrees like a binary
    counter carrying; :meth:`root` folds the stack from the right, which is exactly RFC 9162's
    "split at the largest power of two" recursion.
    """

    __slots__ = ("size", "stack")

    def __init__(self, size: int = 0, stack: Sequence[bytes] = ()) -> None:
        """Start empty, or resume from a saved ``size`` and ``stack``."""
        if size < 0 or len(stack) != size.bit_count():
            raise ValueError(f"a frontier of {size} leaves has {size.bit_count()} subtree roots")
        if any(len(node) != HASH_SIZE for node in stack):
            raise ValueError("frontier hashes must be 32 bytes")
        self.size = size
        self.stack = list(stack)

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash (already ``leaf_hash``-ed)."""
        carry, size, stack = leaf, self.size, self.stack
        while size & 1:
            carry = hashlib.sha256(_NODE_PREFIX + stack.pop() + carry).digest()
            size >>= 1
        stack.append(carry)
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Add several leaf hashes in order."""
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        """The tree hash of the leaves so far (``EMPTY_ROOT`` when there are none)."""
        if not self.stack:
            return EMPTY_ROOT
        node = self.stack[-1]
        for left in reversed(self.stack[:-1]):
            node = node_hash(left, node)
        return node

    def to_hex(self) -> str:
        """The stack as one hex string (64 characters per subtree root), for storage."""
        return "".join(node.hex() for node in self.stack)

    @classmethod
    def from_hex(cls, size: int, text: str) -> MerkleFrontier:
        """Rebuild a frontier saved with :meth:`to_hex`; raises ``ValueError`` if inconsistent."""
        width = 2 * HASH_SIZE
        if len(text) % width:
            raise ValueError("frontier text is not a whole number of hashes")
        nodes = [bytes.fromhex(text[i : i + width]) for i in range(0, len(text), width)]
        return cls(size, nodes)

    def copy(self) -> MerkleFrontier:
        """An independent copy."""
        return MerkleFrontier(self.size, self.stack)


def _largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly less than ``n`` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges ``[start, end)`` whose tree hashes form the audit path of ``index``.

    Follows RFC 9162 §2.1.3.1 (PATH(m, D[n])): ordered from the leaf's sibling up to the
    root's other child.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of {size} leaves")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        split = start + _largest_power_of_two_below(end - start)
        if index < split:
            ranges.append((split, end))
            end = split
        else:
            ranges.append((start, split))
            start = split
    ranges.reverse()
    return ranges


def inclusion_proof(leaves: Iterable[bytes], index: int, size: int) -> tuple[list[bytes], bytes]:
    """Audit path of leaf ``index`` and the root, from the first ``size`` leaf hashes.

    One pass over ``leaves``; memory is a few frontiers of at most 64 hashes each.
    """
    ranges = inclusion_ranges(index, size)
    by_start = sorted(range(len(ranges)), key=lambda i: ranges[i][0])
    subtrees = [MerkleFrontier() for _ in ranges]
    whole = MerkleFrontier()
    cursor = 0  # position in by_start of the range the current leaf may belong to
    for position, leaf in enumerate(leaves):
        if position >= size:
            break
        whole.append(leaf)
        while cursor < len(by_start) and ranges[by_start[cursor]][1] <= position:
            cursor += 1
        if cursor < len(by_start) and ranges[by_start[cursor]][0] <= position:
            subtrees[by_start[cursor]].append(leaf)
    if whole.size != size:
        raise ValueError(f"expected {size} leaves, got {whole.size}")
    return [subtree.root() for subtree in subtrees], whole.root()


class MerkleTree:
    """Every level of an RFC 9162 tree, kept to answer many audit paths after one pass.

    Levels are built pairwise with a lone last node promoted unchanged, which yields exactly
    the RFC's tree.  Memory is about 64 bytes per leaf (packed in ``bytearray``s), so this is
    for proving many entries at once; :func:`inclusion_proof` streams one path in O(1) memory.
    """

    def __init__(self, leaves: Iterable[bytes]) -> None:
        """Build the tree over leaf hashes (already ``leaf_hash``-ed)."""
        level = bytearray()
        for leaf in leaves:
            level += leaf
        self.size = len(level) // HASH_SIZE
        self._levels = [level]
        while len(level) > HASH_SIZE:
            level = _parent_level(level)
            self._levels.append(level)

    def root(self) -> bytes:
        """The tree hash (``EMPTY_ROOT`` for no leaves)."""
        return bytes(self._levels[-1]) if self.size else EMPTY_ROOT

    def inclusion_path(self, index: int) -> list[bytes]:
        """The audit path of leaf ``index``, from its sibling up (same as RFC 9162 PATH)."""
        if not 0 <= index < self.size:
            raise ValueError(f"leaf index {index} is outside a tree of {self.size} leaves")
        path = []
        for level in self._levels[:-1]:
            sibling = index ^ 1
            if sibling * HASH_SIZE < len(level):  # a lone last node has no sibling: promoted
                path.append(bytes(level[sibling * HASH_SIZE : (sibling + 1) * HASH_SIZE]))
            index >>= 1
        return path


def _parent_level(level: bytearray) -> bytearray:
    """Hash adjacent pairs of a level; an odd last node moves up unchanged."""
    sha256, width = hashlib.sha256, 2 * HASH_SIZE
    parents = bytearray()
    pairs_end = len(level) - len(level) % width
    for start in range(0, pairs_end, width):
        parents += sha256(_NODE_PREFIX + level[start : start + width]).digest()
    parents += level[pairs_end:]
    return parents


def root_from_inclusion_proof(
    leaf: bytes, index: int, size: int, path: Sequence[bytes]
) -> bytes | None:
    """The root an audit path implies for ``leaf`` (RFC 9162 §2.1.3.2), or None if malformed."""
    if not 0 <= index < size:
        return None
    fn, sn, node = index, size - 1, leaf
    for sibling in path:
        if len(sibling) != HASH_SIZE or sn == 0:
            return None
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            node = node_hash(node, sibling)
        fn >>= 1
        sn >>= 1
    return node if sn == 0 else None
