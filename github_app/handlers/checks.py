"""``check_run`` / ``check_suite`` rerequested: someone pressed "Re-run" — evaluate again."""

from __future__ import annotations

from gidgethub import routing, sansio

from github_app.actions.check_run import CHECK_NAME
from github_app.context import HandlerContext
from github_app.core import github_json
from github_app.core.github_json import parse_time
from github_app.handlers.pipeline import reevaluate

router = routing.Router()


async def _reevaluate_numbers(ctx: HandlerContext, repository: dict, numbers: list[int]) -> None:
    for number in numbers:
        pr_json = await ctx.gh.getitem(f"/repos/{repository['full_name']}/pulls/{number}")
        pr = github_json.pull_request(pr_json, repository)
        if pr.state == "open":
            updated_at = parse_time(pr_json.get("updated_at"))
            await reevaluate(ctx, pr, parse_time(None), seen_at=updated_at)


@router.register("check_run", action="rerequested")
async def on_check_run_rerequested(event: sansio.Event, ctx: HandlerContext) -> None:
    """Only our own check is ours to re-run."""
    check_run = event.data["check_run"]
    if check_run.get("name") != CHECK_NAME:
        return
    numbers = [pr["number"] for pr in check_run.get("pull_requests") or ()]
    await _reevaluate_numbers(ctx, event.data["repository"], numbers)


@router.register("check_suite", action="rerequested")
async def on_check_suite_rerequested(event: sansio.Event, ctx: HandlerContext) -> None:
    """Re-run every PR of the suite."""
    suite = event.data["check_suite"]
    numbers = [pr["number"] for pr in suite.get("pull_requests") or ()]
    await _reevaluate_numbers(ctx, event.data["repository"], numbers)
