"""Build sealed ledger entries in memory (no database) for the pure evidence tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from github_app.ledger import GENESIS_HASH, LedgerEntry, NewEntry
from github_app.ledger.checkpoints import Checkpoint, CheckpointSigner
from github_app.ledger.merkle import leaf_hash
from tests.support.evidence_reading import merkle_root

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def build_chain(specs: list[dict[str, Any]]) -> list[LedgerEntry]:
    """Seal ``specs`` (``NewEntry`` fields; ``occurred_at`` defaults to T0 + seq minutes)."""
    entries: list[LedgerEntry] = []
    prev = GENESIS_HASH
    for seq, spec in enumerate(specs, start=1):
        fields = {"occurred_at": T0 + timedelta(minutes=seq)} | spec
        entry = LedgerEntry.seal(
            NewEntry.model_validate(fields),
            seq=seq,
            id=f"id-{seq}",
            recorded_at=T0 + timedelta(days=1),
            prev_hash=prev,
        )
        entries.append(entry)
        prev = entry.hash
    return entries


def entry(kind: str, seq: int = 1, **fields: Any) -> LedgerEntry:
    """One sealed entry at position ``seq`` (its hash links to nothing real)."""
    new = NewEntry.model_validate({"kind": kind, "occurred_at": T0} | fields)
    return LedgerEntry.seal(new, seq=seq, id=f"id-{seq}", recorded_at=T0, prev_hash=GENESIS_HASH)


def new_signer() -> CheckpointSigner:
    """A throwaway checkpoint signer."""
    return CheckpointSigner(Ed25519PrivateKey.generate())


def checkpoint_of(entries: list[LedgerEntry], signer: CheckpointSigner) -> Checkpoint:
    """A signed checkpoint over ``entries``."""
    root = merkle_root(leaf_hash(bytes.fromhex(e.hash)) for e in entries)
    return signer.sign(
        size=len(entries),
        root_hash=root.hex(),
        head_hash=entries[-1].hash,
        created_at=T0 + timedelta(days=2),
    )
