"""The ``/api/v1`` routes: auditor evidence queries and admin containment.

:func:`add_api_routes` mounts a sub-application at ``/api/v1`` whose middleware
(:mod:`github_app.api.auth`) authenticates, authorises and logs every call.  Handlers find the
shared services (``.db``, ``.ledger``, ``.containment``, ``.settings``) as ``app[SERVICES]``
on the parent application and run every database call in a worker thread.

After a freeze, unfreeze or revocation the optional hook ``app[ON_CONTAINMENT_CHANGE]`` (an
``async`` callable taking a :class:`~github_app.api.containment.ContainmentEvent`) is started in
the background, e.g. to re-evaluate open pull requests; its failures are logged, never returned.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from github_app.api import containment, queries
from github_app.api.auditor_routes import add_auditor_routes
from github_app.api.auth import (
    ApiError,
    api_middleware,
    public,
    requires,
    services_of,
    token_of,
)
from github_app.api.export import CHECKPOINT_HEADER, ExportCursor
from github_app.api.openapi import API_PREFIX, REPO_PATTERN, openapi_document
from github_app.evidence.exceptions import DEFAULT_POST_REVIEW_HOURS
from github_app.evidence.params import (
    Filters,
    InvalidParameter,
    Position,
    decode_cursor,
    parse_filters,
    parse_int,
    parse_limit,
    parse_text,
)
from github_app.evidence.sample import DEFAULT_SAMPLE_SIZE, MAX_SAMPLE_SIZE, new_seed
from github_app.ledger.entry import ENTRY_KINDS
from github_app.logs import get_logger

log = get_logger(__name__)

ContainmentHook = Callable[[containment.ContainmentEvent], Awaitable[None]]
ON_CONTAINMENT_CHANGE = web.AppKey("on_containment_change", ContainmentHook)
MAX_BODY_BYTES = 64 * 1024
_hook_tasks: set[asyncio.Task[None]] = set()
BodyT = TypeVar("BodyT", bound=BaseModel)


# --- auditor routes -------------------------------------------------------------------------


@requires("auditor")
async def get_session(request: web.Request) -> web.Response:
    """``GET /sessions/{session_id}``: the session's timeline and attribution summary."""
    session_id = parse_text("session_id", request.match_info["session_id"])
    if session_id is None:
        raise InvalidParameter("session_id: required")
    filters, after, limit = _list_params(request)
    services = services_of(request)

    def load() -> dict[str, Any] | None:
        revoked = services.containment.is_revoked(session_id)
        return queries.session_timeline(
            services.ledger, session_id, filters, after=after, limit=limit, revoked=revoked
        )

    body = await asyncio.to_thread(load)
    if body is None:
        raise ApiError(404, f"no ledger entry for session {session_id!r}")
    return web.json_response(body)


@requires("auditor")
async def list_changes(request: web.Request) -> web.Response:
    """``GET /changes``: the change population."""
    filters, after, limit = _list_params(request)
    ledger = services_of(request).ledger
    page = await asyncio.to_thread(queries.changes_page, ledger, filters, after=after, limit=limit)
    return web.json_response(page.as_dict())


@requires("auditor")
async def sample_changes(request: web.Request) -> web.Response:
    """``GET /changes/sample?n=&seed=``: a reproducible sample of the population."""
    filters = parse_filters(request.query)
    n = parse_int(
        "n", request.query.get("n"), default=DEFAULT_SAMPLE_SIZE, low=1, high=MAX_SAMPLE_SIZE
    )
    seed = parse_text("seed", request.query.get("seed")) or new_seed()
    if len(seed) > 128:
        raise InvalidParameter("seed: at most 128 characters")
    ledger = services_of(request).ledger
    drawn = await asyncio.to_thread(queries.sample, ledger, filters, n=n, seed=seed)
    return web.json_response(queries.sample_body(drawn, filters))


