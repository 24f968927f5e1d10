"""The ``/api/v1`` routes: auditor evidence queries and admin containment.

:data:`ROUTES` is the route table: one :class:`~github_app.api.openapi.Operation` per route
(method, path, role, query/path/body models, answer model, summary).
:func:`github_app.api.mount.add_api_routes` mounts exactly these routes in a sub-application at
``/api/v1`` (this module is imported on its first request) whose middleware
(:mod:`github_app.api.access`) authenticates, authorises and logs every call, and the OpenAPI
document (``/api/v1/openapi.json``) and the docs page (``/api/v1/docs``) are generated from
the same table.  To add a route: write the handler, add its row here and its
``(method, path)`` to :data:`github_app.api.mount.API_ROUTES`.

Before a handler runs, its row's path, query and body models validate the request (bad input
is a 400 naming the parameter); the handler reads the results with :func:`path_of`,
:func:`query_of` and :func:`body_of`.  Handlers find the shared services (``.db``,
``.ledger``, ``.containment``, ``.settings``) as ``app[SERVICES]`` on the parent application
and run every database call in a worker thread.

After a freeze, unfreeze or revocation the optional hook ``app[ON_CONTAINMENT_CHANGE]`` (an
``async`` callable taking a :class:`~github_app.api.freeze_revoke.ContainmentEvent`) is started in
the background, e.g. to re-evaluate open pull requests; its failures are logged, never returned.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from functools import cache
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from github_app.api import attestations, freeze_revoke, queries
from github_app.api.access import (
    ApiError,
    ApiServices,
    Handler,
    api_middleware,
    public,
    requires,
    services_of,
    token_of,
)
from github_app.api.agent_events import AGENT_OPERATIONS
from github_app.api.export import CHECKPOINT_HEADER, ExportCursor
from github_app.api.openapi import (
    ChangePage,
    ContainmentResult,
    Content,
    DsseEnvelope,
    EntryPage,
    ExceptionPage,
    FreezeStatus,
    Operation,
    PublicKey,
    SampleBody,
    SessionTimeline,
    docs_html,
)
from github_app.api.openapi import openapi_document as describe
from github_app.api.pack import PackUnavailable, build_pack
from github_app.app_keys import ON_CONTAINMENT_CHANGE
from github_app.evidence.attestation import web_root
from github_app.evidence.audit_exceptions import DEFAULT_POST_REVIEW_HOURS
from github_app.evidence.params import (
    ChangesQuery,
    EvidenceQuery,
    ExportQuery,
    InvalidParameter,
    ListQuery,
    QueryModel,
    SampleQuery,
    SessionPath,
    Timestamp,
    bounded,
    parse_query,
    parse_text,
    text,
)
from github_app.evidence.population import POPULATION_CSV_COLUMNS
from github_app.evidence.sample import DEFAULT_SAMPLE_SIZE, MAX_SAMPLE_SIZE, new_seed
from github_app.lazy_app import Loaded
from github_app.ledger.verification import VerifyReport
from github_app.logs import get_logger

log = get_logger(__name__)

ContainmentHook = Callable[[freeze_revoke.ContainmentEvent], Awaitable[None]]
MAX_BODY_BYTES = 64 * 1024
REPO_PATTERN = freeze_revoke.REPO_NAME.pattern
_hook_tasks: set[asyncio.Task[None]] = set()
BodyT = TypeVar("BodyT", bound=BaseModel)
_PATH = web.RequestKey("countersign_api_path", BaseModel)
_QUERY = web.RequestKey("countersign_api_query", BaseModel)
_BODY = web.RequestKey("countersign_api_body", BaseModel)
SHA_PATTERN = attestations.SHA_PATTERN
MAX_SEED = 128


def _merge_sha(value: object, info: ValidationInfo) -> str:
    try:
        return attestations.parse_sha(value if isinstance(value, str) else "")
    except ValueError as error:
        raise InvalidParameter(str(error)) from None


# --- auditor routes -------------------------------------------------------------------------


async def get_session(request: web.Request) -> web.Response:
    """``GET /sessions/{session_id}``: the session's timeline and attribution summary."""
    session_id = path_of(request, SessionPath).session_id
    query = query_of(request, ListQuery)
    services = services_of(request)

    def load() -> dict[str, Any] | None:
        revoked = services.containment.is_revoked(session_id)
        return queries.session_timeline(
            services.ledger,
            session_id,
            query.filters(),
            after=query.cursor,
            limit=query.limit,
            revoked=revoked,
        )

    body = await asyncio.to_thread(load)
    if body is None:
        raise ApiError(404, f"no ledger entry for session {session_id!r}")
    return web.json_response(body)


