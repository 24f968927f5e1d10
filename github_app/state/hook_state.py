"""What a hook decision reads from the store, held in memory so a decision costs no I/O.

A ``PreToolUse`` needs the caller's token, whether its session was revoked and the freezes in
force.  Reading them per call costs a worker-thread hop and three queries while the agent
waits, so :class:`HookState` keeps them in memory and re-validates them with one cheap query:
the *fingerprint* of the containment and token tables (freezes started, freezes lifted,
sessions revoked, tokens revoked — every one only ever grows, so any change moves it).

* The fingerprint is checked every :data:`POLL_SECONDS` by the shell's poller; when it moved,
  every cached token is dropped and the freezes and the set of revoked sessions are read again
  (read *after* the fingerprint, so a change in between moves the next one).  Holding the whole
  set — revocations are people's actions, so it stays small — means a session's first tool
  call needs no store read either.
* The memory is trusted only while the last check is younger than :data:`MAX_AGE_SECONDS`; an
  older one (the poller stalled, the database is slow) sends the decision down the slow path,
  which checks first — so a change made by another replica or the CLI is seen within
  ``MAX_AGE_SECONDS`` whatever happens (the kill switch's bound is < 1 s).
* A change made by this process (the admin API) calls :meth:`HookState.invalidate`, so the
  very next decision reads the store.

Unknown tokens are never cached (each is looked up), so a new token works at once.
Synchronous; the shell calls the slow path through ``asyncio.to_thread``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import sqlalchemy as sa

from github_app.state.containment import Containment, Freeze
from github_app.store import tables
from github_app.store.database import Database
from github_app.tokens import ApiToken, TokenStore, hash_token

POLL_SECONDS = 0.25
MAX_AGE_SECONDS = 0.75
MAX_ENTRIES = 100_000  # cached tokens before the cache starts over

Fingerprint = tuple[int, ...]


def hook_fingerprint(db: Database) -> Fingerprint:
    """Freezes started and lifted, sessions revoked, tokens revoked: one query."""
    freezes, revoked, tokens = tables.freezes, tables.revoked_sessions, tables.api_tokens
    count = sa.func.count()
    query = sa.select(
        sa.select(count).select_from(freezes).scalar_subquery(),
        sa.select(count)
        .select_from(freezes)
        .where(freezes.c.lifted_at.is_not(None))
        .scalar_subquery(),
        sa.select(count).select_from(revoked).scalar_subquery(),
        sa.select(count)
        .select_from(tokens)
        .where(tokens.c.revoked_at.is_not(None))
        .scalar_subquery(),
    )
    with db.connect() as conn:
        return tuple(int(value) for value in conn.execute(query).one())


class HookState:
    """Tokens, revocations and freezes for hook decisions, re-validated by fingerprint."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._db = db
        self._clock = clock
        self._tokens_store = TokenStore(db)
        self._containment = Containment(db)
        self._lock = threading.Lock()
        self._fingerprint: Fingerprint | None = None
        self._checked_at = float("-inf")
        self._generation = 0  # moved by invalidate(): a check begun before it does not count
        self._tokens: dict[str, ApiToken] = {}
        self._revoked: frozenset[str] | None = None  # every revoked session, once checked
        self._freezes: list[Freeze] = []

    # --- the fast path: memory only --------------------------------------------------------

    def fresh(self) -> bool:
        """Whether the memory was validated recently enough to decide from it."""
        return self._clock() - self._checked_at < MAX_AGE_SECONDS

    def cached_token(self, presented: str) -> ApiToken | None:
        """The cached active token for ``presented`` (None: not cached, ask :meth:`token`)."""
        return self._tokens.get(hash_token(presented)) if self.fresh() else None

    def cached_revoked(self, session_id: str | None) -> bool | None:
        """Whether the session is revoked, if known from memory (None: ask :meth:`revoked`)."""
        revoked = self._revoked
        if revoked is None or not self.fresh():
            return None
        return bool(session_id) and session_id in revoked

    def freeze_for(self, repo: str) -> Freeze | None:
        """The freeze in force for ``repo`` ("" = none: only an org-wide one applies)."""
        for freeze in self._freezes:
            if freeze.repo is None or (repo and freeze.repo.lower() == repo.lower()):
                return freeze
        return None

    # --- the slow path: reads the store (worker thread) ------------------------------------

    def check(self) -> None:
        """Compare the fingerprint; on a change drop what is cached and re-read the freezes."""
        started, generation = self._clock(), self._generation
        current = hook_fingerprint(self._db)
        with self._lock:
            if generation != self._generation:
                return  # invalidated meanwhile: what was read may predate the change
            if current != self._fingerprint:
                self._tokens.clear()
                self._freezes = self._containment.active_freezes()
                self._revoked = self._containment.revoked_session_ids()
                self._fingerprint = current
            self._checked_at = started

    def ensure_fresh(self) -> None:
        """Check now unless the memory is fresh."""
        if not self.fresh():
            self.check()

    def token(self, presented: str) -> ApiToken | None:
        """The active token for ``presented``, from memory or the store (active ones cached)."""
        self.ensure_fresh()
        digest = hash_token(presented)
        token = self._tokens.get(digest)
        if token is None:
            token = self._tokens_store.authenticate(presented)
            if token is not None:
                self._remember(self._tokens, digest, token)
        return token

    def revoked(self, session_id: str | None) -> bool:
        """Whether the session was revoked, from memory or the store."""
        self.ensure_fresh()
        if not session_id:
            return False
        revoked = self._revoked
        if revoked is None:  # invalidated while checking: ask the store itself
            return self._containment.is_revoked(session_id)
        return session_id in revoked

    def invalidate(self) -> None:
        """This process changed containment or tokens: the next decision reads the store."""
        with self._lock:
            self._generation += 1
            self._fingerprint = None
            self._checked_at = float("-inf")
            self._tokens.clear()
            self._revoked = None

    def _remember(self, cache: dict, key: str, value: object) -> None:
        with self._lock:
            if len(cache) >= MAX_ENTRIES:
                cache.clear()
            cache[key] = value
