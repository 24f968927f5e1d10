"""Mounting the console at ``/console`` without importing it (fast start-up).

The pages' code (:mod:`github_app.console.app`, Jinja2 and the queries it renders) is loaded on
the first request under ``/console`` (:mod:`github_app.lazy_app`); :data:`CONSOLE_ROUTES` must
list exactly the routes :func:`github_app.console.app.loaded` serves (it refuses a difference).
"""

from __future__ import annotations

from aiohttp import web

from github_app.lazy_app import RouteKey, lazy_subapp

CONSOLE_PREFIX = "/console"
CONSOLE_ROUTES: tuple[RouteKey, ...] = (
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/changes"),
    ("GET", "/sample"),
    ("GET", "/sessions/{session_id}"),
    ("GET", "/exceptions"),
    ("GET", "/pulls/{owner}/{repo}/{number}"),
    ("GET", "/ledger"),
    ("POST", "/ledger/verify"),
    ("GET", "/ledger/public-key.pem"),
    ("GET", "/ledger/proofs/{seq}.json"),
    ("GET", "/access-log"),
    ("GET", "/static/console.css"),
)


async def _to_overview(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPPermanentRedirect(f"{CONSOLE_PREFIX}/")


def add_console_routes(app: web.Application) -> None:
    """Mount the console at ``/console`` on ``app``."""
    app.router.add_get(CONSOLE_PREFIX, _to_overview, allow_head=False)
    app.add_subapp(CONSOLE_PREFIX, lazy_subapp(CONSOLE_ROUTES, "github_app.console.app:loaded"))
