"""Write evidence: build ledger entries from what a handler knows, and append them."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from github_app.context import HandlerContext
from github_app.core.models import Attribution, PullRequest
from github_app.ledger.entry import LedgerEntry, NewEntry
from github_app.metrics import LEDGER_APPENDS


def new_entry(
    ctx: HandlerContext,
    kind: str,
    *,
    occurred_at: datetime,
    pr: PullRequest | None = None,
    attribution: Attribution | None = None,
    repo: str | None = None,
    repo_id: int | None = None,
    head_sha: str | None = None,
    actor: str | None = None,
    policy_sha: str | None = None,
    data: dict[str, Any] | None = None,
) -> NewEntry:
    """A ledger entry stamped with the delivery, the PR and the attribution."""
    return NewEntry(
        kind=kind,
        occurred_at=occurred_at,
        session_id=attribution.session_id if attribution else None,
        session_derived=attribution.session_derived if attribution else False,
        agent=attribution.agent if attribution and attribution.is_agent else None,
        launched_by=attribution.launched_by if attribution else None,
        repo=pr.repo_full_name if pr else repo,
        repo_id=pr.repo_id if pr else repo_id,
        pr=pr.number if pr else None,
        head_sha=head_sha or (pr.head_sha if pr else None),
        actor=actor,
        delivery_id=ctx.delivery_id,
        payload_sha256=ctx.payload_sha256,
        policy_sha=policy_sha,
        data=data or {},
    )


async def record(ctx: HandlerContext, *entries: NewEntry) -> list[LedgerEntry]:
    """Append entries to the ledger in one transaction."""
    if not entries:
        return []
    written = await asyncio.to_thread(ctx.services.ledger.append_many, list(entries))
    for entry in entries:
        LEDGER_APPENDS.labels(entry.kind).inc()
    await asyncio.to_thread(ctx.services.ledger.maybe_checkpoint)
    return written
