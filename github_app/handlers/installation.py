"""``installation`` and ``installation_repositories`` events: put the ruleset on new repositories.

When the App is installed, when repositories are added to the installation, and when an admin
accepts new permissions (Administration: write may just have been granted), every repository
concerned is reconciled with its policy (``github_app.rulesets.sync``).  Whether that creates
rulesets, only reports, or does nothing is each repository's ``policy.rulesets.mode``.
"""

from __future__ import annotations

from gidgethub import routing, sansio

from github_app.context import HandlerContext
from github_app.logs import get_logger
from github_app.rulesets.sync import Repository, installation_repositories, reconcile_all

log = get_logger(__name__)

router = routing.Router()


def _sender(event: sansio.Event) -> str | None:
    return (event.data.get("sender") or {}).get("login")


async def _reconcile(ctx: HandlerContext, event: sansio.Event, repos: list[Repository]) -> None:
    outcomes = await reconcile_all(ctx, repos, actor=_sender(event))
    for outcome in outcomes:
        log.info(
            "ruleset_reconciled",
            repo=outcome.repo,
            mode=outcome.mode,
            action=outcome.action,
            error=outcome.error,
        )


@router.register("installation", action="created")
@router.register("installation", action="new_permissions_accepted")
async def on_installed(event: sansio.Event, ctx: HandlerContext) -> None:
    """Reconcile every repository of the installation."""
    listed = event.data.get("repositories")
    if event.data["action"] == "created" and listed is not None:
        repos = [Repository.from_json(repo) for repo in listed]
    else:
        repos = await installation_repositories(ctx.gh)
    await _reconcile(ctx, event, repos)


@router.register("installation_repositories", action="added")
async def on_repositories_added(event: sansio.Event, ctx: HandlerContext) -> None:
    """Reconcile the repositories just added to the installation."""
    repos = [Repository.from_json(repo) for repo in event.data.get("repositories_added") or ()]
    await _reconcile(ctx, event, repos)
