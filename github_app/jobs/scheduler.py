"""An asyncio scheduler for the periodic jobs, started and stopped with the server.

Each job runs once at start-up and then every ``interval_seconds`` after the previous run ended
(runs never overlap).  A failing run is logged and the job carries on; stopping cancels the
waits and any run in progress.

Wiring (done by the server)::

    scheduler = Scheduler(default_jobs(services))
    scheduler.start()
    ...
    await scheduler.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from github_app.context import AppServices
from github_app.jobs.containment_watch import POLL_SECONDS as CONTAINMENT_POLL_SECONDS
from github_app.jobs.containment_watch import ContainmentWatch
from github_app.jobs.coordination import shared_job
from github_app.jobs.denials import pull_denials_safely
from github_app.jobs.installations import for_each_repository
from github_app.jobs.sweep import SWEEP_JOB, sweep_every_repository
from github_app.jobs.witness import witness_checkpoints
from github_app.logs import get_logger
from github_app.sessions.records import FLUSH_AFTER_SECONDS
from github_app.state.agent_sessions import AgentSessions

log = get_logger(__name__)

DENIALS_INTERVAL_SECONDS = 3600.0


@dataclass(frozen=True)
class PeriodicJob:
    """A named coroutine run every ``interval_seconds``."""

    name: str
    interval_seconds: float
    run: Callable[[], Awaitable[object]]


class SchedulerServices(AppServices, Protocol):
    """The shared services plus the containment watch the periodic jobs drive."""

    containment_watch: ContainmentWatch


def default_jobs(services: SchedulerServices) -> list[PeriodicJob]:
    """Containment watch (5 s), rule-suite import (hourly), sweep (COUNTERSIGN_SWEEP_MINUTES),
    a ledger checkpoint every COUNTERSIGN_CHECKPOINT_MINUTES, so the last entries of a
    quiet period are signed too (appends only checkpoint when one is due), and the witness job
    (publishes new checkpoints to COUNTERSIGN_WITNESS_REPO) as often.

    The jobs that call GitHub are shared by the replicas (:mod:`github_app.jobs.coordination`):
    one replica runs each per period; the containment watch coordinates itself the same way.
    The checkpoint job only touches the store, where the ledger serialises it."""

    async def checkpoint() -> object:
        return await asyncio.to_thread(services.ledger.maybe_checkpoint)

    async def denials() -> object:
        return await for_each_repository(services, pull_denials_safely)

    async def sweep() -> object:
        return await sweep_every_repository(services)

    async def witness() -> object:
        return await witness_checkpoints(services)

    sweep_seconds = services.settings.countersign_sweep_minutes * 60
    checkpoint_seconds = services.settings.countersign_checkpoint_minutes * 60

    async def agent_operations() -> object:
        # Quiet sessions' buffered operations reach the ledger within FLUSH_AFTER_SECONDS.
        return await asyncio.to_thread(
            AgentSessions(services.db, services.ledger).flush_waiting,
            datetime.now(UTC),
            timedelta(seconds=FLUSH_AFTER_SECONDS),
        )

    return [
        PeriodicJob("containment", CONTAINMENT_POLL_SECONDS, services.containment_watch.check),
        PeriodicJob("agent_operations", FLUSH_AFTER_SECONDS / 2, agent_operations),
        PeriodicJob(
            "pull_denials",
            DENIALS_INTERVAL_SECONDS,
            shared_job(services, "pull_denials", DENIALS_INTERVAL_SECONDS, denials),
        ),
        PeriodicJob(
            SWEEP_JOB, sweep_seconds, shared_job(services, SWEEP_JOB, sweep_seconds, sweep)
        ),
        PeriodicJob("checkpoint", checkpoint_seconds, checkpoint),
        PeriodicJob(
            "witness",
            checkpoint_seconds,
            shared_job(services, "witness", checkpoint_seconds, witness, skip_recent=False),
        ),
    ]


async def run_once(job: PeriodicJob) -> bool:
    """Run a job one time; ``True`` if it finished without an exception."""
    try:
        await job.run()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("job_failed", job=job.name)
        return False
    log.info("job_finished", job=job.name)
    return True


class Scheduler:
    """Runs each job in its own task until stopped."""

    def __init__(self, jobs: list[PeriodicJob]) -> None:
        """Schedule ``jobs``; nothing runs until :meth:`start`."""
        self.jobs = jobs
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return bool(self._tasks)

    def start(self) -> None:
        """Start every job now (in the running event loop)."""
        self._tasks = [
            asyncio.create_task(self._loop(job), name=f"countersign-job-{job.name}")
            for job in self.jobs
        ]

    async def stop(self) -> None:
        """Cancel every job and wait for the tasks to end."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _loop(self, job: PeriodicJob) -> None:
        while True:
            await run_once(job)
            await asyncio.sleep(job.interval_seconds)
