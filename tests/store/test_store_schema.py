"""The schema check without Alembic: the shipped head, the SQLite head snapshot, the fallbacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from github_app.store import Database
from github_app.store.schema import (
    MIGRATIONS_DIR,
    SQLITE_HEAD,
    alembic_config,
    shipped_head,
)
from github_app.store.snapshot import dump_sqlite_schema

REPO_ROOT = Path(__file__).resolve().parents[2]


def _schema_of(db: Database) -> dict[tuple[str, str], str]:
    with db.connect() as conn:
        rows = conn.exec_driver_sql("SELECT type, name, sql FROM sqlite_master").all()
    return {(kind, name): sql for kind, name, sql in rows}


def test_the_head_read_from_the_revision_files_is_alembics() -> None:
    assert shipped_head() == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def test_the_shipped_snapshot_is_what_the_migrations_build(tmp_path: Path) -> None:
    with Database.open(f"sqlite:///{tmp_path / 'alembic.db'}") as db:
        db.migrate(snapshot=False)
        with db.connect() as conn:
            dumped = dump_sqlite_schema(conn)
    assert SQLITE_HEAD.read_text(encoding="utf-8") == dumped, (
        "sqlite_head.sql is stale: run `python -m github_app.store.snapshot`"
    )


def test_a_new_store_from_the_snapshot_equals_a_migrated_one(tmp_path: Path) -> None:
    with (
        Database.open(f"sqlite:///{tmp_path / 'alembic.db'}") as migrated,
        Database.open(f"sqlite:///{tmp_path / 'snapshot.db'}") as created,
    ):
        migrated.migrate(snapshot=False)
        created.migrate()
        assert created.schema_revision() == shipped_head()
        assert _schema_of(created) == _schema_of(migrated)


def test_an_older_store_is_migrated_to_the_head(tmp_path: Path) -> None:
    with Database.open(f"sqlite:///{tmp_path / 'old.db'}") as db:
        with db.transaction() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")
        assert db.schema_revision() == "0001"
        db.migrate()
        assert db.schema_revision() == shipped_head()


def test_neither_a_new_store_nor_one_at_the_head_imports_alembic(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from github_app.store import Database\n"
        f"for _ in range(2):\n"
        f"    with Database.open('sqlite:///{tmp_path / 'cs.db'}') as db:\n"
        "        db.migrate()\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'alembic'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
    )
    assert result.stdout.strip() == "[]"
    with Database.open(f"sqlite:///{tmp_path / 'cs.db'}") as db:
        assert db.schema_revision() == shipped_head()
