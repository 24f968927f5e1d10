"""A freeze or revocation reaches every open pull request: the passing ones first.

Only a passing ``countersign`` check lets a merge through, so what matters in the first minute
of a freeze is flipping the checks that currently pass.  They are found in the store of
decisions (``pr_decisions``), not by reading GitHub, and re-evaluated first; every other open
pull request is brought up to date afterwards.  Installations are contained concurrently, and
within one, repositories and pull requests are too, in bounded numbers.  GitHub's limits are
kept by the client's per-installation throttle (:mod:`github_app.github.throttle`): at most
``max_concurrent`` requests in flight, writes at least ``write_interval`` apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from functools import partial

from gidgethub import BadRequest, GitHubException

from github_app.context import AppServices, HandlerContext
from github_app.core import github_json
from github_app.core.github_json import parse_time
from github_app.handlers.pipeline import reevaluate
from github_app.jobs.installations import context_for, installation_ids
from github_app.jobs.sweep import sweep_repository
from github_app.logs import get_logger
from github_app.policy.decision import PASSING_STATES
from github_app.rulesets.sync import Repository, installation_repositories
from github_app.state.decisions import PrRecord

log = get_logger(__name__)

EVALUATIONS_AT_ONCE = 16  # per installation; each evaluation sends a few reads at once

PrKey = tuple[int, int, str]  # repository id, PR number, head SHA


async def contain_everywhere(services: AppServices) -> int:
    """Re-evaluate every open PR of every installation, passing ones first; how many were."""
    ids = await installation_ids(services)
    counts = await asyncio.gather(*(_contain_installation(services, i) for i in ids))
    return sum(counts)


async def _contain_installation(services: AppServices, installation_id: int) -> int:
    try:
        ctx = await context_for(services, installation_id)
        repos = await installation_repositories(ctx.gh)
        done = await block_passing(ctx, repos)
        rest = await _bounded(
            partial(sweep_repository, ctx, repo, force=True, skip=done) for repo in repos
        )
    except GitHubException as error:
        log.warning("containment_failed", installation_id=installation_id, error=str(error))
        return 0
    return len(done) + sum(count for count in rest if isinstance(count, int))


async def block_passing(ctx: HandlerContext, repos: list[Repository]) -> set[PrKey]:
    """Re-evaluate the PRs whose last published decision passes; returns those done."""
    by_id = {repo.id: repo for repo in repos}
    records = await asyncio.to_thread(
        ctx.services.decisions.in_states, list(by_id), PASSING_STATES
    )
    log.info("containment_passing_first", count=len(records))
    results = await _bounded(partial(_reevaluate_record, ctx, by_id[r.repo_id], r) for r in records)
    return {key for key in results if isinstance(key, tuple)}


async def _reevaluate_record(ctx: HandlerContext, repo: Repository, record: PrRecord) -> PrKey:
    try:
        item = await ctx.gh.getitem(f"/repos/{repo.full_name}/pulls/{record.pr}")
    except BadRequest as error:
        if error.status_code == 404:
            raise LookupError(record.pr) from None
        raise
    pr = github_json.pull_request(item, item["base"]["repo"])
    if pr.state != "open":
        raise LookupError(record.pr)  # closed since: the full sweep has nothing to do either
    await reevaluate(ctx, pr, parse_time(item.get("updated_at")))
    return (pr.repo_id, pr.number, pr.head_sha)


async def _bounded(jobs: Iterable[partial[Awaitable]]) -> list[object]:
    """Run the jobs, ``EVALUATIONS_AT_ONCE`` at a time; a failed job logs and yields its error."""
    gate = asyncio.Semaphore(EVALUATIONS_AT_ONCE)

    async def run(job: partial[Awaitable]) -> object:
        async with gate:
            try:
                return await job()
            except (GitHubException, LookupError) as error:
                log.warning("containment_job_failed", error=str(error))
                return error

    return await asyncio.gather(*(run(job) for job in jobs))
