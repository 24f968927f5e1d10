"""Helpers for ledger tests: a hand-driven clock and varied, realistic entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from github_app.ledger import NewEntry

START = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_entry(number: int, **overrides: object) -> NewEntry:
    """A varied entry; ``number`` spreads entries over sessions, repos, kinds and agents."""
    kinds = ("agent_change_detected", "decision", "approval", "merge", "direct_push")
    fields: dict[str, object] = {
        "kind": kinds[number % len(kinds)],
        "occurred_at": START + timedelta(minutes=number),
        "session_id": f"session-{number % 3}",
        "session_derived": number % 4 == 0,
        "agent": "claude-code" if number % 2 else "copilot",
        "launched_by": "octocat",
        "repo": f"acme/repo-{number % 2}",
        "repo_id": 1000 + number % 2,
        "pr": 10 + number % 5,
        "head_sha": f"{number:040x}",
        "actor": "reviewer-ü",
        "delivery_id": f"delivery-{number}",
        "payload_sha256": f"{number:064x}",
        "policy_sha": "p" * 40,
        "data": {"number": number, "note": 'quote " and \\ and \n', "nested": {"b": [1, 2.5]}},
    }
    fields.update(overrides)
    return NewEntry.model_validate(fields)
