"""The auditor console: server-rendered HTML pages under ``/console/``.

:func:`github_app.console.mount.add_console_routes` mounts a sub-application at ``/console``
(this module is imported on its first request, :func:`loaded`) whose middleware
(:func:`console_middleware`) finds the signed-in session (cookie → ``console_sessions``),
sends anyone without one to the sign-in page, checks the anti-forgery token and ``Origin`` of
every POST, adds the security headers and writes one ``access_log`` row per page served (the
console reads evidence just as the API does, so its reads are logged the same way; the page
is refused when the row cannot be written).

Every page is built from the same queries as the API and the CLI
(:mod:`github_app.api.queries`, the ledger's ``verify`` and ``prove``); nothing here derives
evidence itself.  Pages are rendered with Jinja2 (autoescaping on), styled by one same-origin
stylesheet, and run no script.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from github_app.api import queries
from github_app.app_keys import SERVICES
from github_app.console import pages
from github_app.console.mount import CONSOLE_PREFIX
from github_app.console.security import (
    LOGIN_CSRF_COOKIE,
    LOGIN_CSRF_SECONDS,
    SESSION_COOKIE,
    add_security_headers,
    came_over_tls,
    clear_cookie,
    origin_allowed,
    set_cookie,
)
from github_app.console.sessions import ConsoleSession, ConsoleSessions, same_token
from github_app.evidence.params import InvalidParameter
from github_app.lazy_app import Loaded
from github_app.logs import get_logger
from github_app.store.tables import access_log
from github_app.tokens import Role, TokenStore

log = get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SESSION_KEY = pages.SESSION_KEY
_PUBLIC = "countersign_console_public"
_ROLE = "countersign_console_role"
_MAX_LOGGED = 2000


def public(handler: Handler) -> Handler:
    """Mark a page served without a session (sign-in, stylesheet)."""
    setattr(handler, _PUBLIC, True)
    return handler


def requires(role: Role) -> Callable[[Handler], Handler]:
    """Mark a page as needing ``role`` (auditor pages are the default)."""

    def mark(handler: Handler) -> Handler:
        setattr(handler, _ROLE, role)
        return handler

    return mark


def services_of(request: web.Request) -> Any:
    """The shared services (``.db``, ``.ledger``, ``.containment``, ``.settings``)."""
    return request.config_dict[SERVICES]


def session_of(request: web.Request) -> ConsoleSession:
    """The signed-in session of this request (set by the middleware)."""
    return request[SESSION_KEY]


def _settings_flag(request: web.Request, name: str) -> Any:
    return getattr(services_of(request).settings, name, None)


def _trust_proxy(request: web.Request) -> bool:
    return bool(_settings_flag(request, "countersign_trust_proxy"))


def _handler_of(request: web.Request) -> Any:
    return getattr(request.match_info.route, "handler", None)


@web.middleware
async def console_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Session, role, anti-forgery and headers for every console request (see module doc)."""
    target = _handler_of(request)
    session: ConsoleSession | None = None
    if request.match_info.http_exception is None and getattr(target, _PUBLIC, False):
        response = await _run(request, handler)
    else:
        sessions = ConsoleSessions(services_of(request).db)
        secret = request.cookies.get(SESSION_COOKIE)
        session = await asyncio.to_thread(sessions.find, secret)
        if session is None:
            response = _to_login(request)
        elif not session.grants(getattr(target, _ROLE, "auditor")):
            response = pages.error_page(request, session, 403, "This page is for admins only.")
        elif request.method == "POST" and not await _form_is_genuine(request, session.csrf):
            response = pages.error_page(request, session, 403, "The form could not be verified.")
        else:
            request[SESSION_KEY] = session
            response = await _run(request, handler)
    add_security_headers(response)
    return await _record(request, session, response)


async def _run(request: web.Request, handler: Handler) -> web.StreamResponse:
    session = request.get(SESSION_KEY)
    try:
        return await handler(request)
    except InvalidParameter as error:
        return pages.error_page(request, session, 400, str(error))
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return pages.error_page(request, session, error.status, error.reason)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("console_error", path=request.path)
        return pages.error_page(request, session, 500, "Something went wrong on our side.")


