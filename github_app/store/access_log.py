"""Reading the API's access log (who called what, when, with which token and what status).

The log is written by the API middleware (:mod:`github_app.api.access`) and is append-only; this
module only reads it, newest first, for ``countersign evidence access-log`` and the console's
admin page.  Rows come back as JSON-ready dicts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from github_app.ledger.entry import rfc3339
from github_app.store.database import Database
from github_app.store.tables import access_log

DEFAULT_ROWS = 100
MAX_ROWS = 1000


def read_access_log(
    db: Database,
    *,
    limit: int = DEFAULT_ROWS,
    before_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    token_name: str | None = None,
) -> list[dict[str, Any]]:
    """Up to ``limit`` rows, newest first, older than ``before_id`` when given."""
    if not 1 <= limit <= MAX_ROWS:
        raise ValueError(f"limit must be between 1 and {MAX_ROWS}")
    columns = access_log.c
    query = sa.select(access_log).order_by(columns.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(columns.id < before_id)
    if since is not None:
        query = query.where(columns.at >= since)
    if until is not None:
        query = query.where(columns.at < until)
    if token_name is not None:
        query = query.where(columns.token_name == token_name)
    with db.connect() as conn:
        rows = conn.execute(query).all()
    return [_row(row) for row in rows]


def _row(row: sa.Row[Any]) -> dict[str, Any]:
    fields = dict(row._mapping)
    fields["at"] = rfc3339(fields["at"])
    return fields
