"""Day-one history: judge merged pull requests and direct pushes as of their merge (pure).

``countersign audit`` reads a period of GitHub history and asks, for each change that reached a
protected branch, what Countersign would have decided at that moment: the reviews counted are
those submitted at or before ``merged_at`` (a review added after the merge never makes it
compliant), on the head that was merged, under the policy of the base commit.  Containment
state of the past (freezes, revocations) is not known and is taken as inactive.

:func:`judge_merged_pr` wraps the core's ``detect`` and ``evaluate``; :func:`backfill_entry`
turns a judged change into the ``backfill`` ledger entry that ``--record`` appends, keyed by
``change_id`` so a second run adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from github_app.core.catalogue import Catalogue
from github_app.core.detection import detect
from github_app.core.models import Attribution, Commit, PullRequest, Review
from github_app.evidence.population import ChangeStatus
from github_app.ledger.entry import NewEntry, rfc3339
from github_app.policy.evaluate import Decision, EvaluationInput, ReviewerFacts, evaluate
from github_app.policy.loader import EffectivePolicy
from github_app.policy.model import Policy

CSV_COLUMNS = (
    "change_id",
    "kind",
    "repo",
    "pr",
    "title",
    "agent",
    "session_id",
    "launched_by",
    "author",
    "approvers",
    "approved_sha",
    "merge_sha",
    "merged_at",
    "merged_by",
    "policy_sha",
    "state",
    "status",
    "recorded",
    "reason",
)
NOT_RECORDED_STATES = frozenset({"not_required", "not_agent"})


@dataclass(frozen=True)
class BackfillChange:
    """One historical change and how it is judged."""

    change_id: str
    kind: str  # "merge" or "direct_push"
    repo: str
    repo_id: int
    pr: int | None
    title: str
    author: str | None
    agent: str | None
    session_id: str | None
    session_derived: bool
    launched_by: str | None
    approvers: tuple[str, ...]
    approved_sha: str | None
    head_sha: str | None
    merge_sha: str | None
    base_ref: str | None
    merged_at: datetime
    merged_by: str | None
    policy_sha: str | None
    state: str
    status: ChangeStatus | None  # None: not a change the population holds (a human's PR)
    reason: str

    @property
    def recordable(self) -> bool:
        """Whether ``--record`` appends it (what the live App would have recorded)."""
        return self.status is not None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``--json`` and the CSV)."""
        values = asdict(self)
        values["approvers"] = list(self.approvers)
        values["merged_at"] = rfc3339(self.merged_at)
        values["recorded"] = self.recordable
        return values


def pr_change_id(repo_id: int, number: int) -> str:
    """The change id of a merged pull request."""
    return f"pr:{repo_id}:{number}"


def push_change_id(repo_id: int, after: str) -> str:
    """The change id of a direct push (the pushed head)."""
    return f"push:{repo_id}:{after}"


def reviews_as_of(reviews: Iterable[Review], moment: datetime) -> tuple[Review, ...]:
    """The reviews submitted at or before ``moment`` (undated ones cannot be placed: dropped)."""
    return tuple(r for r in reviews if r.submitted_at is not None and r.submitted_at <= moment)


def in_period(moment: datetime | None, since: datetime, until: datetime) -> bool:
    """``since`` inclusive, ``until`` exclusive."""
    return moment is not None and since <= moment < until


def status_of(decision: Decision) -> ChangeStatus | None:
    """The population status of a merged PR judged as ``decision``."""
    if decision.state in NOT_RECORDED_STATES:
        return None
    if decision.state == "emergency":
        return "emergency"
    return "approved" if decision.passing else "unapproved"


@dataclass(frozen=True)
class MergedPullRequest:
    """What the shell fetched about one merged pull request."""

    pr: PullRequest
    merged_at: datetime
    commits: tuple[Commit, ...]
    files: tuple[str, ...]
    reviews: tuple[Review, ...]
    reviewer_facts: Mapping[str, ReviewerFacts]
    incomplete: str | None = None


def judge_merged_pr(
    merged: MergedPullRequest,
    policy: EffectivePolicy | None,
    policy_error: str | None,
    rules: Policy,
    catalogue: Catalogue,
    agent_logins: frozenset[str],
) -> BackfillChange:
    """Detect and evaluate a merged PR as it stood at its merge."""
    pr = merged.pr
    attribution = detect(
        pr,
        merged.commits,
        catalogue,
        threshold=rules.detection.threshold_strength,
        assisted_is_agent=rules.detection.ai_assisted_is_agent,
    )
    decision = evaluate(
        EvaluationInput(
            pr=pr.model_copy(update={"state": "open", "merged": False}),
            commits=merged.commits,
            reviews=reviews_as_of(merged.reviews, merged.merged_at),
            changed_files=merged.files,
            attribution=attribution,
            policy=policy,
            policy_error=policy_error,
            reviewer_facts=merged.reviewer_facts,
            agent_logins=agent_logins,
            incomplete=merged.incomplete,
        )
    )
    return _merge_change(merged, attribution, decision, policy)


