"""The change population: one row per change that reached a protected branch (pure).

A change is a ``merge`` entry (an agent PR merged) or a ``direct_push`` entry (commits that
reached a protected branch without a PR).  Its status:

* ``violation`` – a direct push the policy counts as a violation (``data.violation``, assumed
  when missing);
* ``unapproved`` also for a direct push the policy does not count as a violation (a human's,
  unless ``count_human_pushes``): it reached the branch without any approval;
* ``emergency`` – the merge went through the break-glass path (``data.state == "emergency"``
  or an ``emergency_change`` entry for the same repo and PR);
* ``unapproved`` – the merge was not passing (``data.passing`` false, or an
  ``unapproved_merge`` entry for the same repo and PR);
* ``approved`` – everything else: merged with a passing decision.

A ``backfill`` entry (a change found in GitHub's history from before installation) is a change
too, marked ``backfilled``; its status is ``data.status`` when that is one of the statuses, else
it is judged like a merge.

Each row also says which exception it is for an auditor (``exception``: empty for an approved
change) and whether its ledger entry still matches its hash (``integrity``).
:data:`POPULATION_CSV_COLUMNS` and :func:`population_csv` give the auditor's CSV: one row per
change, formulas neutralised.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from github_app.evidence.encode import csv_text
from github_app.evidence.integrity import ALTERED, Integrity, integrity_of
from github_app.ledger.entry import LedgerEntry, rfc3339

CHANGE_KINDS = ("merge", "direct_push", "backfill")
FLAG_KINDS = ("unapproved_merge", "emergency_change", "agent_change_detected")
POPULATION_CSV_COLUMNS = (
    "change_id",
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
    "status",
    "exception",
    "backfilled",
    "seq",
)
APPROVER_SEPARATOR = ";"
ChangeStatus = Literal["approved", "unapproved", "emergency", "violation"]
CHANGE_STATUSES: tuple[ChangeStatus, ...] = ("approved", "unapproved", "emergency", "violation")

PrKey = tuple[str | None, int | None]


@dataclass
class ChangeFlags:
    """What other entries say about merged PRs, by (repo, PR).

    Which PRs the ledger marked as unapproved (with the recorded reason) or emergency, and who
    opened each agent PR (``agent_change_detected`` entries carry the PR author as actor).
    """

    unapproved: set[PrKey] = field(default_factory=set)
    emergency: set[PrKey] = field(default_factory=set)
    reasons: dict[PrKey, str] = field(default_factory=dict)
    authors: dict[PrKey, str] = field(default_factory=dict)

    def note(self, entry: LedgerEntry) -> None:
        """Remember a flag entry (other kinds are ignored)."""
        key = (entry.repo, entry.pr)
        if entry.kind == "unapproved_merge":
            self.unapproved.add(key)
            reason = entry.data.get("reason")
            if isinstance(reason, str) and reason:
                self.reasons[key] = reason
        elif entry.kind == "emergency_change":
            self.emergency.add(key)
        elif entry.kind == "agent_change_detected" and entry.actor:
            self.authors.setdefault(key, entry.actor)


def collect_flags(entries: Iterable[LedgerEntry]) -> ChangeFlags:
    """Flags from ``unapproved_merge`` and ``emergency_change`` entries."""
    flags = ChangeFlags()
    for entry in entries:
        flags.note(entry)
    return flags


@dataclass(frozen=True)
class ChangeRow:
    """One change in the population, as an auditor samples it."""

    seq: int
    entry_id: str
    kind: str
    repo: str | None
    pr: int | None
    agent: str | None
    session_id: str | None
    session_derived: bool
    launched_by: str | None
    approvers: tuple[str, ...]
    approved_sha: str | None
    merge_sha: str | None
    merged_by: str | None
    occurred_at: str
    status: ChangeStatus
    title: str | None = None
    author: str | None = None
    policy_sha: str | None = None
    exception: str | None = None
    backfilled: bool = False
    integrity: Integrity = "ok"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready row."""
        return {
            "seq": self.seq,
            "entry_id": self.entry_id,
            "kind": self.kind,
            "repo": self.repo,
            "pr": self.pr,
            "agent": self.agent,
            "session_id": self.session_id,
            "session_derived": self.session_derived,
            "launched_by": self.launched_by,
            "approvers": list(self.approvers),
            "approved_sha": self.approved_sha,
            "merge_sha": self.merge_sha,
            "merged_by": self.merged_by,
            "occurred_at": self.occurred_at,
            "status": self.status,
            "title": self.title,
            "author": self.author,
            "policy_sha": self.policy_sha,
            "exception": self.exception,
            "backfilled": self.backfilled,
            "integrity": self.integrity,
        }

    def csv_cells(self) -> list[str]:
        """The row's cells in :data:`POPULATION_CSV_COLUMNS` order (not yet neutralised)."""
        values: dict[str, Any] = {
            "change_id": self.entry_id,
            "approvers": APPROVER_SEPARATOR.join(self.approvers),
            "merged_at": self.occurred_at,
            "backfilled": "true" if self.backfilled else "false",
            "exception": self.exception_text(),
        }
        return [
            _cell(values[column] if column in values else getattr(self, column))
            for column in POPULATION_CSV_COLUMNS
        ]

    def exception_text(self) -> str:
        """The exception column, naming an altered entry too (the CSV has no integrity column)."""
        parts = [self.exception] if self.exception else []
        if self.integrity == ALTERED:
            parts.append("ledger entry altered: its hash no longer verifies")
        return "; ".join(parts)


