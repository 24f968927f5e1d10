"""``countersign hook claude-code`` as Claude Code runs it: a process, JSON on stdin, exit status.

The command talks to the real App over HTTP (the test server's port), so the whole path — the
standard-library client, the route, the ledger — is exercised.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from tests.sessions.helpers import claude_event, tool_event

READ = tool_event("PreToolUse", "Read", {"file_path": "/home/alice/shop/src/app.py"})


async def run_hook(event: dict | bytes, **env: str) -> tuple[int, str, str]:
    """Run ``python -m github_app hook claude-code`` with ``event`` on stdin."""
    data = event if isinstance(event, bytes) else json.dumps(event).encode()
    keep = {key: os.environ[key] for key in ("PATH", "HOME", "SYSTEMROOT") if key in os.environ}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "github_app",
        "hook",
        "claude-code",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**keep, **env},
    )
    out, err = await process.communicate(data)
    return process.returncode, out.decode(), err.decode()


def hook_env(agent_app) -> dict[str, str]:
    """The hook's environment: the App's URL and the agent token."""
    token = agent_app.agent["Authorization"].removeprefix("Bearer ")
    return {
        "COUNTERSIGN_URL": str(agent_app.client.make_url("")),
        "COUNTERSIGN_AGENT_TOKEN": token,
        "COUNTERSIGN_HOOK_TIMEOUT": "60",  # a loaded test machine is slow, not unreachable
    }


async def test_the_command_hook_allows_records_and_denies_after_revocation(agent_app):
    env = hook_env(agent_app)
    assert (await run_hook(claude_event("SessionStart", source="startup"), **env))[0] == 0
    status, out, _ = await run_hook(READ, **env)
    assert status == 0
    assert json.loads(out)["hookSpecificOutput"]["permissionDecision"] == "allow"
    post = tool_event("PostToolUse", "Read", READ["tool_input"], tool_response={})
    assert (await run_hook(post, **env))[0] == 0
    await agent_app.client.post(
        "/api/v1/sessions/sess-1/revoke", json={"reason": "kill"}, headers=agent_app.admin
    )
    status, out, err = await run_hook(READ, **env)
    assert status == 2, "exit 2 is what blocks the tool in Claude Code"
    assert "revoked" in err and out == ""
    assert (await run_hook(claude_event("SessionEnd", reason="other"), **env))[0] == 0
    assert agent_app.kinds() == [
        "session_started",
        "session_revoked",
        "operation_denied",
        "agent_operation",
        "session_ended",
    ]
    assert agent_app.entries("session_started")[0].launched_by == "alice-dev"


async def test_the_repo_comes_from_the_environment(agent_app):
    await agent_app.client.post(
        "/api/v1/freeze", json={"reason": "i-9", "repo": "acme/shop"}, headers=agent_app.admin
    )
    env = hook_env(agent_app)
    assert (await run_hook(READ, **env))[0] == 0
    status, _, err = await run_hook(READ, **env, COUNTERSIGN_REPO="acme/shop")
    assert status == 2 and "frozen" in err


async def test_an_unreachable_server_denies_unless_told_to_fail_open():
    env = {"COUNTERSIGN_URL": "http://127.0.0.1:9", "COUNTERSIGN_AGENT_TOKEN": "cs_" + "a" * 43}
    status, _, err = await run_hook(READ, **env)
    assert status == 2 and "unreachable" in err and "fail closed" in err
    status, _, err = await run_hook(READ, **env, COUNTERSIGN_HOOK_FAIL_OPEN="1")
    assert status == 0 and "COUNTERSIGN_HOOK_FAIL_OPEN" in err


async def test_a_refused_token_or_missing_settings_deny(agent_app):
    env = hook_env(agent_app) | {"COUNTERSIGN_AGENT_TOKEN": "cs_" + "b" * 43}
    status, _, err = await run_hook(READ, **env)
    assert status == 2 and "401" in err
    status, _, err = await run_hook(READ)
    assert status == 2 and "COUNTERSIGN_URL" in err
    status, _, err = await run_hook(b"not json", **hook_env(agent_app))
    assert status == 2 and "not JSON" in err
    assert agent_app.kinds() == []
