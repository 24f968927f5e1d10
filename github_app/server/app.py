"""The aiohttp application: routes, start-up and shutdown of the shared services."""

from __future__ import annotations

from aiohttp import web

from github_app.api.routes import ON_CONTAINMENT_CHANGE, add_api_routes
from github_app.app_keys import SERVICES
from github_app.config import Settings
from github_app.console import add_console_routes
from github_app.github.client import GitHubClient
from github_app.server.health import healthz, metrics, readyz
from github_app.server.pages import index
from github_app.server.setup import SETUP_GUARD, SetupGuard, announce
from github_app.services import Services
from github_app.webhooks.receiver import receive_webhook


def create_app(
    settings: Settings, *, start_worker: bool = True, github: GitHubClient | None = None
) -> web.Application:
    """Build the application; services open on start-up and close on cleanup."""
    app = web.Application(client_max_size=settings.countersign_max_body_bytes)
    app.router.add_post("/webhooks", receive_webhook)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/", index)
    app.router.add_post("/", index)  # the setup form (setup mode only)
    guard = SetupGuard()
    app[SETUP_GUARD] = guard
    add_api_routes(app)
    add_console_routes(app)

    async def reevaluate_after_containment(_event: object) -> None:
        # The watch compares the whole containment state, so what changed does not matter.
        await app[SERVICES].containment_watch.check()

    app[ON_CONTAINMENT_CHANGE] = reevaluate_after_containment

    async def lifecycle(app: web.Application):
        services = await Services.start(settings, github=github)
        app[SERVICES] = services
        if settings.setup_mode:
            announce(settings, guard)
        if start_worker:
            services.start_background()
        yield
        await services.close()

    app.cleanup_ctx.append(lifecycle)
    return app
