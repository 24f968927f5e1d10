"""``POST /api/v1/agent/events``: agent hook events in, allow/deny out (shell).

Takes an agent's hook JSON as is — Claude Code's by default, usable directly as a Claude Code
HTTP hook — plus optional ``repo`` (``OWNER/REPO``) and ``agent`` fields, which may also be given
as query parameters of the hook URL (an HTTP hook cannot add fields to the body).  Only an
``agent`` token may post (its login is the session's attested launcher); auditor and admin
tokens get 403.

Per event: ``SessionStart`` appends ``session_started``; ``PreToolUse`` reads the session's
revocation and the freezes *now* (no cache, so a revocation denies the very next call), decides
with the pure :func:`github_app.sessions.decision.decide`, appends ``operation_denied`` when it
denies, and answers in the agent's format; ``PostToolUse`` is stored in the durable operation
buffer and flushed to the ledger as one ``agent_operation`` entry per group; ``SessionEnd``
flushes the buffer and appends ``session_ended``.  Other events (UserPromptSubmit, Stop…) answer
``{}`` and record nothing.  Invalid JSON or a missing field → 400 with one line; nothing is
recorded.

Policy: hook decisions use the org/default policy the services loaded at start
(``services.default_policy``) for every repository, an unknown one included; a repository's own
``.github/countersign.yml`` is applied when its pull requests are evaluated, not per tool call
(fetching it from GitHub on every tool call would break the latency budget).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from github_app.api.auth import ApiError, requires, services_of, token_of
from github_app.api.containment import revoke_session
from github_app.drills import ControlResult
from github_app.policy.loader import load_default_policy
from github_app.policy.model import PathRule, Policy
from github_app.sessions import records
from github_app.sessions.adapters import Adapter, parse_event
from github_app.sessions.decision import Containment, Verdict, decide
from github_app.sessions.events import AgentEvent, EventError, ToolCall
from github_app.state.agent_sessions import AgentSessions

AGENT_EVENTS_PATH = "/agent/events"
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
    """Decide and record one event (synchronous; runs in a worker thread)."""
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


@requires("agent")
async def post_agent_event(request: web.Request) -> web.Response:
    """``POST /agent/events``: one hook event of an agent session."""
    event, adapter = await _read_event(request)
    token = token_of(request)
    launcher = records.Launcher(login=token.login or "", token_name=token.name)
    if not token.login:
        raise ApiError(403, "this agent token is bound to no login; issue a new one with --login")
    verdict = await asyncio.to_thread(
        handle_event, services_of(request), event, launcher, datetime.now(UTC)
    )
    return web.json_response(adapter.answer(event, verdict))


def add_agent_event_routes(api: web.Application) -> None:
    """Register the agent event route on the ``/api/v1`` sub-application."""
    api.router.add_post(AGENT_EVENTS_PATH, post_agent_event)


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
        ControlResult("a revoked session's next tool call is denied", "deny", _word(after)),
        ControlResult(
            f"the kill switch stops the agent within 1 s (took {latency_ms:.0f} ms)",
            "True",
            str(latency_ms < 1000),
        ),
        ControlResult("an agent read of a classified path is denied", "deny", _word(classified)),
    ]


def services_policy(services: Any) -> Policy:
    """The policy hook decisions use: the services' default policy, else the shipped one."""
    return getattr(services, "default_policy", None) or load_default_policy()


def _word(verdict: Verdict) -> str:
    return "allow" if verdict.allow else "deny"
