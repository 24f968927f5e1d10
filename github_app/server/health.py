"""Liveness, readiness and Prometheus metrics routes."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from github_app.app_keys import SERVICES
from github_app.metrics import REGISTRY


async def healthz(_request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the store answers and GitHub credentials are loaded."""
    services = request.app[SERVICES]
    checks = {
        "store": await asyncio.to_thread(services.db.ping),
        "github_credentials": services.github is not None,
    }
    ready = all(checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )


async def metrics(_request: web.Request) -> web.Response:
    """Prometheus text exposition of the process's metrics."""
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
