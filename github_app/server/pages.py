"""``GET /``: the setup flow when unconfigured, a short status page otherwise."""

from __future__ import annotations

import asyncio
import html

from aiohttp import web

from github_app.app_keys import SERVICES


def page(title: str, body: str, status: int = 200) -> web.Response:
    """A minimal HTML page."""
    document = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:3rem auto;"
        "padding:0 1rem}code{background:#f3f3f3;padding:0 .2em}</style>"
        f"<h1>{html.escape(title)}</h1>{body}</html>"
    )
    return web.Response(text=document, content_type="text/html", status=status)


async def index(request: web.Request) -> web.StreamResponse:
    """Setup page (or its steps) in setup mode, otherwise a short status page."""
    from github_app.server import setup

    services = request.app[SERVICES]
    if services.settings.setup_mode:
        return await setup.handle_index(request, services.settings)
    if request.method != "GET":
        raise web.HTTPMethodNotAllowed(request.method, ["GET"])
    status = await asyncio.to_thread(services.status)
    rows = "".join(
        f"<tr><th align=left>{html.escape(key)}</th><td>{html.escape(str(value))}</td></tr>"
        for key, value in status.items()
    )
    return page("Countersign", f"<table>{rows}</table>")
