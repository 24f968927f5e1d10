"""``POST /api/v1/agent/events`` driven with Claude Code's hook payloads, end to end."""

from __future__ import annotations

import json

import pytest

from github_app.policy.model import PathRule, Policy
from github_app.sessions.records import OPERATIONS_PER_ENTRY
from github_app.state.agent_sessions import AgentSessions
from tests.sessions.helpers import (
    AGENT_TOKEN_NAME,
    EVENTS,
    LAUNCHER,
    claude_event,
    tool_event,
)

READ_ENV = tool_event("PreToolUse", "Read", {"file_path": "/home/alice/shop/src/app.py"})


def _decision(body: dict) -> tuple[str, str]:
    output = body["hookSpecificOutput"]
    assert output["hookEventName"] == "PreToolUse"
    return output["permissionDecision"], output["permissionDecisionReason"]


async def test_a_session_from_launch_to_end_lands_in_the_ledger(agent_app):
    status, body = await agent_app.post(claude_event("SessionStart", source="startup"))
    assert (status, body) == (200, {})
    status, body = await agent_app.post(READ_ENV)
    assert status == 200 and _decision(body)[0] == "allow"
    operations = [
        ("Read", {"file_path": "/home/alice/shop/src/app.py"}, {"file": {"content": "SECRET"}}),
        (
            "Edit",
            {"file_path": "/home/alice/shop/src/app.py", "old_string": "a", "new_string": "b"},
            {"success": True},
        ),
        (
            "Bash",
            {"command": "PGPASSWORD=hunter2 psql -c 'select 1'", "description": "query"},
            {"stdout": "1", "stderr": "", "interrupted": False},
        ),
    ]
    for tool, tool_input, response in operations:
        status, body = await agent_app.post(
            tool_event("PostToolUse", tool, tool_input, tool_response=response)
        )
        assert (status, body) == (200, {})
    assert agent_app.kinds() == ["session_started"], "operations wait in the durable buffer"
    status, body = await agent_app.post(claude_event("SessionEnd", reason="prompt_input_exit"))
    assert (status, body) == (200, {})

    assert agent_app.kinds() == ["session_started", "agent_operation", "session_ended"]
    for entry in agent_app.ledger.entries():
        assert (entry.session_id, entry.launched_by, entry.actor, entry.agent) == (
            "sess-1",
            LAUNCHER,
            AGENT_TOKEN_NAME,
            "claude-code",
        )
    started = agent_app.entries("session_started")[0]
    assert started.data["cwd"] == "/home/alice/shop" and started.data["source"] == "startup"
    recorded = agent_app.entries("agent_operation")[0].data
    assert recorded["count"] == 3
    assert [(op["tool"], op["target"], op["result"]) for op in recorded["operations"]] == [
        ("Read", "src/app.py", "ok"),
        ("Edit", "src/app.py", "ok"),
        ("Bash", "psql", "ok"),
    ]
    everything = json.dumps([entry.data for entry in agent_app.ledger.entries()])
    assert (
        "SECRET" not in everything and "hunter2" not in everything and "select 1" not in everything
    )
    assert agent_app.entries("session_ended")[0].data["reason"] == "prompt_input_exit"


async def test_a_busy_agent_writes_one_entry_per_group_and_loses_nothing(agent_app):
    total = OPERATIONS_PER_ENTRY * 2 + 7
    for index in range(total):
        event = tool_event("PostToolUse", "Read", {"file_path": f"/home/alice/shop/f{index}.py"})
        status, _ = await agent_app.post(event)
        assert status == 200
    # Each operation was durable before its 200; a full group is moved to the ledger after the
    # answer of its fiftieth operation.
    # Whenever one looks, every operation is in the ledger or in the buffer, never both.
    waiting = AgentSessions(agent_app.harness.services.db, agent_app.ledger).pending("sess-1")[0]
    written = sum(entry.data["count"] for entry in agent_app.entries("agent_operation"))
    assert written + waiting == total
    await agent_app.settle()
    assert len(agent_app.entries("agent_operation")) == 2
    await agent_app.post(claude_event("SessionEnd", reason="other"))
    groups = agent_app.entries("agent_operation")
    assert [group.data["count"] for group in groups] == [
        OPERATIONS_PER_ENTRY,
        OPERATIONS_PER_ENTRY,
        7,
    ]
    targets = [op["target"] for group in groups for op in group.data["operations"]]
    assert targets == [f"f{index}.py" for index in range(total)], "every one, once, in order"
    assert agent_app.kinds()[-1] == "session_ended"


async def test_buffered_operations_are_written_at_shutdown(agent_app):
    await agent_app.post(tool_event("PostToolUse", "Read", {"file_path": "/home/alice/shop/a"}))
    assert agent_app.entries("agent_operation") == []
    await agent_app.harness.services.close()
    assert [entry.data["count"] for entry in agent_app.entries("agent_operation")] == [1]
    sessions = AgentSessions(agent_app.harness.services.db, agent_app.ledger)
    assert sessions.sessions_waiting() == []


