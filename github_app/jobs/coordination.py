"""Periodic work done once across replicas, not once per replica.

Every replica runs the same scheduler.  Without coordination two replicas sweep the same pull
requests one after the other and send GitHub every call twice.  A *shared* run holds the job's
work lock (one replica at a time; :mod:`github_app.state.locks`) and, when it finishes, leaves
the time in ``sync_cursors`` (``job:<name>``): a replica whose turn comes shortly after another
replica's run sees it and skips its own.  A replica that dies mid-run releases the lock with its
connection and leaves no finish time, so the next replica's turn does the work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from github_app.context import AppServices
from github_app.logs import get_logger
from github_app.state import cursors

log = get_logger(__name__)

# A replica's first run (at its start-up) is skipped only if another replica finished the job
# this recently: after a longer outage the start-up run is what catches up on missed events.
STARTUP_GAP = timedelta(minutes=2)


def finished_cursor(name: str) -> str:
    """The ``sync_cursors`` name holding when job ``name`` last finished (any replica)."""
    return f"job:{name}"


async def run_shared(
    services: AppServices, name: str, gap: timedelta, run: Callable[[], Awaitable[Any]]
) -> Any:
    """Run ``run()`` unless another replica is running job ``name`` or finished it less than
    ``gap`` ago; returns its result, or ``None`` when skipped."""
    async with services.locks.try_hold("job", name) as taken:
        if not taken:
            log.info("job_skipped", job=name, reason="another replica is running it")
            return None
        last = None
        if gap > timedelta(0):
            last = await asyncio.to_thread(cursors.read, services.db, finished_cursor(name))
        if last is not None and _age(last) < gap:
            log.info("job_skipped", job=name, reason="another replica ran it", finished_at=last)
            return None
        result = await run()
        now = datetime.now(UTC).isoformat()
        await asyncio.to_thread(cursors.write, services.db, finished_cursor(name), now)
        return result


def shared_job(
    services: AppServices,
    name: str,
    interval_seconds: float,
    run: Callable[[], Awaitable[Any]],
    *,
    skip_recent: bool = True,
) -> Callable[[], Awaitable[Any]]:
    """``run`` as a periodic job shared by the replicas: the start-up run is skipped if the job
    finished within :data:`STARTUP_GAP`, later runs if it finished within 90 % of the interval
    (a little slack, so replicas' turns drifting apart do not skip a whole period).
    ``skip_recent=False`` only keeps two replicas from running it at once: for a job that finds
    its own work in the store, so that a run just after another's costs GitHub nothing."""
    interval = timedelta(seconds=interval_seconds)
    first = True

    async def once() -> Any:
        nonlocal first
        if not skip_recent:
            gap = timedelta(0)
        else:
            gap = min(interval, STARTUP_GAP) if first else interval * 0.9
        first = False
        return await run_shared(services, name, gap, run)

    return once


def _age(stamp: str) -> timedelta:
    try:
        finished = datetime.fromisoformat(stamp)
    except ValueError:
        return timedelta.max  # unreadable: as if never run
    if finished.tzinfo is None:
        finished = finished.replace(tzinfo=UTC)
    return datetime.now(UTC) - finished
