"""Allow or deny one tool call of an agent session (pure).

A ``PreToolUse`` is denied, in this order, when:

1. the session was revoked (the kill switch);
2. agent changes are frozen org-wide or for the session's repository;
3. the tool reads a path a policy rule marks ``agents_may_not_read``, or writes a path marked
   ``agents_forbidden`` or ``agents_may_not_read``.  A shell command is checked word by word:
   any word naming such a path denies it (a command cannot be told apart into reads and writes,
   so both rules apply).  A directory search (Grep/Glob/LS) is denied when the directory lies
   inside a protected one.

Everything else is allowed.  The decision reads no clock and no store: the shell passes the
containment facts it read for this very call, so a revocation takes effect on the next call.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from github_app.core.models import Frozen
from github_app.policy.globs import compile_glob
from github_app.policy.model import PathRule, Policy
from github_app.sessions.events import AgentEvent, ToolCall, command_words, relative_target

# A file name no real path has: a directory is inside a protected tree when this would match.
_PROBE = ".countersign-probe"


class Verdict(Frozen):
    """The answer to one tool call."""

    allow: bool
    reason: str
    rule: str | None = None  # "revoked", "frozen", or the path pattern that denied it
    target: str | None = None  # the repository-relative path that was refused


ALLOW = Verdict(allow=True, reason="allowed by Countersign")


class Containment(Frozen):
    """Containment facts read for this call."""

    revoked: bool = False
    frozen: bool = False
    freeze_reason: str | None = None
    freeze_scope: str | None = None  # a repository, or None for org-wide


def decide(event: AgentEvent, facts: Containment, policy: Policy) -> Verdict:
    """The verdict on ``event`` (a ``pre_tool`` event) under ``facts`` and ``policy``."""
    if facts.revoked:
        return Verdict(
            allow=False,
            reason=f"Countersign: session {event.session_id} was revoked; stop and hand back "
            "to a person",
            rule="revoked",
        )
    if facts.frozen:
        scope = facts.freeze_scope or "the organisation"
        why = f": {facts.freeze_reason}" if facts.freeze_reason else ""
        return Verdict(
            allow=False,
            reason=f"Countersign: agents are frozen in {scope}{why}",
            rule="frozen",
        )
    if event.tool is None:
        return ALLOW
    refused = _refused_path(event.tool, event.cwd, policy.paths)
    if refused is not None:
        target, rule, verb = refused
        return Verdict(
            allow=False,
            reason=f"Countersign: policy forbids agents to {verb} {target} (paths: {rule})",
            rule=rule,
            target=target,
        )
    return ALLOW


def _refused_path(
    tool: ToolCall, cwd: str | None, rules: Iterable[PathRule]
) -> tuple[str, str, str] | None:
    """(target, pattern, verb) of the first protected path this call touches, if any."""
    rules = [rule for rule in rules if rule.agents_forbidden or rule.agents_may_not_read]
    if not rules:
        return None
    for target, directory in _targets(tool, cwd):
        for rule in rules:
            if not _applies(rule, tool):
                continue
            if _matches(rule.pattern, target, directory=directory):
                verb = {"read": "read", "write": "change"}.get(tool.access, "use")
                return target, rule.pattern, verb
    return None


def _applies(rule: PathRule, tool: ToolCall) -> bool:
    """``agents_may_not_read`` keeps agents away entirely; ``agents_forbidden`` stops writes
    (and shell commands, which may write)."""
    if rule.agents_may_not_read:
        return True
    return tool.access in ("write", "exec")


def _targets(tool: ToolCall, cwd: str | None) -> list[tuple[str, bool]]:
    """(repository-relative path, is a directory search) for each thing the call names."""
    if tool.access == "exec":
        words = command_words(tool.command or "")[1:]
        candidates = [word for word in words if not word.startswith("-") or "=" in word]
        paths = [word.split("=", 1)[1] if word.startswith("-") else word for word in candidates]
        # A word may name a directory (tar -C dir, cp -r dir): checked like a directory search.
        return [(relative_target(path, cwd), True) for path in paths if path]
    directory = tool.name in ("Grep", "Glob", "LS", "glob", "search_file_content", "list_directory")
    return [(relative_target(path, cwd), directory) for path in tool.paths]


def _matches(pattern: str, target: str, *, directory: bool) -> bool:
    """Whether ``target`` (or, for a directory search, anything under it) falls under ``pattern``.

    A search of a directory reads everything under it, so it is refused when the directory lies
    inside a protected tree (``secrets`` or ``secrets/x`` under ``secrets/**``).  A search of the
    whole repository is not refused (it would refuse every search); the reads it leads to are.
    """
    path = target.lstrip("/")
    regex = compile_glob(pattern)
    if regex.match(path):
        return True
    if not directory or path in (".", ""):
        return False
    return bool(regex.match(posixpath.join(path, _PROBE)))