def change_status(entry: LedgerEntry, flags: ChangeFlags) -> ChangeStatus:
    """The status of one change entry (see the module docstring)."""
    recorded = entry.data.get("status")
    if entry.kind == "backfill" and recorded in CHANGE_STATUSES:
        return recorded
    if entry.kind == "direct_push":
        return "unapproved" if entry.data.get("violation") is False else "violation"
    key = (entry.repo, entry.pr)
    if entry.data.get("state") == "emergency" or key in flags.emergency:
        return "emergency"
    if key in flags.unapproved or entry.data.get("passing") is not True:
        return "unapproved"
    return "approved"


def exception_of(entry: LedgerEntry, status: ChangeStatus, flags: ChangeFlags) -> str | None:
    """Why a change is an exception an auditor follows up (None for an approved change)."""
    if status == "approved":
        return None
    if entry.kind == "direct_push":
        kind = "violation" if status == "violation" else "not counted as a violation by policy"
        return f"direct push to a protected branch ({kind})"
    if status == "emergency":
        return "emergency change (break-glass, post-merge review required)"
    reason = flags.reasons.get((entry.repo, entry.pr)) or entry.data.get("reason")
    return "merged without a passing decision" + (f": {reason}" if reason else "")


def change_row(entry: LedgerEntry, flags: ChangeFlags) -> ChangeRow:
    """The population row for a change entry (``merge``, ``direct_push`` or ``backfill``)."""
    data = entry.data
    status = change_status(entry, flags)
    return ChangeRow(
        seq=entry.seq,
        entry_id=entry.id,
        kind=entry.kind,
        repo=entry.repo,
        pr=entry.pr,
        agent=entry.agent,
        session_id=entry.session_id,
        session_derived=entry.session_derived,
        launched_by=entry.launched_by,
        approvers=_strings(data.get("approvers")),
        approved_sha=_text(data.get("approved_sha")),
        merge_sha=_text(data.get("merge_sha") or data.get("after") or entry.head_sha),
        merged_by=_text(data.get("merged_by") or data.get("pusher") or entry.actor),
        occurred_at=rfc3339(entry.occurred_at),
        status=status,
        title=_text(data.get("title")),
        author=_author(entry, flags),
        policy_sha=entry.policy_sha,
        exception=exception_of(entry, status, flags),
        backfilled=entry.kind == "backfill" or data.get("backfilled") is True,
        integrity=integrity_of(entry),
    )


def population_csv(rows: Iterable[ChangeRow], *, header: bool = True) -> str:
    """Population CSV text: the header (unless ``header`` is false), then one row per change."""
    lines: list[Iterable[str]] = [POPULATION_CSV_COLUMNS] if header else []
    lines.extend(row.csv_cells() for row in rows)
    return csv_text(lines)


def _author(entry: LedgerEntry, flags: ChangeFlags) -> str | None:
    """Who wrote the change: recorded on the entry, else the PR's author, else the pusher."""
    recorded = entry.data.get("author") or flags.authors.get((entry.repo, entry.pr))
    if recorded is None and entry.kind == "direct_push":
        recorded = entry.data.get("pusher") or entry.actor
    return _text(recorded)


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def _strings(value: object) -> tuple[str, ...]:
    """A list of logins from entry data, tolerating a missing or malformed value."""
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(item) for item in value if item is not None)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
