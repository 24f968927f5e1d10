"""Auditor queries: timeline, population, sample, exceptions, raw evidence, verify."""

from __future__ import annotations

from datetime import timedelta

import pytest

from github_app.ledger import NewEntry
from tests.api.conftest import Tokens
from tests.api.scenario import EXPECTED_STATUSES, TOTAL


async def get_json(api, path: str, headers: dict[str, str], status: int = 200) -> dict:
    response = await api.get(path, headers=headers)
    body = await response.json()
    assert response.status == status, body
    return body


async def test_session_timeline_in_order_with_attribution(api, seeded, tokens: Tokens) -> None:
    body = await get_json(api, "/api/v1/sessions/sess-A", tokens.auditor)
    kinds = [item["kind"] for item in body["items"]]
    assert kinds == [
        "agent_change_detected",
        "decision",
        "approval",
        "decision",
        "merge",
        "decision",
    ]
    seqs = [item["seq"] for item in body["items"]]
    assert seqs == sorted(seqs) == [1, 2, 3, 4, 5, 16]
    attribution = body["attribution"]
    assert attribution["agents"] == ["claude-code"]
    assert attribution["launched_by"] == ["alice"]
    assert attribution["pull_requests"] == [{"repo": "acme/app", "pr": 1}]
    assert attribution["kinds"]["decision"] == 3
    assert attribution["revoked"] is False
    assert body["next_cursor"] is None


async def test_session_timeline_paginates(api, seeded, tokens: Tokens) -> None:
    first = await get_json(api, "/api/v1/sessions/sess-A?limit=4", tokens.auditor)
    second = await get_json(
        api, f"/api/v1/sessions/sess-A?limit=4&cursor={first['next_cursor']}", tokens.auditor
    )
    assert [i["seq"] for i in first["items"]] == [1, 2, 3, 4]
    assert [i["seq"] for i in second["items"]] == [5, 16]
    assert second["next_cursor"] is None


async def test_unknown_session_is_404(api, seeded, tokens: Tokens) -> None:
    body = await get_json(api, "/api/v1/sessions/no-such-session", tokens.auditor, 404)
    assert "no-such-session" in body["error"]


async def test_population_rows_and_statuses(api, seeded, tokens: Tokens) -> None:
    body = await get_json(api, "/api/v1/changes", tokens.auditor)
    assert {row["seq"]: row["status"] for row in body["items"]} == EXPECTED_STATUSES
    approved = body["items"][0]
    assert approved | {"entry_id": None, "occurred_at": None} == {
        "seq": 5,
        "entry_id": None,
        "kind": "merge",
        "repo": "acme/app",
        "pr": 1,
        "agent": "claude-code",
        "session_id": "sess-A",
        "session_derived": False,
        "launched_by": "alice",
        "approvers": ["bob"],
        "approved_sha": "ahead",
        "merge_sha": "amerge",
        "merged_by": "bob",
        "occurred_at": None,
        "status": "approved",
        "title": "change",
        "author": "claude[bot]",
        "policy_sha": None,
        "exception": None,
        "backfilled": False,
        "integrity": "ok",
    }
    push = body["items"][-1]
    assert (push["kind"], push["merged_by"], push["merge_sha"]) == (
        "direct_push",
        "mallory",
        "d1" * 20,
    )


async def test_population_filters(api, seeded, tokens: Tokens, now) -> None:
    by_repo = await get_json(api, "/api/v1/changes?repo=acme/api", tokens.auditor)
    assert [row["seq"] for row in by_repo["items"]] == [9, 11]
    by_agent = await get_json(api, "/api/v1/changes?agent=copilot", tokens.auditor)
    assert [row["seq"] for row in by_agent["items"]] == [7]
    since = (now - timedelta(hours=35)).isoformat()
    until = (now - timedelta(hours=5)).isoformat()
    response = await api.get(
        "/api/v1/changes", params={"since": since, "until": until}, headers=tokens.auditor
    )
    window = await response.json()
    assert [row["seq"] for row in window["items"]] == [7, 11, 14]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("since=yesterday", "since"),
        ("since=2025-02-01&until=2025-01-01", "since"),
        ("cursor=%%%", "cursor"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor"),
        ("repo=a%00b", "repo"),
    ],
)
async def test_bad_list_parameters_are_400(api, tokens: Tokens, query: str, message: str) -> None:
    body = await get_json(api, f"/api/v1/changes?{query}", tokens.auditor, 400)
    assert body["error"].startswith(message)


