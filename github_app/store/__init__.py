"""The database layer: SQLite or PostgreSQL behind one handle, with packaged migrations.

``Database.open(url)`` then ``db.migrate()``; reads use ``db.connect()``, writes
``db.transaction()`` (or ``db.write_transaction()`` for read-then-write work).  Queries are
written against the Core tables in :mod:`github_app.store.tables`, documented in the first
migration; :mod:`github_app.store.roles` explains the PostgreSQL owner/App role split.  The
evidence ledger on top lives in :mod:`github_app.ledger`.
"""

from github_app.store.database import Database, normalise_url

__all__ = ["Database", "normalise_url"]
