"""``pull_request`` events: re-evaluate on every change; record merges with their approvals."""

from __future__ import annotations

import asyncio

from gidgethub import routing, sansio

from github_app.actions.record import record
from github_app.context import HandlerContext
from github_app.core import github_json
from github_app.core.github_json import parse_time
from github_app.core.models import PullRequest
from github_app.evidence.pr_entries import merge_entries
from github_app.handlers.pipeline import close_pull_request, evaluate_pull_request, reevaluate
from github_app.state.pushers import Pushed, Pushers

router = routing.Router()

# "edited" is handled by handlers/retarget.py (a change of base is recorded before judging).
REEVALUATE_ON = (
    "opened",
    "synchronize",
    "reopened",
    "ready_for_review",
    "converted_to_draft",
    "labeled",
    "unlabeled",
)


# Actions whose sender put the head commit on the PR: they count as its authors.
HEAD_CHANGES = ("opened", "synchronize", "reopened")


async def on_change(event: sansio.Event, ctx: HandlerContext) -> None:
    """Any change that can alter the verdict re-evaluates the PR."""
    pr = github_json.pull_request(event.data["pull_request"], event.data["repository"])
    if pr.state != "open":
        return
    if event.data.get("action") in HEAD_CHANGES:
        await _remember_pusher(ctx, pr, event.data)
    updated_at = parse_time(event.data["pull_request"].get("updated_at"))
    await reevaluate(ctx, pr, updated_at, seen_at=updated_at)


async def _remember_pusher(ctx: HandlerContext, pr: PullRequest, data: dict) -> None:
    sender = github_json.account(data.get("sender"))
    if sender is None:
        return
    pushed = Pushed(pr.repo_id, pr.head_sha, sender.login, pr.number, data["action"])
    await asyncio.to_thread(Pushers(ctx.services.db).record, [pushed])


for _action in REEVALUATE_ON:
    router.add(on_change, "pull_request", action=_action)


@router.register("pull_request", action="closed")
async def on_closed(event: sansio.Event, ctx: HandlerContext) -> None:
    """A closed PR stops counting towards its commit's verdict; a merged agent PR is recorded
    (``evidence.pr_entries.merge_entries`` says how)."""
    pr_json = event.data["pull_request"]
    pr = github_json.pull_request(pr_json, event.data["repository"])
    await close_pull_request(ctx, pr, parse_time(pr_json.get("updated_at")))
    if not pr_json.get("merged"):
        return
    # The policy as it was before the merge: a PR editing the policy is not judged by itself.
    base_sha = pr_json["base"].get("sha")
    merged_at = parse_time(pr_json.get("merged_at"))
    evaluation = await evaluate_pull_request(
        ctx, pr, policy_ref=base_sha, reviews_until=merged_at
    )
    entries = merge_entries(ctx.stamp, evaluation.judgement, merged_at)
    await record(ctx, *entries)
