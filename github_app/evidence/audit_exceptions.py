"""Exceptions an auditor follows up (pure).

From the ledger: ``unapproved_merge`` (merged without a passing decision), ``direct_push``
(a protected branch changed without a PR — every one, also a human's push the policy does not
count as a violation: it reached the branch unapproved, as the population says; ``detail``
keeps ``violation``), ``push_bypassed`` (a ruleset bypass) and ``emergency_change`` (the
break-glass path).  Derived: ``overdue_post_review`` — an emergency change whose
``post_review`` entry (same repo and PR) did not arrive within the policy's post-review
deadline: either none yet and the deadline has passed, or one that came late.  An overdue
emergency change is listed once, as ``overdue_post_review`` (its detail says ``emergency``),
so every change appears in the list at most once.  The deadline is ``data.post_review_hours`` on
the emergency entry when present, else the policy default (72 hours).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from github_app.evidence.integrity import integrity_of
from github_app.evidence.params import Position
from github_app.ledger.entry import LedgerEntry, rfc3339

EXCEPTION_KINDS = ("unapproved_merge", "direct_push", "push_bypassed", "emergency_change")
OVERDUE = "overdue_post_review"
EXCEPTION_TYPES = (*EXCEPTION_KINDS, OVERDUE)
DEFAULT_POST_REVIEW_HOURS = 72
MAX_POST_REVIEW_HOURS = 24 * 365

PrKey = tuple[str | None, int | None]


def collect_post_reviews(entries: Iterable[LedgerEntry]) -> dict[PrKey, datetime]:
    """The earliest ``post_review`` time per (repo, PR)."""
    earliest: dict[PrKey, datetime] = {}
    for entry in entries:
        if entry.kind != "post_review":
            continue
        key = (entry.repo, entry.pr)
        if key not in earliest or entry.occurred_at < earliest[key]:
            earliest[key] = entry.occurred_at
    return earliest


@dataclass(frozen=True)
class ExceptionItem:
    """One exception row."""

    position: Position
    type: str
    entry: LedgerEntry
    detail: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready row."""
        entry = self.entry
        return {
            "type": self.type,
            "seq": entry.seq,
            "entry_id": entry.id,
            "occurred_at": rfc3339(entry.occurred_at),
            "repo": entry.repo,
            "pr": entry.pr,
            "agent": entry.agent,
            "session_id": entry.session_id,
            "launched_by": entry.launched_by,
            "actor": entry.actor,
            "head_sha": entry.head_sha,
            "detail": self.detail,
            "integrity": integrity_of(entry),
        }


def post_review_hours(entry: LedgerEntry, default_hours: int) -> int:
    """The deadline that applies to an emergency change."""
    hours = entry.data.get("post_review_hours")
    usable = isinstance(hours, int) and not isinstance(hours, bool)
    if usable and 0 < hours <= MAX_POST_REVIEW_HOURS:
        return hours
    return default_hours


def exception_items(
    entry: LedgerEntry,
    post_reviews: dict[PrKey, datetime],
    *,
    now: datetime,
    default_hours: int = DEFAULT_POST_REVIEW_HOURS,
) -> Iterator[ExceptionItem]:
    """The exception row one ledger entry yields (none for other kinds)."""
    if entry.kind not in EXCEPTION_KINDS:
        return
    position = Position(entry.seq, 0)
    if entry.kind != "emergency_change":
        yield ExceptionItem(position, entry.kind, entry, _summary(entry))
        return
    due = entry.occurred_at + timedelta(hours=post_review_hours(entry, default_hours))
    reviewed_at = post_reviews.get((entry.repo, entry.pr))
    detail = _summary(entry) | {
        "emergency": True,
        "post_review_due": rfc3339(due),
        "post_reviewed_at": rfc3339(reviewed_at) if reviewed_at else None,
    }
    late = reviewed_at > due if reviewed_at else now > due
    if not late:
        yield ExceptionItem(position, entry.kind, entry, detail)
        return
    overdue = detail | {"overdue_by_hours": _hours_late(due, reviewed_at or now)}
    yield ExceptionItem(position, OVERDUE, entry, overdue)


def _summary(entry: LedgerEntry) -> dict[str, Any]:
    """The entry's kind-specific data, shown as the exception's detail."""
    return dict(entry.data)


def _hours_late(due: datetime, moment: datetime) -> float:
    return round((moment - due).total_seconds() / 3600, 2)