def _to_login(request: web.Request) -> web.StreamResponse:
    """Unauthenticated: to the sign-in page, remembering where the visitor was going."""
    wanted = request.rel_url.path_qs if request.method == "GET" else f"{CONSOLE_PREFIX}/"
    response = _redirect(f"{CONSOLE_PREFIX}/login?{urlencode({'next': wanted})}")
    clear_cookie(response, SESSION_COOKIE)
    return response


async def _form_is_genuine(request: web.Request, expected: str) -> bool:
    """The POST comes from our own page: same origin and the right anti-forgery token."""
    settings = services_of(request).settings
    public_url = getattr(settings, "countersign_public_url", None)
    if not origin_allowed(request, public_url, trust_proxy=_trust_proxy(request)):
        return False
    form = await request.post()
    presented = form.get("csrf")
    return same_token(presented if isinstance(presented, str) else None, expected)


async def _record(
    request: web.Request, session: ConsoleSession | None, response: web.StreamResponse
) -> web.StreamResponse:
    """One access-log row per console request; refuse the page if it cannot be written."""
    row = {
        "token_id": session.token_id if session else None,
        "token_name": session.token_name if session else None,
        "role": session.role if session else None,
        "method": request.method[:16],
        "path": request.rel_url.raw_path[:_MAX_LOGGED],
        "query": request.rel_url.raw_query_string[:_MAX_LOGGED] or None,
        "status": response.status,
        "at": datetime.now(UTC),
        "remote_addr": request.remote,
    }
    try:
        await asyncio.to_thread(_insert_access_row, services_of(request).db, row)
    except Exception:
        log.exception("access_log_write_failed", path=request.path)
        if not response.prepared:
            failed = web.Response(status=503, text="The access log is unavailable.")
            add_security_headers(failed)
            return failed
    return response


def _insert_access_row(db: Any, row: dict[str, Any]) -> None:
    with db.transaction() as conn:
        conn.execute(access_log.insert().values(**row))


# --- sign-in ----------------------------------------------------------------------------------


@public
async def login_form(request: web.Request) -> web.StreamResponse:
    """``GET /console/login``: the sign-in form (with a fresh double-submit token)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or pages.new_login_csrf()
    response = pages.login_page(request, token, next_url=_next_url(request.query.get("next")))
    set_cookie(
        response,
        LOGIN_CSRF_COOKIE,
        token,
        max_age=LOGIN_CSRF_SECONDS,
        secure=came_over_tls(request, trust_proxy=_trust_proxy(request)),
    )
    return response


@public
async def login(request: web.Request) -> web.StreamResponse:
    """``POST /console/login``: exchange an auditor or admin token for a console session."""
    form = await request.post()
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    presented = form.get("csrf")
    public_url = _settings_flag(request, "countersign_public_url")
    genuine = (
        expected is not None
        and origin_allowed(request, public_url, trust_proxy=_trust_proxy(request))
        and same_token(presented if isinstance(presented, str) else None, expected)
    )
    next_url = _next_url(form.get("next") if isinstance(form.get("next"), str) else None)
    if not genuine:
        return pages.login_page(
            request,
            expected or pages.new_login_csrf(),
            next_url=next_url,
            error="The sign-in form expired. Please try again.",
            status=403,
        )
    secret = form.get("token")
    db = services_of(request).db
    token = (
        await asyncio.to_thread(TokenStore(db).authenticate, secret.strip())
        if isinstance(secret, str) and secret.strip()
        else None
    )
    if token is None:
        return pages.login_page(
            request,
            expected,
            next_url=next_url,
            error="That token is not valid (unknown or revoked).",
            status=401,
        )
    if not token.grants("auditor"):  # an agent's token reports events; it reads no evidence
        return pages.login_page(
            request,
            expected,
            next_url=next_url,
            error="The console is for auditor and admin tokens.",
            status=403,
        )
    cookie, session = await asyncio.to_thread(ConsoleSessions(db).start, token)
    response = _redirect(next_url)
    max_age = int((session.expires_at - datetime.now(UTC)).total_seconds())
    secure = came_over_tls(request, trust_proxy=_trust_proxy(request))
    set_cookie(response, SESSION_COOKIE, cookie, max_age=max_age, secure=secure)
    clear_cookie(response, LOGIN_CSRF_COOKIE)
    log.info("console_sign_in", token_name=token.name, role=token.role)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    """``POST /console/logout``: end the session."""
    secret = request.cookies.get(SESSION_COOKIE, "")
    await asyncio.to_thread(ConsoleSessions(services_of(request).db).end, secret)
    response = _redirect(f"{CONSOLE_PREFIX}/login?signed_out=1")
    clear_cookie(response, SESSION_COOKIE)
    return response


def _redirect(location: str) -> web.Response:
    """A 303 to ``location`` (returned, not raised, so the middleware still logs it)."""
    return web.Response(status=303, headers={"Location": location})


def _next_url(value: str | None) -> str:
    """Only a console path may be the page after sign-in (no open redirect)."""
    inside = bool(value) and value.startswith(f"{CONSOLE_PREFIX}/") and "\\" not in value
    if inside and not value.startswith(f"{CONSOLE_PREFIX}/login"):
        return value
    return f"{CONSOLE_PREFIX}/"


# --- pages ------------------------------------------------------------------------------------


async def overview(request: web.Request) -> web.StreamResponse:
    """``GET /console/``: the weekly chart, open exceptions and the ledger's status."""
    services = services_of(request)
    data = await asyncio.to_thread(pages.overview_data, services, datetime.now(UTC))
    return pages.render(request, "overview.html", **data)


