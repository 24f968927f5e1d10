"""``pull_request_review`` events: record the approval and re-evaluate the PR."""

from __future__ import annotations

from gidgethub import routing, sansio

from github_app.actions.evidence import new_entry, record
from github_app.handlers import parse
from github_app.handlers.context import HandlerContext, parse_time
from github_app.handlers.pipeline import reevaluate

router = routing.Router()


async def on_review(event: sansio.Event, ctx: HandlerContext) -> None:
    """Re-evaluate; an APPROVED review is recorded with whether it counted and why."""
    pr = parse.pull_request(event.data["pull_request"], event.data["repository"])
    review_json = event.data["review"]
    occurred_at = parse_time(review_json.get("submitted_at"))
    if pr.state != "open":
        return
    evaluation = await reevaluate(ctx, pr, occurred_at)
    if review_json.get("state", "").upper() != "APPROVED" or event.data["action"] != "submitted":
        return
    verdict = next(
        (v for v in evaluation.decision.approvals if v.review_id == review_json["id"]), None
    )
    reviewer = (review_json.get("user") or {}).get("login")
    await record(
        ctx,
        new_entry(
            ctx,
            "approval",
            occurred_at=occurred_at,
            pr=pr,
            attribution=evaluation.attribution,
            actor=reviewer,
            head_sha=review_json.get("commit_id"),
            policy_sha=evaluation.policy.sha if evaluation.policy else None,
            data={
                "review_id": review_json["id"],
                "reviewer": reviewer,
                "approved_sha": review_json.get("commit_id"),
                "counted": bool(verdict and verdict.counted),
                "reason": verdict.reason if verdict else "not an agent change",
                "decision_state": evaluation.decision.state,
            },
        ),
    )


for _action in ("submitted", "edited", "dismissed"):
    router.add(on_review, "pull_request_review", action=_action)
