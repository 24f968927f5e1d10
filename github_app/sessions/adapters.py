"""Each agent's hook format: its JSON in, its allow/deny answer out (pure).

Formats (sources in the README, "Agent sessions"):

* ``claude-code`` — Claude Code hooks: ``hook_event_name`` (SessionStart, PreToolUse,
  PostToolUse, PostToolUseFailure, SessionEnd; others such as UserPromptSubmit or Stop are
  accepted and ignored), ``session_id``, ``cwd``, ``tool_name``, ``tool_input``.  A PreToolUse is
  answered with ``hookSpecificOutput.permissionDecision``.  Agents that copy this format
  (OpenHands) use it too: it is the format for any agent name not listed here.
* ``codex`` — Codex CLI: Claude's format; its ``apply_patch`` tool names files inside the patch.
  Codex treats unknown output fields as a failed hook, so *allow* is an empty object.
* ``gemini-cli`` — Gemini CLI: BeforeTool / AfterTool / SessionStart / SessionEnd with
  ``tool_name`` (``read_file``, ``write_file``, ``replace``, ``run_shell_command``…) and
  ``tool_input``; denied with ``{"decision": "deny", "reason": …}``.
* ``cursor`` — Cursor: ``conversation_id`` as the session, ``workspace_roots``,
  beforeShellExecution / beforeReadFile / beforeMCPExecution, afterShellExecution /
  afterFileEdit; denied with ``{"permission": "deny", "user_message", "agent_message"}``.
* ``copilot-cli`` — GitHub Copilot CLI: camelCase ``sessionId``, ``toolName``, ``toolArgs``
  (tools ``bash``, ``view``, ``create``, ``edit``, ``glob``, ``grep``); preToolUse is answered
  with ``permissionDecision`` and ``permissionDecisionReason``.
* ``generic`` — any other agent (selected by an ``event`` field instead of
  ``hook_event_name``): ``{"event": "session_start"|"pre_tool"|"post_tool"|"session_end",
  "session_id", "cwd", "tool": {"name", "access": "read"|"write"|"exec"|"other", "paths": [],
  "command"}, "result": "ok"|"error"}``, answered ``{"decision": "allow"|"deny", "reason"}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from github_app.sessions.decision import Verdict
from github_app.sessions.events import (
    Access,
    AgentEvent,
    EventError,
    EventKind,
    ToolCall,
    agent_name,
    repo_name,
    session_id,
    text,
)

Parse = Callable[[Mapping[str, Any], str, str | None], AgentEvent]
Answer = Callable[[AgentEvent, Verdict | None], dict[str, Any]]


@dataclass(frozen=True)
class Adapter:
    """How to read one agent's hook JSON and how to answer it."""

    name: str
    parse: Parse
    answer: Answer


# --- shared helpers -------------------------------------------------------------------------


