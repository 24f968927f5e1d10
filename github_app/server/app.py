"""The aiohttp application: routes, start-up and shutdown of the shared services.

Start-up is ordered so that the App takes deliveries as early as it honestly can: the store is
opened at the schema head, the ledger's signing key and the App key are checked
(:meth:`~github_app.services.Services.open`), and only then does the server listen, so
``/healthz`` answers 200 only when a delivery can be stored.  The rest
(:meth:`~github_app.services.Services.load`: GitHub access, policy, handlers, jobs) is built in
the background; the worker and the periodic jobs start when it is done, and every route but
the webhook receiver and the probes waits for it.  The API and the console are imported on
their first request (:mod:`github_app.lazy_app`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

from github_app.api.mount import add_api_routes
from github_app.app_keys import ON_CONTAINMENT_CHANGE, SERVICES
from github_app.config import Settings
from github_app.console import add_console_routes
from github_app.logs import get_logger
from github_app.server.health import healthz, metrics, readyz
from github_app.server.pages import index
from github_app.services import Services
from github_app.webhooks.receiver import receive_webhook

if TYPE_CHECKING:  # not imported at start-up: the HTTP client is built by Services.load
    from github_app.github.client import GitHubClient

log = get_logger(__name__)

# Served before the second start-up step is done: they need only the open store.
EARLY_PATHS = frozenset({"/webhooks", "/healthz", "/readyz", "/metrics"})
LOADING = web.AppKey("countersign_loading", asyncio.Task)


@web.middleware
async def after_load(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    """Hold every other request until the services are completely built."""
    if request.path not in EARLY_PATHS:
        await request.app[SERVICES].load()
    return await handler(request)


def create_app(
    settings: Settings, *, start_worker: bool = True, github: GitHubClient | None = None
) -> web.Application:
    """Build the application; services open on start-up and close on cleanup.

    With ``start_worker`` (``serve``) the second start-up step runs in the background and the
    worker and jobs start after it; without (tests), start-up completes both steps first and
    starts nothing.
    """
    app = web.Application(client_max_size=settings.countersign_max_body_bytes)
    app.middlewares.append(after_load)
    app.router.add_post("/webhooks", receive_webhook)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/", index)
    app.router.add_post("/", index)  # the setup form (setup mode only)
    if settings.setup_mode:
        # The setup flow (GitHub's manifest conversion) is only ever needed in setup mode.
        from github_app.server.setup import SETUP_GUARD, SetupGuard

        app[SETUP_GUARD] = SetupGuard()
    add_api_routes(app)
    add_console_routes(app)

    async def reevaluate_after_containment(_event: object) -> None:
        # The watch compares the whole containment state, so what changed does not matter.
        await app[SERVICES].containment_watch.check()

    app[ON_CONTAINMENT_CHANGE] = reevaluate_after_containment

    async def lifecycle(app: web.Application):
        services = await Services.open(settings, github=github)
        app[SERVICES] = services
        if settings.setup_mode:
            from github_app.server.setup import SETUP_GUARD, announce  # setup mode, as above

            announce(settings, app[SETUP_GUARD])
        if start_worker:
            app[LOADING] = asyncio.create_task(_load_then_start(services))
        else:
            await services.load()
        yield
        await services.close()

    app.cleanup_ctx.append(lifecycle)
    return app


async def _load_then_start(services: Services) -> None:
    """The second start-up step, then the worker and the jobs (``serve`` watches this task:
    a failure stops the server)."""
    await services.load()
    services.start_background()
    log.debug("services_loaded")
