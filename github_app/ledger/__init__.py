"""The tamper-evident evidence ledger.

A hash chain of entries in one global sequence, RFC 9162 Merkle roots in Ed25519-signed
checkpoints, inclusion proofs an auditor can check offline, and a streaming ``verify`` that names
the first entry that no longer matches.  The pure parts (``entry``, ``merkle``, ``proof``,
``verification``) do no I/O; :class:`Ledger` wires them to the store.
"""

from github_app.ledger.checkpoints import (
    Checkpoint,
    CheckpointSigner,
    SigningKeyError,
    load_or_create_signing_key,
    open_signing_key,
)
from github_app.ledger.entry import ENTRY_KINDS, GENESIS_HASH, EntryKind, LedgerEntry, NewEntry
from github_app.ledger.proof import InclusionProof, verify_proof_offline
from github_app.ledger.verification import VerifyReport

__all__ = [
    "ENTRY_KINDS",
    "GENESIS_HASH",
    "Checkpoint",
    "CheckpointSigner",
    "EntryKind",
    "InclusionProof",
    "LedgerEntry",
    "NewEntry",
    "SigningKeyError",
    "VerifyReport",
    "load_or_create_signing_key",
    "open_signing_key",
    "verify_proof_offline",
]
