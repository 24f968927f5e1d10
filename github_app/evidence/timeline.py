"""A session's attribution summary, folded over its ledger entries in order (pure).

The summary answers "who launched this agent and what did it do": the agent(s) and launching
developer(s) recorded, whether the session ID was derived, the repositories and PRs touched,
first and last activity, and how many entries of each kind.  It is built one entry at a time so
a long session never has to be held in memory.

:class:`SessionStory` tells the same session from launch to completion, as an auditor traces
it: the launch (who — the attested launcher and the agent token —, where, when), the agent's
operations summarised by tool and path, the denied operations, the commits, pull requests,
approvals and merges, and the end.  Its lists are bounded, so a session of a million operations
is summarised in constant memory (the totals stay exact).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from github_app.ledger.entry import LedgerEntry, rfc3339

MAX_LISTED = 100  # items kept per list; totals count everything
MAX_TARGETS = 500  # distinct (tool, target) pairs kept; the rest are counted as "(other)"


def _at(entry: LedgerEntry) -> str:
    return rfc3339(entry.occurred_at)


def _keep(items: list[dict[str, Any]], item: dict[str, Any]) -> None:
    if len(items) < MAX_LISTED:
        items.append(item)


@dataclass
class SessionStory:
    """A session from launch to completion, folded one ledger entry at a time."""

    launch: dict[str, Any] | None = None
    ended: dict[str, Any] | None = None
    operations: int = 0
    by_tool: Counter[str] = field(default_factory=Counter)
    by_target: Counter[tuple[str, str]] = field(default_factory=Counter)
    denials: list[dict[str, Any]] = field(default_factory=list)
    denied: int = 0
    commits: list[str] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)
    merges: list[dict[str, Any]] = field(default_factory=list)

    def add(self, entry: LedgerEntry) -> None:
        """Fold one entry of the session into the story."""
        fold = getattr(self, f"_{entry.kind}", None)
        if fold is not None:
            fold(entry)

    def _session_started(self, entry: LedgerEntry) -> None:
        if self.launch is None:
            self.launch = {
                "at": _at(entry),
                "launched_by": entry.launched_by,
                "launcher_attested": bool(entry.data.get("launcher_attested")),
                "token": entry.actor,
                "agent": entry.agent,
                "repo": entry.repo,
                "cwd": entry.data.get("cwd"),
                "source": entry.data.get("source"),
            }

    def _session_ended(self, entry: LedgerEntry) -> None:
        self.ended = {"at": _at(entry), "reason": entry.data.get("reason")}

    def _agent_operation(self, entry: LedgerEntry) -> None:
        for operation in entry.data.get("operations", []):
            tool, target = str(operation.get("tool")), str(operation.get("target"))
            self.operations += 1
            self.by_tool[tool] += 1
            key = (tool, target)
            if key in self.by_target or len(self.by_target) < MAX_TARGETS:
                self.by_target[key] += 1
            else:
                self.by_target[(tool, "(other)")] += 1

    def _operation_denied(self, entry: LedgerEntry) -> None:
        self.denied += 1
        _keep(
            self.denials,
            {
                "at": _at(entry),
                "tool": entry.data.get("tool"),
                "target": entry.data.get("refused_target") or entry.data.get("target"),
                "rule": entry.data.get("rule"),
                "reason": entry.data.get("reason"),
            },
        )

    def _agent_change_detected(self, entry: LedgerEntry) -> None:
        for sha in entry.data.get("commits", []):
            if sha not in self.commits and len(self.commits) < MAX_LISTED:
                self.commits.append(sha)

    def _approval(self, entry: LedgerEntry) -> None:
        _keep(
            self.approvals,
            {
                "at": _at(entry),
                "repo": entry.repo,
                "pr": entry.pr,
                "reviewer": entry.data.get("reviewer"),
                "approved_sha": entry.data.get("approved_sha"),
                "counted": entry.data.get("counted"),
                "reason": entry.data.get("reason"),
            },
        )

    def _merge(self, entry: LedgerEntry) -> None:
        _keep(
            self.merges,
            {
                "at": _at(entry),
                "repo": entry.repo,
                "pr": entry.pr,
                "merge_sha": entry.data.get("merge_sha"),
                "merged_by": entry.data.get("merged_by"),
                "approvers": entry.data.get("approvers"),
            },
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready story, in the order an auditor reads it."""
        targets = sorted(self.by_target.items(), key=lambda item: (-item[1], item[0]))
        return {
            "launch": self.launch,
            "operations": {
                "total": self.operations,
                "by_tool": dict(sorted(self.by_tool.items())),
                "by_target": [
                    {"tool": tool, "target": target, "count": count}
                    for (tool, target), count in targets[:MAX_LISTED]
                ],
            },
            "denials": {"total": self.denied, "items": self.denials},
            "commits": self.commits,
            "approvals": self.approvals,
            "merges": self.merges,
            "ended": self.ended,
        }


@dataclass
class SessionSummary:
    """Accumulates attribution facts across a session's entries."""

    session_id: str
    agents: set[str] = field(default_factory=set)
    launched_by: set[str] = field(default_factory=set)
    repos: set[str] = field(default_factory=set)
    pull_requests: set[tuple[str, int]] = field(default_factory=set)
    derived: bool = False
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    kinds: Counter[str] = field(default_factory=Counter)
    entries: int = 0
    story: SessionStory = field(default_factory=SessionStory)

    def add(self, entry: LedgerEntry) -> None:
        """Fold one entry of the session into the summary."""
        self.entries += 1
        self.story.add(entry)
        self.kinds[entry.kind] += 1
        self.derived = self.derived or entry.session_derived
        if entry.agent:
            self.agents.add(entry.agent)
        if entry.launched_by:
            self.launched_by.add(entry.launched_by)
        if entry.repo:
            self.repos.add(entry.repo)
            if entry.pr is not None:
                self.pull_requests.add((entry.repo, entry.pr))
        if self.first_seen is None or entry.occurred_at < self.first_seen:
            self.first_seen = entry.occurred_at
        if self.last_seen is None or entry.occurred_at > self.last_seen:
            self.last_seen = entry.occurred_at

    def as_dict(self, *, revoked: bool) -> dict[str, Any]:
        """JSON-ready summary; ``revoked`` comes from containment state."""
        return {
            "session_id": self.session_id,
            "session_derived": self.derived,
            "agents": sorted(self.agents),
            "launched_by": sorted(self.launched_by),
            "repos": sorted(self.repos),
            "pull_requests": [{"repo": repo, "pr": pr} for repo, pr in sorted(self.pull_requests)],
            "first_seen": rfc3339(self.first_seen) if self.first_seen else None,
            "last_seen": rfc3339(self.last_seen) if self.last_seen else None,
            "entries": self.entries,
            "kinds": dict(sorted(self.kinds.items())),
            "revoked": revoked,
        }
