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
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from github_app.ledger.entry import LedgerEntry, rfc3339

CHANGE_KINDS = ("merge", "direct_push")
FLAG_KINDS = ("unapproved_merge", "emergency_change")
ChangeStatus = Literal["approved", "unapproved", "emergency", "violation"]
CHANGE_STATUSES: tuple[ChangeStatus, ...] = ("approved", "unapproved", "emergency", "violation")

PrKey = tuple[str | None, int | None]


@dataclass
class ChangeFlags:
    """Which merged PRs the ledger marked as unapproved or emergency, by (repo, PR)."""

    unapproved: set[PrKey] = field(default_factory=set)
    emergency: set[PrKey] = field(default_factory=set)

    def note(self, entry: LedgerEntry) -> None:
        """Remember a flag entry (other kinds are ignored)."""
        if entry.kind == "unapproved_merge":
            self.unapproved.add((entry.repo, entry.pr))
        elif entry.kind == "emergency_change":
            self.emergency.add((entry.repo, entry.pr))


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
        }


def change_status(entry: LedgerEntry, flags: ChangeFlags) -> ChangeStatus:
    """The status of one ``merge`` or ``direct_push`` entry (see the module docstring)."""
    if entry.kind == "direct_push":
        return "unapproved" if entry.data.get("violation") is False else "violation"
    key = (entry.repo, entry.pr)
    if entry.data.get("state") == "emergency" or key in flags.emergency:
        return "emergency"
    if key in flags.unapproved or entry.data.get("passing") is not True:
        return "unapproved"
    return "approved"


def change_row(entry: LedgerEntry, flags: ChangeFlags) -> ChangeRow:
    """The population row for a ``merge`` or ``direct_push`` entry."""
    data = entry.data
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
        status=change_status(entry, flags),
    )


def _strings(value: object) -> tuple[str, ...]:
    """A list of logins from entry data, tolerating a missing or malformed value."""
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(item) for item in value if item is not None)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
