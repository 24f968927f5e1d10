"""The pure rules behind ordering and one verdict per commit, table-tested."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from github_app.actions.check_run import commit_verdict, strictness
from github_app.handlers.pipeline import is_older
from github_app.state.decisions import PrRecord

T = datetime(2026, 11, 20, 10, tzinfo=UTC)
APPLIED = PrRecord(7, 3, "h2", "pending", source_updated_at=T)


@pytest.mark.parametrize(
    ("previous", "head", "seen_at", "older"),
    [
        (None, "h1", T, False),  # nothing applied yet
        (PrRecord(7, 3, "h2", "pending"), "h1", T, False),  # applied before ordering was kept
        (APPLIED, "h1", T - timedelta(seconds=1), True),  # an older delivery
        (APPLIED, "h2", T - timedelta(seconds=1), True),
        (APPLIED, "h3", T + timedelta(seconds=1), False),  # newer facts
        (APPLIED, "h2", T, False),  # the same facts again (a review, a label)
        (APPLIED, "h1", T, True),  # same second, other head: only GitHub can tell
        (APPLIED, "h2", None, True),  # unknown age: read the PR
    ],
)
def test_what_counts_as_older_than_the_applied_state(previous, head, seen_at, older):
    assert is_older(previous, head, seen_at) is older


def body(conclusion: str) -> dict:
    return {"conclusion": conclusion, "output": {"title": conclusion, "summary": "s", "text": ""}}


@pytest.mark.parametrize(
    ("conclusions", "winner"),
    [
        ({1: "success"}, 1),
        ({1: "success", 2: "action_required"}, 2),
        ({1: "action_required", 2: "failure", 3: "success"}, 2),
        ({4: "failure", 2: "failure"}, 2),  # ties: the lowest PR number
        ({1: "success", 2: "neutral"}, 2),  # anything unknown is strictest (fail closed)
    ],
)
def test_a_commit_shows_the_strictest_decision_of_its_open_prs(conclusions, winner):
    number, shown = commit_verdict({pr: body(c) for pr, c in conclusions.items()})
    assert number == winner
    assert shown["conclusion"] == conclusions[winner]
    if len(conclusions) > 1:
        assert all(f"#{pr}" in shown["output"]["summary"] for pr in conclusions)


def test_strictness_orders_the_three_conclusions_countersign_uses():
    assert strictness("success") < strictness("action_required") < strictness("failure")