async def changes(request: web.Request) -> web.StreamResponse:
    """``GET /console/changes``: the population, filtered; ``?format=csv`` downloads it."""
    criteria = pages.ChangeCriteria.from_query(request.query)
    ledger = services_of(request).ledger
    if request.query.get("format") == "csv":
        chunks = queries.population_csv_chunks(ledger, criteria.filters, status=criteria.status)
        return await _download(request, chunks, "countersign-population.csv")
    page = await asyncio.to_thread(
        queries.changes_page,
        ledger,
        criteria.filters,
        after=criteria.after,
        limit=criteria.limit,
        status=criteria.status,
    )
    return pages.render(
        request, "changes.html", criteria=criteria, rows=page.items, next_cursor=page.next_cursor
    )


async def sample(request: web.Request) -> web.StreamResponse:
    """``GET /console/sample``: a reproducible sample (n, seed); downloadable as CSV."""
    criteria = pages.SampleCriteria.from_query(request.query)
    if criteria is None:
        return pages.render(request, "sample.html", criteria=None, drawn=None)
    ledger = services_of(request).ledger
    drawn = await asyncio.to_thread(
        queries.sample, ledger, criteria.filters, n=criteria.n, seed=criteria.seed
    )
    if request.query.get("format") == "csv":
        name = f"countersign-sample-{pages.file_safe(drawn.seed)}-n{drawn.requested}.csv"
        return await _download(request, iter([queries.sample_csv(drawn)]), name)
    body = queries.sample_body(drawn, criteria.filters)
    return pages.render(request, "sample.html", criteria=criteria, drawn=body)


async def session_timeline(request: web.Request) -> web.StreamResponse:
    """``GET /console/sessions/{session_id}``: who launched it and what it did, in order."""
    session_id = pages.required_text("session_id", request.match_info["session_id"])
    criteria = pages.ChangeCriteria.from_query(request.query)
    services = services_of(request)

    def load() -> dict[str, Any] | None:
        revoked = services.containment.is_revoked(session_id)
        return queries.session_timeline(
            services.ledger,
            session_id,
            criteria.filters,
            after=criteria.after,
            limit=criteria.limit,
            revoked=revoked,
        )

    body = await asyncio.to_thread(load)
    if body is None:
        raise web.HTTPNotFound(reason=f"The ledger has no entry for session {session_id!r}.")
    return pages.render(request, "session.html", timeline=body, session_id=session_id)


async def exceptions(request: web.Request) -> web.StreamResponse:
    """``GET /console/exceptions``: what an auditor follows up."""
    criteria = pages.ChangeCriteria.from_query(request.query)
    services = services_of(request)
    page = await asyncio.to_thread(
        queries.exceptions_page,
        services.ledger,
        criteria.filters,
        after=criteria.after,
        limit=criteria.limit,
        default_hours=pages.post_review_hours(services),
    )
    return pages.render(
        request, "exceptions.html", criteria=criteria, rows=page.items, next_cursor=page.next_cursor
    )