def _object(value: object, field: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise EventError(f"{field}: expected a JSON object")
    return value


def _paths(
    tool_input: Mapping[str, Any], keys: tuple[str, ...], cwd: str | None
) -> tuple[str, ...]:
    """The path arguments among ``keys``; a search without a path searches the cwd."""
    found: list[str] = []
    for key in keys:
        value = tool_input.get(key)
        values = value if isinstance(value, list) else [value]
        found.extend(item for item in values if isinstance(item, str) and item)
    if not found and cwd and any(key in ("path", "dir_path") for key in keys):
        found.append(cwd)
    return tuple(found)


def _tool(
    name: str,
    access: Access,
    tool_input: Mapping[str, Any],
    keys: tuple[str, ...],
    cwd: str | None,
    result: str | None,
) -> ToolCall:
    command = tool_input.get("command") if access == "exec" else None
    if command is not None and not isinstance(command, str):
        raise EventError("tool_input.command: expected a string")
    return ToolCall(
        name=name,
        access=access,
        paths=_paths(tool_input, keys, cwd),
        command=command,
        result=result,  # type: ignore[arg-type]
    )


def _kind(names: Mapping[str, EventKind], event_name: str) -> EventKind:
    return names.get(event_name, "other")


# --- Claude Code (and Claude-compatible agents) ---------------------------------------------

_CLAUDE_EVENTS: dict[str, EventKind] = {
    "SessionStart": "session_start",
    "PreToolUse": "pre_tool",
    "PostToolUse": "post_tool",
    "PostToolUseFailure": "post_tool",
    "SessionEnd": "session_end",
}
_FILE_KEYS = ("file_path", "notebook_path", "path")
_CLAUDE_TOOLS: dict[str, tuple[Access, tuple[str, ...]]] = {
    "Read": ("read", ("file_path",)),
    "NotebookRead": ("read", ("notebook_path",)),
    "Glob": ("read", ("path",)),
    "Grep": ("read", ("path",)),
    "LS": ("read", ("path",)),
    "Write": ("write", ("file_path",)),
    "Edit": ("write", ("file_path",)),
    "MultiEdit": ("write", ("file_path",)),
    "NotebookEdit": ("write", ("notebook_path",)),
    "Bash": ("exec", ()),
}


def _claude_result(body: Mapping[str, Any], event_name: str) -> str | None:
    if event_name == "PostToolUseFailure" or body.get("error"):
        return "error"
    response = body.get("tool_response")
    if isinstance(response, Mapping) and (
        response.get("is_error") is True or response.get("success") is False
    ):
        return "error"
    return "ok"


def _claude_tool(
    body: Mapping[str, Any], kind: EventKind, event_name: str, cwd: str | None
) -> ToolCall | None:
    if kind not in ("pre_tool", "post_tool"):
        return None
    name = text(body.get("tool_name"), "tool_name", required=True, limit=256)
    assert name is not None
    if "tool_input" not in body:
        raise EventError("tool_input: required")
    tool_input = _object(body.get("tool_input"), "tool_input")
    access, keys = _CLAUDE_TOOLS.get(name, ("other", _FILE_KEYS))
    if name == "apply_patch":
        return _patch_tool(name, tool_input, _result_of(kind, body, event_name))
    return _tool(name, access, tool_input, keys, cwd, _result_of(kind, body, event_name))


def _result_of(kind: EventKind, body: Mapping[str, Any], event_name: str) -> str | None:
    return _claude_result(body, event_name) if kind == "post_tool" else None


_PATCH_FILE = re.compile(r"^\*\*\* (?:Add|Update|Delete) File: (.+)$", re.MULTILINE)


def _patch_tool(name: str, tool_input: Mapping[str, Any], result: str | None) -> ToolCall:
    """Codex's ``apply_patch``: the files are named inside the patch text."""
    patch = tool_input.get("command") or tool_input.get("input") or tool_input.get("patch") or ""
    if isinstance(patch, list):
        patch = "\n".join(str(part) for part in patch)
    paths = tuple(match.strip() for match in _PATCH_FILE.findall(str(patch)))
    return ToolCall(name=name, access="write", paths=paths, result=result)  # type: ignore[arg-type]


def _common(
    body: Mapping[str, Any], agent: str, repo: str | None, *, session_field: str = "session_id"
) -> dict[str, Any]:
    cwd = text(body.get("cwd"), "cwd")
    return {
        "agent": agent,
        "session_id": session_id(body.get(session_field), session_field),
        "cwd": cwd,
        "repo": repo_name(body.get("repo")) or repo,
    }


def _detail(body: Mapping[str, Any], kind: EventKind) -> str | None:
    key = {"session_start": "source", "session_end": "reason"}.get(kind)
    if key is None:
        return None
    value = body.get(key)
    return value[:64] if isinstance(value, str) else None


def parse_claude(body: Mapping[str, Any], agent: str, repo: str | None) -> AgentEvent:
    """Claude Code's hook JSON (also Codex's and other Claude-compatible agents')."""
    event_name = text(body.get("hook_event_name"), "hook_event_name", required=True, limit=64)
    assert event_name is not None
    kind = _kind(_CLAUDE_EVENTS, event_name)
    common = _common(body, agent, repo)
    return AgentEvent(
        kind=kind,
        event_name=event_name,
        tool=_claude_tool(body, kind, event_name, common["cwd"]),
        detail=_detail(body, kind),
        **common,
    )


def answer_claude(event: AgentEvent, verdict: Verdict | None) -> dict[str, Any]:
    """PreToolUse: ``hookSpecificOutput.permissionDecision``; every other event: ``{}``."""
    if event.kind != "pre_tool" or verdict is None:
        return {}
    return {
        "hookSpecificOutput": {
            "hookEventName": event.event_name,
            "permissionDecision": "allow" if verdict.allow else "deny",
            "permissionDecisionReason": verdict.reason,
        }
    }


def answer_codex(event: AgentEvent, verdict: Verdict | None) -> dict[str, Any]:
    """Codex adopted only *deny*; any other output field would count as a failed hook."""
    if verdict is None or verdict.allow:
        return {}
    return answer_claude(event, verdict)


# --- Gemini CLI -----------------------------------------------------------------------------

_GEMINI_EVENTS: dict[str, EventKind] = {
    "SessionStart": "session_start",
    "BeforeTool": "pre_tool",
    "AfterTool": "post_tool",
    "SessionEnd": "session_end",
}
_GEMINI_TOOLS: dict[str, tuple[Access, tuple[str, ...]]] = {
    "read_file": ("read", ("file_path", "absolute_path")),
    "read_many_files": ("read", ("paths", "include")),
    "list_directory": ("read", ("dir_path", "path")),
    "glob": ("read", ("dir_path", "path")),
    "search_file_content": ("read", ("dir_path", "path")),
    "write_file": ("write", ("file_path", "absolute_path")),
    "replace": ("write", ("file_path", "absolute_path")),
    "run_shell_command": ("exec", ()),
}


def parse_gemini(body: Mapping[str, Any], agent: str, repo: str | None) -> AgentEvent:
    """Gemini CLI's hook JSON."""
    event_name = text(body.get("hook_event_name"), "hook_event_name", required=True, limit=64)
    assert event_name is not None
    kind = _kind(_GEMINI_EVENTS, event_name)
    common = _common(body, agent, repo)
    tool = None
    if kind in ("pre_tool", "post_tool"):
        name = text(body.get("tool_name"), "tool_name", required=True, limit=256)
        assert name is not None
        tool_input = _object(body.get("tool_input"), "tool_input")
        access, keys = _GEMINI_TOOLS.get(name, ("other", _FILE_KEYS))
        result = None
        if kind == "post_tool":
            response = _object(body.get("tool_response"), "tool_response")
            result = "error" if response.get("error") else "ok"
        tool = _tool(name, access, tool_input, keys, common["cwd"], result)
    return AgentEvent(
        kind=kind, event_name=event_name, tool=tool, detail=_detail(body, kind), **common
    )


def answer_gemini(event: AgentEvent, verdict: Verdict | None) -> dict[str, Any]:
    """BeforeTool: ``decision`` allow/deny with the ``reason`` sent to the agent."""
    if event.kind != "pre_tool" or verdict is None:
        return {}
    if verdict.allow:
        return {"decision": "allow"}
    return {"decision": "deny", "reason": verdict.reason}


# --- Cursor ---------------------------------------------------------------------------------

_CURSOR_EVENTS: dict[str, tuple[EventKind, Access | None]] = {
    "sessionStart": ("session_start", None),
    "sessionEnd": ("session_end", None),
    "beforeShellExecution": ("pre_tool", "exec"),
    "beforeReadFile": ("pre_tool", "read"),
    "beforeMCPExecution": ("pre_tool", "other"),
    "afterShellExecution": ("post_tool", "exec"),
    "afterFileEdit": ("post_tool", "write"),
    "afterMCPExecution": ("post_tool", "other"),
}


def parse_cursor(body: Mapping[str, Any], agent: str, repo: str | None) -> AgentEvent:
    """Cursor's hook JSON: the conversation is the session, the first workspace root the cwd."""
    event_name = text(body.get("hook_event_name"), "hook_event_name", required=True, limit=64)
    assert event_name is not None
    kind, access = _CURSOR_EVENTS.get(event_name, ("other", None))
    roots = body.get("workspace_roots")
    root = roots[0] if isinstance(roots, list) and roots and isinstance(roots[0], str) else None
    common = _common(body, agent, repo, session_field="conversation_id")
    common["cwd"] = common["cwd"] or text(root, "workspace_roots")
    tool = None
    if access is not None:
        name = {"exec": "shell", "read": "read_file", "write": "edit_file"}.get(access)
        name = name or text(body.get("tool_name"), "tool_name", required=True, limit=256)
        tool_input = body.get("tool_input") if access == "other" else body
        tool = _tool(
            str(name), access, _object(tool_input, "tool_input"), ("file_path",), None, None
        )
        if kind == "post_tool":
            tool = tool.model_copy(update={"result": "ok"})
    return AgentEvent(kind=kind, event_name=event_name, tool=tool, **common)


def answer_cursor(event: AgentEvent, verdict: Verdict | None) -> dict[str, Any]:
    """Permission events: ``permission`` plus a message for the user and one for the agent."""
    if event.kind != "pre_tool" or verdict is None:
        return {}
    if verdict.allow:
        return {"permission": "allow"}
    return {"permission": "deny", "user_message": verdict.reason, "agent_message": verdict.reason}


# --- GitHub Copilot CLI ---------------------------------------------------------------------

_COPILOT_EVENTS: dict[str, EventKind] = {
    "sessionStart": "session_start",
    "preToolUse": "pre_tool",
    "postToolUse": "post_tool",
    "postToolUseFailure": "post_tool",
    "sessionEnd": "session_end",
}
_COPILOT_TOOLS: dict[str, tuple[Access, tuple[str, ...]]] = {
    "view": ("read", ("path",)),
    "glob": ("read", ("path",)),
    "grep": ("read", ("path",)),
    "create": ("write", ("path",)),
    "edit": ("write", ("path",)),
    "bash": ("exec", ()),
}


def _copilot_args(value: object) -> Mapping[str, Any]:
    """``toolArgs``: an object, or the same object as a JSON string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise EventError("toolArgs: expected a JSON object") from None
    return _object(value, "toolArgs")


def parse_copilot(body: Mapping[str, Any], agent: str, repo: str | None) -> AgentEvent:
    """Copilot CLI's hook JSON: camelCase fields (``sessionId``, ``toolName``, ``toolArgs``);
    the event name comes from ``hook_event_name`` or ``hookEventName``."""
    event_name = text(
        body.get("hook_event_name") or body.get("hookEventName"), "hook_event_name", limit=64
    )
    if event_name is None:
        raise EventError("hook_event_name: required")
    kind = _kind(_COPILOT_EVENTS, event_name)
    field = "sessionId" if "sessionId" in body else "session_id"
    common = _common(body, agent, repo, session_field=field)
    tool = None
    if kind in ("pre_tool", "post_tool"):
        name = text(body.get("toolName"), "toolName", required=True, limit=256)
        access, keys = _COPILOT_TOOLS.get(str(name), ("other", _FILE_KEYS))
        result = None
        if kind == "post_tool":
            result = "error" if event_name == "postToolUseFailure" else "ok"
        tool = _tool(
            str(name), access, _copilot_args(body.get("toolArgs")), keys, common["cwd"], result
        )
    return AgentEvent(kind=kind, event_name=event_name, tool=tool, **common)


def answer_copilot(event: AgentEvent, verdict: Verdict | None) -> dict[str, Any]:
    """preToolUse: ``permissionDecision`` and its reason; nothing for other events."""
    if event.kind != "pre_tool" or verdict is None:
        return {}
    return {
        "permissionDecision": "allow" if verdict.allow else "deny",
        "permissionDecisionReason": verdict.reason,
    }


# --- generic --------------------------------------------------------------------------------

_GENERIC_KINDS: tuple[EventKind, ...] = ("session_start", "pre_tool", "post_tool", "session_end")
_ACCESS: tuple[Access, ...] = ("read", "write", "exec", "other")


def parse_generic(body: Mapping[str, Any], agent: str, repo: str | None) -> AgentEvent:
    """The generic shape for agents without a hook format of their own (module docstring)."""
    kind = body.get("event")
    if kind not in _GENERIC_KINDS:
        raise EventError(f"event: expected one of {', '.join(_GENERIC_KINDS)}")
    common = _common(body, agent, repo)
    tool = None
    if kind in ("pre_tool", "post_tool"):
        spec = _object(body.get("tool"), "tool")
        name = text(spec.get("name"), "tool.name", required=True, limit=256)
        access = spec.get("access", "other")
        if access not in _ACCESS:
            raise EventError(f"tool.access: expected one of {', '.join(_ACCESS)}")
        paths = spec.get("paths", [])
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise EventError("tool.paths: expected a list of strings")
        result = body.get("result", "ok") if kind == "post_tool" else None
        if result not in (None, "ok", "error"):
            raise EventError("result: expected ok or error")
        tool = ToolCall(
            name=str(name),
            access=access,
            paths=tuple(paths),
            command=text(spec.get("command"), "tool.command", limit=65536),
            result=result,
        )
    return AgentEvent(kind=kind, event_name=str(kind), tool=tool, **common)  # type: ignore[arg-type]


def answer_generic(event: AgentEvent, verdict: Verdict | None) -> dict[str, Any]:
    """``{"decision": "allow"|"deny", "reason"}`` for a pre_tool event, else ``{}``."""
    if event.kind != "pre_tool" or verdict is None:
        return {}
    return {"decision": "allow" if verdict.allow else "deny", "reason": verdict.reason}


CLAUDE = Adapter("claude-code", parse_claude, answer_claude)
GENERIC = Adapter("generic", parse_generic, answer_generic)
ADAPTERS: dict[str, Adapter] = {
    "claude-code": CLAUDE,
    "codex": Adapter("codex", parse_claude, answer_codex),
    "gemini-cli": Adapter("gemini-cli", parse_gemini, answer_gemini),
    "cursor": Adapter("cursor", parse_cursor, answer_cursor),
    "copilot-cli": Adapter("copilot-cli", parse_copilot, answer_copilot),
}


def parse_event(
    body: object, *, agent: str | None = None, repo: str | None = None
) -> tuple[AgentEvent, Adapter]:
    """The event in ``body`` and the adapter that answers it.

    ``agent`` and ``repo`` are defaults (e.g. from the hook URL's query) that the body's own
    ``agent`` and ``repo`` fields override.  A body with ``event`` and no ``hook_event_name`` is
    the generic shape; otherwise the agent's adapter reads it (Claude's format when the agent has
    none of its own).
    """
    if not isinstance(body, Mapping):
        raise EventError("body: expected a JSON object")
    name = agent_name(body.get("agent") or agent)
    default_repo = repo_name(repo)
    if "hook_event_name" not in body and "hookEventName" not in body and "event" in body:
        adapter = GENERIC
    else:
        adapter = ADAPTERS.get(name, CLAUDE)
    return adapter.parse(body, name, default_repo), adapter
