"""Record evidence: stamp entries with the delivery being handled and append them to the ledger."""

from __future__ import annotations

import asyncio
from typing import Any

from github_app.context import AppServices, HandlerContext
from github_app.evidence.pr_entries import delivery_key, keyed, make_entry
from github_app.ledger.entry import LedgerEntry, NewEntry
from github_app.logs import get_logger
from github_app.metrics import LEDGER_APPENDS
from github_app.state.decisions import PrRecord

log = get_logger(__name__)


def new_entry(ctx: HandlerContext, kind: str, **fields: Any) -> NewEntry:
    """A ledger entry stamped with this delivery (see ``evidence.pr_entries.make_entry``)."""
    return make_entry(ctx.stamp, kind, **fields)


async def record(
    ctx: HandlerContext, *entries: NewEntry, state: PrRecord | None = None
) -> list[LedgerEntry]:
    """Append entries to the ledger in one transaction, with ``state`` (the PR's new decision
    record) when given: evidence and state change together or not at all.

    Appends are idempotent: every entry carries the key of the effect it records (or, failing
    that, of this delivery, its kind and subject), and an effect already in the ledger is not
    written again — so a retried or duplicated delivery adds nothing.  Checkpointing is not
    part of the append: it runs afterwards, and its failure is logged, never raised, so it can
    never make a retry append the same entries again.
    """
    keyed_entries = [keyed(entry, delivery_key(entry)) for entry in entries]
    if not keyed_entries and state is None:
        return []
    written = await asyncio.to_thread(_append_with_state, ctx.services, keyed_entries, state)
    for entry in keyed_entries:
        LEDGER_APPENDS.labels(entry.kind).inc()
    await checkpoint_quietly(ctx.services)
    return written


def _append_with_state(
    services: AppServices, entries: list[NewEntry], state: PrRecord | None
) -> list[LedgerEntry]:
    with services.db.write_transaction() as conn:
        written = services.ledger.append_many(entries, conn=conn) if entries else []
        if state is not None:
            services.decisions.put(state, conn=conn)
    return written


async def checkpoint_quietly(services: AppServices) -> None:
    """Sign a checkpoint if one is due; a failure is logged (the periodic job tries again)."""
    try:
        await asyncio.to_thread(services.ledger.maybe_checkpoint)
    except Exception as error:  # the entries are safely stored: never fail their delivery
        log.error("checkpoint_failed", error=f"{type(error).__name__}: {error}")
