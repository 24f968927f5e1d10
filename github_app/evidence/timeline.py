"""A session's attribution summary, folded over its ledger entries in order (pure).

The summary answers "who launched this agent and what did it do": the agent(s) and launching
developer(s) recorded, whether the session ID was derived, the repositories and PRs touched,
first and last activity, and how many entries of each kind.  It is built one entry at a time so
a long session never has to be held in memory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from github_app.ledger.entry import LedgerEntry, rfc3339


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

    def add(self, entry: LedgerEntry) -> None:
        """Fold one entry of the session into the summary."""
        self.entries += 1
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
