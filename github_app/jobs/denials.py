"""Denied and bypassed pushes as evidence: GitHub's rule suites, imported once each.

GitHub keeps rule suites (every push its rulesets evaluated) for about a month.  This job reads
``GET /repos/{owner}/{repo}/rulesets/rule-suites`` for results ``fail`` and ``bypass`` and
records each as ``push_denied`` or ``push_bypassed``, with the rules that failed.  It runs at
start-up and hourly; the first run of a repository looks back a ``month``, later runs a ``day``
or a ``week`` depending on when the last run finished, so nothing ages out unseen.

Each suite is *claimed* in ``sync_cursors`` (``rule_suite:<repo id>:<suite id>``) in the same
transaction that appends its ledger entry: a second run, or another replica, imports nothing
twice, and a crash can never leave a claim without its entry (the suite is retried instead).
Claims are pruned once GitHub can no longer return the suite.  Needs the App's
Administration: read permission; without it the repository is reported and skipped.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from gidgethub import BadRequest, GitHubException

from github_app.actions.record import new_entry
from github_app.context import HandlerContext
from github_app.core.github_json import parse_time
from github_app.ledger.entry import NewEntry
from github_app.logs import get_logger
from github_app.metrics import LEDGER_APPENDS
from github_app.rulesets.sync import Repository
from github_app.state import cursors
from github_app.store.database import Database
from github_app.store.ledger import Ledger
from github_app.store.tables import sync_cursors

log = get_logger(__name__)

Json = dict[str, Any]

KIND_BY_RESULT = {"fail": "push_denied", "bypass": "push_bypassed"}
# Longer than any time_period GitHub serves, so a pruned claim can never be fetched again.
CLAIM_RETENTION = timedelta(days=45)
PER_PAGE = 100


def time_period_for(last_run: datetime | None, now: datetime) -> str:
    """The ``time_period`` that covers everything since ``last_run``, with a safety margin."""
    if last_run is None:
        return "month"
    age = now - last_run
    if age <= timedelta(hours=12):
        return "day"
    if age <= timedelta(days=5):
        return "week"
    return "month"


def denial_data(suite: Json, detail: Json | None) -> Json:
    """The ``data`` of a ``push_denied``/``push_bypassed`` entry: the suite and failed rules."""
    evaluations = (detail or {}).get("rule_evaluations") or ()
    return {
        "rule_suite_id": suite["id"],
        "result": suite.get("result"),
        "evaluation_result": suite.get("evaluation_result"),
        "ref": suite.get("ref"),
        "before_sha": suite.get("before_sha"),
        "after_sha": suite.get("after_sha"),
        "actor_id": suite.get("actor_id"),
        "actor_name": suite.get("actor_name"),
        "failed_rules": [
            {
                "rule_type": e.get("rule_type"),
                "source": (e.get("rule_source") or {}).get("name")
                or (e.get("rule_source") or {}).get("type"),
                "enforcement": e.get("enforcement"),
                "details": e.get("details"),
            }
            for e in evaluations
            if e.get("result") == "fail"
        ],
    }


@dataclass(frozen=True)
class DenialImport:
    """What one repository's import found."""

    repo: str
    time_period: str | None
    imported: int
    already_seen: int
    error: str | None = None

    def as_json(self) -> Json:
        """For ``--json`` output."""
        return {
            "repo": self.repo,
            "time_period": self.time_period,
            "imported": self.imported,
            "already_seen": self.already_seen,
            "error": self.error,
        }


def _cursor_name(repo: Repository) -> str:
    return f"rule_suites:{repo.id}"


def _claim_name(repo: Repository, suite_id: int) -> str:
    return f"rule_suite:{repo.id}:{suite_id}"


async def _suites(ctx: HandlerContext, repo: Repository, period: str) -> list[Json]:
    suites: list[Json] = []
    for result in KIND_BY_RESULT:
        url = (
            f"/repos/{repo.full_name}/rulesets/rule-suites"
            f"?time_period={period}&rule_suite_result={result}&per_page={PER_PAGE}"
        )
        suites += [s async for s in ctx.gh.getiter(url) if s.get("result") in KIND_BY_RESULT]
    return suites


