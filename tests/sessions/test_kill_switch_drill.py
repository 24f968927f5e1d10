"""``countersign drill`` runs the kill switch end to end on the configured store."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from github_app.cli import main
from github_app.state.containment import Containment
from github_app.store import Database
from github_app.store.ledger import Ledger


@pytest.fixture
def store_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'cs.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("COUNTERSIGN_SIGNING_KEY_PATH", str(tmp_path / "key"))
    monkeypatch.delenv("GITHUB_APP_ID", raising=False)
    created = CliRunner().invoke(main, ["migrate"])  # commands other than migrate/serve
    assert created.exit_code == 0, created.output  # never create the store themselves
    return url


def _entries(url: str) -> list:
    db = Database.open(url)
    try:
        return list(Ledger(db, None).entries())
    finally:
        db.dispose()


def test_the_drill_revokes_a_session_and_its_next_tool_call_is_denied(store_env):
    result = CliRunner().invoke(main, ["drill", "--json"])
    assert result.exit_code == 0, result.output
    controls = {row["control"]: row for row in json.loads(result.output)["controls"]}
    [denied] = [row for name, row in controls.items() if name.startswith("a revoked session's")]
    assert denied["observed"] == "deny" and denied["passed"]
    assert "ms after the revocation" in denied["control"]
    assert controls["an agent read of a classified path is denied"]["passed"]
    kinds = [entry.kind for entry in _entries(store_env)]
    assert kinds == [
        "session_started",
        "session_revoked",
        "operation_denied",
        "operation_denied",
        "drill",
    ]


def test_the_drill_fails_when_revocation_does_not_stop_the_agent(store_env, monkeypatch):
    monkeypatch.setattr(Containment, "is_revoked", lambda self, session_id: False)
    result = CliRunner().invoke(main, ["drill", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["passed"] is False
    failed = [row["control"] for row in report["controls"] if not row["passed"]]
    assert len(failed) == 1 and failed[0].startswith("a revoked session's next tool call")
