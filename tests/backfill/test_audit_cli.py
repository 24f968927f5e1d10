"""``countersign audit`` against the strict fake GitHub with a 90-day history (CLI runner)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from github_app.cli import main
from github_app.jobs import backfill as backfill_job
from github_app.ledger import load_or_create_signing_key
from github_app.store import Database
from github_app.store.ledger import Ledger
from tests.backfill.history import REPO, History
from tests.support.fake_github import FAKE_API_URL, FAKE_APP_ID, FakeGitHub


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app_private_key_pem: str) -> Path:
    """The App's credentials pointed at the fake GitHub, a tmp store, and recorded pauses."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_APP_ID", str(FAKE_APP_ID))
    monkeypatch.setenv("GITHUB_PRIVATE_KEY", app_private_key_pem)
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "secret")
    monkeypatch.setenv("GITHUB_API_URL", FAKE_API_URL)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("COUNTERSIGN_SIGNING_KEY_PATH", str(tmp_path / "signing.key"))
    return tmp_path


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every rate-limit wait the run asked for (no real sleeping)."""
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(backfill_job, "pause", record)
    return waits


def audit(*args: str, code: int = 0):
    result = CliRunner().invoke(main, ["audit", "--since", "90d", "--repo", REPO, *args])
    assert result.exit_code == code, result.output
    return result


def ledger_of(env: Path) -> Ledger:
    db = Database.open(f"sqlite:///{env / 'store.db'}")
    return Ledger(db, load_or_create_signing_key(env / "signing.key"))


def test_audit_judges_ninety_days_as_of_each_merge_and_records_once(
    github: FakeGitHub, env: Path, pauses: list[float]
) -> None:
    history = History(github)
    result = audit("--record", "-o", "out.csv", "--json")
    body = json.loads(result.stdout)
    merged = history.merged_in_period()
    assert len(merged) > 80  # of the hundreds of PRs listed, those merged in the period
    by_pr = {c["pr"]: c for c in body["changes"] if c["kind"] == "merge"}
    assert set(by_pr) == {pr.number for pr in merged}
    for pr in merged:
        change = by_pr[pr.number]
        assert change["status"] == pr.expected_status(), (pr, change.get("reason"))
        assert by_pr[pr.number]["merge_sha"] == pr.merge_sha
    late = next(pr for pr in merged if pr.agent and pr.review == "after")
    assert by_pr[late.number]["approvers"] == []  # approved after the merge: does not count
    pushes = {c["merge_sha"]: c for c in body["changes"] if c["kind"] == "direct_push"}
    assert pushes[history.human_push]["status"] == "unapproved"
    assert pushes[history.agent_push]["status"] == "violation"
    assert len(pushes) == 2  # the PR merge's push is explained; the old push is outside
    # Listing stopped on page 2: page 3 only holds PRs last updated before the period.
    pages = [int(r.url.params["page"]) for r in history.list_route.calls]
    assert pages == [1, 2]
    # Page 1 left 3 requests of budget: the run waited for the reset and said so.
    assert len(pauses) == 1 and 100 < pauses[0] <= 122
    assert "rate limit: 3 requests left" in result.stderr
    rows = list(csv.DictReader((env / "out.csv").open(encoding="utf-8")))
    assert len(rows) == len(body["changes"])
    assert {row["status"] for row in rows} >= {"approved", "unapproved", "violation", ""}
    # --record: one backfill entry per agent change and direct push, each with its change id.
    expected = history.expected_recorded()
    assert body["recorded"] == expected
    entries = list(ledger_of(env).entries(kinds=["backfill"]))
    assert len({e.data["change_id"] for e in entries}) == len(entries) == expected
    # Re-running adds nothing, and only asks GitHub for what changed since.
    listed = len(history.list_route.calls)
    again = audit("--record")
    assert "recorded 0 new backfill entries" in again.stdout
    assert len(list(ledger_of(env).entries(kinds=["backfill"]))) == expected
    assert [int(r.url.params["page"]) for r in history.list_route.calls[listed:]] == [1]


def test_without_record_nothing_is_stored(github: FakeGitHub, env: Path, pauses) -> None:
    History(github, total=40, rate_limited_page=None)
    result = audit("-o", "out.csv")
    assert "change(s) in the period" in result.stdout
    assert "backfill entr" not in result.stdout
    assert not (env / "store.db").exists() and not (env / "signing.key").exists()
    rows = list(csv.DictReader((env / "out.csv").open(encoding="utf-8")))
    assert rows and all(row["change_id"].startswith(("pr:777:", "push:777:")) for row in rows)


def test_an_interrupted_record_run_resumes_at_its_cursor(
    github: FakeGitHub, env: Path, pauses: list[float]
) -> None:
    history = History(github, rate_limited_page=None, failing_page=2)
    failed = audit("--record", code=1)
    assert "GitHub refused a request" in failed.output
    recorded_first = len(list(ledger_of(env).entries(kinds=["backfill"])))
    assert 0 < recorded_first < history.expected_recorded()
    history.failing_page = None
    calls_before = len(history.list_route.calls)
    resumed = audit("--record")
    assert "resuming at page 2" in resumed.stderr
    pages = [int(r.url.params["page"]) for r in history.list_route.calls[calls_before:]]
    assert pages == [2]  # page 1 is not read again
    assert len(list(ledger_of(env).entries(kinds=["backfill"]))) == history.expected_recorded()


def test_bad_input_is_one_line_and_reads_nothing(github: FakeGitHub, env: Path) -> None:
    result = CliRunner().invoke(main, ["audit", "--since", "yesterday"])
    assert result.exit_code == 2 and "expected 90d, YYYY-MM-DD" in result.output
    result = CliRunner().invoke(main, ["audit", "--since", "90d", "--repo", "not a repo"])
    assert result.exit_code == 2 and "is not OWNER/REPO" in result.output
    result = CliRunner().invoke(main, ["audit", "--since", "2026-01-02", "--until", "2026-01-01"])
    assert result.exit_code == 2 and "must be before --until" in result.output
    assert github.requests() == []
