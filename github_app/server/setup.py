"""The GitHub App manifest flow, served while Countersign runs in setup mode.

``GET /`` shows a button that registers the App on GitHub from ``app.yml``.  GitHub sends the
browser back to ``GET /?code=…&state=…``; we exchange the one-time code for the App's id,
webhook secret and private key, and write them to ``.env`` (or ``data/github-app.env`` when a
``.env`` already exists), readable by the owner only.  A restart leaves setup mode.
"""

from __future__ import annotations

import html
import json
import os
import secrets
from pathlib import Path

import httpx
import yaml
from aiohttp import web
from gidgethub import BadRequest
from gidgethub.httpx import GitHubAPI

from github_app.app_keys import SERVICES
from github_app.paths import manifest_path
from github_app.server.pages import page

_STATES: set[str] = set()  # one-time anti-CSRF values handed out with the form


def web_url(api_url: str) -> str:
    """GitHub's web root for a REST root (``api.github.com`` or ``HOST/api/v3``)."""
    if api_url.rstrip("/") == "https://api.github.com":
        return "https://github.com"
    return api_url.rstrip("/").removesuffix("/api/v3")


def app_manifest(base_url: str) -> dict:
    """The App manifest from ``app.yml`` with this server's public URL filled in."""
    manifest = yaml.safe_load(manifest_path().read_text(encoding="utf-8"))
    manifest["url"] = base_url
    manifest["hook_attributes"] = {"url": f"{base_url}/webhooks", "active": True}
    manifest["redirect_url"] = f"{base_url}/"
    return manifest


def setup_form(request: web.Request) -> web.Response:
    """The setup page: what is missing, and a button to register the App."""
    settings = request.app[SERVICES].settings
    base_url = settings.countersign_public_url or f"{request.scheme}://{request.host}"
    state = secrets.token_urlsafe(24)
    _STATES.add(state)
    manifest = html.escape(json.dumps(app_manifest(base_url)))
    action = html.escape(f"{web_url(settings.github_api_url)}/settings/apps/new?state={state}")
    body = (
        "<p>Countersign is running in <strong>setup mode</strong>: "
        "<code>GITHUB_APP_ID</code> is not set, so webhooks are refused.</p>"
        "<p>Missing: <code>GITHUB_APP_ID</code>, <code>GITHUB_WEBHOOK_SECRET</code> and "
        "<code>GITHUB_PRIVATE_KEY</code> or <code>GITHUB_PRIVATE_KEY_PATH</code>.</p>"
        "<p>Register the App on GitHub from its manifest (permissions and events as in "
        "<code>app.yml</code>). GitHub sends you back here and Countersign saves the App's "
        "credentials; then restart it.</p>"
        f'<form action="{action}" method="post">'
        f'<input type="hidden" name="manifest" value="{manifest}">'
        '<button type="submit">Create the GitHub App from its manifest</button></form>'
    )
    return page("Countersign — setup", body)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def save_credentials(app: dict, directory: Path) -> Path:
    """Write the converted App's credentials; returns the env file written."""
    key_path = directory / "data" / "github-app.pem"
    _write_private(key_path, app["pem"])
    env_file = directory / ".env"
    if env_file.exists():
        env_file = directory / "data" / "github-app.env"
    _write_private(
        env_file,
        (
            f"GITHUB_APP_ID={app['id']}\n"
            f"GITHUB_WEBHOOK_SECRET={app['webhook_secret']}\n"
            f"GITHUB_PRIVATE_KEY_PATH={key_path.resolve()}\n"
        ),
    )
    return env_file


async def complete_setup(request: web.Request) -> web.Response:
    """Exchange GitHub's one-time code for the App's credentials and save them."""
    settings = request.app[SERVICES].settings
    state = request.query.get("state", "")
    if state not in _STATES:
        return page(
            "Countersign — setup",
            '<p>This link is stale: start again from <a href="/">the setup page</a>.</p>',
            status=400,
        )
    _STATES.discard(state)
    async with httpx.AsyncClient(timeout=30) as http:
        gh = GitHubAPI(http, "countersign", base_url=settings.github_api_url)
        try:
            app = await gh.post(f"/app-manifests/{request.query['code']}/conversions", data=b"")
        except BadRequest as error:
            return page(
                "Countersign — setup",
                f"<p>GitHub refused the code: {html.escape(str(error))}</p>",
                status=502,
            )
    env_file = save_credentials(app, Path.cwd())
    return page(
        "Countersign — App registered",
        (
            f"<p>GitHub App <strong>{html.escape(app.get('name', ''))}</strong> "
            f"(id {int(app['id'])}) was created. Its credentials are in "
            f"<code>{html.escape(str(env_file))}</code> (mode 0600).</p>"
            "<p>Restart Countersign to leave setup mode, then install the App on your "
            "organisation (include the <code>.github</code> repository if you keep an org policy "
            "there).</p>"
        ),
    )
