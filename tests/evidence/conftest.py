"""CLI fixtures: the environment a ``countersign`` command reads, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from github_app.ledger import load_or_create_signing_key
from github_app.store import Database
from github_app.store.ledger import Ledger
from tests.api.scenario import seed
from tests.support.databases import database_url  # noqa: F401


@dataclass
class Cli:
    """Runs click commands with ``DATABASE_URL`` and the signing key set for the test."""

    runner: CliRunner
    db: Database
    ledger: Ledger
    key_path: Path

    def run(self, command, *args: str, code: int = 0) -> Result:
        """Invoke ``command`` with ``args`` and check its exit code."""
        result = self.runner.invoke(command, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result


@pytest.fixture
def cli(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    """An empty, migrated store the CLI is pointed at (cwd is a tmp dir without ``.env``)."""
    key_path = tmp_path / "keys" / "signing.key"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("COUNTERSIGN_SIGNING_KEY_PATH", str(key_path))
    for variable in ("GITHUB_APP_ID", "GITHUB_PRIVATE_KEY", "GITHUB_PRIVATE_KEY_PATH"):
        monkeypatch.delenv(variable, raising=False)
    db = Database.open(database_url)
    db.migrate()
    ledger = Ledger(db, load_or_create_signing_key(key_path))
    yield Cli(CliRunner(), db, ledger, key_path)
    db.dispose()


@pytest.fixture
def seeded_cli(cli: Cli) -> Cli:
    """The CLI over the scenario ledger of tests/api/scenario.py."""
    seed(cli.ledger, datetime.now(UTC))
    return cli
