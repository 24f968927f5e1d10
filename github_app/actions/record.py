"""Record evidence: stamp entries with the delivery being handled and append them to the ledger."""

from __future__ import annotations

import asyncio
from typing import Any

from github_app.context import HandlerContext
from github_app.evidence.pr_entries import make_entry
from github_app.ledger.entry import LedgerEntry, NewEntry
from github_app.metrics import LEDGER_APPENDS


def new_entry(ctx: HandlerContext, kind: str, **fields: Any) -> NewEntry:
    """A ledger entry stamped with this delivery (see ``evidence.pr_entries.make_entry``)."""
    return make_entry(ctx.stamp, kind, **fields)


async def record(ctx: HandlerContext, *entries: NewEntry) -> list[LedgerEntry]:
    """Append entries to the ledger in one transaction."""
    if not entries:
        return []
    written = await asyncio.to_thread(ctx.services.ledger.append_many, list(entries))
    for entry in entries:
        LEDGER_APPENDS.labels(entry.kind).inc()
    await asyncio.to_thread(ctx.services.ledger.maybe_checkpoint)
    return written