async def _detail(ctx: HandlerContext, repo: Repository, suite_id: int) -> Json | None:
    try:
        return await ctx.gh.getitem(f"/repos/{repo.full_name}/rulesets/rule-suites/{suite_id}")
    except BadRequest as error:
        log.info("rule_suite_detail_unavailable", repo=repo.full_name, error=str(error))
        return None


class _AlreadyClaimed(Exception):
    """Another run or replica holds the claim: roll back and import nothing."""


def claim_and_append(db: Database, ledger: Ledger, claim: str, value: str, entry: NewEntry) -> bool:
    """Insert the claim ``claim`` and append ``entry`` in ONE transaction; all or nothing.

    ``False`` (and nothing written) when the claim already exists.  Synchronous.
    """
    try:
        with db.write_transaction() as conn:
            try:
                conn.execute(
                    sync_cursors.insert().values(
                        name=claim, value=value, updated_at=datetime.now(UTC)
                    )
                )
            except sa.exc.IntegrityError:
                # On PostgreSQL the transaction is now aborted: leave it by rolling back.
                raise _AlreadyClaimed from None
            ledger.append(entry, conn=conn)
    except _AlreadyClaimed:
        return False
    return True


async def _import_suite(ctx: HandlerContext, repo: Repository, suite: Json) -> bool:
    """Record ``suite`` unless already claimed; ``True`` if this call recorded it."""
    services = ctx.services
    claim = _claim_name(repo, suite["id"])
    if await asyncio.to_thread(cursors.read, services.db, claim) is not None:
        return False  # cheap early exit: no detail fetch for suites already imported
    detail = await _detail(ctx, repo, suite["id"])
    entry = new_entry(
        ctx,
        KIND_BY_RESULT[suite["result"]],
        occurred_at=parse_time(suite.get("pushed_at")),
        repo=repo.full_name,
        repo_id=repo.id,
        head_sha=suite.get("after_sha"),
        actor=suite.get("actor_name"),
        data=denial_data(suite, detail),
    )
    pushed_at = str(suite.get("pushed_at") or "")
    if not await asyncio.to_thread(
        claim_and_append, services.db, services.ledger, claim, pushed_at, entry
    ):
        return False
    LEDGER_APPENDS.labels(entry.kind).inc()
    await asyncio.to_thread(services.ledger.maybe_checkpoint)
    return True


async def pull_denials(
    ctx: HandlerContext, repo: Repository, *, now: datetime | None = None
) -> DenialImport:
    """Import the repository's new denied and bypassed pushes into the ledger."""
    now = now or datetime.now(UTC)
    db = ctx.services.db
    last = await asyncio.to_thread(cursors.read, db, _cursor_name(repo))
    period = time_period_for(datetime.fromisoformat(last) if last else None, now)
    try:
        suites = await _suites(ctx, repo, period)
    except BadRequest as error:  # 403/404: no permission, or rulesets unavailable on the plan
        return DenialImport(repo.full_name, period, 0, 0, error=f"GitHub: {error}")
    imported = 0
    for suite in sorted(suites, key=lambda s: s["id"]):
        imported += await _import_suite(ctx, repo, suite)
    await asyncio.to_thread(cursors.write, db, _cursor_name(repo), now.isoformat())
    await asyncio.to_thread(cursors.prune, db, f"rule_suite:{repo.id}:", now - CLAIM_RETENTION)
    return DenialImport(repo.full_name, period, imported, len(suites) - imported)


async def pull_denials_safely(ctx: HandlerContext, repo: Repository) -> DenialImport:
    """:func:`pull_denials`, with GitHub failures reported in the result instead of raised."""
    try:
        return await pull_denials(ctx, repo)
    except GitHubException as error:
        log.warning("pull_denials_failed", repo=repo.full_name, error=str(error))
        return DenialImport(repo.full_name, None, 0, 0, error=f"GitHub: {error}")