async def pull_request(request: web.Request) -> web.StreamResponse:
    """``GET /console/pulls/{owner}/{repo}/{number}``: the check run's verdict and history."""
    repo = pages.repo_name(request.match_info["owner"], request.match_info["repo"])
    number = pages.pr_number(request.match_info["number"])
    services = services_of(request)
    details = await asyncio.to_thread(pages.pull_request_data, services, repo, number)
    if details is None:
        raise web.HTTPNotFound(reason=f"The ledger has no entry for {repo}#{number}.")
    return pages.render(request, "pull.html", **details)


async def ledger_page(request: web.Request) -> web.StreamResponse:
    """``GET /console/ledger``: status, public key, and (``?seq=``) one entry's proof."""
    seq = pages.optional_seq(request.query.get("seq"))
    data = await asyncio.to_thread(pages.ledger_data, services_of(request), seq)
    return pages.render(request, "ledger.html", report=None, **data)


async def ledger_verify(request: web.Request) -> web.StreamResponse:
    """``POST /console/ledger/verify``: verify every entry and checkpoint now."""
    services = services_of(request)
    report = await asyncio.to_thread(services.ledger.verify)
    data = await asyncio.to_thread(pages.ledger_data, services, None)
    return pages.render(request, "ledger.html", report=report.model_dump(mode="json"), **data)


async def public_key(request: web.Request) -> web.StreamResponse:
    """``GET /console/ledger/public-key.pem``: the key that signs checkpoints."""
    pem = await asyncio.to_thread(pages.public_key_pem, services_of(request))
    if pem is None:
        raise web.HTTPNotFound(reason="No signed checkpoint yet: there is no key to show.")
    return web.Response(
        text=pem,
        content_type="application/x-pem-file",
        headers={"Content-Disposition": 'attachment; filename="countersign-ledger-key.pem"'},
    )


async def proof_download(request: web.Request) -> web.StreamResponse:
    """``GET /console/ledger/proofs/{seq}.json``: one entry's inclusion proof, for offline use."""
    seq = pages.optional_seq(request.match_info["seq"])
    data = await asyncio.to_thread(pages.ledger_data, services_of(request), seq)
    proof = data["proof"]
    if proof is None or proof.get("document") is None:
        raise web.HTTPNotFound(reason=data.get("proof_error") or "No proof for this entry.")
    return web.Response(
        text=json.dumps(proof["document"], indent=2, ensure_ascii=False),
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="countersign-proof-{seq}.json"'},
    )


@requires("admin")
async def access_log_page(request: web.Request) -> web.StreamResponse:
    """``GET /console/access-log``: who read what (admins only)."""
    before = pages.optional_seq(request.query.get("before"))
    rows = await asyncio.to_thread(pages.access_rows, services_of(request), before)
    older = rows[-1]["id"] if len(rows) == pages.ACCESS_PAGE else None
    return pages.render(request, "access_log.html", rows=rows, older=older)


@public
async def stylesheet(_request: web.Request) -> web.StreamResponse:
    """``GET /console/static/console.css``: the console's only stylesheet."""
    return web.Response(
        text=pages.stylesheet(),
        content_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )


async def _download(request: web.Request, chunks: Any, filename: str) -> web.StreamResponse:
    """Stream CSV chunks as a download (the access-log row is written before the body ends)."""
    first = await asyncio.to_thread(next, chunks, None)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        }
    )
    add_security_headers(response)
    await response.prepare(request)
    chunk = first
    while chunk is not None:
        await response.write(chunk.encode("utf-8"))
        chunk = await asyncio.to_thread(next, chunks, None)
    return response


def loaded() -> Loaded:
    """The console's pages and middleware, for its lazy mount
    (:func:`github_app.console.mount.add_console_routes`)."""
    handlers = {
        ("GET", "/"): overview,
        ("GET", "/login"): login_form,
        ("POST", "/login"): login,
        ("POST", "/logout"): logout,
        ("GET", "/changes"): changes,
        ("GET", "/sample"): sample,
        ("GET", "/sessions/{session_id}"): session_timeline,
        ("GET", "/exceptions"): exceptions,
        ("GET", "/pulls/{owner}/{repo}/{number}"): pull_request,
        ("GET", "/ledger"): ledger_page,
        ("POST", "/ledger/verify"): ledger_verify,
        ("GET", "/ledger/public-key.pem"): public_key,
        ("GET", "/ledger/proofs/{seq}.json"): proof_download,
        ("GET", "/access-log"): access_log_page,
        ("GET", "/static/console.css"): stylesheet,
    }
    return Loaded(handlers=handlers, middlewares=(console_middleware,))
