"""``pull_request`` events: re-evaluate on every change; record merges with their approvals."""

from __future__ import annotations

from gidgethub import routing, sansio

from github_app.actions.evidence import new_entry, record
from github_app.handlers import parse
from github_app.handlers.context import HandlerContext, parse_time
from github_app.handlers.pipeline import evaluate_pull_request, reevaluate

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
    pr = parse.pull_request(event.data["pull_request"], event.data["repository"])
    if pr.state != "open":
        return
    await reevaluate(ctx, pr, parse_time(event.data["pull_request"].get("updated_at")))


for _action in REEVALUATE_ON:
    router.add(on_change, "pull_request", action=_action)


@router.register("pull_request", action="closed")
async def on_closed(event: sansio.Event, ctx: HandlerContext) -> None:
    """A merged agent PR becomes a ``merge`` entry, or ``unapproved_merge`` if not passing."""
    pr_json = event.data["pull_request"]
    if not pr_json.get("merged"):
        return
    pr = parse.pull_request(pr_json, event.data["repository"])
    # The policy as it was before the merge: a PR editing the policy is not judged by itself.
    base_sha = pr_json["base"].get("sha")
    evaluation = await evaluate_pull_request(ctx, pr, policy_ref=base_sha)
    decision, attribution = evaluation.decision, evaluation.attribution
    if decision.state == "not_required" or decision.state == "not_agent":
        return  # only agent (and policy-file) changes reaching a protected branch are recorded
    merged_at = parse_time(pr_json.get("merged_at"))
    snapshot = {
        "approvers": list(decision.approvers),
        "approved_sha": pr.head_sha if decision.passing else None,
        "merge_sha": pr.merge_commit_sha,
        "merged_by": pr.merged_by.login if pr.merged_by else None,
        "base_ref": pr.base_ref,
        "state": decision.state,
        "passing": decision.passing,
        "title": pr.title,
        "author": pr.author.login,
    }
    policy_sha = evaluation.policy.sha if evaluation.policy else None
    common = {
        "occurred_at": merged_at,
        "pr": pr,
        "attribution": attribution,
        "policy_sha": policy_sha,
        "actor": snapshot["merged_by"],
    }
    entries = [new_entry(ctx, "merge", data=snapshot, **common)]
    if decision.state == "emergency":
        hours = evaluation.policy.policy.emergency.post_review_hours if evaluation.policy else 72
        emergency = {**snapshot, "post_review_hours": hours}
        entries.append(new_entry(ctx, "emergency_change", data=emergency, **common))
    elif not decision.passing:
        entries.append(
            new_entry(
                ctx, "unapproved_merge", data={**snapshot, "reason": decision.summary}, **common
            )
        )
    await record(ctx, *entries)
