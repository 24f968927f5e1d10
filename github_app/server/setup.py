"""The GitHub App manifest flow, served while Countersign runs in setup mode.

1. ``GET /`` asks where the App lives (a personal account, an organisation, a GitHub
   Enterprise Server host taken from ``GITHUB_API_URL``) and the public URL GitHub sends
   webhooks to.  Unless the browser runs on this machine, it also asks for the one-time *setup
   code* printed in the log at start-up: only the operator can complete setup.
2. ``POST /`` checks the answers and hands the browser a form that posts the manifest (built
   from ``app.yml``) to GitHub, with a one-time ``state`` that is also set as a cookie.
3. GitHub sends the browser back to ``GET /?code=…&state=…``.  The state must match the cookie
   and a state this process handed out; the code must look like one.  The code is exchanged for
   the App's id, webhook secret and private key (``POST /app-manifests/{code}/conversions``),
   written once to ``countersign.env`` in the data directory (mode 0600, never overwritten), and
   the browser lands on the App's installation page.  A restart leaves setup mode.
"""

from __future__ import annotations

import html
import ipaddress
import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import yaml
from aiohttp import web
from gidgethub import GitHubException
from gidgethub.httpx import GitHubAPI

from github_app.config import Settings
from github_app.logs import get_logger
from github_app.paths import manifest_path
from github_app.server.pages import page

log = get_logger(__name__)

STATE_COOKIE = "countersign_setup_state"
STATE_TTL_SECONDS = 3600
# GitHub's manifest codes are short opaque tokens; anything else is refused before any request.
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
STATE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,100}$")
ORG_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")
TITLE = "Countersign — setup"


@dataclass
class SetupGuard:
    """The per-process secrets of one setup: the operator's code and the states handed out."""

    setup_code: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    states: dict[str, float] = field(default_factory=dict)  # state -> expiry (monotonic)
    completed: bool = False

    def issue_state(self) -> str:
        """A fresh one-time state, remembered until it is used or expires."""
        now = time.monotonic()
        self.states = {state: expiry for state, expiry in self.states.items() if expiry > now}
        state = secrets.token_urlsafe(24)
        self.states[state] = now + STATE_TTL_SECONDS
        return state

    def redeem_state(self, state: str) -> bool:
        """Use up ``state``; True when it was handed out here and has not expired."""
        expiry = self.states.pop(state, None)
        return expiry is not None and expiry > time.monotonic()

    def restore_state(self, state: str) -> None:
        """Make a redeemed state usable again (setup could not go on, through no fault of
        the browser's)."""
        self.states[state] = time.monotonic() + STATE_TTL_SECONDS

    def code_matches(self, candidate: str) -> bool:
        """Constant-time comparison with the setup code."""
        return secrets.compare_digest(candidate.strip().encode(), self.setup_code.encode())


SETUP_GUARD: web.AppKey[SetupGuard] = web.AppKey("setup_guard", SetupGuard)


class SetupRefused(Exception):
    """The setup request cannot go on; the message is shown to the operator."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def web_url(api_url: str) -> str:
    """GitHub's web root for a REST root (``api.github.com`` or ``HOST/api/v3``)."""
    if api_url.rstrip("/") == "https://api.github.com":
        return "https://github.com"
    return api_url.rstrip("/").removesuffix("/api/v3")


def new_app_url(settings: Settings, organisation: str | None) -> str:
    """Where GitHub registers a new App for the account or the organisation."""
    root = web_url(settings.github_api_url)
    if organisation:
        return f"{root}/organizations/{quote(organisation)}/settings/apps/new"
    return f"{root}/settings/apps/new"


def app_manifest(base_url: str) -> dict:
    """The App manifest from ``app.yml`` with this server's public URL filled in."""
    manifest = yaml.safe_load(manifest_path().read_text(encoding="utf-8"))
    manifest["url"] = base_url
    manifest["hook_attributes"] = {"url": f"{base_url}/webhooks", "active": True}
    manifest["redirect_url"] = f"{base_url}/"
    return manifest


