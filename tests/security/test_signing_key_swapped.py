"""Finding 7 (the key half): a changed or lost signing key was silently replaced.

``load_or_create_signing_key`` recreated a missing key at start-up, so a ledger whose
checkpoints were signed by key A went on with key B: every later checkpoint was signed by a
key no auditor trusts.  The server now refuses to start (one line) when checkpoints exist and
the key is missing or not the one that signed them, and read-only commands never create a key.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from github_app.cli import main
from github_app.ledger import NewEntry, SigningKeyError, load_or_create_signing_key
from github_app.server.app import create_app
from github_app.store import Database
from github_app.store.ledger import Ledger
from tests.support.app_harness import harness_settings


@pytest.fixture
def checkpointed(tmp_path: Path, app_private_key_pem: str):
    """A store with one entry and a checkpoint signed by the key at the settings' path."""
    settings = harness_settings(tmp_path, app_private_key_pem)
    db = Database.open(settings.database_url)
    db.migrate()
    ledger = Ledger(db, load_or_create_signing_key(settings.countersign_signing_key_path))
    ledger.append(NewEntry(kind="freeze", occurred_at=datetime.now(UTC), data={"reason": "x"}))
    assert ledger.checkpoint() is not None
    db.dispose()
    return settings


async def test_a_missing_key_is_not_recreated_over_signed_checkpoints(aiohttp_client, checkpointed):
    key = checkpointed.countersign_signing_key_path
    key.unlink()
    with pytest.raises(SigningKeyError, match="is missing"):
        await aiohttp_client(create_app(checkpointed, start_worker=False))
    assert not key.exists()


async def test_another_key_cannot_continue_the_ledger(aiohttp_client, checkpointed):
    key = checkpointed.countersign_signing_key_path
    key.unlink()
    load_or_create_signing_key(key)  # someone "fixes" the start-up by making a new key
    with pytest.raises(SigningKeyError, match="did not sign"):
        await aiohttp_client(create_app(checkpointed, start_worker=False))


def cli_environment(monkeypatch, settings) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("COUNTERSIGN_SIGNING_KEY_PATH", str(settings.countersign_signing_key_path))
    for variable in ("GITHUB_APP_ID", "GITHUB_PRIVATE_KEY", "GITHUB_PRIVATE_KEY_PATH"):
        monkeypatch.delenv(variable, raising=False)


def test_serve_refuses_to_start_with_a_one_line_error(monkeypatch, tmp_path, checkpointed):
    monkeypatch.chdir(tmp_path)
    cli_environment(monkeypatch, checkpointed)
    with socket.socket() as probe:  # a free port, in case start-up got as far as binding
        probe.bind(("127.0.0.1", 0))
        monkeypatch.setenv("PORT", str(probe.getsockname()[1]))
    monkeypatch.setenv("HOST", "127.0.0.1")
    checkpointed.countersign_signing_key_path.unlink()
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    last = result.output.rstrip("\n").splitlines()[-1]  # after the start-up log lines
    assert "refusing to start:" in last and "is missing" in last
    assert not checkpointed.countersign_signing_key_path.exists()


def test_migrate_does_not_mint_a_key_over_signed_checkpoints(monkeypatch, tmp_path, checkpointed):
    monkeypatch.chdir(tmp_path)
    cli_environment(monkeypatch, checkpointed)
    checkpointed.countersign_signing_key_path.unlink()
    result = CliRunner().invoke(main, ["migrate"])
    assert result.exit_code != 0 and "is missing" in result.output
    assert not checkpointed.countersign_signing_key_path.exists()


def test_commands_refuse_another_key(monkeypatch, tmp_path, checkpointed):
    monkeypatch.chdir(tmp_path)
    cli_environment(monkeypatch, checkpointed)
    key = checkpointed.countersign_signing_key_path
    key.unlink()
    load_or_create_signing_key(key)
    result = CliRunner().invoke(main, ["freeze", "on", "--reason", "drill"])
    assert result.exit_code != 0 and "did not sign" in result.output


def test_read_only_commands_never_create_a_key(monkeypatch, tmp_path, checkpointed):
    monkeypatch.chdir(tmp_path)
    cli_environment(monkeypatch, checkpointed)
    key = checkpointed.countersign_signing_key_path
    key.unlink()
    runner = CliRunner()
    for command in (["evidence", "public-key"], ["evidence", "verify"]):
        result = runner.invoke(main, command)
        assert result.exit_code != 0 and "signing key" in result.output, command
    assert not key.exists()
