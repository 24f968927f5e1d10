"""One identity's share of GitHub: bounded concurrency, paced writes, rate-limit pauses.

GitHub's secondary rate limits (see the README's Figures and GitHub's REST best practices)
allow at most 100 concurrent requests and ask integrations to send mutating requests one at a
time, at least a second apart; a 403/429 that names a rate limit comes with ``retry-after`` or
``x-ratelimit-reset``.  :mod:`github_app.github.retry` decides *how long* such an answer asks us
to wait; this module makes every request of the same identity (one installation, or the App)
honour it — not only the request that was refused — and keeps concurrency and write pace in
bounds all the time.  Writes are spaced by reserving the next slot, so the pace holds however
many tasks write at once.

One exception to the one-second gap: the first phase of a containment, which flips the passing
``countersign`` checks so nothing more can merge.  Inside :func:`incident_writes` writes are
spaced ``incident_write_interval`` apart (0.34 s: 176 a minute, under the 180 check-run updates
a minute that GitHub's published limit of 900 points per endpoint, 5 per write, allows), so 150
passing checks flip in under a minute instead of two and a half.  The first time GitHub answers
that identity with a rate limit, the incident pace is withdrawn for :data:`INCIDENT_COOLDOWN`
seconds and writes fall back to the ordinary gap.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace

Sleep = Callable[[float], Awaitable[None]]
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
INCIDENT_COOLDOWN = 600.0  # after a rate-limit answer, no incident pace for this long

# Set by :func:`incident_writes`; tasks started inside inherit it (asyncio copies the context).
_INCIDENT = ContextVar("countersign_incident_writes", default=False)


@contextmanager
def incident_writes() -> Iterator[None]:
    """Writes made inside this block use the incident pace (see the module docstring)."""
    token = _INCIDENT.set(True)
    try:
        yield
    finally:
        _INCIDENT.reset(token)


@dataclass(frozen=True)
class ThrottlePolicy:
    """Limits per identity: concurrent requests, and the gap between two writes (seconds)."""

    max_concurrent: int = 50  # GitHub allows 100 across REST and GraphQL; leave room
    write_interval: float = 1.0  # "at least one second between each" mutating request
    incident_write_interval: float = 0.34  # inside incident_writes(): 176 writes a minute


class Throttle:
    """The gate every request of one identity passes."""

    def __init__(
        self,
        policy: ThrottlePolicy,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policy = policy
        self._sleep = sleep
        self._clock = clock
        self._slots = asyncio.Semaphore(policy.max_concurrent)
        self._next_write = 0.0
        self._paused_until = 0.0
        self._incident_allowed_from = 0.0

    @asynccontextmanager
    async def request(self, method: str, *, skip_pause: bool = False):
        """Hold a concurrency slot for one request; writes wait for their turn first.

        ``skip_pause``: the request already waited what GitHub asked (a retry after a rate
        limit), which is also gap enough since its previous attempt.
        """
        if not skip_pause:
            await self._wait_for_pause()
        if method.upper() not in READ_METHODS:
            await self._wait_for_write_slot(wait=not skip_pause)
        async with self._slots:
            yield

    def pause(self, seconds: float) -> None:
        """GitHub asked this identity to wait: hold every request for ``seconds`` (and write
        at the ordinary pace, incidents included, for a while after)."""
        now = self._clock()
        self._paused_until = max(self._paused_until, now + seconds)
        self._incident_allowed_from = self._paused_until + INCIDENT_COOLDOWN

    def write_interval(self) -> float:
        """The gap the next write leaves after itself (the incident pace where it applies)."""
        policy = self._policy
        if _INCIDENT.get() and self._clock() >= self._incident_allowed_from:
            return min(policy.write_interval, policy.incident_write_interval)
        return policy.write_interval

    async def _wait_for_pause(self) -> None:
        delay = self._paused_until - self._clock()
        if delay > 0:
            await self._sleep(delay)

    async def _wait_for_write_slot(self, *, wait: bool = True) -> None:
        now = self._clock()
        slot = max(now, self._next_write) if wait else now
        self._next_write = slot + self.write_interval()  # reserved before sleeping
        if slot > now:
            await self._sleep(slot - now)


class Throttles:
    """One :class:`Throttle` per identity, made on first use."""

    def __init__(self, policy: ThrottlePolicy, *, sleep: Sleep = asyncio.sleep) -> None:
        self._policy = policy
        self._sleep = sleep
        self._by_scope: dict[str, Throttle] = {}

    def for_scope(self, scope: str) -> Throttle:
        """The throttle of ``installation:42`` or ``app``.

        The App's own writes are installation tokens, not content: they are not paced, so
        work fanning out over many installations does not queue behind its token requests.
        """
        if scope not in self._by_scope:
            policy = self._policy
            if not scope.startswith("installation:"):
                policy = replace(policy, write_interval=0.0, incident_write_interval=0.0)
            self._by_scope[scope] = Throttle(policy, sleep=self._sleep)
        return self._by_scope[scope]
