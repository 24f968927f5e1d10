"""Table handles for the state modules (the schema lives in :mod:`github_app.store.tables`)."""

from __future__ import annotations

import sqlalchemy as sa

from github_app.store import tables
from github_app.store.database import Database


def reflect(_db: Database, name: str) -> sa.Table:
    """The SQLAlchemy table ``name`` as the migrations define it."""
    return tables.metadata.tables[name]
