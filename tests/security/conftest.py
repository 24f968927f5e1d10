"""Security tests reuse the API and console fixtures (both database backends)."""

from tests.api.conftest import api, now, seeded, services, tokens  # noqa: F401
from tests.console.conftest import console  # noqa: F401
from tests.support.databases import database, database_url  # noqa: F401
