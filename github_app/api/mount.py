"""Mounting ``/api/v1`` and ``/api/v1/agent`` without importing them (fast start-up).

The routes' code (:mod:`github_app.api.routes`, :mod:`github_app.api.agent_events`) is loaded
on the first request under each prefix (:mod:`github_app.lazy_app`); this module holds only
what the mount needs: the prefixes, the route indexes and the agent sub-application's state.
The indexes must list exactly the routes of :data:`github_app.api.routes.ROUTES` and
:data:`github_app.api.agent_events.AGENT_OPERATIONS` (the loaders refuse a difference, and a
test compares the mounted routes with the OpenAPI document).
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from github_app.lazy_app import RouteKey, lazy_subapp

API_PREFIX = "/api/v1"
AGENT_PREFIX = "/agent"
API_ROUTES: tuple[RouteKey, ...] = (
    ("GET", "/sessions/{session_id}"),
    ("POST", "/sessions/{session_id}/revoke"),
    ("GET", "/changes"),
    ("GET", "/changes/sample"),
    ("GET", "/exceptions"),
    ("GET", "/evidence"),
    ("GET", "/export"),
    ("GET", "/ledger/verify"),
    ("GET", "/attestations/{sha}"),
    ("GET", "/pack"),
    ("GET", "/ledger/public-key"),
    ("GET", "/freeze"),
    ("POST", "/freeze"),
    ("DELETE", "/freeze"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
)
AGENT_ROUTES: tuple[RouteKey, ...] = (("POST", "/events"),)
# The agent sub-application's per-process state: its group-commit writer and hook-state poller.
WRITERS = web.AppKey("countersign_group_commit", dict)


async def _stop_poller(app: web.Application) -> None:
    task = app[WRITERS].pop("poller", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def add_api_routes(app: web.Application) -> None:
    """Mount the auditor API at ``/api/v1`` and the agent hook endpoint at ``/api/v1/agent``."""
    app.add_subapp(API_PREFIX, lazy_subapp(API_ROUTES, "github_app.api.routes:loaded"))
    agent = lazy_subapp(AGENT_ROUTES, "github_app.api.agent_events:loaded")
    agent[WRITERS] = {}
    agent.on_cleanup.append(_stop_poller)
    # aiohttp resolves the longer prefix first, so /api/v1/agent/... reaches this one.
    app.add_subapp(API_PREFIX + AGENT_PREFIX, agent)