def _merge_change(
    merged: MergedPullRequest,
    attribution: Attribution,
    decision: Decision,
    policy: EffectivePolicy | None,
) -> BackfillChange:
    pr = merged.pr
    return BackfillChange(
        change_id=pr_change_id(pr.repo_id, pr.number),
        kind="merge",
        repo=pr.repo_full_name,
        repo_id=pr.repo_id,
        pr=pr.number,
        title=pr.title,
        author=pr.author.login,
        agent=attribution.agent if attribution.is_agent else None,
        session_id=attribution.session_id,
        session_derived=attribution.session_derived,
        launched_by=attribution.launched_by,
        approvers=tuple(decision.approvers),
        approved_sha=pr.head_sha if decision.passing else None,
        head_sha=pr.head_sha,
        merge_sha=pr.merge_commit_sha,
        base_ref=pr.base_ref,
        merged_at=merged.merged_at,
        merged_by=pr.merged_by.login if pr.merged_by else None,
        policy_sha=policy.sha if policy else None,
        state=decision.state,
        status=status_of(decision),
        reason=decision.summary,
    )


def judge_direct_push(
    *,
    repo: str,
    repo_id: int,
    branch: str,
    after: str,
    pushed_at: datetime,
    pusher: str | None,
    commits: Sequence[Commit],
    rules: Policy,
    policy_sha: str | None,
    catalogue: Catalogue,
) -> BackfillChange:
    """A push that reached a protected branch without a pull request."""
    attribution = detect(
        None,
        list(commits),
        catalogue,
        threshold=rules.detection.threshold_strength,
        assisted_is_agent=rules.detection.ai_assisted_is_agent,
        fallback_session_id=f"push:{repo_id}:{after}",
    )
    violation = attribution.is_agent or rules.direct_push.count_human_pushes
    return BackfillChange(
        change_id=push_change_id(repo_id, after),
        kind="direct_push",
        repo=repo,
        repo_id=repo_id,
        pr=None,
        title=commits[-1].message.split("\n", 1)[0][:200] if commits else "",
        author=pusher,
        agent=attribution.agent if attribution.is_agent else None,
        session_id=attribution.session_id if attribution.is_agent else None,
        session_derived=attribution.session_derived,
        launched_by=attribution.launched_by,
        approvers=(),
        approved_sha=None,
        head_sha=after,
        merge_sha=after,
        base_ref=branch,
        merged_at=pushed_at,
        merged_by=pusher,
        policy_sha=policy_sha,
        state="direct_push",
        status="violation" if violation else "unapproved",
        reason="pushed to a protected branch without a pull request",
    )


def backfill_entry(change: BackfillChange) -> NewEntry:
    """The ``backfill`` ledger entry for a recordable change."""
    return NewEntry(
        kind="backfill",
        occurred_at=change.merged_at,
        session_id=change.session_id,
        session_derived=change.session_derived,
        agent=change.agent,
        launched_by=change.launched_by,
        repo=change.repo,
        repo_id=change.repo_id,
        pr=change.pr,
        head_sha=change.head_sha,
        actor=change.merged_by,
        policy_sha=change.policy_sha,
        data={
            "change": change.kind,
            "change_id": change.change_id,
            "backfilled": True,
            "status": change.status,
            "state": change.state,
            "passing": change.status in ("approved", "emergency"),
            "approvers": list(change.approvers),
            "approved_sha": change.approved_sha,
            "merge_sha": change.merge_sha,
            "merged_by": change.merged_by,
            "base_ref": change.base_ref,
            "title": change.title,
            "author": change.author,
            "reason": change.reason,
            **({"violation": change.status == "violation"} if change.kind == "direct_push" else {}),
        },
    )


def summary_counts(changes: Iterable[BackfillChange]) -> dict[str, int]:
    """How many changes of each status (``not_agent`` for PRs the population does not hold)."""
    counts: dict[str, int] = {}
    for change in changes:
        key = change.status or "not_agent"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def csv_row(change: BackfillChange) -> list[str]:
    """One CSV row in ``CSV_COLUMNS`` order (cells neutralised by the writer)."""
    values = change.as_dict()
    values["approvers"] = " ".join(change.approvers)
    return ["" if values.get(c) is None else _text(values.get(c)) for c in CSV_COLUMNS]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def change_from_entry(entry: Any) -> BackfillChange:
    """A recorded ``backfill`` entry read back as the change it was judged to be."""
    data = entry.data
    return BackfillChange(
        change_id=str(data.get("change_id")),
        kind=str(data.get("change") or "merge"),
        repo=entry.repo or "",
        repo_id=entry.repo_id or 0,
        pr=entry.pr,
        title=str(data.get("title") or ""),
        author=data.get("author"),
        agent=entry.agent,
        session_id=entry.session_id,
        session_derived=entry.session_derived,
        launched_by=entry.launched_by,
        approvers=tuple(data.get("approvers") or ()),
        approved_sha=data.get("approved_sha"),
        head_sha=entry.head_sha,
        merge_sha=data.get("merge_sha"),
        base_ref=data.get("base_ref"),
        merged_at=entry.occurred_at,
        merged_by=data.get("merged_by"),
        policy_sha=entry.policy_sha,
        state=str(data.get("state") or ""),
        status=data.get("status"),
        reason=str(data.get("reason") or ""),
    )
