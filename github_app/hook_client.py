"""The agent-side hook commands, on a standard-library-only path that starts fast.

``countersign hook claude-code`` runs on every tool call of an agent, and ``countersign hook
git-trailers`` on every commit, so neither may pay for importing the App (pydantic, SQLAlchemy,
click…).  The ``countersign`` entry point (:func:`github_app.__main__.console_main`) serves
these two straight from :func:`run_fast` and hands every other command to the click group.

``hook claude-code`` (a Claude Code *command* hook): reads the hook JSON on stdin, POSTs it to
``$COUNTERSIGN_URL/api/v1/agent/events`` with ``$COUNTERSIGN_AGENT_TOKEN`` (and
``$COUNTERSIGN_REPO`` as ``repo`` when the JSON has none), and answers as Claude Code expects: a
denied PreToolUse exits 2 with the reason on stderr; an allowed one prints the server's JSON.
Anything that goes wrong — no URL or token, server unreachable, timeout, non-200 answer,
unreadable reply — denies (exit 2), unless ``COUNTERSIGN_HOOK_FAIL_OPEN=1``.

``hook git-trailers MSG_FILE [SOURCE [SHA]]`` (a ``prepare-commit-msg`` git hook): stamps
``Agent-Session-Id`` (from ``CLAUDE_CODE_SESSION_ID``, ``COUNTERSIGN_SESSION_ID``…) and
``Agent-Launched-By`` (``COUNTERSIGN_LAUNCHED_BY``) with ``git interpret-trailers``, never twice.
Outside an agent session (no session id in the environment) it leaves the message alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import IO

EVENTS_PATH = "/api/v1/agent/events"
DEFAULT_TIMEOUT_SECONDS = 5.0
MAX_STDIN_BYTES = 8 * 1024 * 1024
DENY_EXIT = 2  # the only exit status Claude Code treats as "block"
# Where agents put their session id, most specific first.
SESSION_ENV = (
    "COUNTERSIGN_SESSION_ID",
    "CLAUDE_CODE_SESSION_ID",
    "CLAUDE_SESSION_ID",
    "GEMINI_SESSION_ID",
    "CODEX_SESSION_ID",
)
LAUNCHER_ENV = ("COUNTERSIGN_LAUNCHED_BY",)


class HookFailure(Exception):
    """The decision could not be obtained; the message says why."""


def _post(url: str, token: str, body: bytes, timeout: float) -> dict:
    if not url.startswith(("https://", "http://")):
        raise HookFailure(f"COUNTERSIGN_URL must be an http(s) URL, not {url!r}")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked just above
        url,
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            payload = response.read(MAX_STDIN_BYTES)
    except urllib.error.HTTPError as error:
        detail = error.read(500).decode("utf-8", "replace").strip()
        raise HookFailure(f"Countersign answered {error.code}: {detail}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise HookFailure(f"Countersign is unreachable at {url}: {reason}") from None
    try:
        answer = json.loads(payload or b"{}")
    except ValueError:
        raise HookFailure("Countersign sent a reply that is not JSON") from None
    if not isinstance(answer, dict):
        raise HookFailure("Countersign sent a reply that is not a JSON object")
    return answer


def _event_body(raw: bytes, env: Mapping[str, str]) -> tuple[bytes, str]:
    """The body to post (with ``repo`` from the environment) and the event's name."""
    try:
        event = json.loads(raw)
    except ValueError:
        raise HookFailure("the hook input on stdin is not JSON") from None
    if not isinstance(event, dict):
        raise HookFailure("the hook input on stdin is not a JSON object")
    if env.get("COUNTERSIGN_REPO") and not event.get("repo"):
        event["repo"] = env["COUNTERSIGN_REPO"]
    return json.dumps(event).encode("utf-8"), str(event.get("hook_event_name", ""))


def claude_code_hook(
    stdin: IO[bytes], stdout: IO[str], stderr: IO[str], env: Mapping[str, str]
) -> int:
    """Run one Claude Code command hook; returns the exit status."""
    fail_open = env.get("COUNTERSIGN_HOOK_FAIL_OPEN") == "1"
    try:
        url, token = env.get("COUNTERSIGN_URL"), env.get("COUNTERSIGN_AGENT_TOKEN")
        if not url or not token:
            raise HookFailure("COUNTERSIGN_URL and COUNTERSIGN_AGENT_TOKEN must be set")
        body, event_name = _event_body(stdin.read(MAX_STDIN_BYTES), env)
        timeout = float(env.get("COUNTERSIGN_HOOK_TIMEOUT") or DEFAULT_TIMEOUT_SECONDS)
        answer = _post(url.rstrip("/") + EVENTS_PATH, token, body, timeout)
    except HookFailure as failure:
        if fail_open:
            stderr.write(f"countersign: {failure}; allowed (COUNTERSIGN_HOOK_FAIL_OPEN=1)\n")
            return 0
        stderr.write(f"countersign: {failure}; denied (fail closed)\n")
        return DENY_EXIT
    decision = answer.get("hookSpecificOutput") or {}
    if decision.get("permissionDecision") == "deny":
        stderr.write(
            str(decision.get("permissionDecisionReason") or "denied by Countersign") + "\n"
        )
        return DENY_EXIT
    if event_name == "PreToolUse" and decision.get("permissionDecision") != "allow":
        if fail_open:
            return 0
        stderr.write("countersign: the server gave no decision; denied (fail closed)\n")
        return DENY_EXIT
    if answer:
        stdout.write(json.dumps(answer) + "\n")
    return 0


def _first(env: Mapping[str, str], names: Sequence[str]) -> str | None:
    return next((env[name].strip() for name in names if env.get(name, "").strip()), None)


def git_trailers(argv: Sequence[str], stderr: IO[str], env: Mapping[str, str]) -> int:
    """Stamp the session trailers into a commit message file (prepare-commit-msg)."""
    if not argv:
        stderr.write("usage: countersign hook git-trailers MSG_FILE [SOURCE [SHA]]\n")
        return 2
    message_file, source = argv[0], (argv[1] if len(argv) > 1 else "")
    session = _first(env, SESSION_ENV)
    if session is None or source == "merge":
        return 0  # not an agent session (or git's own merge message): nothing to stamp
    trailers = [f"Agent-Session-Id: {session}"]
    launcher = _first(env, LAUNCHER_ENV)
    if launcher:
        trailers.append(f"Agent-Launched-By: {launcher.lstrip('@')}")
    command = ["git", "interpret-trailers", "--in-place", "--if-exists", "doNothing"]
    for trailer in trailers:
        command += ["--trailer", trailer]
    try:
        subprocess.run([*command, message_file], check=True, capture_output=True)  # noqa: S603
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", b"") or b""
        stderr.write(f"countersign: cannot stamp trailers: {detail.decode().strip() or error}\n")
        return 1
    return 0


def run_fast(args: Sequence[str]) -> int | None:
    """Serve ``hook claude-code`` / ``hook git-trailers``; None for any other command."""
    if len(args) >= 2 and args[0] == "hook" and args[1] == "claude-code" and len(args) == 2:
        return claude_code_hook(sys.stdin.buffer, sys.stdout, sys.stderr, os.environ)
    if len(args) >= 2 and args[0] == "hook" and args[1] == "git-trailers":
        if any(arg in ("-h", "--help") for arg in args[2:]):
            return None
        return git_trailers(args[2:], sys.stderr, os.environ)
    return None
