"""Inclusion proofs for single entries, and their offline verification (pure; no I/O).

An auditor who samples one entry gets an :class:`InclusionProof`: the entry with all its fields,
its leaf index, the RFC 9162 audit path to the Merkle root of a signed checkpoint, and the
checkpoint itself.  :func:`verify_proof_offline` needs nothing but that JSON and the ledger's
published public key — no database, no trust in the server that produced the proof.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from github_app.ledger.checkpoints import (
    Checkpoint,
    key_id_of,
    load_public_key_pem,
    signature_is_valid,
)
from github_app.ledger.entry import LedgerEntry
from github_app.ledger.merkle import leaf_hash, root_from_inclusion_proof

PROOF_FORMAT = "countersign-inclusion-proof/v1"


class InclusionProof(BaseModel):
    """Everything needed to check one entry against a signed checkpoint, offline."""

    model_config = ConfigDict(frozen=True)

    format: Literal["countersign-inclusion-proof/v1"] = PROOF_FORMAT
    entry: LedgerEntry
    leaf_index: int  # seq - 1
    tree_size: int  # the checkpoint's size
    audit_path: list[str]  # hex hashes, from the leaf's sibling up (RFC 9162 §2.1.3.1)
    root_hash: str  # hex Merkle root the path leads to
    checkpoint: Checkpoint
    public_key_pem: str  # the key that signed the checkpoint, as the server knows it


def verify_proof_offline(
    proof: Mapping[str, Any] | InclusionProof, public_key_pem: str
) -> tuple[bool, str]:
    """Check an inclusion proof with only the trusted public key; returns (ok, reason).

    Checks, in order: the proof parses; the checkpoint is signed by ``public_key_pem`` (not
    the key embedded in the proof); the entry's hash matches its fields; the audit path leads
    from the entry to the checkpoint's Merkle root; and the last entry of the checkpoint is its
    chain head.
    """
    try:
        parsed = (
            proof if isinstance(proof, InclusionProof) else InclusionProof.model_validate(proof)
        )
    except ValidationError as error:
        return False, f"malformed proof: {error.error_count()} invalid field(s)"
    try:
        public_key = load_public_key_pem(public_key_pem)
    except ValueError as error:
        return False, f"unusable public key: {error}"
    return _verify_parsed(parsed, public_key)


def _verify_parsed(proof: InclusionProof, public_key: Any) -> tuple[bool, str]:
    """The checks of :func:`verify_proof_offline` on a parsed proof and loaded key."""
    checkpoint, entry = proof.checkpoint, proof.entry
    key_id = key_id_of(public_key)
    if checkpoint.key_id != key_id:
        return False, f"checkpoint was signed by key {checkpoint.key_id}, not by key {key_id}"
    if not signature_is_valid(checkpoint, public_key):
        return False, "checkpoint signature invalid"
    if entry.computed_hash() != entry.hash:
        return False, f"entry {entry.seq} was altered (hash mismatch)"
    if proof.leaf_index != entry.seq - 1:
        return False, f"leaf index {proof.leaf_index} is not entry {entry.seq}'s position"
    if proof.tree_size != checkpoint.size or proof.root_hash != checkpoint.root_hash:
        return False, "the proof is not about the signed checkpoint (size or root differs)"
    try:
        path = [bytes.fromhex(node) for node in proof.audit_path]
        leaf = leaf_hash(bytes.fromhex(entry.hash))
    except ValueError:
        return False, "malformed audit path (not hex)"
    implied_root = root_from_inclusion_proof(leaf, proof.leaf_index, proof.tree_size, path)
    if implied_root is None or implied_root.hex() != checkpoint.root_hash:
        return False, "audit path does not lead to the checkpoint's Merkle root"
    if entry.seq == checkpoint.size and entry.hash != checkpoint.head_hash:
        return False, "the checkpoint's head hash is not this entry's hash"
    return True, (
        f"entry {entry.seq} is included in the checkpoint of size {checkpoint.size} "
        f"signed by key {key_id}"
    )