def is_loopback(request: web.Request) -> bool:
    """True for a browser on this machine that did not come through a proxy."""
    if any(header in request.headers for header in _FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def credentials_exist(settings: Settings) -> bool:
    """True once App credentials are configured or were written by a completed setup."""
    return not settings.setup_mode or settings.credentials_file.exists()


def _default_public_url(request: web.Request, settings: Settings) -> str:
    return (settings.countersign_public_url or f"{request.scheme}://{request.host}").rstrip("/")


def _unreachable_from_github(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def registered_page(settings: Settings) -> web.Response:
    """What ``GET /`` shows once credentials exist but this process still runs in setup mode."""
    return page(
        TITLE,
        "<p>The GitHub App is registered: its credentials are in "
        f"<code>{html.escape(str(settings.credentials_file))}</code>. Restart Countersign to "
        "leave setup mode. Setup cannot be run again while that file exists.</p>",
    )


def setup_form(request: web.Request, settings: Settings, error: str | None = None) -> web.Response:
    """The setup page: where the App lives, its public URL and (remotely) the setup code."""
    public_url = html.escape(_default_public_url(request, settings))
    ghes = settings.github_api_url != "https://api.github.com"
    host = html.escape(web_url(settings.github_api_url))
    secret_field = (
        ""
        if is_loopback(request)
        else (
            "<p><label>Setup code (printed in Countersign's log at start-up, "
            "<code>setup_mode</code> line):<br>"
            '<input name="setup_code" autocomplete="off" required size="30"></label></p>'
        )
    )
    notice = f'<p role="alert"><strong>{html.escape(error)}</strong></p>' if error else ""
    body = (
        f"{notice}<p>Countersign is running in <strong>setup mode</strong>: "
        "<code>GITHUB_APP_ID</code> is not set, so webhooks are refused.</p>"
        "<p>Missing: <code>GITHUB_APP_ID</code>, <code>GITHUB_WEBHOOK_SECRET</code> and "
        "<code>GITHUB_PRIVATE_KEY</code> or <code>GITHUB_PRIVATE_KEY_PATH</code>. This page "
        "registers the App on GitHub from its manifest (permissions and events as in "
        "<code>app.yml</code>) and saves them to "
        f"<code>{html.escape(str(settings.credentials_file))}</code>.</p>"
        '<form method="post" action="/">'
        f"<fieldset><legend>Where the App lives (on {host}"
        f"{' — GitHub Enterprise Server' if ghes else ''})</legend>"
        '<p><label><input type="radio" name="owner" value="organization" checked> '
        'An organisation: <input name="org" placeholder="my-org" size="20"></label><br>'
        "<small>An App owned by an organisation can be installed on that organisation.</small>"
        "</p>"
        '<p><label><input type="radio" name="owner" value="personal"> My personal account'
        "</label><br><small>A private App on a personal account can only be installed on "
        "that account.</small></p></fieldset>"
        "<p><label>Public URL of this Countersign (GitHub sends webhooks to this URL + "
        "<code>/webhooks</code>, so GitHub must be able to reach it; "
        "<code>COUNTERSIGN_PUBLIC_URL</code> sets the default):<br>"
        f'<input name="public_url" value="{public_url}" required size="50"></label></p>'
        f"{secret_field}"
        '<button type="submit">Continue to GitHub</button></form>'
    )
    return page(TITLE, body)


def _checked_public_url(raw: str) -> str:
    url = raw.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query:
        raise SetupRefused("the public URL must be an http(s) URL such as https://cs.example.com")
    return url


def _checked_organisation(form: dict[str, str]) -> str | None:
    if form.get("owner", "organization") == "personal":
        return None
    organisation = form.get("org", "").strip()
    if not ORG_PATTERN.match(organisation):
        raise SetupRefused("enter the organisation's login (letters, digits and dashes)")
    return organisation


def _handoff_page(action: str, manifest: dict, public_url: str) -> web.Response:
    """The form that posts the manifest to GitHub (scripts may submit it; the button always)."""
    warning = (
        "<p><strong>Warning:</strong> GitHub cannot reach "
        f"<code>{html.escape(public_url)}</code>; webhooks will fail until Countersign is "
        "reachable there (set the App's webhook URL on GitHub later).</p>"
        if _unreachable_from_github(public_url)
        else ""
    )
    body = (
        f"{warning}<p>GitHub will ask you to confirm the App's name, then send you back here.</p>"
        f'<form id="manifest" action="{html.escape(action)}" method="post">'
        f'<input type="hidden" name="manifest" value="{html.escape(json.dumps(manifest))}">'
        '<button type="submit">Create the GitHub App from its manifest</button></form>'
        # Without the warning to read, go straight on (the button stays for script-less browsers).
        + ("" if warning else "<script>document.getElementById('manifest').submit()</script>")
    )
    return page(TITLE, body)


async def start_setup(request: web.Request, settings: Settings) -> web.Response:
    """``POST /``: check the operator and the answers, then hand over to GitHub."""
    guard = request.app[SETUP_GUARD]
    if guard.completed or credentials_exist(settings):
        return registered_page(settings)
    form = {key: str(value) for key, value in (await request.post()).items()}
    try:
        if not is_loopback(request) and not guard.code_matches(form.get("setup_code", "")):
            raise SetupRefused("wrong setup code: copy it from Countersign's log", status=403)
        organisation = _checked_organisation(form)
        public_url = _checked_public_url(form.get("public_url", ""))
    except SetupRefused as refused:
        response = setup_form(request, settings, error=str(refused))
        response.set_status(refused.status)
        return response
    state = guard.issue_state()
    action = f"{new_app_url(settings, organisation)}?state={state}"
    response = _handoff_page(action, app_manifest(public_url), public_url)
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=STATE_TTL_SECONDS,
        httponly=True,
        samesite="Lax",  # GitHub's redirect back is a top-level navigation
        secure=request.secure,
    )
    return response


def _private_key_line(pem: str) -> str:
    escaped = pem.strip().replace("\r", "").replace("\n", "\\n")
    return f'GITHUB_PRIVATE_KEY="{escaped}"'


def credentials_text(app: dict, settings: Settings) -> str:
    """The env file holding the converted App's credentials."""
    lines = [
        "# Written by Countersign's setup page. Keep it secret (mode 0600).",
        f"GITHUB_APP_ID={int(app['id'])}",
        f"GITHUB_WEBHOOK_SECRET={app['webhook_secret']}",
        _private_key_line(app["pem"]),
    ]
    if settings.github_api_url != "https://api.github.com":
        lines.append(f"GITHUB_API_URL={settings.github_api_url}")
    return "\n".join(lines) + "\n"


def reserve_credentials_file(path: Path) -> int:
    """Create ``path`` empty (mode 0600) and return its descriptor; never replaces a file.

    Done before GitHub's one-time code is spent, so a folder that cannot be written is reported
    while the operator can still fix it and start again.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


def write_credentials(path: Path, text: str) -> None:
    """Create ``path`` (mode 0600) with ``text``; an existing file is never replaced."""
    with os.fdopen(reserve_credentials_file(path), "w", encoding="utf-8") as handle:
        handle.write(text)


def _install_url(app: dict, settings: Settings) -> str:
    html_url = str(app.get("html_url") or "")
    root = web_url(settings.github_api_url)
    if not html_url.startswith(f"{root}/"):
        html_url = f"{root}/apps/{quote(str(app.get('slug', '')))}"
    return f"{html_url.rstrip('/')}/installations/new"


def _check_callback(request: web.Request, guard: SetupGuard) -> tuple[str, str]:
    """The validated code and state of GitHub's redirect back, or :class:`SetupRefused`."""
    code = request.query.get("code", "")
    state = request.query.get("state", "")
    if not CODE_PATTERN.match(code):
        raise SetupRefused("this is not a code GitHub hands out")
    cookie = request.cookies.get(STATE_COOKIE, "")
    bound = STATE_PATTERN.match(state) and secrets.compare_digest(cookie.encode(), state.encode())
    if not bound or not guard.redeem_state(state):
        raise SetupRefused(
            "this link is stale or was not started from this browser: start again", status=403
        )
    return code, state


async def _convert(settings: Settings, code: str) -> dict:
    async with httpx.AsyncClient(timeout=30) as http:
        gh = GitHubAPI(http, "countersign", base_url=settings.github_api_url)
        return await gh.post(f"/app-manifests/{quote(code, safe='')}/conversions", data=b"")


async def complete_setup(request: web.Request, settings: Settings) -> web.Response:
    """GitHub's redirect back: exchange the code, save the credentials once, go install."""
    guard = request.app[SETUP_GUARD]
    if guard.completed or credentials_exist(settings):
        response = registered_page(settings)
        response.set_status(409)
        return response
    try:
        code, state = _check_callback(request, guard)
    except SetupRefused as refused:
        body = f'<p>{html.escape(str(refused))} from <a href="/">the setup page</a>.</p>'
        return page(TITLE, body, status=refused.status)
    target = settings.credentials_file
    try:
        descriptor = reserve_credentials_file(target)
    except FileExistsError:
        return page(TITLE, "<p>Credentials were saved meanwhile; nothing was changed.</p>", 409)
    except OSError as error:
        guard.restore_state(state)  # GitHub's code is unused: reloading this page retries
        log.error("setup_cannot_write", file=str(target), error=str(error))
        reason = html.escape(f"{error.strerror or error}: {error.filename or target}")
        body = (
            f"<p>Cannot write the credentials file ({reason}). GitHub's code was not used: "
            "make the folder writable by Countersign, then reload this page.</p>"
        )
        return page(TITLE, body, 500)
    try:
        app = await _convert(settings, code)
    except (GitHubException, httpx.HTTPError) as error:
        os.close(descriptor)
        target.unlink(missing_ok=True)
        log.warning("setup_conversion_failed", error=str(error))
        return page(TITLE, f"<p>GitHub refused the code: {html.escape(str(error))}</p>", 502)
    guard.completed = True
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(credentials_text(app, settings))
    log.info("setup_completed", app_id=int(app["id"]), file=str(target))
    response = web.Response(status=303, headers={"Location": _install_url(app, settings)})
    response.del_cookie(STATE_COOKIE)
    return response


async def handle_index(request: web.Request, settings: Settings) -> web.StreamResponse:
    """Everything ``/`` does in setup mode."""
    if request.method == "POST":
        return await start_setup(request, settings)
    guard = request.app[SETUP_GUARD]
    if "code" in request.query or "state" in request.query:
        return await complete_setup(request, settings)
    if guard.completed or credentials_exist(settings):
        return registered_page(settings)
    return setup_form(request, settings)


def announce(settings: Settings, guard: SetupGuard) -> None:
    """Log the setup code the page asks remote browsers for (only the operator sees the log)."""
    log.warning(
        "setup_mode",
        reason="GITHUB_APP_ID is not set; serving the setup page only",
        setup_page=f"http://{settings.host}:{settings.port}/",
        setup_code=guard.setup_code,
        credentials_file=str(settings.credentials_file),
    )
