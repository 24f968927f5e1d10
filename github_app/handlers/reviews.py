"""``pull_request_review`` events: record the approval and re-evaluate the PR."""

from __future__ import annotations

import asyncio

from gidgethub import routing, sansio

from github_app.actions.record import record
from github_app.context import HandlerContext
from github_app.core import github_json
from github_app.core.github_json import parse_time
from github_app.core.models import PullRequest
from github_app.evidence.pr_entries import approval_entry, post_review_entry
from github_app.handlers.pipeline import evaluate_pull_request, reevaluate
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
    seen_at = parse_time(event.data["pull_request"].get("updated_at"))
    evaluation = await reevaluate(ctx, pr, occurred_at, seen_at=seen_at)
    if event.data["action"] != "submitted":
        return
    if entry := approval_entry(ctx.stamp, evaluation.judgement, review_json, occurred_at):
        await record(ctx, entry)


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
    entry.  The PR is evaluated again (policy at its base commit) so the review is judged by
    the approval rules; ``evidence.pr_entries.post_review_entry`` decides whether it counts.
    """
    reviewer = github_json.account(review_json.get("user"))
    approved = action == "submitted" and review_json.get("state", "").upper() == "APPROVED"
    if reviewer is None or reviewer.is_bot or not approved:
        return
    emergency = await asyncio.to_thread(_emergency_of, ctx, pr)
    if emergency is None:
        return
    evaluation = await evaluate_pull_request(ctx, pr)
    occurred_at = parse_time(review_json.get("submitted_at"))
    entry = post_review_entry(
        ctx.stamp,
        evaluation.judgement,
        reviewer,
        approved,
        emergency,
        review_json.get("id"),
        occurred_at,
    )
    if entry is not None:
        await record(ctx, entry)
