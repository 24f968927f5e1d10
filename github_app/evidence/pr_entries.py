"""What evidence a pull request's life writes: pure functions from what was known to ledger entries.

The shell (``handlers/``) gathers the facts, calls one of these and appends what it returns; no
function here reads the store or GitHub, so every rule about *which* entries are written (and
with which data) is tested here without I/O.

* :func:`state_entries` — after an evaluation: detection of a new agent head, approvals made
  stale by a push, a changed decision, an invalid policy.
* :func:`merge_entries` — when an agent PR merges: ``merge`` plus ``emergency_change`` or
  ``unapproved_merge``.
* :func:`approval_entry` — an APPROVED review, with whether it counted and why.
* :func:`post_review_entry` — an approving review of a merged emergency change by someone who did
  not ship it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from github_app.core.models import Account, Attribution, Commit, PullRequest, Review, Signal
from github_app.evidence.audit_exceptions import DEFAULT_POST_REVIEW_HOURS
from github_app.ledger.entry import LedgerEntry, NewEntry
from github_app.policy.evaluate import Decision


@dataclass(frozen=True)
class Stamp:
    """Where an entry came from: the webhook delivery (if any) and its payload's hash."""

    delivery_id: str | None = None
    payload_sha256: str | None = None


@dataclass(frozen=True)
class Judgement:
    """What one evaluation of a pull request saw and decided."""

    pr: PullRequest
    attribution: Attribution
    decision: Decision
    commits: Sequence[Commit] = ()
    reviews: Sequence[Review] = ()
    policy_sha: str | None = None
    policy_error: str | None = None
    post_review_hours: int = DEFAULT_POST_REVIEW_HOURS


class Published(Protocol):
    """The decision last published for a pull request (``state.decisions.PrRecord``)."""

    @property
    def head_sha(self) -> str: ...

    @property
    def state(self) -> str: ...


def make_entry(
    stamp: Stamp,
    kind: str,
    *,
    occurred_at: datetime,
    pr: PullRequest | None = None,
    attribution: Attribution | None = None,
    repo: str | None = None,
    repo_id: int | None = None,
    head_sha: str | None = None,
    actor: str | None = None,
    policy_sha: str | None = None,
    data: dict[str, Any] | None = None,
) -> NewEntry:
    """A ledger entry stamped with the delivery, the PR and the attribution."""
    return NewEntry(
        kind=kind,
        occurred_at=occurred_at,
        session_id=attribution.session_id if attribution else None,
        session_derived=attribution.session_derived if attribution else False,
        agent=attribution.agent if attribution and attribution.is_agent else None,
        launched_by=attribution.launched_by if attribution else None,
        repo=pr.repo_full_name if pr else repo,
        repo_id=pr.repo_id if pr else repo_id,
        pr=pr.number if pr else None,
        head_sha=head_sha or (pr.head_sha if pr else None),
        actor=actor,
        delivery_id=stamp.delivery_id,
        payload_sha256=stamp.payload_sha256,
        policy_sha=policy_sha,
        data=_with_attribution_facts(data or {}, attribution),
    )


def _with_attribution_facts(
    data: dict[str, Any], attribution: Attribution | None
) -> dict[str, Any]:
    """``data`` plus the catalogue release that judged the change, every session id and every
    launcher candidate (when there is more than one)."""
    if attribution is None:
        return data
    facts: dict[str, Any] = {}
    if attribution.catalogue_version:
        facts["catalogue_version"] = attribution.catalogue_version
    if attribution.is_agent and len(attribution.all_session_ids) > 1:
        facts["session_ids"] = list(attribution.all_session_ids)
    if attribution.is_agent and len(attribution.all_launchers) > 1:
        facts["launcher_candidates"] = list(attribution.all_launchers)
    return {**facts, **data}


def summarise_signals(signals: Iterable[Signal], limit: int = 50) -> list[dict]:
    """Signals grouped by what was seen (a 250-commit PR repeats the same marker 250 times)."""
    groups: dict[tuple, dict] = {}
    for signal in signals:
        key = (signal.agent, signal.kind, int(signal.strength), signal.detail)
        if key not in groups:
            groups[key] = {**signal.model_dump(mode="json"), "count": 0}
        groups[key]["count"] += 1
    ordered = sorted(groups.values(), key=lambda group: (-group["strength"], -group["count"]))
    return ordered[:limit]


def _common(judgement: Judgement, occurred_at: datetime) -> dict[str, Any]:
    return {
        "occurred_at": occurred_at,
        "pr": judgement.pr,
        "attribution": judgement.attribution,
        "policy_sha": judgement.policy_sha,
    }


def stale_approvers(reviews: Iterable[Review], previous_head: str) -> list[str]:
    """Who approved the previous head (their approvals no longer count on the new one)."""
    return sorted(
        {
            r.reviewer.login
            for r in reviews
            if r.state == "APPROVED" and r.commit_id == previous_head
        }
    )


