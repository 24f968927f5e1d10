"""``GET /``: the setup page (GitHub App manifest flow) when unconfigured, else a status page."""

from __future__ import annotations

import asyncio
import html
import json

import yaml
from aiohttp import web

from github_app.paths import manifest_path


def app_manifest(base_url: str) -> dict:
    """The App manifest from ``app.yml`` with this server's public URL filled in."""
    manifest = yaml.safe_load(manifest_path().read_text(encoding="utf-8"))
    manifest["url"] = base_url
    manifest["hook_attributes"] = {"url": f"{base_url}/webhooks", "active": True}
    manifest["redirect_url"] = f"{base_url}/"
    return manifest


def _page(title: str, body: str) -> web.Response:
    document = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:3rem auto;"
        "padding:0 1rem}code{background:#f3f3f3;padding:0 .2em}</style>"
        f"<h1>{html.escape(title)}</h1>{body}</html>"
    )
    return web.Response(text=document, content_type="text/html")


def _setup_page(request: web.Request) -> web.Response:
    services = request.app["services"]
    base_url = services.settings.countersign_public_url or f"{request.scheme}://{request.host}"
    manifest = html.escape(json.dumps(app_manifest(base_url)))
    body = (
        "<p>Countersign is running in <strong>setup mode</strong>: "
        "<code>GITHUB_APP_ID</code> is not set, so webhooks are refused.</p>"
        "<p>Missing: <code>GITHUB_APP_ID</code>, <code>GITHUB_WEBHOOK_SECRET</code> and "
        "<code>GITHUB_PRIVATE_KEY</code> or <code>GITHUB_PRIVATE_KEY_PATH</code>.</p>"
        "<p>Register the App on GitHub from its manifest (permissions and events as in "
        "<code>app.yml</code>), then put the App id, webhook secret and private key it gives "
        "you into the environment or a <code>.env</code> file and restart.</p>"
        '<form action="https://github.com/settings/apps/new" method="post">'
        f'<input type="hidden" name="manifest" value="{manifest}">'
        '<button type="submit">Create the GitHub App from its manifest</button></form>'
    )
    return _page("Countersign — setup", body)


async def index(request: web.Request) -> web.Response:
    """Setup page in setup mode, otherwise a short status page."""
    services = request.app["services"]
    if services.settings.setup_mode:
        return _setup_page(request)
    status = await asyncio.to_thread(services.status)
    rows = "".join(
        f"<tr><th align=left>{html.escape(key)}</th><td>{html.escape(str(value))}</td></tr>"
        for key, value in status.items()
    )
    return _page("Countersign", f"<table>{rows}</table>")
