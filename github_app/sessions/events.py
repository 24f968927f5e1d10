"""Typed agent hook events, whatever agent sent them (pure).

An :class:`AgentEvent` keeps only what Countersign decides on and records: the event kind, the
session id, the working directory, the repository, and for tool events a :class:`ToolCall` —
tool name, kind of access, target paths and (for a shell command) the command, which is used for
the decision but never recorded in full (only its program name is).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import Literal

from pydantic import Field

from github_app.core.models import Frozen

EventKind = Literal["session_start", "pre_tool", "post_tool", "session_end", "other"]
Access = Literal["read", "write", "exec", "other"]
Result = Literal["ok", "error"]

DEFAULT_AGENT = "claude-code"
MAX_SESSION_ID = 256
MAX_TEXT = 4096
AGENT_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")


class EventError(ValueError):
    """The hook JSON is not an event Countersign accepts; the message names the field."""


class ToolCall(Frozen):
    """One tool call as the decision and the ledger see it."""

    name: str
    access: Access
    paths: tuple[str, ...] = ()  # as the agent gave them (usually absolute)
    command: str | None = None  # shell command: decided on, never recorded
    result: Result | None = None  # post_tool only

    @property
    def program(self) -> str | None:
        """The shell command's program name (``git`` for ``git push --force``)."""
        words = command_words(self.command or "")
        return posixpath.basename(words[0]) if words else None


class AgentEvent(Frozen):
    """One hook event, normalised."""

    agent: str = DEFAULT_AGENT
    kind: EventKind
    event_name: str  # the agent's own name for it, e.g. PreToolUse, BeforeTool
    session_id: str
    cwd: str | None = None
    repo: str | None = None
    tool: ToolCall | None = None
    detail: str | None = Field(default=None, description="SessionStart source / SessionEnd reason")


def command_words(command: str) -> list[str]:
    """Shell words of a command, skipping leading ``VAR=value`` assignments (best effort)."""
    try:
        words = shlex.split(command, comments=False, posix=True)
    except ValueError:
        words = command.split()
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words.pop(0)
    return words


def relative_target(path: str, cwd: str | None) -> str:
    """``path`` relative to the session's directory when inside it, else normalised as is.

    Agents send absolute paths; ``..`` is resolved first so ``/repo/src/../secrets/k`` is seen as
    ``secrets/k``.  A path outside the directory keeps its absolute form.
    """
    base = posixpath.normpath(cwd) if cwd and cwd.startswith("/") else None
    joined = posixpath.join(base, path) if base and not path.startswith("/") else path
    normal = posixpath.normpath(joined) if joined else joined
    if base and (normal == base or normal.startswith(base.rstrip("/") + "/")):
        relative = posixpath.relpath(normal, base)
        return "." if relative == "." else relative
    return normal


def text(value: object, field: str, *, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    """A string field of the hook JSON, checked (no NUL, bounded length)."""
    if value is None or value == "":
        if required:
            raise EventError(f"{field}: required")
        return None
    if not isinstance(value, str):
        raise EventError(f"{field}: expected a string")
    if "\x00" in value or len(value) > limit:
        raise EventError(f"{field}: at most {limit} characters, no NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise EventError(f"{field}: not valid UTF-8") from None
    return value


def session_id(value: object, field: str = "session_id") -> str:
    """The session id: a required, bounded string."""
    checked = text(value, field, required=True, limit=MAX_SESSION_ID)
    assert checked is not None
    return checked


def agent_name(value: object) -> str:
    """The ``agent`` field (default ``claude-code``): a catalogue-style name."""
    name = text(value, "agent", limit=64) or DEFAULT_AGENT
    if not AGENT_NAME.match(name):
        raise EventError("agent: lower-case letters, digits, '.', '_' or '-' (e.g. gemini-cli)")
    return name


def repo_name(value: object) -> str | None:
    """The optional ``repo`` field: ``OWNER/REPO``."""
    name = text(value, "repo", limit=201)
    if name is not None and not REPO_NAME.match(name):
        raise EventError("repo: expected OWNER/REPO")
    return name