@requires("auditor")
async def list_exceptions(request: web.Request) -> web.Response:
    """``GET /exceptions``: what an auditor follows up."""
    filters, after, limit = _list_params(request)
    services = services_of(request)
    page = await asyncio.to_thread(
        queries.exceptions_page,
        services.ledger,
        filters,
        after=after,
        limit=limit,
        default_hours=_post_review_hours(services),
    )
    return web.json_response(page.as_dict())


@requires("auditor")
async def list_evidence(request: web.Request) -> web.Response:
    """``GET /evidence``: raw ledger entries."""
    filters, after, limit = _list_params(request)
    kinds = _parse_kinds(request.query.get("kind"))
    ledger = services_of(request).ledger
    page = await asyncio.to_thread(
        queries.evidence_page, ledger, filters, after=after, limit=limit, kinds=kinds
    )
    return web.json_response(page.as_dict())


@requires("auditor")
async def export_ledger(request: web.Request) -> web.StreamResponse:
    """``GET /export?format=csv|jsonl``: the whole ledger, streamed in batches."""
    fmt = request.query.get("format") or "jsonl"
    if fmt not in ("jsonl", "csv"):
        raise InvalidParameter("format: expected csv or jsonl")
    cursor = await asyncio.to_thread(ExportCursor, services_of(request).ledger, fmt)
    response = web.StreamResponse(
        headers={
            "Content-Type": f"{cursor.content_type}; charset=utf-8",
            "Content-Disposition": f'attachment; filename="countersign-ledger-{cursor.head}.{fmt}"',
            CHECKPOINT_HEADER: cursor.checkpoint_header(),
        }
    )
    await response.prepare(request)
    try:
        while (chunk := await asyncio.to_thread(cursor.next_chunk)) is not None:
            await response.write(chunk.encode("utf-8"))
    except Exception:
        # Headers are gone: the client sees a body without the trailing checkpoint record.
        log.exception("export_failed", exported=cursor.exported, head=cursor.head)
        return response
    # No write_eof here: aiohttp ends the body after the middleware has written the access-log
    # row, so a caller never holds a complete export whose reading was not logged.
    return response


@requires("auditor")
async def verify_ledger(request: web.Request) -> web.Response:
    """``GET /ledger/verify``: chain and checkpoint verification of the whole ledger."""
    report = await asyncio.to_thread(services_of(request).ledger.verify)
    return web.json_response(report.model_dump(mode="json"))


@public
async def get_openapi(request: web.Request) -> web.Response:
    """``GET /openapi.json``: the API description (no token needed)."""
    return web.json_response(openapi_document())


# --- admin routes ---------------------------------------------------------------------------


def _storable(value: str) -> str:
    """Refuse text a database cannot store (NUL, lone surrogates)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    value.encode("utf-8")
    return value


class RevokeRequest(BaseModel):
    """Body of ``POST /sessions/{id}/revoke``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    reason: str = Field(min_length=1, max_length=containment.MAX_REASON)

    @field_validator("reason")
    @classmethod
    def _storable_reason(cls, value: str) -> str:
        return _storable(value)


class FreezeRequest(RevokeRequest):
    """Body of ``POST /freeze``: a reason and, optionally, the one repository to freeze."""

    repo: str | None = Field(default=None, pattern=REPO_PATTERN)


@requires("admin")
async def post_freeze(request: web.Request) -> web.Response:
    """``POST /freeze``: freeze org-wide or one repository."""
    body = await _read_body(request, FreezeRequest)
    services, actor = services_of(request), token_of(request).name
    event = await asyncio.to_thread(containment.freeze, services, body.repo, body.reason, actor)
    return _containment_response(request, event)


@requires("admin")
async def delete_freeze(request: web.Request) -> web.Response:
    """``DELETE /freeze?repo=``: lift a freeze."""
    repo = parse_text("repo", request.query.get("repo"))
    try:
        containment.validate_repo(repo)
    except ValueError as error:
        raise InvalidParameter(f"repo: {error}") from None
    services, actor = services_of(request), token_of(request).name
    event = await asyncio.to_thread(containment.unfreeze, services, repo, actor)
    return _containment_response(request, event)


