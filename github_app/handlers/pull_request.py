"""``pull_request`` events: re-evaluate on every change; record merges with their approvals."""

from __future__ import annotations

from gidgethub import routing, sansio

from github_app.actions.record import record
from github_app.context import HandlerContext
from github_app.core import github_json
from github_app.core.github_json import parse_time
from github_app.evidence.pr_entries import merge_entries
from github_app.handlers.pipeline import close_pull_request, evaluate_pull_request, reevaluate

router = routing.Router()

REEVALUATE_ON = (
    "opened",
    "synchronize",
    "reopened",
    "ready_for_review",
    "edited",
    "labeled",
    "unlabeled",
)


async def on_change(event: sansio.Event, ctx: HandlerContext) -> None:
    """Any change that can alter the verdict re-evaluates the PR."""
    pr = github_json.pull_request(event.data["pull_request"], event.data["repository"])
    if pr.state != "open":
        return
    updated_at = parse_time(event.data["pull_request"].get("updated_at"))
    await reevaluate(ctx, pr, updated_at, seen_at=updated_at)


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
    evaluation = await evaluate_pull_request(ctx, pr, policy_ref=base_sha)
    entries = merge_entries(ctx.stamp, evaluation.judgement, parse_time(pr_json.get("merged_at")))
    await record(ctx, *entries)
