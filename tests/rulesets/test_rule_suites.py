"""Denied and bypassed pushes imported from GitHub's rule suites, once each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from github_app.jobs.denials import denial_data, pull_denials, time_period_for
from github_app.rulesets.sync import Repository
from tests.rulesets.helpers import REPO, REPO_ID, entries, installation_context
from tests.support.fake_github import example

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SUITES = f"/repos/{REPO}/rulesets/rule-suites"


def test_first_run_looks_back_a_month_then_less():
    assert time_period_for(None, NOW) == "month"
    assert time_period_for(NOW - timedelta(hours=1), NOW) == "day"
    assert time_period_for(NOW - timedelta(days=2), NOW) == "week"
    assert time_period_for(NOW - timedelta(days=9), NOW) == "month"


def test_denial_data_names_the_failed_rules():
    suite = example("rule-suite")
    data = denial_data(suite, suite)
    assert data["rule_suite_id"] == 21 and data["result"] == "bypass"
    assert data["failed_rules"] == [
        {
            "rule_type": "pull_request",
            "source": "protected_branch",
            "enforcement": "active",
            "details": "Changes must be made through a pull request.",
        },
        {
            "rule_type": "commit_message_pattern",
            "source": "Evaluate commit message pattern",
            "enforcement": "evaluate",
            "details": None,
        },
    ]


def suites_by_result(request: httpx.Request) -> httpx.Response:
    bypassed, denied = example("rule-suite-items")
    denied["result"] = "fail"
    wanted = request.url.params["rule_suite_result"]
    return httpx.Response(200, json=[s for s in (denied, bypassed) if s["result"] == wanted])


def suite_detail(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, json={**example("rule-suite"), "id": int(request.url.path.rsplit("/", 1)[-1])}
    )


@pytest.fixture
def rule_suites(github):
    listing = github.route("GET", SUITES, handler=suites_by_result)
    github.route("GET", f"{SUITES}/{{id}}", handler=suite_detail)
    return listing


async def test_rule_suites_are_imported_once(app_harness, rule_suites):
    ctx = await installation_context(app_harness)
    repo = Repository(REPO, REPO_ID)
    first = await pull_denials(ctx, repo, now=NOW)
    assert (first.time_period, first.imported, first.already_seen) == ("month", 2, 0)
    (denied,) = entries(app_harness, "push_denied")
    (bypassed,) = entries(app_harness, "push_bypassed")
    assert (denied.data["rule_suite_id"], denied.actor) == (25, "not-octocat")
    assert (bypassed.data["rule_suite_id"], bypassed.repo_id) == (21, REPO_ID)
    assert bypassed.head_sha == "dedd88641a362b6b4ea872da4847d6131a164d01"
    assert denied.data["failed_rules"][0]["rule_type"] == "pull_request"
    assert bypassed.occurred_at == datetime(2023, 7, 6, 8, 43, 3, tzinfo=UTC)

    second = await pull_denials(ctx, repo, now=NOW + timedelta(hours=1))
    assert (second.time_period, second.imported, second.already_seen) == ("day", 0, 2)
    assert len(entries(app_harness, "push_denied") + entries(app_harness, "push_bypassed")) == 2
    periods = [
        (r.url.params["time_period"], r.url.params["rule_suite_result"]) for r in rule_suites.calls
    ]
    assert periods == [("month", "fail"), ("month", "bypass"), ("day", "fail"), ("day", "bypass")]


class Crash(Exception):
    """The process died while recording: no cleanup code gets to run."""


async def test_a_crash_while_recording_loses_no_suite(app_harness, rule_suites, monkeypatch):
    ctx = await installation_context(app_harness)
    repo = Repository(REPO, REPO_ID)
    ledger = app_harness.services.ledger

    real_append, crashed = ledger.append_many, []

    def crash_once(entries, *, conn=None):
        if not crashed:
            crashed.append(True)
            raise Crash
        return real_append(entries, conn=conn)

    monkeypatch.setattr(ledger, "append_many", crash_once)
    with pytest.raises(Crash):
        await pull_denials(ctx, repo, now=NOW)
    assert entries(app_harness, "push_denied") == []

    retry = await pull_denials(ctx, repo, now=NOW + timedelta(hours=1))
    assert (retry.imported, retry.already_seen) == (2, 0)
    again = await pull_denials(ctx, repo, now=NOW + timedelta(hours=2))
    assert (again.imported, again.already_seen) == (0, 2)
    (denied,) = entries(app_harness, "push_denied")
    (bypassed,) = entries(app_harness, "push_bypassed")
    assert (denied.data["rule_suite_id"], bypassed.data["rule_suite_id"]) == (25, 21)


async def test_without_permission_the_repository_is_reported_not_fatal(app_harness, github):
    github.route("GET", SUITES, status=403, json={"message": "Resource not accessible"})
    result = await pull_denials(
        await installation_context(app_harness), Repository(REPO, REPO_ID), now=NOW
    )
    assert result.imported == 0
    assert result.error is not None and "Resource not accessible" in result.error
    assert entries(app_harness, "push_denied") == []
