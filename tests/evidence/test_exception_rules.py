"""Exceptions and the overdue post-review rule (pure)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from github_app.evidence.audit_exceptions import collect_post_reviews, exception_items
from tests.evidence.chain import T0, entry

EMERGENCY = entry("emergency_change", 5, repo="o/r", pr=9, occurred_at=T0)


def types(item_entry, reviews=None, *, hours_later: float, default_hours: int = 72) -> list[str]:
    items = exception_items(
        item_entry,
        reviews or {},
        now=T0 + timedelta(hours=hours_later),
        default_hours=default_hours,
    )
    return [item.type for item in items]


@pytest.mark.parametrize("kind", ["unapproved_merge", "direct_push", "push_bypassed"])
def test_violation_kinds_are_exceptions(kind: str) -> None:
    assert types(entry(kind, 3), hours_later=0) == [kind]


@pytest.mark.parametrize("kind", ["merge", "decision", "approval", "post_review", "freeze"])
def test_other_kinds_are_not(kind: str) -> None:
    assert types(entry(kind, 3), hours_later=1000) == []


def test_emergency_without_review_is_overdue_only_after_the_deadline() -> None:
    assert types(EMERGENCY, hours_later=71) == ["emergency_change"]
    # Listed once: an overdue emergency change is the overdue exception, not two rows.
    assert types(EMERGENCY, hours_later=73) == ["overdue_post_review"]


def test_review_in_time_clears_it_and_a_late_review_does_not() -> None:
    in_time = collect_post_reviews(
        [entry("post_review", 6, repo="o/r", pr=9, occurred_at=T0 + timedelta(hours=24))]
    )
    late = collect_post_reviews(
        [entry("post_review", 6, repo="o/r", pr=9, occurred_at=T0 + timedelta(hours=80))]
    )
    assert types(EMERGENCY, in_time, hours_later=500) == ["emergency_change"]
    assert types(EMERGENCY, late, hours_later=500) == ["overdue_post_review"]


def test_review_of_another_pr_does_not_count() -> None:
    other = collect_post_reviews([entry("post_review", 6, repo="o/r", pr=10, occurred_at=T0)])
    assert types(EMERGENCY, other, hours_later=100)[-1] == "overdue_post_review"


def test_deadline_from_the_entry_or_the_policy_default() -> None:
    own = entry(
        "emergency_change", 5, repo="o/r", pr=9, occurred_at=T0, data={"post_review_hours": 24}
    )
    assert types(own, hours_later=25)[-1] == "overdue_post_review"
    assert types(EMERGENCY, hours_later=25, default_hours=24)[-1] == "overdue_post_review"
    assert types(EMERGENCY, hours_later=25, default_hours=48) == ["emergency_change"]


def test_overdue_item_is_the_emergency_entry_itself() -> None:
    items = list(exception_items(EMERGENCY, {}, now=T0 + timedelta(hours=100)))
    assert [(i.position.seq, i.position.rank) for i in items] == [(5, 0)]
    detail = items[0].as_dict()["detail"]
    assert detail["overdue_by_hours"] == pytest.approx(28)
    assert detail["emergency"] is True


def test_earliest_post_review_wins() -> None:
    reviews = collect_post_reviews(
        [
            entry("post_review", 7, repo="o/r", pr=9, occurred_at=T0 + timedelta(hours=90)),
            entry("post_review", 8, repo="o/r", pr=9, occurred_at=T0 + timedelta(hours=10)),
        ]
    )
    assert reviews[("o/r", 9)] == T0 + timedelta(hours=10)


def test_every_direct_push_is_an_exception_with_its_violation_flag() -> None:
    # The population lists a human's push as unapproved: the exceptions must list it too.
    human_push = entry("direct_push", 3, data={"violation": False})
    agent_push = entry("direct_push", 4, data={"violation": True})
    assert types(human_push, hours_later=0) == ["direct_push"]
    assert types(agent_push, hours_later=0) == ["direct_push"]
    (item,) = exception_items(human_push, {}, now=T0)
    assert item.as_dict()["detail"]["violation"] is False
