"""``countersign audit``: read a period of GitHub history, judge it, optionally record it.

The imperative shell around :mod:`github_app.evidence.backfill`.  For each repository:

1. merged pull requests — ``GET /repos/{o}/{r}/pulls?state=closed&sort=updated&direction=desc``
   page by page, stopping after the first page that reaches PRs last updated before the period
   (a PR merged in the period was updated at or after its merge); each one merged in the period
   has its commits, files, reviews, base-branch policy and reviewer facts read and is judged;
2. pushes to the default branch — ``GET /repos/{o}/{r}/activity`` (``activity_type=push``),
   newest first; a push whose head no merged pull request explains is a direct push.

Rate limits: after every request the remaining budget (``x-ratelimit-remaining``) is looked at;
below ``reserve`` the run says so on the progress stream and sleeps until
``x-ratelimit-reset``.  With ``--record`` progress is also saved as a cursor in the store (the
next page to read, per repository and period), so a run that was stopped resumes there; every
change is recorded once, by ``change_id`` — a second run appends nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from github_app.core import github_json as parse
from github_app.core.catalogue import Catalogue
from github_app.evidence.backfill import (
    BackfillChange,
    MergedPullRequest,
    backfill_entry,
    in_period,
    judge_direct_push,
    judge_merged_pr,
    pr_change_id,
)
from github_app.github.facts import (
    load_policy,
    pull_request_facts,
    referenced_teams,
    reviewer_facts,
)
from github_app.handlers.pipeline import agent_logins
from github_app.ledger.entry import parse_rfc3339
from github_app.policy.model import Policy
from github_app.pushes.classify import merged_pull_request
from github_app.state import cursors
from github_app.store.database import Database
from github_app.store.ledger import Ledger

PER_PAGE = 100
DEFAULT_RESERVE = 50
Progress = Callable[[str], None]
Sleep = Callable[[float], Awaitable[None]]


async def pause(seconds: float) -> None:
    """Wait for the rate-limit reset (a module function so tests can replace it)."""
    await asyncio.sleep(seconds)


@dataclass
class Budget:
    """Waits for the rate-limit reset when the remaining budget falls below ``reserve``."""

    reserve: int = DEFAULT_RESERVE
    sleep: Sleep | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    progress: Progress = lambda _line: None
    pauses: int = 0

    async def spend(self, gh: GitHubAPI) -> None:
        """Call before a request: sleep until the reset if the budget is nearly used up."""
        limit = gh.rate_limit
        if limit is None or limit.remaining >= self.reserve:
            return
        wait = max(0.0, (limit.reset_datetime - self.clock()).total_seconds()) + 1
        self.pauses += 1
        self.progress(
            f"rate limit: {limit.remaining} requests left, waiting {wait:.0f}s until "
            f"{limit.reset_datetime:%H:%M:%S} UTC"
        )
        await (self.sleep or pause)(wait)
        limit.remaining = limit.limit  # GitHub's next answer says the real number


@dataclass
class AuditSources:
    """What the run reads besides GitHub: the default policy, the catalogue, the store."""

    default_policy: Policy
    catalogue_for: Callable[[Policy], Catalogue]
    db: Database | None = None  # set with --record
    ledger: Ledger | None = None  # set with --record


@dataclass
class AuditReport:
    """Every change judged, what was appended, and how often the run waited."""

    changes: list[BackfillChange] = field(default_factory=list)
    recorded: int = 0
    already_recorded: int = 0
    pauses: int = 0


def cursor_name(repo: str, since: datetime, until: datetime | None) -> str:
    """The ``sync_cursors`` row of one repository's backfill over one period.

    ``until`` is None for an open period (up to now), so that re-running ``--since 90d`` the
    same day finds the cursor again: ``90d`` starts at midnight UTC.
    """
    end = until.isoformat() if until is not None else "now"
    return f"backfill:{repo}:{since.isoformat()}:{end}"


@dataclass(frozen=True)
class ListingCursor:
    """Where the listing of one repository's pull requests stands.

    ``next_page`` is the page to read next (None once the period was listed to its end);
    ``started_at`` is when that listing began.  A complete listing is brought up to date by
    reading from page 1 only PRs updated since ``started_at``; an interrupted one goes on at
    ``next_page``.
    """

    next_page: int | None
    started_at: datetime
    complete: bool = False
    run_started: datetime | None = None  # this run's start, for an update of a complete one

    @classmethod
    def fresh(cls, now: datetime) -> ListingCursor:
        """A listing that has not started."""
        return cls(1, now)

    @classmethod
    def parse(cls, text: str, now: datetime) -> ListingCursor:
        """A stored cursor; a complete one restarts at page 1 for what changed since."""
        value = json.loads(text)
        started = parse_rfc3339(value["started_at"])
        if value.get("next_page") is None:
            return cls(1, started, complete=True, run_started=now)
        return cls(int(value["next_page"]), started)

    def stop_before(self, since: datetime) -> datetime:
        """PRs last updated before this are done (or outside the period)."""
        return max(since, self.started_at) if self.complete else since

    def advanced(self, next_page: int | None) -> ListingCursor:
        """The cursor after a page; a finished update of a complete listing restarts its clock."""
        if self.complete and next_page is None and self.run_started is not None:
            return ListingCursor(None, self.run_started)
        return replace(self, next_page=next_page)

    def dump(self) -> str:
        """The stored form."""
        return json.dumps({"next_page": self.next_page, "started_at": self.started_at.isoformat()})


class RepositoryAudit:
    """The backfill of one repository."""

    def __init__(
        self,
        gh: GitHubAPI,
        repo: dict[str, Any],
        sources: AuditSources,
        budget: Budget,
        since: datetime,
        until: datetime,
        recorded_ids: set[str],
        open_ended: bool = False,
    ) -> None:
        """Audit ``repo`` (the REST repository object) through ``gh``."""
        self.gh, self.repo, self.sources, self.budget = gh, repo, sources, budget
        self.since, self.until = since, until
        self.cursor_key = cursor_name(repo["full_name"], since, None if open_ended else until)
        self.recorded_ids = recorded_ids
        self.name: str = repo["full_name"]
        self.changes: list[BackfillChange] = []
        self.skipped = 0  # changes found already recorded

    async def run(self, record: bool) -> list[BackfillChange]:
        """Judge every merged PR and direct push of the period (recording as it goes)."""
        await self._pull_requests(record)
        await self._pushes(record)
        return self.changes

    # -- pull requests ----------------------------------------------------------------------

    async def _pull_requests(self, record: bool) -> None:
        cursor = self._read_cursor() if record else ListingCursor.fresh(self.budget.clock())
        page: int | None = cursor.next_page
        while page is not None:
            await self.budget.spend(self.gh)
            query = urlencode(
                {
                    "state": "closed",
                    "sort": "updated",
                    "direction": "desc",
                    "per_page": PER_PAGE,
                    "page": page,
                }
            )
            items = await self.gh.getitem(f"/repos/{self.name}/pulls?{query}")
            for item in items:
                await self._pull_request(item, record)
            self.budget.progress(f"{self.name}: page {page} read ({len(self.changes)} changes)")
            page = None if self._last_page(items, cursor.stop_before(self.since)) else page + 1
            if record:
                self._write_cursor(cursor.advanced(page))

    def _last_page(self, items: list[dict[str, Any]], stop_before: datetime) -> bool:
        """True when no later page can hold a PR updated at or after ``stop_before``."""
        if len(items) < PER_PAGE:
            return True
        return parse_rfc3339(items[-1]["updated_at"]) < stop_before

    async def _pull_request(self, item: dict[str, Any], record: bool) -> None:
        merged_at = item.get("merged_at")
        if not merged_at or not in_period(parse_rfc3339(merged_at), self.since, self.until):
            return
        change_id = pr_change_id(self.repo["id"], item["number"])
        if change_id in self.recorded_ids:
            self.skipped += 1
            return
        change = await self._judge(item, parse_rfc3339(merged_at))
        await self._keep(change, record)

    async def _judge(self, item: dict[str, Any], merged_at: datetime) -> BackfillChange:
        await self.budget.spend(self.gh)
        pr = parse.pull_request(item, self.repo)
        facts = await pull_request_facts(self.gh, pr)
        base_sha = (item.get("base") or {}).get("sha")
        await self.budget.spend(self.gh)
        policy, error = await load_policy(self.gh, self.name, base_sha, self.sources.default_policy)
        rules = policy.policy if policy else self.sources.default_policy
        await self.budget.spend(self.gh)
        reviewers = await reviewer_facts(self.gh, pr, facts.reviews, referenced_teams(rules))
        catalogue = self.sources.catalogue_for(rules)
        merged = MergedPullRequest(
            pr, merged_at, facts.commits, facts.files, facts.reviews, reviewers, facts.incomplete
        )
        return judge_merged_pr(merged, policy, error, rules, catalogue, agent_logins(catalogue))

    # -- pushes -----------------------------------------------------------------------------

    async def _pushes(self, record: bool) -> None:
        branch = self.repo.get("default_branch") or "main"
        query = urlencode(
            {"ref": f"refs/heads/{branch}", "activity_type": "push", "per_page": PER_PAGE}
        )
        await self.budget.spend(self.gh)
        async for activity in self.gh.getiter(f"/repos/{self.name}/activity?{query}"):
            pushed_at = parse_rfc3339(activity["timestamp"])
            if pushed_at < self.since:
                break
            if pushed_at >= self.until:
                continue
            change = await self._direct_push(activity, branch, pushed_at)
            if change is not None:
                await self._keep(change, record)
            await self.budget.spend(self.gh)

    async def _direct_push(
        self, activity: dict[str, Any], branch: str, pushed_at: datetime
    ) -> BackfillChange | None:
        after = activity["after"]
        change_id = f"push:{self.repo['id']}:{after}"
        if change_id in self.recorded_ids:
            self.skipped += 1
            return None
        if await self._through_pull_request(after, branch):
            return None
        await self.budget.spend(self.gh)
        commit = parse.api_commit(await self.gh.getitem(f"/repos/{self.name}/commits/{after}"))
        rules = self.sources.default_policy
        return judge_direct_push(
            repo=self.name,
            repo_id=self.repo["id"],
            branch=branch,
            after=after,
            pushed_at=pushed_at,
            pusher=(activity.get("actor") or {}).get("login"),
            commits=[commit],
            rules=rules,
            policy_sha=None,
            catalogue=self.sources.catalogue_for(rules),
        )

    async def _through_pull_request(self, after: str, branch: str) -> bool:
        await self.budget.spend(self.gh)
        try:
            pulls = [p async for p in self.gh.getiter(f"/repos/{self.name}/commits/{after}/pulls")]
        except BadRequest as error:
            if error.status_code in {404, 409, 422}:
                return False
            raise
        return merged_pull_request(after, branch, pulls) is not None

    # -- keeping results --------------------------------------------------------------------

    async def _keep(self, change: BackfillChange, record: bool) -> None:
        self.changes.append(change)
        if record and change.recordable and change.change_id not in self.recorded_ids:
            ledger = self.sources.ledger
            assert ledger is not None
            await asyncio.to_thread(ledger.append, backfill_entry(change))
            self.recorded_ids.add(change.change_id)

    def _read_cursor(self) -> ListingCursor:
        db = self.sources.db
        assert db is not None
        saved = cursors.read(db, self.cursor_key)
        now = self.budget.clock()
        cursor = ListingCursor.fresh(now) if saved is None else ListingCursor.parse(saved, now)
        if saved is not None and not cursor.complete:
            self.budget.progress(f"{self.name}: resuming at page {cursor.next_page}")
        return cursor

    def _write_cursor(self, cursor: ListingCursor) -> None:
        db = self.sources.db
        assert db is not None
        cursors.write(db, self.cursor_key, cursor.dump())


def recorded_change_ids(ledger: Ledger) -> set[str]:
    """Change ids already in the ledger: backfilled ones and PRs merged while installed."""
    found: set[str] = set()
    for entry in ledger.entries(kinds=["backfill", "merge"]):
        if entry.kind == "backfill" and entry.data.get("change_id"):
            found.add(str(entry.data["change_id"]))
        elif entry.kind == "merge" and entry.repo_id is not None and entry.pr is not None:
            found.add(pr_change_id(entry.repo_id, entry.pr))
    return found


async def _installation_api(github: Any, name: str) -> GitHubAPI:
    """An API acting as the installation that covers repository ``name``."""
    installation = await github.as_app().getitem(f"/repos/{name}/installation")
    return await github.for_installation(installation["id"])


async def _all_repositories(github: Any) -> list[str]:
    """Every repository of every (not suspended) installation."""
    from github_app.rulesets.sync import installation_repositories

    names: list[str] = []
    async for item in github.as_app().getiter("/app/installations"):
        if item.get("suspended_at"):
            continue
        gh = await github.for_installation(item["id"])
        names += [repo.full_name for repo in await installation_repositories(gh)]
    return names


async def run_audit(
    github: Any,
    sources: AuditSources,
    *,
    since: datetime,
    until: datetime,
    repos: list[str],
    record: bool,
    budget: Budget,
    open_ended: bool = False,
) -> AuditReport:
    """Backfill ``repos`` (all the App can see when empty) over ``[since, until)``."""
    report = AuditReport()
    ledger = sources.ledger
    recorded = await asyncio.to_thread(recorded_change_ids, ledger) if record and ledger else set()
    before = len(recorded)
    for name in repos or await _all_repositories(github):
        gh = await _installation_api(github, name)
        await budget.spend(gh)
        repo = await gh.getitem(f"/repos/{name}")
        audit = RepositoryAudit(gh, repo, sources, budget, since, until, recorded, open_ended)
        report.changes += await audit.run(record)
        report.already_recorded += audit.skipped
    if record and ledger is not None:
        report.recorded = len(recorded) - before
        report.changes = _with_earlier_records(report.changes, ledger, since, until, repos)
    report.pauses = budget.pauses
    report.changes.sort(key=lambda change: (change.merged_at, change.change_id))
    return report


def _with_earlier_records(
    judged: list[BackfillChange],
    ledger: Ledger,
    since: datetime,
    until: datetime,
    repos: list[str],
) -> list[BackfillChange]:
    """Add the period's changes recorded by an earlier (interrupted) run to this run's output."""
    from github_app.evidence.backfill import change_from_entry

    seen = {change.change_id for change in judged}
    earlier = [
        change_from_entry(entry)
        for entry in ledger.entries(kinds=["backfill"], since=since, until=until)
        if entry.data.get("change_id") not in seen and (not repos or entry.repo in repos)
    ]
    return judged + earlier
