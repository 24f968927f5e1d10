"""``POST /api/v1/agent/events``: agent hook events in, allow/deny out (shell).

Takes an agent's hook JSON as is — Claude Code's by default, usable directly as a Claude Code
HTTP hook — plus optional ``repo`` (``OWNER/REPO``) and ``agent`` fields, which may also be given
as query parameters of the hook URL (an HTTP hook cannot add fields to the body).  Only an
``agent`` token may post (its login is the session's attested launcher); auditor and admin
tokens get 403.

Per event: ``SessionStart`` appends ``session_started``; ``PreToolUse`` takes the session's
revocation and the freezes from :class:`github_app.state.hook_state.HookState` (memory
re-validated every 0.25 s, trusted for at most 0.75 s, cleared at once by this process's own
changes), the policy of the event's repository from
:class:`github_app.github.repo_policies.RepoPolicies` (cached per repository and head; an
unreadable one denies), decides with the pure :func:`github_app.sessions.decision.decide`,
appends ``operation_denied`` when it denies, and answers in the agent's format — an allow runs no
query and no thread hop; ``PostToolUse`` is stored in the durable operation buffer and flushed
to the ledger as one ``agent_operation`` entry per group; ``SessionEnd`` flushes the buffer and
appends ``session_ended``.  Other events (UserPromptSubmit, Stop…) answer ``{}`` and record
nothing.  Invalid JSON or a missing field → 400 with one line; nothing is recorded.

The route lives on its own sub-application at ``/api/v1/agent`` (aiohttp resolves it before
``/api/v1``) with its own middleware.  Every write of the endpoint (access-log rows, buffered
operations, denials, session starts and ends, group flushes) goes through one group commit on a
thread of its own; a PreToolUse's access-log row and a full group's flush follow the answer.
It is
described in the OpenAPI document with the auditor API's routes (:data:`AGENT_OPERATIONS`).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from github_app.api.access import CHALLENGE, ApiError, bearer_token, json_error, services_of
from github_app.api.freeze_revoke import revoke_session
from github_app.api.mount import AGENT_PREFIX, WRITERS
from github_app.api.openapi import Operation
from github_app.drills import ControlResult
from github_app.github.repo_policies import RepoPolicies
from github_app.lazy_app import Loaded
from github_app.ledger.entry import LedgerEntry, NewEntry
from github_app.logs import get_logger
from github_app.policy.loader import load_default_policy
from github_app.policy.model import PathRule, Policy
from github_app.sessions import records
from github_app.sessions.adapters import Adapter, parse_event
from github_app.sessions.decision import Containment, Verdict, decide
from github_app.sessions.events import AgentEvent, EventError, ToolCall
from github_app.state.agent_sessions import AgentSessions
from github_app.state.hook_state import POLL_SECONDS, HookState
from github_app.store import tables
from github_app.store.group_commit import GroupCommit
from github_app.tokens import ApiToken

log = get_logger(__name__)

T = TypeVar("T")
AGENT_EVENTS_PATH = AGENT_PREFIX + "/events"
MAX_EVENT_BYTES = 8 * 1024 * 1024  # a Write's tool_input carries the whole file
FLUSH_AFTER = timedelta(seconds=records.FLUSH_AFTER_SECONDS)


class HookDecision(BaseModel):
    """``hookSpecificOutput`` of a PreToolUse answer (Claude Code's format)."""

    model_config = ConfigDict(populate_by_name=True)
    hookEventName: str = "PreToolUse"
    permissionDecision: str = Field(pattern="^(allow|deny)$")
    permissionDecisionReason: str


class AgentEventResponse(BaseModel):
    """The answer: ``{"hookSpecificOutput": …}`` for PreToolUse, ``{}`` for other events."""

    hookSpecificOutput: HookDecision | None = None


class AgentEventRequest(BaseModel):
    """Claude Code's hook JSON (other agents' formats are read by their adapters)."""

    model_config = ConfigDict(extra="allow")
    hook_event_name: str = Field(
        description="SessionStart, PreToolUse, PostToolUse, SessionEnd (others are ignored)"
    )
    session_id: str
    cwd: str | None = None
    tool_name: str | None = Field(default=None, description="PreToolUse and PostToolUse")
    tool_input: dict[str, Any] | None = Field(default=None, description="The tool's arguments")
    repo: str | None = Field(default=None, description="OWNER/REPO the session works on")
    agent: str | None = Field(default=None, description="default claude-code")


def containment_facts(services: Any, event: AgentEvent) -> Containment:
    """Revocation and freeze, read from the store for this call."""
    revoked = services.containment.is_revoked(event.session_id)
    # With no repository only an org-wide freeze applies: an empty name matches no repo freeze.
    freeze = services.containment.active_freeze(event.repo or "")
    return Containment(
        revoked=revoked,
        frozen=freeze is not None,
        freeze_reason=freeze.reason if freeze else None,
        freeze_scope=freeze.repo if freeze else None,
    )


def handle_event(
    services: Any, event: AgentEvent, launcher: records.Launcher, now: datetime
) -> Verdict | None:
    """Decide and record one event (synchronous; runs in a worker thread).  A ``pre_tool`` here
    reads containment from the store and uses the services' default policy (the drill); the
    endpoint decides tool calls with :func:`_decide_tool_call`."""
    sessions = AgentSessions(services.db, services.ledger)
    if event.kind == "session_start":
        sessions.record(records.session_started(event, launcher, now))
    elif event.kind == "pre_tool":
        verdict = decide(event, containment_facts(services, event), services_policy(services))
        if not verdict.allow:
            sessions.record(records.operation_denied(event, verdict, launcher, now))
        return verdict
    elif event.kind == "post_tool":
        count, oldest = sessions.buffer(
            session_id=event.session_id,
            received_at=now,
            agent=event.agent,
            launched_by=launcher.login,
            actor=launcher.token_name,
            repo=event.repo,
            operation=records.operation(event, now),
        )
        if count >= records.OPERATIONS_PER_ENTRY or now - oldest >= FLUSH_AFTER:
            sessions.flush(event.session_id)
    elif event.kind == "session_end":
        sessions.flush(event.session_id, then=records.session_ended(event, launcher, now))
    return None


async def _read_event(request: web.Request) -> tuple[AgentEvent, Adapter]:
    if (request.content_length or 0) > MAX_EVENT_BYTES:
        raise ApiError(413, f"body: at most {MAX_EVENT_BYTES} bytes")
    raw = await request.content.read(MAX_EVENT_BYTES + 1)
    if len(raw) > MAX_EVENT_BYTES:
        raise ApiError(413, f"body: at most {MAX_EVENT_BYTES} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(400, "body: expected a JSON object") from None
    try:
        return parse_event(
            body, agent=request.query.get("agent"), repo=request.query.get("repo") or None
        )
    except EventError as error:
        raise ApiError(400, str(error)) from None


def access_row(request: web.Request, token: ApiToken | None, status: int) -> dict[str, Any]:
    """The ``access_log`` row of one call (the same columns the auditor API writes)."""
    return {
        "token_id": token.id if token else None,
        "token_name": token.name if token else None,
        "role": token.role if token else None,
        "method": request.method[:16],
        "path": request.rel_url.raw_path[:2000],
        "query": request.rel_url.raw_query_string[:2000] or None,
        "status": status,
        "at": datetime.now(UTC),
        "remote_addr": request.remote,
    }


async def _buffer_operation(
    request: web.Request, event: AgentEvent, launcher: records.Launcher, now: datetime
) -> None:
    """Store a PostToolUse durably (with this call's access-log row, in a shared commit); when
    the session's group is full, flush it after the answer (the operations are durable already:
    the agent need not wait for the ledger append)."""
    operation_row = {
        "session_id": event.session_id,
        "received_at": now,
        "agent": event.agent,
        "launched_by": launcher.login,
        "actor": launcher.token_name,
        "repo": event.repo,
        "operation": json.dumps(records.operation(event, now), sort_keys=True),
    }
    await _writer(request).write(
        [
            (tables.agent_operation_buffer, operation_row),
            (tables.access_log, access_row(request, request[CALLER], 200)),  # type: ignore[arg-type]
        ]
    )
    request[LOGGED] = True
    # This process's count of the session's buffered operations decides when a group is full;
    # the flush itself reads the durable buffer, so a count that is off (another replica, a
    # restart) only moves the group boundary.  Quiet sessions are flushed by the periodic job.
    counts = request.app[WRITERS].setdefault("counts", {})
    counts[event.session_id] = counts.get(event.session_id, 0) + 1
    if counts[event.session_id] >= records.OPERATIONS_PER_ENTRY:
        counts.pop(event.session_id, None)
        _in_background(request, _flush(request, event.session_id), "agent_operations_flush_failed")


async def _record(request: web.Request, *entries: NewEntry) -> list[LedgerEntry]:
    """Append ``entries`` to the ledger in the endpoint's group commit (durable on return); the
    checkpoint, if one is due, is signed after."""
    services = services_of(request)
    sessions = AgentSessions(services.db, services.ledger)
    written = await _writer(request).run(lambda conn: sessions.record_in(conn, *entries))
    _checkpoint_later(request)
    return written


async def _flush(
    request: web.Request, session_id: str, *, then: NewEntry | None = None
) -> list[LedgerEntry]:
    """Move the session's buffered operations (and ``then``) to the ledger, in the endpoint's
    group commit."""
    services = services_of(request)
    sessions = AgentSessions(services.db, services.ledger)
    written = await _writer(request).run(
        lambda conn: sessions.flush_in(conn, session_id, then=then)
    )
    if written:
        _checkpoint_later(request)
    return written


def _checkpoint_later(request: web.Request) -> None:
    ledger = services_of(request).ledger
    _in_background(request, asyncio.to_thread(ledger.maybe_checkpoint), "checkpoint_failed")


async def post_agent_event(request: web.Request) -> web.Response:
    """``POST /agent/events``: one hook event of an agent session.

    The body is parsed first (pure), then the token is authenticated and, for a PreToolUse,
    containment read and the call decided — from memory, without a thread hop, when the hook
    state is fresh; a denial is appended before the answer.  Every write goes through the
    endpoint's group commit.  An unauthenticated caller gets 401 whatever the body held.
    """
    try:
        parsed: tuple[AgentEvent, Adapter] | ApiError = await _read_event(request)
    except ApiError as error:
        parsed = error
    presented = bearer_token(request.headers.get("Authorization"))
    services, now = services_of(request), datetime.now(UTC)

    token = await _authenticate(hook_state_of(services), presented)
    _ensure_poller(request)
    verdict: Verdict | None = None
    if _is_agent(token) and isinstance(parsed, tuple) and parsed[0].kind == "pre_tool":
        assert token is not None
        verdict = await _decide_tool_call(request, parsed[0], _launcher(token), now)
    request[CALLER] = token
    if token is None:
        detail = "invalid or revoked token" if presented else "a bearer token is required"
        challenge = CHALLENGE + (', error="invalid_token"' if presented else "")
        raise ApiError(401, detail, headers={"WWW-Authenticate": challenge})
    if not _is_agent(token):
        raise ApiError(403, "agent events need an agent token (token create --role agent)")
    if isinstance(parsed, ApiError):
        raise parsed
    event, adapter = parsed
    if event.kind == "pre_tool":
        request[DEFER_LOG] = True  # the agent is waiting: answer before the access row's fsync
    elif event.kind == "post_tool":
        await _buffer_operation(request, event, _launcher(token), now)
    elif event.kind == "session_start":
        await _record(request, records.session_started(event, _launcher(token), now))
    elif event.kind == "session_end":
        await _flush(
            request, event.session_id, then=records.session_ended(event, _launcher(token), now)
        )
        request.app[WRITERS].get("counts", {}).pop(event.session_id, None)
    return web.json_response(adapter.answer(event, verdict))


def hook_state_of(services: Any) -> HookState:
    """The services' hook state (made and kept on first use by services built without one)."""
    state = getattr(services, "hook_state", None)
    if state is None:
        state = services.hook_state = HookState(services.db)
    return state


def repo_policies_of(services: Any) -> RepoPolicies:
    """The services' repository policy cache (made on first use, like the hook state)."""
    policies = getattr(services, "repo_policies", None)
    if policies is None:
        github = getattr(services, "github", None)
        policies = services.repo_policies = RepoPolicies(github, lambda: services_policy(services))
    return policies


async def _authenticate(state: HookState, presented: str | None) -> ApiToken | None:
    """The caller's active token: from memory when validated recently, else from the store."""
    if not presented:
        return None
    return state.cached_token(presented) or await _hook_read(state.token, presented)


def _hook_containment(state: HookState, event: AgentEvent, revoked: bool) -> Containment:
    freeze = state.freeze_for(event.repo or "")
    return Containment(
        revoked=revoked,
        frozen=freeze is not None,
        freeze_reason=freeze.reason if freeze else None,
        freeze_scope=freeze.repo if freeze else None,
    )


async def _decide_tool_call(
    request: web.Request, event: AgentEvent, launcher: records.Launcher, now: datetime
) -> Verdict:
    """A PreToolUse: containment from memory (or the store when not validated recently), the
    repository's policy from its cache (or GitHub), the pure decision; a denial is appended to
    the ledger before the answer.  An allow touches neither a thread nor the store."""
    services = services_of(request)
    state = hook_state_of(services)
    revoked = state.cached_revoked(event.session_id)
    if revoked is None:
        revoked = await _hook_read(state.revoked, event.session_id)
    facts = _hook_containment(state, event, revoked)
    # Read (or take from the cache) the repository's policy only for an agent token: an
    # anonymous caller must not make the App call GitHub.
    policies = repo_policies_of(services)
    policy = policies.cached(event.repo) or await policies.policy_for(event.repo)
    verdict = decide(event, facts, policy.policy, policy.error)
    if not verdict.allow:
        await _record(request, records.operation_denied(event, verdict, launcher, now))
    return verdict


# The hook state's reads run on their own threads: the default executor's few threads can all
# be waiting for SQLite's write lock (group commits, flushes), and a decision must not queue
# behind them.
_HOOK_READS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="countersign-hook-state")


async def _hook_read(function: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_HOOK_READS, function, *args)


def _ensure_poller(request: web.Request) -> None:
    """Start this process's hook-state poller on first use (stopped with the sub-application)."""
    holder = request.app[WRITERS]
    task = holder.get("poller")
    if task is None or task.done():
        holder["poller"] = asyncio.create_task(_poll(hook_state_of(services_of(request))))


async def _poll(state: HookState) -> None:
    """Re-validate the hook state every POLL_SECONDS (a failure only sends calls to the slow
    path, which reads the store itself)."""
    while True:
        try:
            await _hook_read(state.check)
        except Exception:
            log.exception("hook_state_check_failed")
        await asyncio.sleep(POLL_SECONDS)


def _is_agent(token: ApiToken | None) -> bool:
    return token is not None and token.role == "agent" and bool(token.login)


def _launcher(token: ApiToken) -> records.Launcher:
    return records.Launcher(login=token.login or "", token_name=token.name)


class AgentEventQuery(BaseModel):
    """Query parameters of the hook URL (an HTTP hook cannot add fields to its body)."""

    model_config = ConfigDict(extra="forbid")
    repo: str | None = Field(default=None, description="OWNER/REPO the session works on.")
    agent: str | None = Field(default=None, description="The hook format; default claude-code.")


# Described with the auditor API's routes (served by the sub-application below).
AGENT_OPERATIONS = (
    Operation(
        "post",
        AGENT_EVENTS_PATH,
        post_agent_event,
        role="agent",
        summary="One agent hook event (Claude Code's JSON as is; other formats by `agent`)",
        response=AgentEventResponse,
        ok="PreToolUse: the decision in the agent's format; other events: {}.",
        query=AgentEventQuery,
        body=AgentEventRequest,
    ),
)


# --- the agent sub-application: JSON errors and the access log -----------------------------

CALLER = web.RequestKey("countersign_agent_caller", object)
LOGGED = web.RequestKey("countersign_access_logged", bool)
DEFER_LOG = web.RequestKey("countersign_access_log_deferred", bool)
# Every write of this endpoint — access-log rows, buffered operations, denials, session starts
# and ends, flushes — goes through one group commit on this one thread.  SQLite has a single
# writer: separate writers would only queue for its lock (sleeping in the busy handler), and the
# default executor's threads can be busy with other work when a denial must be written.
_AGENT_WRITES = ThreadPoolExecutor(max_workers=1, thread_name_prefix="countersign-agent-writes")


def _writer(request: web.Request) -> GroupCommit:
    """The sub-application's group-commit writer (one per process, made on first use)."""
    holder = request.app[WRITERS]
    if "writer" not in holder:
        db = services_of(request).db
        holder["writer"] = GroupCommit(db, immediate=True, executor=_AGENT_WRITES)
    return holder["writer"]


def _in_background(request: web.Request, work: Coroutine[Any, Any, Any], failure: str) -> None:
    """Run ``work`` after the answer (kept until done; a failure is logged as ``failure``)."""
    tasks: set[asyncio.Task[None]] = request.app[WRITERS].setdefault("tasks", set())
    task = asyncio.create_task(_logged(work, failure, request.path))
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _logged(work: Coroutine[Any, Any, Any], failure: str, path: str) -> None:
    try:
        await work
    except Exception:
        log.exception(failure, path=path)


@web.middleware
async def agent_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """JSON errors, and every call in the access log (refused ones included).

    Like the auditor API's middleware, but the access-log row is written through the group
    commit (fifty agents' rows share one fsync), a PostToolUse's row in the same transaction as
    its operation; if the row cannot be written the caller gets 503 (fail closed).  A PreToolUse
    is the exception: the agent waits for it, so it is answered before its access-log row is on
    disk (the row follows in the next group commit; a failure is logged).  What the ledger must
    hold — a denial — is appended before the answer.
    """
    response = await _run(request, handler)
    if request.get(LOGGED):
        return response
    token = request.get(CALLER)
    rows = [(tables.access_log, access_row(request, token, response.status))]  # type: ignore[arg-type]
    if request.get(DEFER_LOG):
        _in_background(request, _writer(request).write(rows), "access_log_write_failed")
        return response
    try:
        await _writer(request).write(rows)
    except Exception:
        log.exception("access_log_write_failed", path=request.path)
        return json_error(503, "the access log is unavailable; request refused")
    return response


async def _run(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return json_error(error.status, error.message, **error.headers)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return json_error(error.status, error.reason)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("agent_event_error", path=request.path)
        return json_error(500, "internal error")


def loaded() -> Loaded:
    """The handler and middleware of ``/api/v1/agent``, for its lazy mount
    (:func:`github_app.api.mount.add_api_routes`, which also holds the sub-application's
    :data:`~github_app.api.mount.WRITERS`, waits for its background writes at shutdown and
    stops the poller)."""
    return Loaded(handlers={("POST", "/events"): post_agent_event}, middlewares=(agent_middleware,))


# --- the kill-switch drill ------------------------------------------------------------------

DRILL_LAUNCHER = records.Launcher(login="countersign-drill", token_name="drill")  # noqa: S106
DRILL_CLASSIFIED = "countersign-drill/classified/**"


@dataclass(frozen=True)
class _DrillServices:
    db: Any
    ledger: Any
    containment: Any
    default_policy: Policy


def kill_switch_drill(services: Any, actor: str) -> list[ControlResult]:
    """Run a synthetic agent session through the very code the endpoint runs: a tool call is
    allowed, the session is revoked, its next tool call must be denied (and recorded), and a
    read of a classified path must be denied.  Returns one result per control, the time from
    the revocation to the denial included."""
    session = f"drill-{uuid.uuid4()}"
    policy = services_policy(services).model_copy(
        update={
            "paths": (
                *services_policy(services).paths,
                PathRule(pattern=DRILL_CLASSIFIED, agents_may_not_read=True),
            )
        }
    )
    drill = _DrillServices(services.db, services.ledger, services.containment, policy)
    cwd = "/drill/workspace"

    def tool_call(path: str) -> Verdict:
        event = AgentEvent(
            agent="countersign-drill",
            kind="pre_tool",
            event_name="PreToolUse",
            session_id=session,
            cwd=cwd,
            tool=ToolCall(name="Read", access="read", paths=(f"{cwd}/{path}",)),
        )
        verdict = handle_event(drill, event, DRILL_LAUNCHER, datetime.now(UTC))
        assert verdict is not None
        return verdict

    start = AgentEvent(
        agent="countersign-drill",
        kind="session_start",
        event_name="SessionStart",
        session_id=session,
        cwd=cwd,
        detail="drill",
    )
    handle_event(drill, start, DRILL_LAUNCHER, datetime.now(UTC))
    before = tool_call("README.md")
    revoked_at = time.perf_counter()
    revoke_session(services, session, "kill-switch drill", actor)
    after = tool_call("README.md")
    latency_ms = (time.perf_counter() - revoked_at) * 1000
    classified = tool_call("countersign-drill/classified/report.csv")
    return [
        ControlResult("an agent tool call is allowed", "allow", _word(before)),
        ControlResult(
            f"a revoked session's next tool call is denied ({latency_ms:.0f} ms after the "
            "revocation)",
            "deny",
            _word(after),
        ),
        ControlResult("an agent read of a classified path is denied", "deny", _word(classified)),
    ]


def services_policy(services: Any) -> Policy:
    """The policy hook decisions use: the services' default policy, else the shipped one."""
    return getattr(services, "default_policy", None) or load_default_policy()


def _word(verdict: Verdict) -> str:
    return "allow" if verdict.allow else "deny"
