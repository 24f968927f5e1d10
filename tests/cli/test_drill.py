"""``countersign drill`` exercises the real controls and records the outcome as evidence."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from github_app.cli import main
from github_app.store import Database
from github_app.store.ledger import Ledger


@pytest.fixture
def store_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'cs.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("COUNTERSIGN_SIGNING_KEY_PATH", str(tmp_path / "key"))
    monkeypatch.delenv("GITHUB_APP_ID", raising=False)
    created = CliRunner().invoke(main, ["migrate"])
    assert created.exit_code == 0, created.output
    return url


def drill_entries(url: str) -> list:
    db = Database.open(url)
    try:
        return list(Ledger(db, None).entries(kinds=["drill"]))
    finally:
        db.dispose()


def test_every_control_holds_and_the_drill_is_recorded(store_env):
    result = CliRunner().invoke(main, ["drill", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["passed"] is True
    assert len(report["controls"]) == 9
    [entry] = drill_entries(store_env)
    assert entry.data["passed"] is True and entry.seq == report["seq"]


def test_a_control_that_fails_is_reported_and_recorded(store_env, monkeypatch):
    import github_app.drills as drills

    real = drills.evaluate

    def freeze_ignored(inp):
        return real(inp.model_copy(update={"frozen": False}))

    monkeypatch.setattr(drills, "evaluate", freeze_ignored)
    result = CliRunner().invoke(main, ["drill"])
    assert result.exit_code == 1
    assert "FAILED" in result.output and "A CONTROL FAILED" in result.output
    [entry] = drill_entries(store_env)
    assert entry.data["passed"] is False
