"""Whether a ledger entry served to a reader still matches its hash (pure).

The ledger's triggers refuse rewrites, but a database owner can drop them.  Every read that
serves an entry (API, console, CLI) recomputes the entry's hash from its fields and marks the
result: ``"ok"`` when it matches, ``"altered"`` when it does not — so an altered entry is shown
flagged instead of silently.  A full ``verify`` also checks the chain links and the signed
checkpoints; this per-entry check is what every view can afford.
"""

from __future__ import annotations

from typing import Literal

from github_app.ledger.entry import LedgerEntry

Integrity = Literal["ok", "altered"]
ALTERED: Integrity = "altered"


def integrity_of(entry: LedgerEntry) -> Integrity:
    """``"ok"`` when the stored hash covers the stored fields, else ``"altered"``."""
    try:
        return "ok" if entry.computed_hash() == entry.hash else ALTERED
    except (TypeError, ValueError):  # a field the ledger never writes: altered too
        return ALTERED
