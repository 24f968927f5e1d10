"""The database layer: SQLite or PostgreSQL behind one handle, with packaged migrations.

``Database.open(url)`` then ``db.migrate()``; queries use the Core tables in
:mod:`github_app.store.tables`.  The evidence ledger on top lives in :mod:`github_app.ledger`.
"""

from github_app.store.database import Database, normalise_url

__all__ = ["Database", "normalise_url"]
