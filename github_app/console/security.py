"""The console's browser protections: cookies, anti-forgery checks and response headers.

* The session cookie is HttpOnly and SameSite=Strict, expires with the session, and is Secure
  when the request reached us over TLS — or, with ``COUNTERSIGN_TRUST_PROXY`` set, when the
  proxy in front says so with ``X-Forwarded-Proto: https``.
* Every POST must carry the anti-forgery token in a hidden ``csrf`` field (the session's, or on
  the sign-in form the value of a short-lived ``countersign_login_csrf`` cookie: a double
  submit), and the request must come from this site: a present ``Origin`` must be this site's
  own, and ``Sec-Fetch-Site``, when the browser sends it, must say ``same-origin``.  (Because
  the pages send no referrer, Chromium sends ``Origin: null`` on their own form posts; that is
  accepted only together with ``Sec-Fetch-Site: same-origin``.)
* Every response forbids loading anything from another host (CSP ``default-src 'self'``),
  framing (``frame-ancestors 'none'``) and leaking the URL (``Referrer-Policy: no-referrer``),
  and is not cached.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

SESSION_COOKIE = "countersign_console"
LOGIN_CSRF_COOKIE = "countersign_login_csrf"
LOGIN_CSRF_SECONDS = 3600
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def came_over_tls(request: web.Request, *, trust_proxy: bool) -> bool:
    """Whether the browser's connection is encrypted (so the cookie can be Secure)."""
    if request.secure:
        return True
    if not trust_proxy:
        return False
    forwarded = request.headers.get("X-Forwarded-Proto", "")
    return forwarded.split(",")[0].strip().lower() == "https"


def set_cookie(
    response: web.StreamResponse,
    name: str,
    value: str,
    *,
    max_age: int,
    secure: bool,
) -> None:
    """Set an HttpOnly, SameSite=Strict cookie scoped to ``/console``."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/console",
        httponly=True,
        samesite="Strict",
        secure=secure,
    )


def clear_cookie(response: web.StreamResponse, name: str) -> None:
    """Remove a cookie set by :func:`set_cookie`."""
    response.del_cookie(name, path="/console")


def origin_allowed(request: web.Request, public_url: str | None, *, trust_proxy: bool) -> bool:
    """The POST comes from this site (see the module docstring); the token is checked apart."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site != "same-origin":
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser's cross-site form post: the anti-forgery token decides
    if origin == "null":
        return fetch_site == "same-origin"
    allowed = {f"{request.scheme}://{request.host}"}
    if public_url:
        parts = urlsplit(public_url)
        allowed.add(f"{parts.scheme}://{parts.netloc}")
    forwarded = request.headers.get("X-Forwarded-Proto") if trust_proxy else None
    if forwarded:
        allowed.add(f"{forwarded.split(',')[0].strip()}://{request.host}")
    return origin in allowed


def add_security_headers(response: web.StreamResponse) -> None:
    """Add :data:`SECURITY_HEADERS` (headers a handler set itself are kept)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
