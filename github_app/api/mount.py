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
import sys

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
# The agent sub-application's per-process state: its group-commit writer, hook-state poller
# and the writes that follow answers ("tasks").
WRITERS = web.AppKey("countersign_group_commit", dict)
AGENT_APP = web.AppKey("countersign_agent_app", web.Application)

# How long a thread may keep the GIL while another one waits for it.  The default, 5 ms, is
# paid by the event loop each time it blocks for a moment (a socket send, a queue put) while
# a writer thread builds rows or seals ledger entries: several times per answer.  With 0.5 ms
# the loop gets it back ten times sooner; a writer, mostly waiting on fsync, barely notices.
# Process-wide: it serves the webhook intake the same way.
GIL_SWITCH_SECONDS = 0.0005


async def _prefer_the_loop(_app: web.Application) -> None:
    if sys.getswitchinterval() > GIL_SWITCH_SECONDS:
        sys.setswitchinterval(GIL_SWITCH_SECONDS)


async def settle(app: web.Application) -> None:
    """Wait for the agent endpoint's writes that follow answers (access-log rows of PreToolUse
    calls, flushes of full groups, checkpoints); ``app`` is the main application or the agent
    one."""
    agent = app.get(AGENT_APP, app)
    while pending := [t for t in agent[WRITERS].get("tasks", ()) if not t.done()]:
        await asyncio.gather(*pending, return_exceptions=True)


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
    agent.on_startup.append(_prefer_the_loop)
    agent.on_shutdown.append(settle)  # rows that follow answers are written before the store
    agent.on_cleanup.append(_stop_poller)  # closes
    app[AGENT_APP] = agent
    # aiohttp resolves the longer prefix first, so /api/v1/agent/... reaches this one.
    app.add_subapp(API_PREFIX + AGENT_PREFIX, agent)
