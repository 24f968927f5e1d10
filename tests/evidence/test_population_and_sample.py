"""Change population statuses and the reproducible sample (pure)."""

from __future__ import annotations

import random

import pytest

from github_app.evidence.population import change_row, collect_flags
from github_app.evidence.sample import draw_sample
from tests.evidence.chain import build_chain, entry
from tests.support.evidence_reading import change_rows

PASSING = {
    "state": "approved",
    "passing": True,
    "approvers": ["bob"],
    "approved_sha": "abc",
    "merge_sha": "m1",
    "merged_by": "bob",
}


def status_of(merge_data: dict, *flag_kinds: str) -> str:
    merge = entry("merge", 1, repo="o/r", pr=7, data=merge_data)
    flags = collect_flags(entry(kind, 2, repo="o/r", pr=7) for kind in flag_kinds)
    return change_row(merge, flags).status


def test_passing_merge_is_approved() -> None:
    assert status_of(PASSING) == "approved"


def test_not_passing_or_missing_verdict_is_unapproved() -> None:
    assert status_of(PASSING | {"passing": False, "state": "blocked"}) == "unapproved"
    assert status_of({}) == "unapproved"  # no verdict recorded: never counted as approved


def test_unapproved_merge_entry_overrides_a_passing_snapshot() -> None:
    assert status_of(PASSING, "unapproved_merge") == "unapproved"


def test_emergency_from_state_or_flag() -> None:
    assert status_of(PASSING | {"state": "emergency"}) == "emergency"
    assert status_of(PASSING, "emergency_change") == "emergency"


def test_flags_only_apply_to_the_same_repo_and_pr() -> None:
    merge = entry("merge", 1, repo="o/r", pr=7, data=PASSING)
    flags = collect_flags(
        [
            entry("unapproved_merge", 2, repo="o/r", pr=8),
            entry("unapproved_merge", 3, repo="o/other", pr=7),
        ]
    )
    assert change_row(merge, flags).status == "approved"


def test_direct_push_is_a_violation_with_pusher_and_sha() -> None:
    push = entry(
        "direct_push", 3, repo="o/r", actor="mallory", data={"pusher": "mallory", "after": "f" * 40}
    )
    row = change_row(push, collect_flags([]))
    assert (row.status, row.merged_by, row.merge_sha, row.approvers) == (
        "violation",
        "mallory",
        "f" * 40,
        (),
    )


def test_merge_row_carries_attribution_and_approval() -> None:
    merge = entry(
        "merge",
        4,
        repo="o/r",
        pr=7,
        session_id="s1",
        agent="codex",
        launched_by="alice",
        data=PASSING,
    )
    row = change_row(merge, collect_flags([])).as_dict()
    assert {
        k: row[k]
        for k in (
            "session_id",
            "agent",
            "launched_by",
            "approvers",
            "approved_sha",
            "merge_sha",
            "merged_by",
        )
    } == {
        "session_id": "s1",
        "agent": "codex",
        "launched_by": "alice",
        "approvers": ["bob"],
        "approved_sha": "abc",
        "merge_sha": "m1",
        "merged_by": "bob",
    }


def test_change_rows_keep_only_changes() -> None:
    entries = build_chain(
        [
            {"kind": "decision"},
            {"kind": "merge", "data": PASSING},
            {"kind": "approval"},
            {"kind": "direct_push"},
        ]
    )
    assert [row.seq for row in change_rows(entries, collect_flags(entries))] == [2, 4]


@pytest.fixture
def population():
    entries = build_chain(
        [{"kind": "merge", "repo": "o/r", "pr": n, "data": PASSING} for n in range(1, 61)]
    )
    return change_rows(entries, collect_flags(entries))


def test_same_seed_same_rows_whatever_the_input_order(population) -> None:
    shuffled = population[:]
    random.Random(1).shuffle(shuffled)
    first = draw_sample(population, 10, "2025-q2")
    assert draw_sample(shuffled, 10, "2025-q2") == first
    assert [row.seq for row in first.rows] == sorted(row.seq for row in first.rows)
    assert len(set(first.rows)) == 10 and first.population_size == 60


def test_different_seed_different_rows(population) -> None:
    seeds = ["a", "b", "c"]
    draws = {tuple(r.seq for r in draw_sample(population, 10, s).rows) for s in seeds}
    assert len(draws) == 3


def test_seed_is_text_so_numbers_and_strings_agree(population) -> None:
    assert draw_sample(population, 5, 42).rows == draw_sample(population, 5, "42").rows


def test_sample_larger_than_population_is_the_population(population) -> None:
    drawn = draw_sample(population[:4], 25, "x")
    assert [row.seq for row in drawn.rows] == [1, 2, 3, 4]
    assert (drawn.requested, drawn.population_size) == (25, 4)


def test_sample_of_empty_population_is_empty() -> None:
    assert draw_sample([], 5, "x").rows == ()


def test_sample_size_must_be_positive(population) -> None:
    with pytest.raises(ValueError):
        draw_sample(population, 0, "x")


def test_a_direct_push_the_policy_does_not_count_is_unapproved_not_a_violation() -> None:
    human = entry("direct_push", 3, repo="o/r", actor="dev", data={"violation": False})
    flagged = entry("direct_push", 4, repo="o/r", actor="bot", data={"violation": True})
    flags = collect_flags([])
    assert (change_row(human, flags).status, change_row(flagged, flags).status) == (
        "unapproved",
        "violation",
    )