async def test_a_revoked_session_is_denied_on_its_next_tool_call(agent_app):
    await agent_app.post(claude_event("SessionStart", source="startup"))
    assert _decision((await agent_app.post(READ_ENV))[1])[0] == "allow"
    revoke = await agent_app.client.post(
        "/api/v1/sessions/sess-1/revoke", json={"reason": "leaked key"}, headers=agent_app.admin
    )
    assert revoke.status == 200
    status, body = await agent_app.post(READ_ENV)
    decision, reason = _decision(body)
    assert (status, decision) == (200, "deny") and "revoked" in reason
    denied = agent_app.entries("operation_denied")
    assert len(denied) == 1
    assert denied[0].data["rule"] == "revoked" and denied[0].launched_by == LAUNCHER
    assert denied[0].data["target"] == "src/app.py"
    other = tool_event("PreToolUse", "Read", {"file_path": "/x/y"}, session="sess-2")
    assert _decision((await agent_app.post(other))[1])[0] == "allow", "other sessions go on"


async def test_a_freeze_denies_agents_org_wide_or_in_one_repository(agent_app):
    frozen = await agent_app.client.post(
        "/api/v1/freeze",
        json={"reason": "incident 7", "repo": "acme/shop"},
        headers=agent_app.admin,
    )
    assert frozen.status == 200
    in_repo = await agent_app.post(READ_ENV, query="?repo=acme/shop")
    decision, reason = _decision(in_repo[1])
    assert decision == "deny" and "acme/shop" in reason and "incident 7" in reason
    elsewhere = await agent_app.post({**READ_ENV, "repo": "acme/other"})
    assert _decision(elsewhere[1])[0] == "allow"
    await agent_app.client.post(
        "/api/v1/freeze", json={"reason": "everything"}, headers=agent_app.admin
    )
    assert _decision((await agent_app.post(READ_ENV))[1])[0] == "deny"
    assert [e.data["rule"] for e in agent_app.entries("operation_denied")] == ["frozen", "frozen"]


@pytest.mark.parametrize(
    ("tool", "tool_input", "decision"),
    [
        ("Read", {"file_path": "/home/alice/shop/customer-data/cards.csv"}, "deny"),
        ("Read", {"file_path": "/home/alice/shop/src/../customer-data/cards.csv"}, "deny"),
        ("Grep", {"pattern": "visa", "path": "/home/alice/shop/customer-data"}, "deny"),
        ("Bash", {"command": "cat customer-data/cards.csv"}, "deny"),
        ("Read", {"file_path": "/home/alice/shop/secrets/prod.env"}, "allow"),
        ("Write", {"file_path": "/home/alice/shop/secrets/prod.env", "content": "x"}, "deny"),
        ("Edit", {"file_path": "/home/alice/shop/src/app.py", "old_string": "a"}, "allow"),
        ("Grep", {"pattern": "visa"}, "allow"),
    ],
)
async def test_paths_the_policy_forbids_to_agents_are_denied(agent_app, tool, tool_input, decision):
    agent_app.harness.services.default_policy = Policy(
        paths=(
            PathRule(pattern="customer-data/**", agents_may_not_read=True),
            PathRule(pattern="secrets/**", agents_forbidden=True),
        )
    )
    status, body = await agent_app.post(tool_event("PreToolUse", tool, tool_input))
    assert status == 200 and _decision(body)[0] == decision
    denied = agent_app.entries("operation_denied")
    assert len(denied) == (1 if decision == "deny" else 0)
    if denied:
        assert denied[0].data["rule"] in ("customer-data/**", "secrets/**")
        assert "cat customer-data" not in json.dumps(denied[0].data), "never the full command"
        assert denied[0].data["refused_target"].startswith(("customer-data", "secrets/"))


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "body: expected a JSON object"),
        (b"[1, 2]", "body: expected a JSON object"),
        (json.dumps({"hook_event_name": "PreToolUse"}).encode(), "session_id: required"),
        (json.dumps({"session_id": "s"}).encode(), "hook_event_name: required"),
        (
            json.dumps({"hook_event_name": "PreToolUse", "session_id": "s"}).encode(),
            "tool_name: required",
        ),
        (
            json.dumps(
                {"hook_event_name": "SessionStart", "session_id": "s", "repo": "no-slash"}
            ).encode(),
            "repo: expected OWNER/REPO",
        ),
    ],
)
async def test_bad_events_get_one_line_400_and_record_nothing(agent_app, body, error):
    response = await agent_app.client.post(EVENTS, data=body, headers=agent_app.agent)
    assert response.status == 400
    assert (await response.json()) == {"error": error}
    assert agent_app.kinds() == []


