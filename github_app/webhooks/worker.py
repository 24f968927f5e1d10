"""The worker: claims stored deliveries and runs them through the event routers.

Deliveries for one repository are processed in arrival order (a review must not overtake the push
it reviews); different repositories run concurrently.  An exception schedules a retry with
backoff; nothing is dropped.  Deliveries left half-done by a crash are claimed again once their
lease expires (another replica) or at once (the same replica restarted: it releases the leases
held in its name when it starts).  Leases are short and renewed by a heartbeat while work runs.
A busy database (another writer holds SQLite's lock, a PostgreSQL serialisation failure) is an
expected condition: the worker tries again shortly and logs it at debug level only.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from contextlib import suppress
from functools import partial

from github_app.logs import get_logger
from github_app.metrics import DELIVERIES_PROCESSED, DELIVERY_SECONDS, INBOX_PENDING
from github_app.store.database import is_contention
from github_app.webhooks.inbox import LEASE, Delivery, Inbox

log = get_logger(__name__)

Processor = Callable[[Delivery], Awaitable[None]]
HEARTBEAT_SECONDS = LEASE.total_seconds() / 4
BUSY_RETRY_SECONDS = 0.2


def ordering_key(delivery: Delivery) -> str:
    """Deliveries sharing a key are processed one at a time, in order."""
    if delivery.repo_id is not None:
        return f"repo:{delivery.repo_id}"
    return f"installation:{delivery.installation_id}"


class Worker:
    """Background task that drains the inbox."""

    def __init__(
        self,
        inbox: Inbox,
        process: Processor,
        *,
        concurrency: int = 4,
        poll_seconds: float = 5.0,
        replica: str | None = None,
    ) -> None:
        self._inbox = inbox
        self._replica = replica
        self._in_flight: set[str] = set()
        self._process = process
        self._concurrency = concurrency
        self._poll_seconds = poll_seconds
        self._wakeup = asyncio.Event()
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Ask the worker to look at the inbox now (called after a delivery is stored)."""
        self._wakeup.set()

    def start(self) -> None:
        """Start draining (and renewing leases) in the background."""
        self._task = asyncio.create_task(self._run(), name="countersign-worker")
        self._heartbeat = asyncio.create_task(self._renew_leases(), name="countersign-leases")

    async def stop(self) -> None:
        """Stop after the current batch; unfinished deliveries stay in the inbox."""
        for task in (self._task, getattr(self, "_heartbeat", None)):
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task

    async def reclaim_own_leases(self) -> int:
        """Make deliveries this replica held when it last stopped (a crash) due again now."""
        if self._replica is None:
            return 0
        released = await asyncio.to_thread(self._inbox.release_leases_of, self._replica)
        if released:
            log.info("leases_reclaimed", replica=self._replica, deliveries=released)
        return released

    async def drain(self) -> int:
        """Process every delivery that is due now; returns how many were handled."""
        handled = 0
        while batch := await self._claim():
            await asyncio.gather(*(self._handle(delivery) for delivery in batch))
            handled += len(batch)
        INBOX_PENDING.set(await asyncio.to_thread(self._inbox.pending_count))
        return handled

    async def _claim(self) -> list[Delivery]:
        """Lease the next batch; a busy database is waited out quietly."""
        while True:
            try:
                return await asyncio.to_thread(
                    self._inbox.claim, self._concurrency * 4, self._replica
                )
            except Exception as error:
                if not is_contention(error):
                    raise
                log.debug("inbox_busy", during="claim")
                await asyncio.sleep(BUSY_RETRY_SECONDS)

    async def _settle(self, settle: Callable[[], object]) -> object:
        """Run a settling write, waiting out a busy database quietly."""
        while True:
            try:
                return await asyncio.to_thread(settle)
            except Exception as error:
                if not is_contention(error):
                    raise
                log.debug("inbox_busy", during="settle")
                await asyncio.sleep(BUSY_RETRY_SECONDS)

    async def _renew_leases(self) -> None:
        """Heartbeat: keep the leases of deliveries being worked on from running out."""
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await asyncio.to_thread(self._inbox.renew, sorted(self._in_flight), self._replica)
            except Exception as error:  # a missed beat is harmless; the next one renews
                log.debug("lease_renewal_failed", error=type(error).__name__)

    async def _run(self) -> None:
        try:
            await self.reclaim_own_leases()
        except Exception as error:  # the leases then simply run out
            log.warning("lease_reclaim_failed", error=type(error).__name__)
        while True:
            try:
                await self.drain()
            except Exception as error:  # the store may be briefly unreachable; keep the loop alive
                if is_contention(error):
                    log.debug("inbox_busy", during="drain")
                else:
                    log.exception("worker_drain_failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self._poll_seconds)
            self._wakeup.clear()

    async def _handle(self, delivery: Delivery) -> None:
        self._in_flight.add(delivery.delivery_id)
        try:
            await self._handle_in_order(delivery)
        finally:
            self._in_flight.discard(delivery.delivery_id)

    async def _handle_in_order(self, delivery: Delivery) -> None:
        async with self._locks[ordering_key(delivery)]:
            started = time.perf_counter()
            try:
                await self._process(delivery)
            except Exception as error:
                reason = f"{type(error).__name__}: {error}"
                status = await self._settle(partial(self._inbox.mark_failed, delivery, reason))
                DELIVERIES_PROCESSED.labels(
                    delivery.event, "dead" if status == "dead" else "retry"
                ).inc()
                report = log.debug if is_contention(error) else log.exception
                report(
                    "delivery_failed",
                    delivery_id=delivery.delivery_id,
                    event_name=delivery.event,
                    attempts=delivery.attempts,
                    status=status,
                )
                return
            await self._settle(partial(self._inbox.mark_done, delivery.delivery_id))
            DELIVERIES_PROCESSED.labels(delivery.event, "done").inc()
            DELIVERY_SECONDS.labels(delivery.event).observe(time.perf_counter() - started)
