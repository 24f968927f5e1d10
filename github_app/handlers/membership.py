"""People and teams changing: re-judge the open agent PRs whose approvals depend on them.

``membership`` (a person added to or removed from a team), ``member`` (a collaborator added,
removed or given another permission), ``organization`` (a member added or removed) and ``team``
(a team added to or removed from a repository, or its permission edited).  An approver removed
from a team before the merge no longer counts, so the PRs they reviewed are judged again; a team
whose access to a repository changed affects every reviewer of that repository's agent PRs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime

from gidgethub import BadRequest, routing, sansio

from github_app.context import HandlerContext
from github_app.core import github_json
from github_app.handlers.pipeline import reevaluate
from github_app.logs import get_logger
from github_app.rulesets.sync import Repository, installation_repositories
from github_app.state.agent_prs import agent_pull_requests

log = get_logger(__name__)

router = routing.Router()


def _repository(event: sansio.Event) -> Repository | None:
    repository = event.data.get("repository")
    if not repository:
        return None
    return Repository(full_name=repository["full_name"], id=repository["id"])


async def _repositories(ctx: HandlerContext, event: sansio.Event) -> list[Repository]:
    """The repository the event names, else every repository of the installation."""
    named = _repository(event)
    return [named] if named else await installation_repositories(ctx.gh)


async def _reviewed_by(ctx: HandlerContext, repo: str, number: int, login: str) -> bool:
    reviews = ctx.gh.getiter(f"/repos/{repo}/pulls/{number}/reviews")
    return any(
        [r async for r in reviews if (r.get("user") or {}).get("login", "").lower() == login]
    )


async def rejudge(
    ctx: HandlerContext, repos: Iterable[Repository], *, login: str | None, reason: str
) -> int:
    """Re-evaluate the open agent PRs of ``repos`` (only those ``login`` reviewed, if given)."""
    names = {repo.id: repo.full_name for repo in repos}
    candidates = await asyncio.to_thread(agent_pull_requests, ctx.services.db, names)
    count = 0
    for repo_id, number in candidates:
        repo = names[repo_id]
        try:
            item = await ctx.gh.getitem(f"/repos/{repo}/pulls/{number}")
        except BadRequest as error:
            if error.status_code == 404:
                continue
            raise
        if item.get("state") != "open":
            continue
        if login is not None and not await _reviewed_by(ctx, repo, number, login.lower()):
            continue
        pr = github_json.pull_request(item, item["base"]["repo"])
        await reevaluate(ctx, pr, datetime.now(UTC))
        count += 1
    log.info("membership_rejudged", reason=reason, login=login, pull_requests=count)
    return count


@router.register("membership", action="added")
@router.register("membership", action="removed")
async def on_team_membership(event: sansio.Event, ctx: HandlerContext) -> None:
    """A person joined or left a team: the PRs they reviewed are judged again."""
    login = (event.data.get("member") or {}).get("login")
    reason = f"membership {event.data['action']}"
    await rejudge(ctx, await _repositories(ctx, event), login=login, reason=reason)


@router.register("member", action="added")
@router.register("member", action="removed")
@router.register("member", action="edited")
async def on_collaborator(event: sansio.Event, ctx: HandlerContext) -> None:
    """A collaborator's access to the repository changed."""
    login = (event.data.get("member") or {}).get("login")
    reason = f"member {event.data['action']}"
    await rejudge(ctx, await _repositories(ctx, event), login=login, reason=reason)


@router.register("organization", action="member_added")
@router.register("organization", action="member_removed")
async def on_organization_member(event: sansio.Event, ctx: HandlerContext) -> None:
    """Someone joined or left the organisation (and with it every team)."""
    login = ((event.data.get("membership") or {}).get("user") or {}).get("login")
    reason = f"organization {event.data['action']}"
    await rejudge(ctx, await _repositories(ctx, event), login=login, reason=reason)


@router.register("team", action="added_to_repository")
@router.register("team", action="removed_from_repository")
@router.register("team", action="edited")
async def on_team(event: sansio.Event, ctx: HandlerContext) -> None:
    """A team's access changed: every agent PR of the repository may count differently."""
    reason = f"team {event.data['action']}"
    await rejudge(ctx, await _repositories(ctx, event), login=None, reason=reason)