async def test_only_agent_tokens_post_events_and_agent_tokens_read_nothing(agent_app):
    event = claude_event("SessionStart")
    assert (await agent_app.post(event, headers={}))[0] == 401
    assert (await agent_app.post(event, headers={"Authorization": "Bearer cs_" + "x" * 43}))[
        0
    ] == 401
    assert (await agent_app.post(event, headers=agent_app.auditor))[0] == 403
    assert (await agent_app.post(event, headers=agent_app.admin))[0] == 403
    for path in ("/api/v1/evidence", "/api/v1/sessions/sess-1", "/api/v1/changes"):
        response = await agent_app.client.get(path, headers=agent_app.agent)
        assert response.status == 403, path
    revoke = await agent_app.client.post(
        "/api/v1/sessions/sess-1/revoke", json={"reason": "x"}, headers=agent_app.agent
    )
    assert revoke.status == 403
    assert agent_app.kinds() == []


async def test_other_claude_events_are_accepted_and_ignored(agent_app):
    for name in ("UserPromptSubmit", "Stop", "Notification"):
        status, body = await agent_app.post(claude_event(name, prompt="hello"))
        assert (status, body) == (200, {})
    assert agent_app.kinds() == []


async def test_gemini_cli_events_are_read_and_answered_in_its_format(agent_app):
    agent_app.harness.services.default_policy = Policy(
        paths=(PathRule(pattern="customer-data/**", agents_may_not_read=True),)
    )
    base = {"session_id": "gem-1", "cwd": "/w", "timestamp": "2026-11-30T10:00:00Z"}
    status, body = await agent_app.post(
        {**base, "hook_event_name": "SessionStart", "source": "startup"}, query="?agent=gemini-cli"
    )
    assert (status, body) == (200, {})
    before = {
        **base,
        "hook_event_name": "BeforeTool",
        "tool_name": "read_file",
        "tool_input": {"file_path": "/w/customer-data/a.csv"},
    }
    status, body = await agent_app.post(before, query="?agent=gemini-cli")
    assert status == 200 and body["decision"] == "deny" and "customer-data" in body["reason"]
    before["tool_input"] = {"file_path": "/w/README.md"}
    assert (await agent_app.post(before, query="?agent=gemini-cli"))[1] == {"decision": "allow"}
    after = {**before, "hook_event_name": "AfterTool", "tool_response": {"llmContent": "x"}}
    await agent_app.post(after, query="?agent=gemini-cli")
    await agent_app.post(
        {**base, "hook_event_name": "SessionEnd", "reason": "exit"}, query="?agent=gemini-cli"
    )
    assert agent_app.kinds() == [
        "session_started",
        "operation_denied",
        "agent_operation",
        "session_ended",
    ]
    assert {entry.agent for entry in agent_app.ledger.entries()} == {"gemini-cli"}
    operation = agent_app.entries("agent_operation")[0].data["operations"][0]
    assert (operation["tool"], operation["access"], operation["target"]) == (
        "read_file",
        "read",
        "README.md",
    )


async def test_the_generic_shape_serves_agents_without_a_hook_format(agent_app):
    event = {
        "agent": "acme-bot",
        "event": "pre_tool",
        "session_id": "bot-9",
        "cwd": "/srv/repo",
        "tool": {"name": "shell", "access": "exec", "command": "make deploy"},
    }
    status, body = await agent_app.post(event)
    assert (status, body) == (200, {"decision": "allow", "reason": "allowed by Countersign"})
    event.update(event="post_tool", result="error")
    assert (await agent_app.post(event))[0] == 200
    await agent_app.post({"agent": "acme-bot", "event": "session_end", "session_id": "bot-9"})
    operation = agent_app.entries("agent_operation")[0]
    assert operation.agent == "acme-bot"
    assert operation.data["operations"][0]["target"] == "make"
    assert operation.data["operations"][0]["result"] == "error"
    bad = {"agent": "acme-bot", "event": "explode", "session_id": "bot-9"}
    assert (await agent_app.post(bad))[0] == 400


async def test_every_agent_call_is_in_the_access_log_refused_ones_included(agent_app):

    import sqlalchemy as sa

    from github_app.store.tables import access_log

    await agent_app.post(READ_ENV)
    await agent_app.post(tool_event("PostToolUse", "Read", {"file_path": "/a"}))
    await agent_app.post(claude_event("SessionStart"), headers={})
    await agent_app.post(claude_event("SessionStart"), headers=agent_app.auditor)
    await agent_app.settle()  # the PreToolUse row follows its answer
    with agent_app.harness.services.db.connect() as conn:
        rows = conn.execute(
            sa.select(access_log.c.token_name, access_log.c.status, access_log.c.path).where(
                access_log.c.path == EVENTS
            )
        ).all()
    assert sorted((str(name), status) for name, status, _ in rows) == sorted(
        [(AGENT_TOKEN_NAME, 200), (AGENT_TOKEN_NAME, 200), ("None", 401), ("audit-firm", 403)]
    )
