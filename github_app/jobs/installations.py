"""Visit every repository of every installation of the App, one at a time.

A failure in one repository (GitHub refusing, a permission missing) is logged and the visit goes
on; suspended installations are skipped.  Jobs and the CLI build their handler context here, as
a delivery would, but without a delivery id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from gidgethub import GitHubException

from github_app.context import AppServices, HandlerContext
from github_app.logs import get_logger
from github_app.rulesets.sync import Repository, installation_repositories

log = get_logger(__name__)

T = TypeVar("T")
RepoWork = Callable[[HandlerContext, Repository], Awaitable[T]]


async def installation_ids(services: AppServices) -> list[int]:
    """The ids of the App's installations that are not suspended."""
    if services.github is None:
        return []
    items = services.github.as_app().getiter("/app/installations")
    return [item["id"] async for item in items if not item.get("suspended_at")]


async def context_for(services: AppServices, installation_id: int) -> HandlerContext:
    """A handler context acting as ``installation_id``, outside any delivery."""
    assert services.github is not None
    gh = await services.github.for_installation(installation_id)
    return HandlerContext(services, gh, None, None, installation_id)


async def for_installation(
    ctx: HandlerContext, work: RepoWork[T], repos: list[Repository] | None = None
) -> list[T]:
    """Run ``work`` on each repository of the installation behind ``ctx`` (or on ``repos``)."""
    results: list[T] = []
    for repo in repos if repos is not None else await installation_repositories(ctx.gh):
        try:
            results.append(await work(ctx, repo))
        except GitHubException as error:
            log.warning("repository_job_failed", repo=repo.full_name, error=str(error))
    return results


async def for_each_repository(services: AppServices, work: RepoWork[T]) -> list[T]:
    """Run ``work`` on every repository of every installation."""
    results: list[T] = []
    for installation_id in await installation_ids(services):
        try:
            ctx = await context_for(services, installation_id)
            results += await for_installation(ctx, work)
        except GitHubException as error:
            log.warning(
                "installation_job_failed", installation_id=installation_id, error=str(error)
            )
    return results
