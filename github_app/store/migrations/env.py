"""Alembic environment: runs the revisions on the connection ``Database.migrate`` hands over.

There is no alembic.ini and no URL here on purpose: the caller owns the connection (and its
transaction and lock), so migrations run exactly where the App will read and write.
"""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("run migrations through github_app.store.Database.migrate()")

context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
