"""Store tests run on both backends; the fixtures live in tests/support/databases.py."""

from tests.support import databases

database = databases.database
database_url = databases.database_url
postgres_url = databases.postgres_url
