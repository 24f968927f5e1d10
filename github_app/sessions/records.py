"""What an agent session writes to the ledger (pure).

Kinds: ``session_started`` (launch: who, where, when), ``agent_operation`` (a group of tool
calls: tool, access, target path relative to the session's directory or the command's program
name, result — never file contents, never a full command), ``operation_denied`` (the refused
call and why) and ``session_ended``.  Every entry carries ``launched_by`` = the agent token's
login and ``actor`` = the token's name.

Operations are grouped so that a busy agent does not flood the ledger: the shell buffers them
durably and writes one ``agent_operation`` entry per :data:`OPERATIONS_PER_ENTRY` operations of a
session, after :data:`FLUSH_AFTER_SECONDS`, at ``SessionEnd`` and at shutdown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from github_app.core.models import Frozen
from github_app.ledger.entry import NewEntry, rfc3339
from github_app.sessions.decision import Verdict
from github_app.sessions.events import AgentEvent, ToolCall, relative_target

OPERATIONS_PER_ENTRY = 50
FLUSH_AFTER_SECONDS = 10.0
MAX_TARGETS = 20


class Launcher(Frozen):
    """Who posted the event: the agent token's name and the login it is bound to."""

    login: str
    token_name: str


class BufferedOperation(Frozen):
    """One accepted operation waiting in the buffer."""

    id: int
    session_id: str
    received_at: datetime
    agent: str
    launched_by: str
    actor: str
    repo: str | None
    operation: dict[str, Any]


def describe_tool(tool: ToolCall, cwd: str | None) -> dict[str, Any]:
    """Tool, access and target of a call, safe to record: paths relative to the session's
    directory, a shell command reduced to its program name."""
    described: dict[str, Any] = {"tool": tool.name, "access": tool.access}
    if tool.access == "exec":
        described["target"] = tool.program
        return described
    targets = [relative_target(path, cwd) for path in tool.paths[:MAX_TARGETS]]
    described["target"] = targets[0] if targets else None
    if len(tool.paths) > 1:
        described["targets"] = targets
    return described


def operation(event: AgentEvent, received_at: datetime) -> dict[str, Any]:
    """The buffered summary of one ``post_tool`` event."""
    assert event.tool is not None
    return {
        "at": rfc3339(received_at),
        **describe_tool(event.tool, event.cwd),
        "result": event.tool.result or "ok",
    }


def _entry(kind: str, event: AgentEvent, launcher: Launcher, at: datetime, data: dict) -> NewEntry:
    return NewEntry(
        kind=kind,  # type: ignore[arg-type]
        occurred_at=at,
        session_id=event.session_id,
        agent=event.agent,
        launched_by=launcher.login,
        repo=event.repo,
        actor=launcher.token_name,
        data=data,
    )


def session_started(event: AgentEvent, launcher: Launcher, at: datetime) -> NewEntry:
    """The launch: the attested launcher, the directory and repository, the agent's source."""
    return _entry(
        "session_started",
        event,
        launcher,
        at,
        {
            "launcher_attested": True,
            "cwd": event.cwd,
            "source": event.detail,
            "hook_event_name": event.event_name,
        },
    )


def session_ended(event: AgentEvent, launcher: Launcher, at: datetime) -> NewEntry:
    """The end of the session, with the agent's reason."""
    return _entry(
        "session_ended",
        event,
        launcher,
        at,
        {"reason": event.detail, "hook_event_name": event.event_name},
    )


def operation_denied(
    event: AgentEvent, verdict: Verdict, launcher: Launcher, at: datetime
) -> NewEntry:
    """A refused tool call: what it was and which control refused it."""
    tool = describe_tool(event.tool, event.cwd) if event.tool else {}
    return _entry(
        "operation_denied",
        event,
        launcher,
        at,
        {
            **tool,
            "refused_target": verdict.target,
            "reason": verdict.reason,
            "rule": verdict.rule,
            "hook_event_name": event.event_name,
        },
    )


def _group_key(row: BufferedOperation) -> tuple[Any, ...]:
    return (row.session_id, row.agent, row.launched_by, row.actor, row.repo)


def group_operations(rows: Iterable[BufferedOperation]) -> list[list[BufferedOperation]]:
    """Consecutive buffered operations with the same attribution, at most
    :data:`OPERATIONS_PER_ENTRY` a group, in the order they were accepted."""
    groups: list[list[BufferedOperation]] = []
    for row in rows:
        last = groups[-1] if groups else None
        if last and _group_key(last[0]) == _group_key(row) and len(last) < OPERATIONS_PER_ENTRY:
            last.append(row)
        else:
            groups.append([row])
    return groups


def operations_entry(group: list[BufferedOperation]) -> NewEntry:
    """One ``agent_operation`` entry for a group: every operation, and counts by tool."""
    first = group[0]
    return NewEntry(
        kind="agent_operation",
        occurred_at=first.received_at,
        session_id=first.session_id,
        agent=first.agent,
        launched_by=first.launched_by,
        repo=first.repo,
        actor=first.actor,
        data={
            "count": len(group),
            "first_at": rfc3339(first.received_at),
            "last_at": rfc3339(group[-1].received_at),
            "by_tool": dict(sorted(Counter(row.operation["tool"] for row in group).items())),
            "operations": [row.operation for row in group],
        },
    )