async def list_changes(request: web.Request) -> web.StreamResponse:
    """``GET /changes``: the change population (``?format=csv``: all of it, as a CSV)."""
    query = query_of(request, ChangesQuery)
    ledger = services_of(request).ledger
    if query.format == "csv":
        chunks = queries.population_csv_chunks(ledger, query.filters(), status=query.status)
        return await stream_text(request, chunks, "text/csv", "countersign-population.csv")
    page = await asyncio.to_thread(
        queries.changes_page,
        ledger,
        query.filters(),
        after=query.cursor,
        limit=query.limit,
        status=query.status,
    )
    return web.json_response(page.as_dict())


async def stream_text(
    request: web.Request, chunks: Iterator[str], content_type: str, filename: str
) -> web.StreamResponse:
    """Stream text chunks produced in a worker thread as a download named ``filename``."""
    first = await asyncio.to_thread(next, chunks, None)  # a failing query fails before any byte
    response = web.StreamResponse(
        headers={
            "Content-Type": f"{content_type}; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        }
    )
    await response.prepare(request)
    chunk = first
    while chunk is not None:
        await response.write(chunk.encode("utf-8"))
        chunk = await asyncio.to_thread(next, chunks, None)
    # As for the export: the middleware writes the access-log row before the body ends.
    return response


async def sample_changes(request: web.Request) -> web.Response:
    """``GET /changes/sample?n=&seed=``: a reproducible sample of the population."""
    query = query_of(request, SampleQuery)
    filters, seed = query.filters(), query.seed or new_seed()
    ledger = services_of(request).ledger
    drawn = await asyncio.to_thread(queries.sample, ledger, filters, n=query.n, seed=seed)
    return web.json_response(queries.sample_body(drawn, filters))


async def list_exceptions(request: web.Request) -> web.Response:
    """``GET /exceptions``: what an auditor follows up."""
    query = query_of(request, ListQuery)
    services = services_of(request)
    page = await asyncio.to_thread(
        queries.exceptions_page,
        services.ledger,
        query.filters(),
        after=query.cursor,
        limit=query.limit,
        default_hours=_post_review_hours(services),
    )
    return web.json_response(page.as_dict())


async def list_evidence(request: web.Request) -> web.Response:
    """``GET /evidence``: raw ledger entries."""
    query = query_of(request, EvidenceQuery)
    ledger = services_of(request).ledger
    page = await asyncio.to_thread(
        queries.evidence_page,
        ledger,
        query.filters(),
        after=query.cursor,
        limit=query.limit,
        kinds=query.kind,
    )
    return web.json_response(page.as_dict())


async def export_ledger(request: web.Request) -> web.StreamResponse:
    """``GET /export?format=csv|jsonl``: the whole ledger, streamed in batches."""
    fmt = query_of(request, ExportQuery).format
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


async def verify_ledger(request: web.Request) -> web.Response:
    """``GET /ledger/verify``: chain and checkpoint verification of the whole ledger."""
    report = await asyncio.to_thread(services_of(request).ledger.verify)
    return web.json_response(report.model_dump(mode="json"))


async def get_openapi(request: web.Request) -> web.Response:
    """``GET /openapi.json``: the API description (no token needed)."""
    # Built once (about 0.2 s), off the event loop.
    text = await asyncio.to_thread(_document_json)
    return web.Response(text=text, content_type="application/json")


async def get_docs(request: web.Request) -> web.Response:
    """``GET /docs``: the API description as a page to read (no token needed)."""
    text = await asyncio.to_thread(_docs_page)
    return web.Response(text=text, content_type="text/html")


class AttestationPath(QueryModel):
    """The ``{sha}`` path parameter: a merge commit."""

    sha: Annotated[str, Field(pattern=SHA_PATTERN.pattern), BeforeValidator(_merge_sha)] = Field(
        description="The merge commit (40 hexadecimal characters)."
    )


class PackQuery(QueryModel):
    """``/pack``: the period (both ends required) and the sample's size and seed."""

    since: Timestamp = Field(description="Start of the period (inclusive).")
    until: Timestamp = Field(description="End of the period (exclusive).")
    n: bounded(1, MAX_SAMPLE_SIZE) = Field(default=DEFAULT_SAMPLE_SIZE, description="Sample size.")
    seed: text(max_length=MAX_SEED) = Field(
        default=None, description="Sample seed (chosen at random when omitted; kept in the pack)."
    )

    @model_validator(mode="after")
    def _period(self) -> PackQuery:
        if self.since is None or self.until is None:
            raise InvalidParameter("since and until: both are required")
        if self.since >= self.until:
            raise InvalidParameter("since: must be before until")
        return self


def _web_url(services: Any) -> str:
    return web_root(services.settings.github_api_url)


def _known_policies(services: Any) -> list[Any]:
    policy = getattr(services, "default_policy", None)
    return [policy] if policy is not None else []


async def get_attestation(request: web.Request) -> web.Response:
    """``GET /attestations/{sha}``: the signed in-toto attestation of a merged change."""
    sha = path_of(request, AttestationPath).sha
    services = services_of(request)
    signer = services.ledger.signer
    if signer is None:
        raise ApiError(503, "no ledger signing key: attestations cannot be signed")
    try:
        envelope = await asyncio.to_thread(
            attestations.attestation, services.ledger, sha, signer, _web_url(services)
        )
    except attestations.UnknownChange as error:
        raise ApiError(404, str(error)) from None
    return web.json_response(envelope)


async def get_pack(request: web.Request) -> web.Response:
    """``GET /pack?since=&until=&n=&seed=``: the signed audit pack of a period (zip)."""
    query = query_of(request, PackQuery)
    services = services_of(request)
    assert query.since is not None and query.until is not None
    try:
        body = await asyncio.to_thread(
            build_pack,
            services.ledger,
            since=query.since,
            until=query.until,
            n=query.n,
            seed=query.seed or new_seed(),
            web_url=_web_url(services),
            known_policies=_known_policies(services),
            post_review_hours=_post_review_hours(services),
        )
    except PackUnavailable as error:
        raise ApiError(409, str(error)) from None
    name = f"countersign-pack-{query.since:%Y%m%d}-{query.until:%Y%m%d}.zip"
    return web.Response(
        body=body,
        content_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def get_public_key(request: web.Request) -> web.Response:
    """``GET /ledger/public-key``: the signing key, to verify exports, proofs, packs offline."""
    signer = services_of(request).ledger.signer
    if signer is None:
        raise ApiError(404, "no ledger signing key is configured")
    body = {
        "key_id": signer.key_id,
        "public_key_pem": signer.public_key_pem(),
        "public_key_hex": signer.public_key_hex,
    }
    return web.json_response(body)


async def get_freeze(request: web.Request) -> web.Response:
    """``GET /freeze``: the freezes in force."""
    freezes = await asyncio.to_thread(services_of(request).containment.active_freezes)
    items = [{"repo": f.repo, "reason": f.reason, "actor": f.actor} for f in freezes]
    return web.json_response({"frozen": bool(items), "freezes": items})


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
    reason: str = Field(min_length=1, max_length=freeze_revoke.MAX_REASON)

    @field_validator("reason")
    @classmethod
    def _storable_reason(cls, value: str) -> str:
        return _storable(value)


class FreezeRequest(RevokeRequest):
    """Body of ``POST /freeze``: a reason and, optionally, the one repository to freeze."""

    repo: str | None = Field(
        default=None,
        pattern=REPO_PATTERN,
        description="owner/name; omit to freeze every repository.",
    )


def _repo_name(value: object, info: ValidationInfo) -> str | None:
    repo = parse_text("repo", value if isinstance(value, str) else None)
    try:
        return freeze_revoke.validate_repo(repo)
    except ValueError as error:
        raise InvalidParameter(f"repo: {error}") from None


class UnfreezeQuery(QueryModel):
    """Query of ``DELETE /freeze``."""

    repo: Annotated[str | None, Field(pattern=REPO_PATTERN), BeforeValidator(_repo_name)] = Field(
        default=None, description="owner/name; omit for the org-wide freeze."
    )


async def post_freeze(request: web.Request) -> web.Response:
    """``POST /freeze``: freeze org-wide or one repository."""
    body = body_of(request, FreezeRequest)
    services, actor = services_of(request), token_of(request).name
    event = await asyncio.to_thread(freeze_revoke.freeze, services, body.repo, body.reason, actor)
    return _containment_response(request, event)


async def delete_freeze(request: web.Request) -> web.Response:
    """``DELETE /freeze?repo=``: lift a freeze."""
    repo = query_of(request, UnfreezeQuery).repo
    services, actor = services_of(request), token_of(request).name
    event = await asyncio.to_thread(freeze_revoke.unfreeze, services, repo, actor)
    return _containment_response(request, event)


async def post_revoke(request: web.Request) -> web.Response:
    """``POST /sessions/{session_id}/revoke``: revoke an agent session."""
    session_id = path_of(request, SessionPath).session_id
    body = body_of(request, RevokeRequest)
    services, actor = services_of(request), token_of(request).name
    event = await asyncio.to_thread(
        freeze_revoke.revoke_session, services, session_id, body.reason, actor
    )
    return _containment_response(request, event)


# --- the route table ------------------------------------------------------------------------

EXPORT_DESCRIPTION = (
    "A streamed snapshot of the whole ledger in `seq` order. JSONL: one entry object per line, "
    'then a last line `{"checkpoint": {...}}` (null when no checkpoint exists yet). CSV: a '
    "header row, one row per entry (empty cell = null, `data` as canonical JSON), then a last "
    "row whose `kind` is `checkpoint` and whose `data` holds the checkpoint JSON. The latest "
    "signed checkpoint is also sent in the `X-Countersign-Checkpoint` header."
)
POPULATION_CSV = Content(
    "JSON (default): one page of the population. CSV (`format=csv`): every change matching "
    "the filters, one row each, header first, columns "
    + ", ".join(f"`{column}`" for column in POPULATION_CSV_COLUMNS)
    + "; a cell that could run as a spreadsheet formula is prefixed with `'`.",
    media_types=("text/csv",),
    json_model=ChangePage,
)
EXPORT = Content(
    EXPORT_DESCRIPTION,
    media_types=("application/x-ndjson", "text/csv"),
    headers={CHECKPOINT_HEADER: "The latest checkpoint, compact JSON."},
)

PACK = Content(
    "A zip of the period's population (CSV and JSON), sample with its seed, exceptions, ledger "
    "entries with the signed checkpoints that verify them, the public key, the policies in "
    "force, per-change attestations, a summary (HTML) and a README; `manifest.json` lists the "
    "SHA-256 of every file and `manifest.sig` signs it (DSSE, the ledger key). Verify offline "
    "with `countersign evidence verify --pack FILE --public-key KEY.pem`.",
    media_types=("application/zip",),
    schema={"type": "string", "format": "binary"},
)

ROUTES: tuple[Operation, ...] = (
    Operation(
        "get",
        "/sessions/{session_id}",
        get_session,
        role="auditor",
        summary="A session's timeline (entries in order) and attribution summary",
        path_params=SessionPath,
        query=ListQuery,
        response=SessionTimeline,
        not_found="The ledger has no entry for this session.",
    ),
    Operation(
        "post",
        "/sessions/{session_id}/revoke",
        post_revoke,
        role="admin",
        summary="Revoke an agent session (admin)",
        path_params=SessionPath,
        body=RevokeRequest,
        response=ContainmentResult,
        ok="Revoked (or already revoked).",
    ),
    Operation(
        "get",
        "/changes",
        list_changes,
        role="auditor",
        summary="The change population: every merge and direct push",
        query=ChangesQuery,
        response=POPULATION_CSV,
    ),
    Operation(
        "get",
        "/changes/sample",
        sample_changes,
        role="auditor",
        summary="A reproducible random sample of the change population",
        query=SampleQuery,
        response=SampleBody,
    ),
    Operation(
        "get",
        "/exceptions",
        list_exceptions,
        role="auditor",
        summary="Violations, bypassed and unapproved merges, emergency changes, "
        "overdue post-reviews",
        query=ListQuery,
        response=ExceptionPage,
    ),
    Operation(
        "get",
        "/evidence",
        list_evidence,
        role="auditor",
        summary="Raw ledger entries in seq order",
        query=EvidenceQuery,
        response=EntryPage,
    ),
    Operation(
        "get",
        "/export",
        export_ledger,
        role="auditor",
        summary="Streamed export with the latest signed checkpoint",
        query=ExportQuery,
        response=EXPORT,
    ),
    Operation(
        "get",
        "/ledger/verify",
        verify_ledger,
        role="auditor",
        summary="Verify the whole ledger against the chain and the signed checkpoints",
        response=VerifyReport,
    ),
    Operation(
        "get",
        "/attestations/{sha}",
        get_attestation,
        role="auditor",
        summary="The signed attestation (in-toto Statement in a DSSE envelope) of a merged change",
        path_params=AttestationPath,
        response=DsseEnvelope,
        not_found="No merged change in the ledger has this merge commit.",
    ),
    Operation(
        "get",
        "/pack",
        get_pack,
        role="auditor",
        summary="The audit pack of a period: a signed zip an auditor verifies offline",
        query=PackQuery,
        response=PACK,
    ),
    Operation(
        "get",
        "/ledger/public-key",
        get_public_key,
        role="auditor",
        summary="The public key that signs checkpoints, attestations and audit packs",
        response=PublicKey,
        not_found="No signing key is configured.",
    ),
    Operation(
        "get",
        "/freeze",
        get_freeze,
        role="auditor",
        summary="The freezes in force",
        response=FreezeStatus,
    ),
    Operation(
        "post",
        "/freeze",
        post_freeze,
        role="admin",
        summary="Freeze agent changes org-wide or in one repository (admin)",
        body=FreezeRequest,
        response=ContainmentResult,
        ok="Frozen (or already frozen).",
    ),
    Operation(
        "delete",
        "/freeze",
        delete_freeze,
        role="admin",
        summary="Lift a freeze (admin)",
        query=UnfreezeQuery,
        response=ContainmentResult,
        ok="Lifted (or was not frozen).",
    ),
    Operation(
        "get",
        "/openapi.json",
        get_openapi,
        role=None,
        summary="This document",
        response=Content("The OpenAPI document.", ["application/json"], schema={"type": "object"}),
    ),
    Operation(
        "get",
        "/docs",
        get_docs,
        role=None,
        summary="This API description as an HTML page",
        response=Content("The page.", ["text/html"]),
    ),
)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of :data:`ROUTES` (a fresh copy)."""
    return json.loads(_document_json())


@cache
def _document_json() -> str:
    return json.dumps(describe((*ROUTES, *AGENT_OPERATIONS)))


@cache
def _docs_page() -> str:
    return docs_html(openapi_document())


# --- helpers --------------------------------------------------------------------------------

ModelT = TypeVar("ModelT", bound=BaseModel)


def path_of(request: web.Request, model: type[ModelT]) -> ModelT:
    """The validated path parameters (the route's ``path_params`` model)."""
    return _validated(request, _PATH, model)


def query_of(request: web.Request, model: type[ModelT]) -> ModelT:
    """The validated query string (the route's ``query`` model)."""
    return _validated(request, _QUERY, model)


def body_of(request: web.Request, model: type[ModelT]) -> ModelT:
    """The validated JSON body (the route's ``body`` model)."""
    return _validated(request, _BODY, model)


def _validated(request: web.Request, key: web.RequestKey[BaseModel], model: type[ModelT]) -> ModelT:
    value = request.get(key)
    if not isinstance(value, model):
        # The handler asks for a model its row does not declare: a programming error.
        raise TypeError(f"the route does not declare {model.__name__}")
    return value


def _with_inputs(operation: Operation) -> Handler:
    """The operation's handler, after its declared inputs are validated."""

    async def handle(request: web.Request) -> web.StreamResponse:
        if operation.path_params is not None:
            request[_PATH] = parse_query(operation.path_params, request.match_info)
        if operation.query is not None:
            request[_QUERY] = parse_query(operation.query, request.query)
        if operation.body is not None:
            request[_BODY] = await _read_body(request, operation.body)
        return await operation.handler(request)

    handle.__name__ = handle.__qualname__ = operation.handler.__name__
    handle.__doc__ = operation.handler.__doc__
    return public(handle) if operation.role is None else requires(operation.role)(handle)


def _post_review_hours(services: ApiServices) -> int:
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
    request: web.Request, event: freeze_revoke.ContainmentEvent
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


async def _run_hook(hook: ContainmentHook, event: freeze_revoke.ContainmentEvent) -> None:
    try:
        await hook(event)
    except Exception:
        log.exception("containment_hook_failed", action=event.action)


def loaded() -> Loaded:
    """The handlers of :data:`ROUTES` and the access middleware, for the lazy mount of
    ``/api/v1`` (:func:`github_app.api.mount.add_api_routes`)."""
    handlers = {(op.method.upper(), op.path): _with_inputs(op) for op in ROUTES}
    return Loaded(handlers=handlers, middlewares=(api_middleware,))
