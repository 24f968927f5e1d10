"""``pull_request_review`` events: record the approval and re-evaluate the PR."""

from __future__ import annotations

import asyncio

from gidgethub import routing, sansio

from github_app.actions.record import new_entry, record
from github_app.context import HandlerContext
from github_app.core import github_json
from github_app.core.github_json import parse_time
from github_app.core.models import PullRequest
from github_app.handlers.pipeline import reevaluate
from github_app.ledger.entry import LedgerEntry

router = routing.Router()


async def on_review(event: sansio.Event, ctx: HandlerContext) -> None:
    """Re-evaluate; an APPROVED review is recorded with whether it counted and why."""
    pr = github_json.pull_request(event.data["pull_request"], event.data["repository"])
    review_json = event.data["review"]
    occurred_at = parse_time(review_json.get("submitted_at"))
    if pr.merged:
        await _record_post_review(ctx, pr, review_json, event.data["action"])
        return
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


def _emergency_of(ctx: HandlerContext, pr: PullRequest) -> LedgerEntry | None:
    entries = ctx.services.ledger.entries(repo=pr.repo_full_name, kinds=["emergency_change"])
    return next((entry for entry in entries if entry.pr == pr.number), None)


async def _record_post_review(
    ctx: HandlerContext, pr: PullRequest, review_json: dict, action: str
) -> None:
    """An approving review of a merged emergency change is its post-merge review.

    Review payloads do not say who merged, so the merger comes from the ``emergency_change``
    entry.  The people who shipped the change — its author, its merger, the launching developer
    — and bots cannot review it afterwards.
    """
    reviewer = github_json.account(review_json.get("user"))
    approved = action == "submitted" and review_json.get("state", "").upper() == "APPROVED"
    if reviewer is None or reviewer.is_bot or not approved:
        return
    emergency = await asyncio.to_thread(_emergency_of, ctx, pr)
    if emergency is None:
        return
    shippers = {pr.author.login, emergency.data.get("merged_by"), emergency.launched_by}
    if reviewer.login.lower() in {login.lower() for login in shippers if login}:
        return
    reviewer_login = reviewer.login
    entry = new_entry(
        ctx,
        "post_review",
        occurred_at=parse_time(review_json.get("submitted_at")),
        pr=pr,
        head_sha=pr.merge_commit_sha,
        actor=reviewer_login,
        data={
            "reviewer": reviewer_login,
            "emergency_seq": emergency.seq,
            "review_id": review_json.get("id"),
            "merge_sha": pr.merge_commit_sha,
        },
    )
    same_session = {
        field: getattr(emergency, field)
        for field in ("session_id", "session_derived", "agent", "launched_by")
    }
    await record(ctx, entry.model_copy(update=same_session))
