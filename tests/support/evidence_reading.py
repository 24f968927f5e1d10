"""Readers the tests use to check what the App writes (the App itself never needs them).

The inverse of the CSV export, the Merkle root of a whole list of leaves, proof checking against a
known root, and the change rows of a list of entries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from github_app.evidence.csvsafe import restore
from github_app.evidence.encode import CSV_COLUMNS
from github_app.evidence.population import CHANGE_KINDS, ChangeFlags, ChangeRow, change_row
from github_app.ledger.entry import LedgerEntry
from github_app.ledger.merkle import MerkleFrontier, root_from_inclusion_proof


def record_from_csv(row: dict[str, str]) -> dict[str, Any]:
    """Turn a CSV row (as ``csv.DictReader`` reads it) back into an entry record.

    Cells come back as written: the apostrophe that neutralised a formula is removed.
    """
    cells = {col: restore(row.get(col) or "") for col in CSV_COLUMNS}
    record: dict[str, Any] = {col: (cells[col] or None) for col in CSV_COLUMNS}
    for column in ("seq", "repo_id", "pr"):
        if record[column] is not None:
            record[column] = int(record[column])
    record["session_derived"] = cells["session_derived"] == "true"
    record["data"] = json.loads(cells["data"]) if cells["data"] else {}
    return record


def merkle_root(leaves: Iterable[bytes]) -> bytes:
    """RFC 9162 tree hash of leaf hashes, in one streaming pass."""
    frontier = MerkleFrontier()
    frontier.extend(leaves)
    return frontier.root()


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """True when ``path`` proves ``leaf`` is at ``index`` in the tree of ``size`` with ``root``."""
    return root_from_inclusion_proof(leaf, index, size, path) == root


def change_rows(entries: Iterable[LedgerEntry], flags: ChangeFlags) -> list[ChangeRow]:
    """Rows for every change entry among ``entries``, in ledger order."""
    return [change_row(entry, flags) for entry in entries if entry.kind in CHANGE_KINDS]
