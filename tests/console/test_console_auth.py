"""Console sign-in: token exchange, cookie flags, anti-forgery, sign-out, expiry, headers."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from github_app.console.sessions import ConsoleSessions
from github_app.store.tables import access_log, console_sessions
from github_app.tokens import TokenStore
from tests.console.conftest import build_console_app, csrf_of, sign_in

PAGES = [
    "/console/",
    "/console/changes",
    "/console/sample",
    "/console/sessions/sess-A",
    "/console/exceptions",
    "/console/pulls/acme/app/1",
    "/console/ledger",
]


def session_cookie(response) -> str:
    header = next(v for v in response.headers.getall("Set-Cookie") if "countersign_console=" in v)
    return header


@pytest.mark.parametrize("path", [*PAGES, "/console/access-log", "/console/changes?format=csv"])
async def test_unauthenticated_visitors_go_to_the_sign_in_page(console, path) -> None:
    response = await console.get(path, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/console/login?next=")


async def test_bare_console_path_leads_to_the_overview(console) -> None:
    response = await console.get("/console", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (308, "/console/")


async def test_sign_in_sets_a_strict_http_only_expiring_cookie(console, seeded, tokens) -> None:
    response = await sign_in(console, tokens.auditor)
    assert (response.status, response.headers["Location"]) == (303, "/console/")
    cookie = session_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert "Max-Age=28" in cookie  # eight hours
    assert "Secure" not in cookie  # plain HTTP, no trusted proxy
    overview = await console.get("/console/")
    assert overview.status == 200
    assert "audit-firm (auditor)" in await overview.text()


async def test_the_session_is_stored_only_as_a_digest(console, services, tokens) -> None:
    response = await sign_in(console, tokens.auditor)
    secret = session_cookie(response).split("countersign_console=")[1].split(";")[0]
    with services.db.connect() as conn:
        stored = conn.execute(sa.select(console_sessions.c.session_sha256)).scalars().all()
    assert stored == [hashlib.sha256(secret.encode()).hexdigest()]
    assert secret not in stored


@pytest.mark.parametrize(
    ("trust", "forwarded", "secure"),
    [(True, "https", True), (False, "https", False), (True, "http", False)],
)
async def test_cookie_is_secure_behind_a_trusted_tls_proxy(
    aiohttp_client, services, tokens, trust, forwarded, secure
) -> None:
    settings = services.settings.model_copy(update={"countersign_trust_proxy": trust})
    client = await aiohttp_client(
        build_console_app(dataclasses.replace(services, settings=settings))
    )
    form = await client.get("/console/login", headers={"X-Forwarded-Proto": forwarded})
    csrf = csrf_of(await form.text())
    login_cookie = form.headers["Set-Cookie"]
    assert ("Secure" in login_cookie) is secure
    # The test client speaks plain HTTP to the "proxy side": hand the cookie over ourselves.
    response = await client.post(
        "/console/login",
        data={"token": tokens.auditor["Authorization"][7:], "csrf": csrf},
        headers={"X-Forwarded-Proto": forwarded, "Cookie": f"countersign_login_csrf={csrf}"},
        allow_redirects=False,
    )
    assert response.status == 303
    assert ("Secure" in session_cookie(response)) is secure


@pytest.mark.parametrize("which", ["nothing", "unknown", "revoked"])
async def test_a_bad_token_is_refused_with_a_message(console, tokens, which) -> None:
    token = {"nothing": {"Authorization": "Bearer "}, "unknown": {"Authorization": "Bearer cs_x"}}
    header = token.get(which, tokens.revoked)
    response = await sign_in(console, header)
    assert response.status == 401
    assert "not valid" in await response.text()
    assert not any("countersign_console=" in v for v in response.headers.getall("Set-Cookie", []))


async def test_an_agent_token_cannot_sign_in(console, services) -> None:
    _, secret = TokenStore(services.db).create("agent-1", "agent", login="claude-bot")
    response = await sign_in(console, {"Authorization": f"Bearer {secret}"})
    assert response.status == 403
    assert "for auditor and admin tokens" in await response.text()
    assert (await console.get("/console/", allow_redirects=False)).status == 303


async def test_sign_in_without_the_forms_token_or_from_another_site_is_refused(
    console, tokens
) -> None:
    await console.get("/console/login")
    secret = tokens.auditor["Authorization"][7:]
    forged = await console.post("/console/login", data={"token": secret, "csrf": "guess"})
    assert forged.status == 403
    page = await console.get("/console/login")
    cross_site = await console.post(
        "/console/login",
        data={"token": secret, "csrf": csrf_of(await page.text())},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status == 403
    assert (await console.get("/console/", allow_redirects=False)).status == 303


async def test_posts_need_the_sessions_token_and_sign_out_ends_the_session(
    console, seeded, tokens
) -> None:
    await sign_in(console, tokens.auditor)
    refused = await console.post("/console/logout", data={"csrf": "nope"})
    assert refused.status == 403
    assert (await console.get("/console/", allow_redirects=False)).status == 200
    page = await console.get("/console/")
    csrf = csrf_of(await page.text())
    cross_site = await console.post(
        "/console/logout", data={"csrf": csrf}, headers={"Origin": "null"}
    )
    assert cross_site.status == 403
    other_site = await console.post(
        "/console/logout", data={"csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert other_site.status == 403
    # What Chromium sends for our own no-referrer page: Origin null, but same-origin fetch.
    own_page = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    out = await console.post(
        "/console/logout", data={"csrf": csrf}, headers=own_page, allow_redirects=False
    )
    assert (out.status, out.headers["Location"]) == (303, "/console/login?signed_out=1")
    assert (await console.get("/console/", allow_redirects=False)).status == 303


async def test_revoking_the_token_ends_its_console_sessions(console, services, tokens) -> None:
    await sign_in(console, tokens.auditor)
    assert (await console.get("/console/ledger", allow_redirects=False)).status == 200
    TokenStore(services.db).revoke("audit-firm")
    assert (await console.get("/console/ledger", allow_redirects=False)).status == 303


def test_sessions_expire(services) -> None:
    token, _ = TokenStore(services.db).create("short-lived", "auditor")
    sessions = ConsoleSessions(services.db, hours=1)
    start = datetime.now(UTC)
    secret, session = sessions.start(token, start)
    assert sessions.find(secret, start + timedelta(minutes=59)) == session
    assert sessions.find(secret, start + timedelta(minutes=61)) is None
    assert sessions.find("not-a-session") is None


async def test_after_sign_in_the_visitor_lands_where_they_were_going(console, tokens) -> None:
    response = await sign_in(console, tokens.auditor, next="/console/exceptions?repo=acme/app")
    assert response.headers["Location"] == "/console/exceptions?repo=acme/app"
    again = await sign_in(console, tokens.auditor, next="//evil.example/console/")
    assert again.headers["Location"] == "/console/"


async def test_every_console_response_carries_the_security_headers(console, seeded, tokens) -> None:
    await sign_in(console, tokens.admin)
    for path in [*PAGES, "/console/login", "/console/no-such-page", "/console/access-log"]:
        response = await console.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_access_log_is_admin_only_and_console_reads_are_logged(
    console, services, seeded, tokens
) -> None:
    await sign_in(console, tokens.auditor)
    await console.get("/console/changes?repo=acme/app")
    refused = await console.get("/console/access-log")
    assert refused.status == 403
    assert "admins only" in await refused.text()
    with services.db.connect() as conn:
        rows = conn.execute(sa.select(access_log).order_by(access_log.c.id)).all()
    read = next(row for row in rows if row.path == "/console/changes")
    assert (read.token_name, read.role, read.query, read.status) == (
        "audit-firm",
        "auditor",
        "repo=acme/app",
        200,
    )
    assert any(row.path == "/console/access-log" and row.status == 403 for row in rows)