def state_entries(
    stamp: Stamp, previous: Published | None, judgement: Judgement, occurred_at: datetime
) -> list[NewEntry]:
    """Ledger entries for what changed since the last published decision."""
    pr, attribution, decision = judgement.pr, judgement.attribution, judgement.decision
    common = _common(judgement, occurred_at)
    new_head = previous is None or previous.head_sha != pr.head_sha
    entries: list[NewEntry] = []
    if attribution.is_agent and new_head:
        detected = {
            "signals": summarise_signals(attribution.signals),
            "commits": [c.sha for c in judgement.commits],
            "title": pr.title,
            "head_ref": pr.head_ref,
            "base_ref": pr.base_ref,
            "launcher_attested": attribution.launcher_attested,
            "launcher_conflicts": list(attribution.launcher_conflicts),
        }
        entries.append(
            make_entry(
                stamp, "agent_change_detected", actor=pr.author.login, data=detected, **common
            )
        )
    stale = stale_approvers(judgement.reviews, previous.head_sha) if previous and new_head else []
    if previous is not None and stale:
        invalidated = {
            "approvers": stale,
            "approved_sha": previous.head_sha,
            "new_head_sha": pr.head_sha,
        }
        entries.append(make_entry(stamp, "approval_invalidated", data=invalidated, **common))
    if previous is None or new_head or previous.state != decision.state:
        changed = {
            "state": decision.state,
            "passing": decision.passing,
            "title": decision.title,
            "approvers": list(decision.approvers),
            "to_pass": list(decision.to_pass),
            "previous_state": previous.state if previous else None,
        }
        entries.append(make_entry(stamp, "decision", data=changed, **common))
        if decision.state == "policy_invalid":
            error = {"error": judgement.policy_error}
            entries.append(make_entry(stamp, "policy_invalid", data=error, **common))
    return entries


def merge_entries(stamp: Stamp, judgement: Judgement, merged_at: datetime) -> list[NewEntry]:
    """A merged agent (or policy-file) PR: ``merge``, plus ``emergency_change`` or
    ``unapproved_merge``; nothing for changes the policy does not cover."""
    pr, decision = judgement.pr, judgement.decision
    if decision.state in ("not_required", "not_agent"):
        return []
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
    common = {**_common(judgement, merged_at), "actor": snapshot["merged_by"]}
    entries = [make_entry(stamp, "merge", data=snapshot, **common)]
    if decision.state == "emergency":
        emergency = {**snapshot, "post_review_hours": judgement.post_review_hours}
        entries.append(make_entry(stamp, "emergency_change", data=emergency, **common))
    elif not decision.passing:
        unapproved = {**snapshot, "reason": decision.summary}
        entries.append(make_entry(stamp, "unapproved_merge", data=unapproved, **common))
    return entries


def approval_entry(
    stamp: Stamp, judgement: Judgement, review: dict[str, Any], occurred_at: datetime
) -> NewEntry | None:
    """An APPROVED review just submitted, with whether it counted (``None`` for other reviews)."""
    if review.get("state", "").upper() != "APPROVED":
        return None
    decision = judgement.decision
    verdict = next((v for v in decision.approvals if v.review_id == review["id"]), None)
    reviewer = (review.get("user") or {}).get("login")
    return make_entry(
        stamp,
        "approval",
        occurred_at=occurred_at,
        pr=judgement.pr,
        attribution=judgement.attribution,
        actor=reviewer,
        head_sha=review.get("commit_id"),
        policy_sha=judgement.policy_sha,
        data={
            "review_id": review["id"],
            "reviewer": reviewer,
            "approved_sha": review.get("commit_id"),
            "counted": bool(verdict and verdict.counted),
            "reason": verdict.reason if verdict else "not an agent change",
            "decision_state": decision.state,
        },
    )


def can_post_review(
    pr: PullRequest, reviewer: Account | None, approved: bool, emergency: LedgerEntry
) -> bool:
    """Whether this review is the post-merge review of the emergency change.

    The people who shipped the change — its author, its merger, the launching developer — and
    bots cannot review it afterwards.
    """
    if reviewer is None or reviewer.is_bot or not approved:
        return False
    shippers = {pr.author.login, emergency.data.get("merged_by"), emergency.launched_by}
    shippers.update(emergency.data.get("launcher_candidates", ()))  # every launcher candidate
    return reviewer.login.lower() not in {login.lower() for login in shippers if login}


def post_review_entry(
    stamp: Stamp,
    pr: PullRequest,
    reviewer: Account | None,
    approved: bool,
    emergency: LedgerEntry | None,
    review_id: int | None,
    occurred_at: datetime,
) -> NewEntry | None:
    """The ``post_review`` entry of a merged emergency change, in the change's session."""
    if (
        emergency is None
        or reviewer is None
        or not can_post_review(pr, reviewer, approved, emergency)
    ):
        return None
    entry = make_entry(
        stamp,
        "post_review",
        occurred_at=occurred_at,
        pr=pr,
        head_sha=pr.merge_commit_sha,
        actor=reviewer.login,
        data={
            "reviewer": reviewer.login,
            "emergency_seq": emergency.seq,
            "review_id": review_id,
            "merge_sha": pr.merge_commit_sha,
        },
    )
    same_session = {
        field: getattr(emergency, field)
        for field in ("session_id", "session_derived", "agent", "launched_by")
    }
    return entry.model_copy(update=same_session)
