"""The worker: claims stored deliveries and runs them through the event routers.

Deliveries for one repository are processed in arrival order (a review must not overtake the push
it reviews); different repositories run concurrently.  An exception schedules a retry with
backoff; nothing is dropped.  Deliveries left half-done by a crash are claimed again once their
lease expires, so a restart resumes where the last process stopped.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from contextlib import suppress

from github_app.logs import get_logger
from github_app.metrics import DELIVERIES_PROCESSED, DELIVERY_SECONDS, INBOX_PENDING
from github_app.webhooks.inbox import Delivery, Inbox

log = get_logger(__name__)

Processor = Callable[[Delivery], Awaitable[None]]


def ordering_key(delivery: Delivery) -> str:
    """Deliveries sharing a key are processed one at a time, in order."""
    if delivery.repo_id is not None:
        return f"repo:{delivery.repo_id}"
    return f"installation:{delivery.installation_id}"


class Worker:
    """Background task that drains the inbox."""

    def __init__(
        self, inbox: Inbox, process: Processor, *, concurrency: int = 4, poll_seconds: float = 5.0
    ) -> None:
        self._inbox = inbox
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
        """Start draining in the background."""
        self._task = asyncio.create_task(self._run(), name="countersign-worker")

    async def stop(self) -> None:
        """Stop after the current batch; unfinished deliveries stay in the inbox."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    async def drain(self) -> int:
        """Process every delivery that is due now; returns how many were handled."""
        handled = 0
        while batch := await asyncio.to_thread(self._inbox.claim, self._concurrency * 4):
            await asyncio.gather(*(self._handle(delivery) for delivery in batch))
            handled += len(batch)
        INBOX_PENDING.set(await asyncio.to_thread(self._inbox.pending_count))
        return handled

    async def _run(self) -> None:
        while True:
            try:
                await self.drain()
            except Exception:  # the store may be briefly unreachable; keep the loop alive
                log.exception("worker_drain_failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self._poll_seconds)
            self._wakeup.clear()

    async def _handle(self, delivery: Delivery) -> None:
        async with self._locks[ordering_key(delivery)]:
            started = time.perf_counter()
            try:
                await self._process(delivery)
            except Exception as error:
                status = await asyncio.to_thread(
                    self._inbox.mark_failed, delivery, f"{type(error).__name__}: {error}"
                )
                DELIVERIES_PROCESSED.labels(
                    delivery.event, "dead" if status == "dead" else "retry"
                ).inc()
                log.exception(
                    "delivery_failed",
                    delivery_id=delivery.delivery_id,
                    event_name=delivery.event,
                    attempts=delivery.attempts,
                    status=status,
                )
                return
            await asyncio.to_thread(self._inbox.mark_done, delivery.delivery_id)
            DELIVERIES_PROCESSED.labels(delivery.event, "done").inc()
            DELIVERY_SECONDS.labels(delivery.event).observe(time.perf_counter() - started)
