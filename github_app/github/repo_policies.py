"""The effective policy of a repository for agent hook decisions, cached (adapter).

An agent's tool call is judged by the policy of the repository the session works on: the
org/default policy tightened by the repository's own ``.github/countersign.yml`` on its default
branch, read through the App's installation for that repository.  Reading it costs GitHub calls,
so it is cached per ``(repository, default-branch head)``:

* a cached answer is used for :data:`FRESH_SECONDS`; from :data:`REFRESH_AHEAD_SECONDS` on, the
  next call starts a background refresh so callers rarely wait;
* a refresh reads the default branch's head, then the policy *at that head* (conditional GETs
  through the shared ETag cache, so an unchanged repository costs GitHub 304s);
* an answer that could not be read (a broken ``countersign.yml``, GitHub refusing or down) is
  an *error* answer, kept :data:`ERROR_SECONDS`: the caller denies with the reason (fail closed);
* a repository the App is not installed on (GitHub answers 404 for its installation), an event
  without a repository, or an App without GitHub access uses the org/default policy.

Concurrent callers for one repository share one refresh.  A push to a repository's default
branch calls :meth:`RepoPolicies.forget` (the ``push`` handler), so a new rule judges the next
call; a read already in flight then is not cached.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import httpx
from gidgethub import BadRequest, GitHubException

from github_app.github.client import GitHubClient
from github_app.github.facts import load_policy
from github_app.logs import get_logger
from github_app.policy.model import Policy

log = get_logger(__name__)

FRESH_SECONDS = 30.0
REFRESH_AHEAD_SECONDS = 20.0
ERROR_SECONDS = 5.0
MAX_REPOS = 4096


@dataclass(frozen=True)
class RepoPolicy:
    """The policy a hook decision uses for one repository, or why it could not be read."""

    repo: str | None
    policy: Policy | None
    source: str  # "repository" (its effective policy), "default" (not installed / no repo)
    head: str | None = None  # the default-branch head the policy was read at
    error: str | None = None
    read_at: float = 0.0

    def age(self, now: float) -> float:
        """Seconds since the answer was read."""
        return now - self.read_at


class RepoPolicies:
    """Per-repository effective policies for hook decisions, cached (one per process)."""

    def __init__(
        self,
        github: GitHubClient | None,
        default: Callable[[], Policy],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``default`` gives the org/default policy (read on every call: it may be replaced)."""
        self._github = github
        self._default = default
        self._clock = clock
        self._answers: dict[str, RepoPolicy] = {}
        self._refreshing: dict[str, asyncio.Task[RepoPolicy]] = {}
        # forget() calls so far: a read begun before one is not stored (whichever repository
        # was forgotten — rare enough that re-reading another one costs nothing).
        self._forgotten = 0

    def cached(self, repo: str | None) -> RepoPolicy | None:
        """The answer for ``repo`` if one is fresh (no waiting, no I/O); may start a refresh."""
        if repo is None or self._github is None:
            return RepoPolicy(repo, self._default(), "default", read_at=self._clock())
        answer = self._answers.get(repo.lower())
        if answer is None:
            return None
        age = answer.age(self._clock())
        limit = ERROR_SECONDS if answer.error else FRESH_SECONDS
        if age >= limit:
            return None
        if answer.error is None and age >= REFRESH_AHEAD_SECONDS:
            self._start_refresh(repo)
        return answer

    async def policy_for(self, repo: str | None) -> RepoPolicy:
        """The fresh answer for ``repo``, reading it from GitHub when the cache has none."""
        answer = self.cached(repo)
        if answer is not None:
            return answer
        assert repo is not None
        return await asyncio.shield(self._start_refresh(repo))

    def forget(self, repo: str) -> None:
        """Drop the cached answer (the repository's default branch moved).  A read already in
        flight may predate the move: it is not stored, and the next caller starts a new one."""
        key = repo.lower()
        self._answers.pop(key, None)
        self._refreshing.pop(key, None)
        self._forgotten += 1

    def forget_all(self) -> None:
        """Drop every cached answer (the org policy changed)."""
        for key in {*self._answers, *self._refreshing}:
            self.forget(key)

    def _start_refresh(self, repo: str) -> asyncio.Task[RepoPolicy]:
        key = repo.lower()
        task = self._refreshing.get(key)
        if task is None or task.done():
            task = asyncio.create_task(self._refresh(repo))
            self._refreshing[key] = task
            task.add_done_callback(lambda done: self._done_refreshing(key, done))
        return task

    def _done_refreshing(self, key: str, task: asyncio.Task[RepoPolicy]) -> None:
        if self._refreshing.get(key) is task:
            self._refreshing.pop(key)

    async def _refresh(self, repo: str) -> RepoPolicy:
        key = repo.lower()
        forgotten = self._forgotten
        answer = await self._read(repo)
        if self._forgotten != forgotten:
            return answer  # read (maybe) before the move: its callers get it, nobody else
        if len(self._answers) >= MAX_REPOS:
            self._answers.clear()  # a bound, not a policy: everything is re-read on demand
        self._answers[key] = answer
        if answer.error:
            log.warning("agent_policy_unreadable", repo=repo, error=answer.error)
        return answer

    async def _read(self, repo: str) -> RepoPolicy:
        assert self._github is not None
        now = self._clock()
        try:
            installation = await self._github.as_app().getitem(f"/repos/{repo}/installation")
        except BadRequest as error:
            if error.status_code == 404:  # not installed there: the org/default policy
                return RepoPolicy(repo, self._default(), "default", read_at=now)
            return _unreadable(repo, f"GitHub refused the installation lookup: {error}", now)
        except (GitHubException, httpx.HTTPError, OSError, ValueError) as error:
            return _unreadable(repo, f"GitHub could not be reached: {error}", now)
        try:
            gh = await self._github.for_installation(int(installation["id"]))
            about = await gh.getitem(f"/repos/{repo}")
            branch = quote(str(about["default_branch"]), safe="")
            head = (await gh.getitem(f"/repos/{repo}/branches/{branch}"))["commit"]["sha"]
            effective, error = await load_policy(gh, repo, head, self._default())
        except (
            GitHubException,
            httpx.HTTPError,
            OSError,
            ValueError,
            KeyError,
            TypeError,
        ) as failure:
            return _unreadable(repo, f"could not read the policy: {failure}", now)
        if effective is None:
            return _unreadable(repo, error or "could not read the policy", now, head=None)
        return RepoPolicy(repo, effective.policy, "repository", head=head, read_at=now)


def _unreadable(repo: str, error: str, now: float, head: str | None = None) -> RepoPolicy:
    return RepoPolicy(repo, None, "repository", head=head, error=error, read_at=now)
