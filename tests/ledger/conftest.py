"""Ledger fixtures: both database backends, a signing key, and a ledger with a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from github_app.ledger import CheckpointSigner, load_or_create_signing_key
from github_app.store import Database
from github_app.store.ledger import Ledger
from tests.ledger.helpers import FakeClock, make_entry
from tests.support import databases

# The shared fixtures: every ledger test runs on SQLite and on real PostgreSQL.
database = databases.database
database_url = databases.database_url
postgres_url = databases.postgres_url


@pytest.fixture
def signer(tmp_path: Path) -> CheckpointSigner:
    """A fresh checkpoint signing key."""
    return load_or_create_signing_key(tmp_path / "keys" / "ledger-signing.key")


@pytest.fixture
def clock() -> FakeClock:
    """A controllable clock starting at ``helpers.START``."""
    return FakeClock()


@pytest.fixture
def ledger(database: Database, signer: CheckpointSigner, clock: FakeClock) -> Ledger:
    """A ledger on the parametrised backend, checkpointing every 10 entries or 60 minutes."""
    return Ledger(database, signer, checkpoint_every=10, checkpoint_minutes=60, clock=clock)


@pytest.fixture
def fill(ledger: Ledger) -> Callable[[int], None]:
    """A function appending ``count`` varied entries to ``ledger``."""

    def append(count: int) -> None:
        ledger.append_many(make_entry(number) for number in range(count))

    return append
