"""``countersign rulesets …`` against the fake GitHub and a fresh SQLite store."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from github_app.cli.ruleset_commands import rulesets
from tests.rulesets.helpers import REPO, REPO_ID
from tests.support.fake_github import FAKE_API_URL, FAKE_APP_ID, example

RULESETS = f"/repos/{REPO}/rulesets"


@pytest.fixture
def cli_env(monkeypatch, tmp_path, app_private_key_pem):
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for name, value in {
        "GITHUB_APP_ID": str(FAKE_APP_ID),
        "GITHUB_PRIVATE_KEY": app_private_key_pem,
        "GITHUB_WEBHOOK_SECRET": "cli-secret",
        "GITHUB_API_URL": FAKE_API_URL,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'countersign.db'}",
        "COUNTERSIGN_SIGNING_KEY_PATH": str(tmp_path / "signing.key"),
    }.items():
        monkeypatch.setenv(name, value)


def serve_installation(github) -> None:
    github.route("GET", "/app/installations", json=[example("installation")])
    repo = {**example("full-repository"), "full_name": REPO, "id": REPO_ID}
    github.route(
        "GET", "/installation/repositories", json={"total_count": 1, "repositories": [repo]}
    )
    github.route("GET", f"/repos/{REPO}/installation", json=example("installation"))
    github.route("GET", f"/repos/{REPO}", json=repo)


def test_check_reports_drift_writes_nothing_and_fails(github, cli_env):
    serve_installation(github)
    github.route("GET", RULESETS, json=[])
    result = CliRunner().invoke(rulesets, ["check", "--json"])
    assert result.exit_code == 1, result.output
    [outcome] = json.loads(result.output)
    assert (outcome["repo"], outcome["mode"], outcome["action"]) == (
        REPO,
        "enforce",
        "drift_reported",
    )
    assert outcome["findings"][0]["code"] == "missing"
    assert github.requests("POST", RULESETS) == []


def test_sync_of_one_repository_creates_the_ruleset(github, cli_env):
    serve_installation(github)
    github.route("GET", RULESETS, json=[])
    created = github.route("POST", RULESETS, status=201, json=example("repository-ruleset"))
    result = CliRunner().invoke(rulesets, ["sync", "--repo", REPO])
    assert result.exit_code == 0, result.output
    assert created.call_count == 1
    assert "created" in result.output and REPO in result.output
    assert github.requests("GET", "/app/installations") == []


def test_pull_denials_reports_what_it_imported(github, cli_env):
    serve_installation(github)
    github.route("GET", f"{RULESETS}/rule-suites", json=[])
    result = CliRunner().invoke(rulesets, ["pull-denials", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"repo": REPO, "time_period": "month", "imported": 0, "already_seen": 0, "error": None}
    ]
