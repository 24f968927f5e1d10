"""The console's session page tells an agent session from launch to completion: a session driven
through the agent endpoint, then read at ``/console/sessions/{id}`` by a signed-in auditor."""

from __future__ import annotations

import re

from github_app.policy.model import PathRule, Policy
from tests.console.conftest import sign_in
from tests.sessions.helpers import AGENT_TOKEN_NAME, LAUNCHER, claude_event, tool_event


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_the_session_page_shows_launch_operations_denials_and_end(agent_app):
    agent_app.harness.services.default_policy = Policy(
        paths=(PathRule(pattern="secrets/**", agents_may_not_read=True),)
    )
    await agent_app.post(claude_event("SessionStart", source="startup"), query="?repo=acme/shop")
    read = {"file_path": "/home/alice/shop/src/app.py"}
    for _ in range(2):
        await agent_app.post(tool_event("PostToolUse", "Read", read, tool_response={}))
    denied = tool_event("PreToolUse", "Bash", {"command": "cat secrets/prod.env"})
    assert (await agent_app.post(denied))[1]["hookSpecificOutput"]["permissionDecision"] == "deny"
    await agent_app.post(claude_event("SessionEnd", reason="prompt_input_exit"))

    client = agent_app.client
    assert (await sign_in(client, agent_app.auditor)).status in (302, 303)
    response = await client.get("/console/sessions/sess-1")
    assert response.status == 200
    text = _text(await response.text())
    assert "From launch to completion" in text
    assert f"by {LAUNCHER} (attested by agent token {AGENT_TOKEN_NAME})" in text
    assert "claude-code in acme/shop" in text
    assert "Operations 2 (Read 2)" in text and "src/app.py" in text
    assert "Denials 1" in text and "secrets/prod.env" in text and "policy forbids" in text
    assert "(prompt_input_exit)" in text
    assert "cat secrets" not in text, "never the full command"
