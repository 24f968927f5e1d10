"""RFC 9162 Merkle trees: known answers, a direct transcription of the RFC, and proofs."""

from __future__ import annotations

import hashlib

import pytest

from github_app.ledger.merkle import (
    EMPTY_ROOT,
    MerkleFrontier,
    MerkleTree,
    inclusion_proof,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
)
from tests.support.evidence_reading import merkle_root, verify_inclusion

# The Certificate Transparency test vectors (RFC 6962 trees, same hashing as RFC 9162).
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def rfc_tree_hash(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 9162 §2.1.1 defines it (leaves already leaf-hashed)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    return node_hash(rfc_tree_hash(leaves[:split]), rfc_tree_hash(leaves[split:]))


def rfc_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) exactly as RFC 9162 §2.1.3.1 defines it."""
    if len(leaves) == 1:
        return []
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    if index < split:
        return [*rfc_path(index, leaves[:split]), rfc_tree_hash(leaves[split:])]
    return [*rfc_path(index - split, leaves[split:]), rfc_tree_hash(leaves[:split])]


def leaves_of(count: int) -> list[bytes]:
    return [leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(count)]


@pytest.mark.parametrize("size", range(1, 9))
def test_certificate_transparency_vectors(size: int) -> None:
    assert merkle_root(leaf_hash(data) for data in CT_LEAVES[:size]).hex() == CT_ROOTS[size - 1]


def test_empty_tree_is_the_hash_of_nothing() -> None:
    assert merkle_root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    data = bytes(32)
    assert leaf_hash(data) == hashlib.sha256(b"\x00" + data).digest()
    assert node_hash(data, data) == hashlib.sha256(b"\x01" + data + data).digest()


@pytest.mark.parametrize("size", [*range(0, 34), 63, 64, 65, 100, 257])
def test_streaming_root_equals_the_rfc_definition(size: int) -> None:
    leaves = leaves_of(size)
    assert merkle_root(leaves) == rfc_tree_hash(leaves)


def test_frontier_resumes_from_its_saved_form() -> None:
    leaves = leaves_of(45)
    frontier = MerkleFrontier()
    frontier.extend(leaves[:29])
    saved = frontier.to_hex()
    resumed = MerkleFrontier.from_hex(29, saved)
    resumed.extend(leaves[29:])
    assert resumed.root() == rfc_tree_hash(leaves)
    assert len(saved) == 64 * (29).bit_count()


@pytest.mark.parametrize(("size", "text"), [(3, "00" * 32), (1, "zz"), (-1, "")])
def test_inconsistent_frontiers_are_refused(size: int, text: str) -> None:
    with pytest.raises(ValueError):
        MerkleFrontier.from_hex(size, text)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33])
def test_inclusion_paths_equal_the_rfc_definition_and_verify(size: int) -> None:
    leaves = leaves_of(size)
    root = rfc_tree_hash(leaves)
    for index in range(size):
        path, streamed_root = inclusion_proof(iter(leaves), index, size)
        assert path == rfc_path(index, leaves)
        assert streamed_root == root
        assert verify_inclusion(leaves[index], index, size, path, root)


def test_inclusion_proof_uses_only_the_first_size_leaves() -> None:
    leaves = leaves_of(20)
    path, root = inclusion_proof(iter(leaves), 3, 12)
    assert root == rfc_tree_hash(leaves[:12])
    assert path == rfc_path(3, leaves[:12])


def test_inclusion_ranges_cover_every_other_leaf_once() -> None:
    for size in range(1, 40):
        for index in range(size):
            covered = sorted(
                i for start, end in inclusion_ranges(index, size) for i in range(start, end)
            )
            assert covered == [i for i in range(size) if i != index]


def test_tampered_proofs_do_not_verify() -> None:
    leaves = leaves_of(21)
    index, size = 13, 21
    path, root = inclusion_proof(iter(leaves), index, size)
    assert verify_inclusion(leaves[index], index, size, path, root)
    assert not verify_inclusion(leaves[index + 1], index, size, path, root)  # another leaf
    assert not verify_inclusion(leaves[index], index + 1, size, path, root)  # another position
    assert not verify_inclusion(leaves[index], index, 2 * size, path, root)  # another size
    assert not verify_inclusion(leaves[index], index, size, path[:-1], root)  # truncated
    assert not verify_inclusion(leaves[index], index, size, [*path, path[0]], root)  # extended
    flipped = [path[0][:-1] + bytes([path[0][-1] ^ 1]), *path[1:]]
    assert not verify_inclusion(leaves[index], index, size, flipped, root)
    assert root_from_inclusion_proof(leaves[index], size, size, path) is None  # out of range


def test_a_proof_outside_the_tree_is_refused() -> None:
    with pytest.raises(ValueError):
        inclusion_ranges(5, 5)
    with pytest.raises(ValueError):
        inclusion_proof(iter(leaves_of(3)), 0, 4)  # fewer leaves than the claimed size


@pytest.mark.parametrize("size", [0, 1, 2, 3, 5, 8, 13, 32, 33, 47])
def test_a_kept_tree_answers_every_path_like_the_rfc(size: int) -> None:
    leaves = leaves_of(size)
    tree = MerkleTree(iter(leaves))
    assert tree.size == size
    assert tree.root() == rfc_tree_hash(leaves)
    for index in range(size):
        assert tree.inclusion_path(index) == rfc_path(index, leaves)
    with pytest.raises(ValueError):
        tree.inclusion_path(size)