@requires("admin")
async def post_revoke(request: web.Request) -> web.Response:
    """``POST /sessions/{session_id}/revoke``: revoke an agent session."""
    session_id = parse_text("session_id", request.match_info["session_id"])
    if session_id is None:
        raise InvalidParameter("session_id: required")
    body = await _read_body(request, RevokeRequest)
    services, actor = services_of(request), token_of(request).name
    event = await asyncio.to_thread(
        containment.revoke_session, services, session_id, body.reason, actor
    )
    return _containment_response(request, event)


# --- helpers --------------------------------------------------------------------------------


def _list_params(request: web.Request) -> tuple[Filters, Position | None, int]:
    """Filters, cursor position and page size of a list request."""
    return (
        parse_filters(request.query),
        decode_cursor(request.query.get("cursor")),
        parse_limit(request.query.get("limit")),
    )


def _parse_kinds(value: str | None) -> list[str] | None:
    text = parse_text("kind", value)
    if text is None:
        return None
    kinds = [kind.strip() for kind in text.split(",") if kind.strip()]
    unknown = [kind for kind in kinds if kind not in ENTRY_KINDS]
    if unknown or not kinds:
        raise InvalidParameter(f"kind: expected ledger kinds ({', '.join(ENTRY_KINDS)})")
    return kinds


def _post_review_hours(services: Any) -> int:
    """The default policy's post-review deadline, when the services carry a policy."""
    policy = getattr(services, "default_policy", None)
    hours = getattr(getattr(policy, "emergency", None), "post_review_hours", None)
    return hours if isinstance(hours, int) else DEFAULT_POST_REVIEW_HOURS


async def _read_body(request: web.Request, model: type[BodyT]) -> BodyT:
    """Parse and validate a small JSON body, or raise a 400 that says what is wrong."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise ApiError(400, f"body: at most {MAX_BODY_BYTES} bytes")
    raw = await request.content.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(400, f"body: at most {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(400, "body: expected a JSON object") from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ApiError(400, f"{where}: {first['msg']}") from None


def _containment_response(
    request: web.Request, event: containment.ContainmentEvent
) -> web.Response:
    """Start the hook for a change, and answer with what happened."""
    if event.changed:
        hook = request.config_dict.get(ON_CONTAINMENT_CHANGE) or request.config_dict.get(
            "on_containment_change"
        )
        if hook is not None:
            task = asyncio.create_task(_run_hook(hook, event))
            _hook_tasks.add(task)
            task.add_done_callback(_hook_tasks.discard)
    return web.json_response(event.as_dict())


async def _run_hook(hook: ContainmentHook, event: containment.ContainmentEvent) -> None:
    try:
        await hook(event)
    except Exception:
        log.exception("containment_hook_failed", action=event.action)


def add_api_routes(app: web.Application) -> None:
    """Mount the auditor and admin API at ``/api/v1`` on ``app``."""
    api = web.Application(middlewares=[api_middleware])
    api.router.add_get("/openapi.json", get_openapi, allow_head=False)
    api.router.add_get("/sessions/{session_id}", get_session, allow_head=False)
    api.router.add_post("/sessions/{session_id}/revoke", post_revoke)
    api.router.add_get("/changes", list_changes, allow_head=False)
    api.router.add_get("/changes/sample", sample_changes, allow_head=False)
    api.router.add_get("/exceptions", list_exceptions, allow_head=False)
    api.router.add_get("/evidence", list_evidence, allow_head=False)
    api.router.add_get("/export", export_ledger, allow_head=False)
    api.router.add_get("/ledger/verify", verify_ledger, allow_head=False)
    api.router.add_post("/freeze", post_freeze)
    api.router.add_delete("/freeze", delete_freeze)
    add_auditor_routes(api)
    app.add_subapp(API_PREFIX, api)
