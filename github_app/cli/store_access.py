"""Opening an existing store from the command line, never creating one by accident.

``serve`` and ``migrate`` create the store and the signing key.  Every other command works on
the store the configuration names, and stops with one line ("no store at …; set DATABASE_URL")
when there is none, so running a command from the wrong folder cannot silently start a new,
empty ledger with a new signing key.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from github_app.config import Settings
from github_app.ledger.checkpoints import CheckpointSigner, load_or_create_signing_key
from github_app.store.database import Database, alembic_config
from github_app.store.ledger import Ledger


class NoStore(Exception):
    """The configured store or signing key does not exist or cannot be reached."""


def describe_database(url: str) -> str:
    """The database URL without its password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "the DATABASE_URL given"


def head_revision() -> str | None:
    """The newest migration shipped with this version."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def open_existing_database(settings: Settings) -> Database:
    """Open the store named by ``DATABASE_URL``; :class:`NoStore` if it was never created."""
    sqlite_path = settings.sqlite_path
    if sqlite_path is not None and not sqlite_path.is_file():
        raise NoStore(f"no store at {sqlite_path.resolve()}; set DATABASE_URL")
    db = Database.open(settings.database_url)
    try:
        revision = db.schema_revision()
    except (sa.exc.SQLAlchemyError, OSError) as error:
        db.engine.dispose()
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise NoStore(
            f"cannot reach the store at {describe_database(settings.database_url)}: {reason}"
        ) from None
    if revision is None:
        db.engine.dispose()
        where = describe_database(settings.database_url)
        raise NoStore(f"no store at {where}; set DATABASE_URL (or run `countersign migrate`)")
    return db


def load_existing_signing_key(path: Path) -> CheckpointSigner:
    """The ledger signing key at ``path``; :class:`NoStore` rather than creating a new one."""
    if not path.is_file():
        raise NoStore(f"no signing key at {path.resolve()}; set COUNTERSIGN_SIGNING_KEY_PATH")
    try:
        return load_or_create_signing_key(path)
    except (ValueError, OSError) as error:
        raise NoStore(f"COUNTERSIGN_SIGNING_KEY_PATH: {error}") from None


def open_existing_store(settings: Settings) -> tuple[Database, Ledger]:
    """The store and its ledger, both required to exist already (schema brought up to date)."""
    signer = load_existing_signing_key(settings.countersign_signing_key_path)
    db = open_existing_database(settings)
    if db.schema_revision() != head_revision():
        db.migrate()  # an older store of this deployment: upgrading it creates nothing new
    ledger = Ledger(
        db,
        signer,
        checkpoint_every=settings.countersign_checkpoint_every,
        checkpoint_minutes=settings.countersign_checkpoint_minutes,
    )
    return db, ledger
