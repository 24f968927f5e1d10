"""The Claude Code ``settings.json`` block that sends every session through Countersign (pure).

Two forms, both failing *closed*:

* ``command`` (default): ``countersign hook claude-code`` on SessionStart, PreToolUse,
  PostToolUse and SessionEnd.  It denies (exit 2) when Countersign cannot be reached.
* ``http``: Claude Code POSTs the event to ``/api/v1/agent/events`` itself, with the agent token
  from ``$COUNTERSIGN_AGENT_TOKEN`` and ``"onFailure": "block"`` (Claude Code v2.1.295+; without
  it an HTTP hook fails open on a timeout, a connection error or a non-2xx answer).

Install it in the *managed* settings so developers cannot remove it — Linux
``/etc/claude-code/managed-settings.json``, macOS ``/Library/Application Support/ClaudeCode/
managed-settings.json``, Windows ``C:\\Program Files\\ClaudeCode\\managed-settings.json`` (or the
claude.ai console / MDM) — with ``allowManagedHooksOnly: true``, and for the HTTP form
``allowedHttpHookUrls`` listing the Countersign URL.
"""

from __future__ import annotations

import copy
from typing import Any, Literal
from urllib.parse import quote

HookForm = Literal["command", "http"]
HOOK_EVENTS = ("SessionStart", "PreToolUse", "PostToolUse", "SessionEnd")
TOOL_EVENTS = ("PreToolUse", "PostToolUse")
COMMAND = "countersign hook claude-code"
TOKEN_VARIABLE = "COUNTERSIGN_AGENT_TOKEN"  # noqa: S105 - a variable name, not a secret
HTTP_TIMEOUT_SECONDS = 10
MANAGED_SETTINGS_PATHS = {
    "linux": "/etc/claude-code/managed-settings.json",
    "macos": "/Library/Application Support/ClaudeCode/managed-settings.json",
    "windows": "C:\\Program Files\\ClaudeCode\\managed-settings.json",
}


def _handler(form: HookForm, url: str | None, repo: str | None) -> dict[str, Any]:
    if form == "command":
        return {"type": "command", "command": COMMAND}
    if not url:
        raise ValueError("the http form needs the Countersign URL (--url)")
    endpoint = url.rstrip("/") + "/api/v1/agent/events"
    if repo:
        endpoint += "?repo=" + quote(repo, safe="/")
    return {
        "type": "http",
        "url": endpoint,
        "headers": {"Authorization": f"Bearer ${TOKEN_VARIABLE}"},
        "allowedEnvVars": [TOKEN_VARIABLE],
        "timeout": HTTP_TIMEOUT_SECONDS,
        "onFailure": "block",
    }


def settings_block(
    form: HookForm = "command", *, url: str | None = None, repo: str | None = None
) -> dict[str, Any]:
    """The settings keys to install: the hooks, and the managed-only switches."""
    handler = _handler(form, url, repo)
    hooks: dict[str, list[dict[str, Any]]] = {}
    for event in HOOK_EVENTS:
        group: dict[str, Any] = {"hooks": [handler]}
        if event in TOOL_EVENTS:
            group = {"matcher": "*", **group}
        hooks[event] = [group]
    block: dict[str, Any] = {"hooks": hooks, "allowManagedHooksOnly": True}
    if form == "http" and url:
        block["allowedHttpHookUrls"] = [url.rstrip("/") + "/api/v1/agent/events*"]
    return block


def merge_settings(existing: dict[str, Any], block: dict[str, Any]) -> dict[str, Any]:
    """``existing`` settings with ``block`` merged in: hook groups added once (merging twice
    changes nothing), other hooks and keys kept, allow-lists extended."""
    merged = copy.deepcopy(existing)
    hooks = merged.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise ValueError("the settings file's 'hooks' is not an object")
    for event, groups in block["hooks"].items():
        present = hooks.setdefault(event, [])
        if not isinstance(present, list):
            raise ValueError(f"the settings file's hooks.{event} is not a list")
        present.extend(group for group in groups if group not in present)
    for key, value in block.items():
        if key == "hooks":
            continue
        if isinstance(value, list):
            current = merged.setdefault(key, [])
            current.extend(item for item in value if item not in current)
        else:
            merged[key] = value
    return merged
