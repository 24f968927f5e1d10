"""Operating the CLI from anywhere: no accidental stores, `migrate`, `doctor`, `--version`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from github_app.cli import main
from github_app.cli.exit_codes import EXIT_NO_STORE
from tests.support.fake_github import FAKE_API_URL, example

READ_ONLY = [
    ["evidence", "verify"],
    ["evidence", "changes"],
    ["evidence", "session", "s-1"],
    ["session", "show", "s-1"],
    ["evidence", "sample", "-n", "3"],
    ["evidence", "exceptions"],
    ["evidence", "export", "--format", "jsonl", "-o", "out.jsonl"],
    ["evidence", "public-key"],
    ["freeze", "status"],
    ["token", "list"],
    ["token", "create", "--role", "auditor", "--name", "a"],
]


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A folder with no store, and an environment naming none."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "DATABASE_URL",
        "COUNTERSIGN_SIGNING_KEY_PATH",
        "COUNTERSIGN_DATA_DIR",
        "GITHUB_APP_ID",
        "GITHUB_PRIVATE_KEY",
        "GITHUB_PRIVATE_KEY_PATH",
        "GITHUB_WEBHOOK_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_read_only_commands_never_create_a_store_or_key(elsewhere, args):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == EXIT_NO_STORE, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: no ")
    assert "; set " in lines[0]
    assert list(elsewhere.iterdir()) == []  # no data/ folder, no database, no key


def test_migrate_creates_the_store_then_read_only_commands_work(elsewhere):
    created = CliRunner().invoke(main, ["migrate"])
    assert created.exit_code == 0, created.output
    assert "ledger signing key" in created.output
    assert (elsewhere / "data" / "countersign.db").is_file()
    verified = CliRunner().invoke(main, ["evidence", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "OK: 0 entries and 0 checkpoints verified" in verified.output
    status = CliRunner().invoke(main, ["freeze", "status"])
    assert status.output.strip() == "not frozen: no freeze in force"
    frozen = CliRunner().invoke(main, ["freeze", "on", "--repo", "acme/api", "--reason", "drill"])
    assert frozen.exit_code == 0, frozen.output
    status = CliRunner().invoke(main, ["freeze", "status", "--json"])
    assert json.loads(status.output)["freezes"][0]["repo"] == "acme/api"


def test_version():
    from importlib.metadata import version

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"countersign, version {version('countersign')}"


def test_sample_takes_short_and_long_size_options(elsewhere):
    CliRunner().invoke(main, ["migrate"])
    for option in ("-n", "--n"):
        result = CliRunner().invoke(main, ["evidence", "sample", option, "2", "--json"])
        assert result.exit_code == 0, result.output


def test_doctor_without_a_store_says_what_to_fix(elsewhere):
    result = CliRunner().invoke(main, ["doctor"])
    assert result.exit_code == 1
    assert "FAIL store: no store at" in result.output
    assert "fix: run `countersign migrate`" in result.output
    assert "FAIL github app: GITHUB_APP_ID is not set" in result.output
    assert list(elsewhere.iterdir()) == []


def _configure_app(monkeypatch, pem: str) -> None:
    monkeypatch.setenv("GITHUB_APP_ID", "424242")
    monkeypatch.setenv("GITHUB_PRIVATE_KEY", pem)
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "s")
    monkeypatch.setenv("GITHUB_API_URL", FAKE_API_URL)


def test_doctor_checks_everything_against_github(
    elsewhere, monkeypatch, github, app_private_key_pem
):
    CliRunner().invoke(main, ["migrate"])
    _configure_app(monkeypatch, app_private_key_pem)
    github.route("GET", "/app", json=example("integration"))
    github.route("GET", "/app/installations", json=example("base-installation-items"))
    result = CliRunner().invoke(main, ["doctor"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ok   config",
        "ok   store",
        "ok   signing key",
        "ok   github app",
        "ok   installations",
    ]
    authorization = github.requests("GET", "/app/installations")[0].headers["Authorization"]
    assert authorization.lower().startswith("bearer ")  # as the App (JWT), not a token


def test_doctor_finds_an_uninstalled_app_and_a_foreign_signing_key(
    elsewhere, monkeypatch, github, app_private_key_pem
):
    from datetime import UTC, datetime

    from github_app.ledger.checkpoints import load_or_create_signing_key
    from github_app.ledger.entry import NewEntry
    from github_app.store.database import Database
    from github_app.store.ledger import Ledger

    CliRunner().invoke(main, ["migrate"])
    db = Database.open("sqlite:///data/countersign.db")
    ledger = Ledger(db, load_or_create_signing_key(elsewhere / "data" / "ledger-signing.key"))
    ledger.append(NewEntry(kind="drill", occurred_at=datetime.now(UTC), actor="t", data={}))
    ledger.checkpoint()
    db.dispose()
    monkeypatch.setenv("COUNTERSIGN_SIGNING_KEY_PATH", str(elsewhere / "other.key"))
    load_or_create_signing_key(elsewhere / "other.key")
    _configure_app(monkeypatch, app_private_key_pem)
    github.route("GET", "/app", json=example("integration"))
    github.route("GET", "/app/installations", json=[])
    result = CliRunner().invoke(main, ["doctor"])
    assert result.exit_code == 1
    assert "FAIL signing key:" in result.output and "did not sign the checkpoints" in result.output
    assert "FAIL installations: installed nowhere" in result.output
    assert "/installations/new" in result.output


def test_readme_exit_status_table_matches_the_code():
    import re
    from pathlib import Path

    from github_app.cli import exit_codes as root

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("| exit status | meaning |", 1)[1].split("\n\n", 1)[0]
    documented = {int(n) for n in re.findall(r"^\| (\d) \|", table, flags=re.M)}
    in_code = {getattr(root, name) for name in dir(root) if name.startswith("EXIT_")}
    assert documented == in_code == {0, 1, 2, 3, 4}
    assert root.ConfigurationError.exit_code == root.EXIT_CONFIG
    assert root.StoreMissing.exit_code == root.EXIT_NO_STORE
    assert root.StartupFailed.exit_code == root.EXIT_STARTUP
