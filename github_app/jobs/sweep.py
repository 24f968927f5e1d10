"""The sweep: re-evaluate open pull requests whose webhook Countersign may have missed.

Per repository, every open pull request is re-evaluated when Countersign's last decision
(``pr_decisions``) is missing or for an older head, when the head commit carries no
``countersign`` check run from this App (deleted, or never published), or when that run shows
another conclusion than the strictest decision of the commit's open pull requests (a wrong
verdict is repaired).  Others are left alone, so a quiet repository costs one request per open
pull request.

Only one replica sweeps at a time (:func:`sweep_all` runs as a shared job: it skips the run
when another replica holds the sweep's work lock or has just swept); each re-evaluation holds
its PR's lock like any delivery.
"""

from __future__ import annotations

import asyncio
from collections.abc import Container
from datetime import timedelta

from gidgethub import GitHubException

from github_app.actions.check_run import commit_verdict
from github_app.context import AppServices, HandlerContext
from github_app.core import github_json
from github_app.core.github_json import parse_time
from github_app.core.models import PullRequest
from github_app.handlers.pipeline import reevaluate
from github_app.jobs.coordination import run_shared
from github_app.jobs.installations import for_each_repository
from github_app.logs import get_logger
from github_app.rulesets.desired import CHECK_CONTEXT
from github_app.rulesets.sync import Repository
from github_app.state.decisions import PrRecord

log = get_logger(__name__)


def decision_is_stale(record: PrRecord | None, head_sha: str) -> bool:
    """True when no decision was published for the PR's current head."""
    return record is None or record.head_sha != head_sha


async def published_conclusions(ctx: HandlerContext, pr: PullRequest) -> list[str | None]:
    """The conclusions of the App's ``countersign`` check runs on the PR's head commit."""
    app_id = ctx.services.settings.github_app_id
    runs = await ctx.gh.getitem(
        f"/repos/{pr.repo_full_name}/commits/{pr.head_sha}/check-runs"
        f"?check_name={CHECK_CONTEXT}&app_id={app_id}&per_page=10"
    )
    return [run.get("conclusion") for run in runs.get("check_runs", [])]


def expected_conclusion(records: list[PrRecord]) -> str | None:
    """What the commit should show: the strictest conclusion of its open PRs' decisions."""
    bodies = {item.pr: item.check_body for item in records if item.check_body}
    return commit_verdict(bodies)[1]["conclusion"] if bodies else None


async def needs_reevaluation(ctx: HandlerContext, pr: PullRequest) -> bool:
    """True when the PR's decision is stale, or its commit's check run missing or wrong."""
    decisions = ctx.services.decisions
    record = await asyncio.to_thread(decisions.get, pr.repo_id, pr.number)
    if decision_is_stale(record, pr.head_sha):
        return True
    shown = await published_conclusions(ctx, pr)
    if not shown:
        return True
    records = await asyncio.to_thread(decisions.open_on_commit, pr.repo_id, pr.head_sha)
    expected = expected_conclusion(records)
    if any(conclusion != expected for conclusion in shown):
        log.warning(
            "sweep_repairs_verdict",
            repo=pr.repo_full_name,
            pr=pr.number,
            shown=shown,
            expected=expected,
        )
        return True
    return False


async def sweep_repository(
    ctx: HandlerContext,
    repo: Repository,
    *,
    force: bool = False,
    skip: Container[tuple[int, int, str]] = (),
) -> int:
    """Re-evaluate the repository's open PRs that need it (all of them with ``force``).

    ``skip`` holds (repository id, PR, head SHA) already re-evaluated by the caller.
    """
    count = 0
    async for item in ctx.gh.getiter(f"/repos/{repo.full_name}/pulls?state=open&per_page=100"):
        pr = github_json.pull_request(item, item["base"]["repo"])
        if (pr.repo_id, pr.number, pr.head_sha) in skip:
            continue
        try:
            if force or await needs_reevaluation(ctx, pr):
                updated_at = parse_time(item.get("updated_at"))
                await reevaluate(ctx, pr, updated_at, seen_at=updated_at)
                count += 1
        except GitHubException as error:
            log.warning(
                "sweep_pull_request_failed", repo=repo.full_name, pr=pr.number, error=str(error)
            )
    return count


SWEEP_JOB = "sweep"


async def sweep_every_repository(services: AppServices) -> list[int]:
    """Sweep every repository of every installation (no coordination: see :func:`sweep_all`)."""
    return await for_each_repository(services, sweep_repository)


async def sweep_all(
    services: AppServices, *, unless_run_within: timedelta = timedelta(0)
) -> list[int] | None:
    """Sweep every repository, unless another replica is sweeping or swept within
    ``unless_run_within`` (then None)."""
    return await run_shared(
        services, SWEEP_JOB, unless_run_within, lambda: sweep_every_repository(services)
    )