async def test_sample_is_reproducible(api, seeded, tokens: Tokens, now) -> None:
    # A larger population so that two seeds are (deterministically) different draws.
    seeded.ledger.append_many(
        NewEntry(
            kind="merge",
            occurred_at=now,
            repo="acme/bulk",
            pr=number,
            data={"state": "approved", "passing": True},
        )
        for number in range(100, 140)
    )
    url = "/api/v1/changes/sample?n=10&seed="
    first = await get_json(api, url + "audit-2025", tokens.auditor)
    again = await get_json(api, url + "audit-2025", tokens.auditor)
    other = await get_json(api, url + "another-seed", tokens.auditor)
    assert first == again
    assert first["seed"] == "audit-2025"
    assert first["population_size"] == 45
    assert len(first["items"]) == 10
    assert len({row["seq"] for row in first["items"]}) == 10
    assert [r["seq"] for r in first["items"]] != [r["seq"] for r in other["items"]]


async def test_sample_larger_than_population_returns_it_all(api, seeded, tokens) -> None:
    body = await get_json(api, "/api/v1/changes/sample?n=500&seed=x", tokens.auditor)
    assert body["population_size"] == 5
    assert sorted(row["seq"] for row in body["items"]) == sorted(EXPECTED_STATUSES)


async def test_sample_without_seed_reports_the_seed_it_used(api, seeded, tokens) -> None:
    body = await get_json(api, "/api/v1/changes/sample?n=2", tokens.auditor)
    again = await get_json(api, f"/api/v1/changes/sample?n=2&seed={body['seed']}", tokens.auditor)
    assert again["items"] == body["items"]


async def test_exceptions_include_overdue_post_review(api, seeded, tokens: Tokens) -> None:
    body = await get_json(api, "/api/v1/exceptions", tokens.auditor)
    found = [(item["seq"], item["type"]) for item in body["items"]]
    assert found == [
        (8, "unapproved_merge"),
        (10, "overdue_post_review"),  # once: an emergency change is not listed twice
        (12, "emergency_change"),
        (14, "direct_push"),
        (15, "push_bypassed"),
    ]
    overdue = body["items"][1]
    assert overdue["detail"]["emergency"] is True
    assert overdue["detail"]["post_reviewed_at"] is None
    assert overdue["detail"]["overdue_by_hours"] == pytest.approx(28, abs=0.1)
    in_time = body["items"][2]
    assert in_time["detail"]["post_reviewed_at"] is not None


async def test_exceptions_paginate_through_split_entries(api, seeded, tokens: Tokens) -> None:
    seen, cursor = [], ""
    while True:
        body = await get_json(api, f"/api/v1/exceptions?limit=2&cursor={cursor}", tokens.auditor)
        seen += [(item["seq"], item["type"]) for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5


async def test_evidence_pagination_visits_every_entry_once(api, seeded, tokens) -> None:
    seen, cursor, pages = [], None, 0
    while True:
        query = "limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = await get_json(api, f"/api/v1/evidence?{query}", tokens.auditor)
        assert len(body["items"]) <= 3
        seen += [item["seq"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(1, TOTAL + 1))
    assert pages == 6


async def test_evidence_kind_filter(api, seeded, tokens: Tokens) -> None:
    body = await get_json(api, "/api/v1/evidence?kind=merge,direct_push", tokens.auditor)
    assert [item["seq"] for item in body["items"]] == [5, 7, 9, 11, 14]
    entry = body["items"][0]
    assert {"hash", "prev_hash", "data", "recorded_at"} <= set(entry)
    bad = await get_json(api, "/api/v1/evidence?kind=merge,nonsense", tokens.auditor, 400)
    assert bad["error"].startswith("kind")


async def test_ledger_verify_reports_ok(api, seeded, tokens: Tokens) -> None:
    body = await get_json(api, "/api/v1/ledger/verify", tokens.auditor)
    assert body["ok"] is True
    assert body["entries_checked"] == TOTAL
    assert body["checkpoints_checked"] == 1
    assert body["first_bad_seq"] is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/sessions/a%00b"),
        ("GET", "/api/v1/changes/sample?seed=a%00b"),
        ("GET", "/api/v1/evidence?agent=a%00b"),
        ("GET", "/api/v1/exceptions?repo=a%01b"),
        ("GET", "/api/v1/evidence?kind=merge%00"),
        ("DELETE", "/api/v1/freeze?repo=a%00/b"),
        ("POST", "/api/v1/sessions/a%00b/revoke"),
    ],
)
async def test_nul_and_control_characters_are_400_on_every_backend(
    api, tokens: Tokens, method: str, path: str
) -> None:
    response = await api.request(method, path, json={"reason": "x"}, headers=tokens.admin)
    assert response.status == 400, await response.text()
