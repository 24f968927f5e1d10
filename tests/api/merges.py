"""A ledger of merged changes with real commit SHAs, for attestation and audit-pack tests.

Three periods' worth of entries around two signed checkpoints:

====  =====================  ==========================================================
seq   kind                   notes
====  =====================  ==========================================================
1     agent_change_detected  acme/app #1 (40 days ago)
2     merge                  #1, approved by bob and erin (two-party review)
3     checkpoint after 3 ↓   3: a decision
4     merge                  acme/app #2 (20 days ago): approved by bob only
5     merge                  acme/app #3 (19 days ago): merged while blocked
6     unapproved_merge       #3
7     direct_push            acme/app (18 days ago), mallory: violation
8     backfill               acme/api #9 (60 days ago): imported history, approved
9     checkpoint after 9 ↓   9: a decision (10 days ago)
10    merge                  acme/app #4 (1 day ago): approved by carol
====  =====================  ==========================================================
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from github_app.ledger import NewEntry
from github_app.store.ledger import Ledger

MERGE_SHA = {1: "1" * 40, 2: "2" * 40, 3: "3" * 40, 4: "4" * 40, 9: "9" * 40}
POLICY_SHA = "e" * 64


def _agent(pr: int, repo: str = "acme/app") -> dict[str, Any]:
    return {
        "session_id": f"sess-{pr}",
        "agent": "claude-code",
        "launched_by": "alice",
        "repo": repo,
        "repo_id": 100 if repo == "acme/app" else 200,
        "pr": pr,
        "head_sha": "a" * 39 + str(pr),
        "policy_sha": POLICY_SHA,
    }


def _merge(pr: int, approvers: list[str], passing: bool) -> dict[str, Any]:
    return {
        "state": "approved" if passing else "blocked",
        "passing": passing,
        "approvers": approvers,
        "approved_sha": ("a" * 39 + str(pr)) if passing else None,
        "merge_sha": MERGE_SHA[pr],
        "merged_by": approvers[0] if approvers else "alice",
        "base_ref": "main",
        "title": f"Change {pr}",
    }


def merge_entries(now: datetime) -> list[NewEntry]:
    """The ten entries of the module docstring."""
    days = lambda d: now - timedelta(days=d)  # noqa: E731
    specs: list[dict[str, Any]] = [
        {"kind": "agent_change_detected", "occurred_at": days(40), **_agent(1)},
        {
            "kind": "merge",
            "occurred_at": days(40),
            **_agent(1),
            "actor": "bob",
            "data": _merge(1, ["bob", "erin"], True),
        },
        {"kind": "decision", "occurred_at": days(39), **_agent(1), "data": {"state": "approved"}},
        {"kind": "merge", "occurred_at": days(20), **_agent(2), "data": _merge(2, ["bob"], True)},
        {"kind": "merge", "occurred_at": days(19), **_agent(3), "data": _merge(3, [], False)},
        {
            "kind": "unapproved_merge",
            "occurred_at": days(19),
            **_agent(3),
            "data": _merge(3, [], False),
        },
        {
            "kind": "direct_push",
            "occurred_at": days(18),
            "repo": "acme/app",
            "repo_id": 100,
            "actor": "mallory",
            "head_sha": "d" * 40,
            "data": {"pusher": "mallory", "after": "d" * 40, "violation": True},
        },
        {
            "kind": "backfill",
            "occurred_at": days(60),
            **_agent(9, "acme/api"),
            "actor": "bob",
            "data": {
                **_merge(9, ["bob"], True),
                "change": "merge",
                "change_id": "pr:200:9",
                "status": "approved",
                "backfilled": True,
                "author": "claude[bot]",
            },
        },
        {"kind": "decision", "occurred_at": days(10), **_agent(2), "data": {"state": "approved"}},
        {
            "kind": "merge",
            "occurred_at": days(1),
            **_agent(4),
            "actor": "carol",
            "data": {**_merge(4, ["carol"], True), "merge_sha": "4" * 40},
        },
    ]
    return [NewEntry.model_validate(spec) for spec in specs]


def seed_merges(ledger: Ledger, now: datetime) -> None:
    """Append the scenario with checkpoints after entries 3 and 9."""
    entries = merge_entries(now)
    ledger.append_many(entries[:3])
    ledger.checkpoint()
    ledger.append_many(entries[3:9])
    ledger.checkpoint()
    ledger.append_many(entries[9:])
