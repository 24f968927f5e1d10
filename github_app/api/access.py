"""Bearer-token authentication, role checks, JSON errors and the access log for ``/api/v1``.

Every request under ``/api/v1`` except the OpenAPI document goes through
:func:`api_middleware`:

1. the ``Authorization: Bearer <token>`` header is hashed and looked up (no token, an unknown
   token or a revoked one → 401 with ``WWW-Authenticate: Bearer``);
2. the route's role is checked (``auditor`` routes accept auditor and admin tokens, ``admin``
   routes only admin tokens → 403);
3. the handler runs; bad parameters become 400 and unexpected errors 500, always as JSON
   ``{"error": "..."}``;
4. one ``access_log`` row records who called what and the status — refused calls included.

The access log is evidence (CC6.1), so it fails closed: when the row cannot be written, the
caller gets 503 instead of the data (a streamed export is already under way by then and is
logged when it ends).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web

from github_app.app_keys import SERVICES
from github_app.config import Settings
from github_app.evidence.params import InvalidParameter
from github_app.logs import get_logger
from github_app.state.containment import Containment
from github_app.store.database import Database
from github_app.store.ledger import Ledger
from github_app.store.tables import access_log
from github_app.tokens import ApiToken, Role, TokenStore

log = get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TOKEN_KEY = web.RequestKey("countersign_api_token", ApiToken)
_ROLE_ATTRIBUTE = "countersign_required_role"
_PUBLIC_ATTRIBUTE = "countersign_public"
_BEARER = re.compile(r"^\s*Bearer\s+(\S+)\s*$", re.IGNORECASE)
_MAX_LOGGED_QUERY = 2000
CHALLENGE = 'Bearer realm="countersign"'


class ApiError(Exception):
    """An error answered with ``status`` and a JSON ``{"error": message}`` body."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def requires(role: Role) -> Callable[[Handler], Handler]:
    """Mark a handler as needing a token with ``role`` (admin tokens also pass ``auditor``)."""

    def mark(handler: Handler) -> Handler:
        setattr(handler, _ROLE_ATTRIBUTE, role)
        return handler

    return mark


def public(handler: Handler) -> Handler:
    """Mark a handler as served without a token (the OpenAPI document only)."""
    setattr(handler, _PUBLIC_ATTRIBUTE, True)
    return handler


def json_error(status: int, message: str, **headers: str) -> web.Response:
    """A JSON error response."""
    return web.json_response({"error": message}, status=status, headers=headers or None)


class ApiServices(Protocol):
    """What the API uses of the shared services (the App's ``Services``, or a test's subset)."""

    settings: Settings
    db: Database
    ledger: Ledger
    containment: Containment


def services_of(request: web.Request) -> ApiServices:
    """The shared services the API reads and changes."""
    return request.config_dict[SERVICES]


def token_of(request: web.Request) -> ApiToken:
    """The authenticated token of this request (set by the middleware)."""
    return request[TOKEN_KEY]


def bearer_token(header: str | None) -> str | None:
    """The token in an ``Authorization: Bearer …`` header, if that is what it holds."""
    if not header:
        return None
    match = _BEARER.match(header)
    return match.group(1) if match else None


def _route_handler(request: web.Request) -> Any:
    route = request.match_info.route
    return getattr(route, "handler", None)


def _required_role(request: web.Request) -> Role:
    """The role a route needs: as marked; admin for an unmarked route (fail closed).

    Paths that match no route (404, 405) need any valid token, so nothing is revealed to
    anonymous callers and token holders get the honest status.
    """
    if request.match_info.http_exception is not None:
        return "auditor"
    return getattr(_route_handler(request), _ROLE_ATTRIBUTE, "admin")


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate, authorise, run the handler and record the call (see module docstring)."""
    if getattr(_route_handler(request), _PUBLIC_ATTRIBUTE, False):
        return await _run(request, handler)
    db: Database = services_of(request).db
    presented = bearer_token(request.headers.get("Authorization"))
    token = await asyncio.to_thread(TokenStore(db).authenticate, presented) if presented else None
    if token is None:
        detail = "invalid or revoked token" if presented else "a bearer token is required"
        challenge = CHALLENGE + (', error="invalid_token"' if presented else "")
        response: web.StreamResponse = json_error(401, detail, **{"WWW-Authenticate": challenge})
    elif not token.grants(_required_role(request)):
        response = json_error(403, f"this call needs the {_required_role(request)} role")
    else:
        request[TOKEN_KEY] = token
        response = await _run(request, handler)
    return await _record(db, request, token, response)


async def _run(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Run the handler, turning every failure into a JSON error response."""
    try:
        return await handler(request)
    except InvalidParameter as error:
        return json_error(400, str(error))
    except ApiError as error:
        return json_error(error.status, error.message)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return json_error(error.status, error.reason, **_allow_header(error))
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("api_error", path=request.path, method=request.method)
        return json_error(500, "internal error")


def _allow_header(error: web.HTTPException) -> dict[str, str]:
    allow = error.headers.get("Allow")
    return {"Allow": allow} if allow else {}


async def _record(
    db: Database, request: web.Request, token: ApiToken | None, response: web.StreamResponse
) -> web.StreamResponse:
    """Write the access-log row; if that fails, refuse to hand out the answer."""
    row = {
        "token_id": token.id if token else None,
        "token_name": token.name if token else None,
        "role": token.role if token else None,
        "method": request.method[:16],
        # The raw (percent-encoded) forms: ASCII, so any byte a caller sends can be stored.
        "path": request.rel_url.raw_path[:_MAX_LOGGED_QUERY],
        "query": request.rel_url.raw_query_string[:_MAX_LOGGED_QUERY] or None,
        "status": response.status,
        "at": datetime.now(UTC),
        "remote_addr": request.remote,
    }
    try:
        await asyncio.to_thread(_insert_access_row, db, row)
    except Exception:
        log.exception("access_log_write_failed", path=request.path)
        if not response.prepared:
            return json_error(503, "the access log is unavailable; request refused")
    return response


def _insert_access_row(db: Database, row: dict[str, Any]) -> None:
    with db.transaction() as conn:
        conn.execute(access_log.insert().values(**row))
