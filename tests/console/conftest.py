"""Console fixtures: the API and the console on a minimal aiohttp app, over the API scenario.

The services, tokens and seeded ledger come from tests/api/conftest.py (both backends);
``console`` is a test client and ``sign_in`` exchanges a token for a console session the way a
browser does (GET the form for its anti-forgery token, POST it back).
"""

from __future__ import annotations

import re
import warnings

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from github_app.api.mount import add_api_routes
from github_app.app_keys import SERVICES
from github_app.console import add_console_routes
from tests.api.conftest import now, seeded, services, tokens  # noqa: F401
from tests.api.scenario import ApiServices
from tests.support.databases import database, database_url  # noqa: F401

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def build_console_app(services: ApiServices) -> web.Application:  # noqa: F811
    """The API and the console, mounted as the App mounts them."""
    app = web.Application()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        app[SERVICES] = services
    add_api_routes(app)
    add_console_routes(app)
    return app


@pytest.fixture
async def console(aiohttp_client, services: ApiServices) -> TestClient:  # noqa: F811
    """A test client (with a cookie jar) for the console."""
    return await aiohttp_client(build_console_app(services))


def csrf_of(html: str) -> str:
    """The anti-forgery token in a rendered page."""
    match = _CSRF.search(html)
    assert match, "no anti-forgery token on the page"
    return match.group(1)


async def sign_in(client: TestClient, bearer_header: dict[str, str], **extra: str):
    """Sign in with the token of a ``Authorization: Bearer`` header; returns the response."""
    form = await client.get("/console/login")
    token = bearer_header["Authorization"].removeprefix("Bearer ")
    data = {"token": token, "csrf": csrf_of(await form.text()), **extra}
    return await client.post("/console/login", data=data, allow_redirects=False)
