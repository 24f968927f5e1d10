"""A small, realistic ledger for API and CLI tests, and the services object the API expects.

The ledger holds five changes — one of each status plus a second emergency change — and the
exceptions that go with them, relative to ``now`` so post-review deadlines are meaningful:

====  ======================  ========  ===========================================
seq   kind                    session   notes
====  ======================  ========  ===========================================
1-4   detection, decisions…   sess-A    acme/app #1 by claude-code, launched by alice
5     merge                   sess-A    approved by bob
6     agent_change_detected   sess-B    acme/app #2, copilot, carol
7-8   merge + unapproved      sess-B    merged while blocked
9-10  merge + emergency       sess-C    acme/api #3, 100 h ago, no post-review: overdue
11-12 merge + emergency       sess-D    acme/api #4, 10 h ago
13    post_review             sess-D    reviewed 5 h ago (in time)
14    direct_push             —         acme/app, mallory: violation
15    push_bypassed           —         acme/app
====  ======================  ========  ===========================================

A signed checkpoint covers entries 1-15; entry 16 (a decision for sess-A) comes after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from github_app.config import Settings
from github_app.ledger import NewEntry
from github_app.state.containment import Containment
from github_app.store import Database
from github_app.store.ledger import Ledger

CHECKPOINTED = 15
TOTAL = 16
EXPECTED_STATUSES = {
    5: "approved",
    7: "unapproved",
    9: "emergency",
    11: "emergency",
    14: "violation",
}


@dataclass
class ApiServices:
    """The services the API handlers use (the App's real ``Services`` has more)."""

    settings: Settings
    db: Database
    ledger: Ledger
    containment: Containment


def _pr(session: str, agent: str, launcher: str, repo: str, pr: int) -> dict[str, Any]:
    return {
        "session_id": session,
        "agent": agent,
        "launched_by": launcher,
        "repo": repo,
        "repo_id": 100 if repo == "acme/app" else 200,
        "pr": pr,
    }


def _merge(state: str, passing: bool, approvers: list[str], merged_by: str, sha: str) -> dict:
    return {
        "state": state,
        "passing": passing,
        "approvers": approvers,
        "approved_sha": f"{sha}head" if passing else None,
        "merge_sha": f"{sha}merge",
        "merged_by": merged_by,
        "base_ref": "main",
        "title": "change",
    }


def scenario_entries(now: datetime) -> list[NewEntry]:
    """The 16 entries described in the module docstring."""
    hours = lambda h: now - timedelta(hours=h)  # noqa: E731
    a = _pr("sess-A", "claude-code", "alice", "acme/app", 1)
    b = _pr("sess-B", "copilot", "carol", "acme/app", 2)
    c = _pr("sess-C", "claude-code", "dave", "acme/api", 3)
    d = _pr("sess-D", "claude-code", "dave", "acme/api", 4)
    merge_c = _merge("emergency", True, ["erin"], "erin", "c")
    merge_d = _merge("emergency", True, ["erin"], "erin", "d")
    specs: list[dict[str, Any]] = [
        {"kind": "agent_change_detected", "occurred_at": hours(50), **a, "actor": "claude[bot]"},
        {"kind": "decision", "occurred_at": hours(50), **a, "data": {"state": "pending"}},
        {
            "kind": "approval",
            "occurred_at": hours(49),
            **a,
            "actor": "bob",
            "data": {"reviewer": "bob", "counted": True},
        },
        {"kind": "decision", "occurred_at": hours(49), **a, "data": {"state": "approved"}},
        {
            "kind": "merge",
            "occurred_at": hours(48),
            **a,
            "actor": "bob",
            "data": _merge("approved", True, ["bob"], "bob", "a"),
        },
        {"kind": "agent_change_detected", "occurred_at": hours(40), **b},
        {
            "kind": "merge",
            "occurred_at": hours(30),
            **b,
            "actor": "carol",
            "data": _merge("blocked", False, [], "carol", "b"),
        },
        {
            "kind": "unapproved_merge",
            "occurred_at": hours(30),
            **b,
            "actor": "carol",
            "data": _merge("blocked", False, [], "carol", "b") | {"reason": "no approval"},
        },
        {"kind": "merge", "occurred_at": hours(100), **c, "actor": "erin", "data": merge_c},
        {
            "kind": "emergency_change",
            "occurred_at": hours(100),
            **c,
            "actor": "erin",
            "data": merge_c,
        },
        {"kind": "merge", "occurred_at": hours(10), **d, "actor": "erin", "data": merge_d},
        {
            "kind": "emergency_change",
            "occurred_at": hours(10),
            **d,
            "actor": "erin",
            "data": merge_d,
        },
        {"kind": "post_review", "occurred_at": hours(5), **d, "actor": "frank"},
        {
            "kind": "direct_push",
            "occurred_at": hours(20),
            "repo": "acme/app",
            "repo_id": 100,
            "actor": "mallory",
            "head_sha": "d1" * 20,
            "data": {"pusher": "mallory", "after": "d1" * 20, "ref": "refs/heads/main"},
        },
        {
            "kind": "push_bypassed",
            "occurred_at": hours(19),
            "repo": "acme/app",
            "repo_id": 100,
            "actor": "admin-user",
            "data": {"ref": "refs/heads/main"},
        },
        {"kind": "decision", "occurred_at": hours(1), **a, "data": {"state": "approved"}},
    ]
    return [NewEntry.model_validate(spec) for spec in specs]


def seed(ledger: Ledger, now: datetime) -> None:
    """Append the scenario with a checkpoint after entry 15."""
    entries = scenario_entries(now)
    ledger.append_many(entries[:CHECKPOINTED])
    ledger.checkpoint()
    ledger.append_many(entries[CHECKPOINTED:])
