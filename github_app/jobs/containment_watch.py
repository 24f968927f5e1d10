"""Containment takes effect within seconds: re-evaluate every open PR when it changes.

A freeze, an unfreeze or a session revocation can come from the API (this process) or the CLI
or another replica (the shared database).  A cheap fingerprint of the containment tables is
polled every few seconds; when it changes, every open pull request of every installation is
re-evaluated — the passing ones first (:mod:`github_app.jobs.containment_sweep`) — so open
agent PRs block (or unblock) without waiting for their next event.

Every replica polls, but one contains: the re-evaluation runs under the job's work lock, and the
fingerprint it contained is left in ``sync_cursors`` (``job:containment``).  A replica that
sees a change another replica is containing, or has contained, does not send GitHub the same
calls again; a replica that dies mid-way leaves the old fingerprint, so another one redoes it.
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from github_app.context import AppServices
from github_app.jobs.containment_sweep import contain_everywhere
from github_app.jobs.coordination import finished_cursor
from github_app.logs import get_logger
from github_app.state import cursors
from github_app.store import tables
from github_app.store.database import Database

log = get_logger(__name__)

POLL_SECONDS = 5.0
JOB = "containment"

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
        (GitHub down, say) is tried again at the next check.  While another replica holds the
        job it returns 0 and looks again at the next poll.
        """
        async with self._lock:
            services = self._services
            current = await asyncio.to_thread(containment_fingerprint, services.db)
            if current == self._seen:
                return 0
            async with services.locks.try_hold("job", JOB) as taken:
                if not taken:
                    log.info("containment_elsewhere", fingerprint=current)
                    return 0
                return await self._contain(current)

    async def _contain(self, current: Fingerprint) -> int:
        db, marker = self._services.db, _encode(current)
        if await asyncio.to_thread(cursors.read, db, finished_cursor(JOB)) == marker:
            self._seen = current  # another replica contained this very state
            return 0
        log.info("containment_changed", fingerprint=current)
        count = await contain_everywhere(self._services)
        await asyncio.to_thread(cursors.write, db, finished_cursor(JOB), marker)
        self._seen = current
        return count


def _encode(fingerprint: Fingerprint) -> str:
    return ":".join(str(part) for part in fingerprint)
