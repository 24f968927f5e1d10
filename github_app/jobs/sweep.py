"""The sweep: re-evaluate open pull requests whose webhook Countersign may have missed.

Per repository, every open pull request is re-evaluated when Countersign's last decision
(``pr_decisions``) is missing or for an older head, or when the head commit carries no
``countersign`` check run from this App (deleted, or never published).  Others are left alone,
so a quiet repository costs one request per open pull request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Container

from gidgethub import GitHubException

from github_app.context import HandlerContext
from github_app.core import github_json
from github_app.core.github_json import parse_time
from github_app.core.models import PullRequest
from github_app.handlers.pipeline import reevaluate
from github_app.logs import get_logger
from github_app.rulesets.desired import CHECK_CONTEXT
from github_app.rulesets.sync import Repository
from github_app.state.decisions import PrRecord

log = get_logger(__name__)


def decision_is_stale(record: PrRecord | None, head_sha: str) -> bool:
    """True when no decision was published for the PR's current head."""
    return record is None or record.head_sha != head_sha


async def has_check_run(ctx: HandlerContext, pr: PullRequest) -> bool:
    """True when the App's ``countersign`` check run exists on the PR's head commit."""
    app_id = ctx.services.settings.github_app_id
    runs = await ctx.gh.getitem(
        f"/repos/{pr.repo_full_name}/commits/{pr.head_sha}/check-runs"
        f"?check_name={CHECK_CONTEXT}&app_id={app_id}&per_page=1"
    )
    return bool(runs.get("total_count"))


async def needs_reevaluation(ctx: HandlerContext, pr: PullRequest) -> bool:
    """True when the PR's decision is stale or its check run is missing."""
    record = await asyncio.to_thread(ctx.services.decisions.get, pr.repo_id, pr.number)
    return decision_is_stale(record, pr.head_sha) or not await has_check_run(ctx, pr)


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
                await reevaluate(ctx, pr, parse_time(item.get("updated_at")))
                count += 1
        except GitHubException as error:
            log.warning(
                "sweep_pull_request_failed", repo=repo.full_name, pr=pr.number, error=str(error)
            )
    return count
