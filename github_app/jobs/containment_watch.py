"""Containment takes effect within seconds: re-evaluate every open PR when it changes.

A freeze, an unfreeze or a session revocation can come from the API (this process) or the CLI
or another replica (the shared database).  A cheap fingerprint of the containment tables is
polled every few seconds; when it changes, every open pull request of every installation is
re-evaluated — the passing ones first (:mod:`github_app.jobs.containment_sweep`) — so open
agent PRs block (or unblock) without waiting for their next event.
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from github_app.context import AppServices
from github_app.jobs.containment_sweep import contain_everywhere
from github_app.logs import get_logger
from github_app.store import tables
from github_app.store.database import Database

log = get_logger(__name__)

POLL_SECONDS = 5.0

Fingerprint = tuple[int, int, int]


def containment_fingerprint(db: Database) -> Fingerprint:
    """Freezes started, freezes lifted, sessions revoked: any change means re-evaluate."""
    freezes, revoked = tables.freezes, tables.revoked_sessions
    query = sa.select(
        sa.select(sa.func.count()).select_from(freezes).scalar_subquery(),
        sa.select(sa.func.count())
        .select_from(freezes)
        .where(freezes.c.lifted_at.is_not(None))
        .scalar_subquery(),
        sa.select(sa.func.count()).select_from(revoked).scalar_subquery(),
    )
    with db.connect() as conn:
        started, lifted, revocations = conn.execute(query).one()
    return int(started), int(lifted), int(revocations)


class ContainmentWatch:
    """Remembers the last fingerprint and re-evaluates open PRs when it moves."""

    def __init__(self, services: AppServices) -> None:
        self._services = services
        self._seen: Fingerprint | None = None
        self._lock = asyncio.Lock()

    async def prime(self) -> None:
        """Take the current state as the baseline at start-up.

        An active freeze at start-up (set by the CLI while no server ran, say) leaves no
        baseline, so the first check re-evaluates every open pull request.
        """
        current = await asyncio.to_thread(containment_fingerprint, self._services.db)
        started, lifted, _revocations = current
        self._seen = None if started > lifted else current

    async def check(self) -> int:
        """Re-evaluate every open PR if containment changed; returns how many were.

        The new state is remembered only once the sweep finished, so a sweep that failed
        (GitHub down, say) is tried again at the next check.
        """
        async with self._lock:
            current = await asyncio.to_thread(containment_fingerprint, self._services.db)
            if current == self._seen:
                return 0
            log.info("containment_changed", fingerprint=current)
            count = await contain_everywhere(self._services)
            self._seen = current
            return count
