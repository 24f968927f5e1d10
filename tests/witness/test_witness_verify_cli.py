"""``countersign evidence verify --witness`` reads the witness repository on the fake GitHub."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from github_app.cli import main
from github_app.evidence.witness import witness_document, witness_path
from github_app.ledger import NewEntry, load_or_create_signing_key
from github_app.store import Database
from github_app.store.ledger import Ledger
from tests.support.fake_git import FakeGitRepository
from tests.support.fake_github import FAKE_API_URL, FAKE_APP_ID, FakeGitHub

WITNESS = "acme/countersign-ledger"


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app_private_key_pem: str) -> Ledger:
    monkeypatch.chdir(tmp_path)
    url, key = f"sqlite:///{tmp_path / 'store.db'}", tmp_path / "signing.key"
    for name, value in {
        "GITHUB_APP_ID": str(FAKE_APP_ID),
        "GITHUB_PRIVATE_KEY": app_private_key_pem,
        "GITHUB_WEBHOOK_SECRET": "secret",
        "GITHUB_API_URL": FAKE_API_URL,
        "DATABASE_URL": url,
        "COUNTERSIGN_SIGNING_KEY_PATH": str(key),
        "COUNTERSIGN_WITNESS_REPO": WITNESS,
    }.items():
        monkeypatch.setenv(name, value)
    db = Database.open(url)
    db.migrate()
    ledger = Ledger(db, load_or_create_signing_key(key))
    for count in (2, 3):
        ledger.append_many(
            NewEntry(kind="freeze", occurred_at=datetime.now(UTC)) for _ in range(count)
        )
        ledger.checkpoint()
    return ledger


def test_verify_names_rewritten_and_missing_witnessed_checkpoints(
    github: FakeGitHub, ledger: Ledger
) -> None:
    repo = FakeGitRepository(github, WITNESS)
    first, second = ledger.checkpoints()
    repo.rewrite(witness_path(first.size), witness_document(first))
    repo.rewrite(witness_path(second.size), witness_document(second))
    ok = CliRunner().invoke(main, ["evidence", "verify", "--witness"])
    assert ok.exit_code == 0, ok.output
    assert "witness: all 2 checkpoints match" in ok.stdout
    forged = witness_document(second).replace(second.head_hash, "f" * 64)
    repo.rewrite(witness_path(second.size), forged)
    repo.rewrite(
        "checkpoints/000000000009.json", witness_document(first).replace('"size":2', '"size":9')
    )
    failed = CliRunner().invoke(main, ["evidence", "verify", "--witness"])
    assert failed.exit_code == 1, failed.output
    assert "WITNESS: checkpoint 5: differs from the witnessed one (head_hash)" in failed.stdout
    assert "WITNESS: checkpoint 9: witnessed but missing locally" in failed.stdout
