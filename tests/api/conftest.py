"""API fixtures: the real API mounted on a minimal aiohttp app, on SQLite and PostgreSQL.

``database`` (from tests/support/databases.py) is parametrised over both backends, so every
test that uses ``api`` runs twice.  ``seeded`` fills the ledger with :mod:`tests.api.scenario`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from github_app.api.mount import add_api_routes
from github_app.app_keys import SERVICES
from github_app.config import Settings
from github_app.ledger import load_or_create_signing_key
from github_app.state.containment import Containment
from github_app.store import Database
from github_app.store.ledger import Ledger
from github_app.tokens import TokenStore
from tests.api.scenario import ApiServices, seed
from tests.support.databases import database, database_url  # noqa: F401


@pytest.fixture
def services(database: Database, database_url: str, tmp_path: Path) -> ApiServices:  # noqa: F811
    """Store, ledger (with a signing key) and containment on the parametrised backend."""
    key_path = tmp_path / "keys" / "ledger-signing.key"
    settings = Settings(
        _env_file=None, database_url=database_url, countersign_signing_key_path=key_path
    )
    ledger = Ledger(database, load_or_create_signing_key(key_path))
    return ApiServices(settings, database, ledger, Containment(database))


@pytest.fixture
def now() -> datetime:
    """The scenario's reference time."""
    return datetime.now(UTC)


@pytest.fixture
def seeded(services: ApiServices, now: datetime) -> ApiServices:
    """Services whose ledger holds the scenario."""
    seed(services.ledger, now)
    return services


@dataclass
class Tokens:
    """Bearer tokens of each kind, as headers."""

    auditor: dict[str, str]
    admin: dict[str, str]
    revoked: dict[str, str]


def bearer(secret: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def tokens(services: ApiServices) -> Tokens:
    """An auditor token, an admin token and a revoked token."""
    store = TokenStore(services.db)
    _, auditor = store.create("audit-firm", "auditor")
    _, admin = store.create("secops", "admin")
    _, revoked = store.create("former-auditor", "auditor")
    store.revoke("former-auditor")
    return Tokens(bearer(auditor), bearer(admin), bearer(revoked))


def build_app(services: ApiServices) -> web.Application:
    """A minimal application with only the API, as the App mounts it."""
    app = web.Application()
    with warnings.catch_warnings():  # the App keys its services by name, as done here
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        app[SERVICES] = services
    add_api_routes(app)
    return app


@pytest.fixture
async def api(aiohttp_client, services: ApiServices) -> TestClient:
    """A test client for the API (ledger empty unless ``seeded`` is requested too)."""
    return await aiohttp_client(build_app(services))
