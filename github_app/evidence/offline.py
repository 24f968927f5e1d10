"""Verify an export with nothing but its records and the checkpoint it carries (pure).

This is what an auditor does with a JSONL or CSV export, away from the App: recompute each
entry's hash from its fields, check every ``prev_hash`` links to the previous entry, then check
the checkpoint — its Ed25519 signature, that its ``head_hash`` is the hash of entry ``size``,
and that the RFC 9162 Merkle root over the first ``size`` entry hashes is its ``root_hash``.
Records stream through; only the Merkle frontier (at most 64 hashes) is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from github_app.ledger.checkpoints import Checkpoint, public_key_from_hex, signature_is_valid
from github_app.ledger.entry import GENESIS_HASH, canonical_values, hash_canonical
from github_app.ledger.merkle import MerkleFrontier, leaf_hash

NO_CHECKPOINT = (
    "the export carries no signed checkpoint, so nothing ties its entries to the trusted key "
    "(export again once a checkpoint is signed, or use `evidence prove`)"
)


@dataclass(frozen=True)
class ExportVerification:
    """The outcome; ``first_broken_seq`` names the first entry that does not match."""

    entries: int
    ok: bool
    first_broken_seq: int | None = None
    problem: str | None = None
    checkpoint_size: int | None = None


def verify_export(
    records: Iterable[dict[str, Any]],
    checkpoint: dict[str, Any] | None,
    *,
    trusted_public_key_hex: str | None = None,
) -> ExportVerification:
    """Check a full export (entries from seq 1, in order) against its checkpoint.

    ``trusted_public_key_hex`` pins the signing key, and then an export without a checkpoint
    fails; without it the key in the checkpoint is used (or, with no checkpoint, only the
    chain is checked), which proves integrity but not origin.
    """
    signed = Checkpoint.model_validate(checkpoint) if checkpoint else None
    frontier, previous, count, head_at_size = MerkleFrontier(), GENESIS_HASH, 0, None
    for record in records:
        count += 1
        seq = record.get("seq")
        problem = _entry_problem(record, count, previous)
        if problem:
            return ExportVerification(count - 1, False, seq, problem)
        previous = record["hash"]
        if signed is not None and count <= signed.size:
            frontier.append(leaf_hash(bytes.fromhex(previous)))
            if count == signed.size:
                head_at_size = previous
    if signed is None and trusted_public_key_hex is not None:
        # Without a signed checkpoint anyone could have written these entries: nothing ties
        # them to the trusted key, so the check fails closed.
        return ExportVerification(count, False, None, NO_CHECKPOINT)
    if signed is None:
        return ExportVerification(count, True)
    problem = _checkpoint_problem(signed, frontier, head_at_size, trusted_public_key_hex)
    if problem:
        return ExportVerification(count, False, None, problem, signed.size)
    return ExportVerification(count, True, checkpoint_size=signed.size)


def _entry_problem(record: dict[str, Any], expected_seq: int, previous: str) -> str | None:
    """Why this record breaks the chain, or None."""
    if record.get("seq") != expected_seq:
        return f"expected seq {expected_seq}, found {record.get('seq')!r}"
    if record.get("prev_hash") != previous:
        return f"entry {expected_seq}: prev_hash does not link to the previous entry"
    try:
        recomputed = hash_canonical(canonical_values(record))
    except (KeyError, TypeError, ValueError) as error:
        return f"entry {expected_seq}: fields cannot be encoded ({error})"
    if recomputed != record.get("hash"):
        return f"entry {expected_seq}: hash does not match its fields"
    return None


def _checkpoint_problem(
    signed: Checkpoint,
    frontier: MerkleFrontier,
    head_at_size: str | None,
    trusted_public_key_hex: str | None,
) -> str | None:
    """Why the checkpoint does not vouch for these entries, or None."""
    key_hex = trusted_public_key_hex or signed.public_key
    if trusted_public_key_hex and trusted_public_key_hex != signed.public_key:
        return "checkpoint was signed by a different key than the trusted one"
    try:
        key = public_key_from_hex(key_hex)
    except ValueError:
        return "checkpoint public key is malformed"
    if not signature_is_valid(signed, key):
        return "checkpoint signature is invalid"
    if frontier.size != signed.size:
        return f"export has {frontier.size} entries, checkpoint covers {signed.size}"
    if head_at_size != signed.head_hash:
        return f"entry {signed.size}: hash differs from the checkpoint's head_hash"
    if frontier.root().hex() != signed.root_hash:
        return "Merkle root of the exported entries differs from the checkpoint's root_hash"
    return None
