"""The pure core of agent sessions: parsing, decisions, records and attestation, by table."""

from __future__ import annotations

import pytest

from github_app.core.models import Attribution
from github_app.policy.model import PathRule, Policy, Session
from github_app.sessions.adapters import parse_event
from github_app.sessions.attestation import AttestedSession, apply_attestation
from github_app.sessions.decision import Containment, decide
from github_app.sessions.events import EventError, relative_target
from github_app.sessions.settings import merge_settings, settings_block

POLICY = Policy(
    paths=(
        PathRule(pattern="customer-data/**", agents_may_not_read=True),
        PathRule(pattern="secrets/**", agents_forbidden=True),
        PathRule(pattern="*.pem", agents_may_not_read=True),
    )
)


def claude(tool: str, tool_input: dict, **extra) -> dict:
    return {
        "hook_event_name": "PreToolUse",
        "session_id": "s",
        "cwd": "/repo",
        "tool_name": tool,
        "tool_input": tool_input,
        **extra,
    }


@pytest.mark.parametrize(
    ("path", "cwd", "expected"),
    [
        ("/repo/src/a.py", "/repo", "src/a.py"),
        ("/repo/src/../secrets/k", "/repo", "secrets/k"),
        ("src/a.py", "/repo", "src/a.py"),
        ("/etc/passwd", "/repo", "/etc/passwd"),
        ("/repository/x", "/repo", "/repository/x"),
        ("/repo", "/repo", "."),
        ("/a/b", None, "/a/b"),
    ],
)
def test_targets_are_relative_to_the_session_directory(path, cwd, expected):
    assert relative_target(path, cwd) == expected


@pytest.mark.parametrize(
    ("body", "decision", "rule"),
    [
        (claude("Read", {"file_path": "/repo/customer-data/x.csv"}), "deny", "customer-data/**"),
        (claude("Read", {"file_path": "/repo/keys/prod.pem"}), "deny", "*.pem"),
        (claude("Read", {"file_path": "/repo/secrets/a"}), "allow", None),
        (claude("Edit", {"file_path": "/repo/secrets/a"}), "deny", "secrets/**"),
        (claude("MultiEdit", {"file_path": "/repo/customer-data/x"}), "deny", "customer-data/**"),
        (claude("Bash", {"command": "cp secrets/a /tmp/"}), "deny", "secrets/**"),
        (claude("Bash", {"command": "grep -r visa --include=*.py src"}), "allow", None),
        (claude("Bash", {"command": "tar czf out.tgz --directory=customer-data ."}), "deny", None),
        (claude("Glob", {"pattern": "**/*.csv", "path": "/repo/customer-data/2026"}), "deny", None),
        (claude("Glob", {"pattern": "**/*.csv"}), "allow", None),
        (claude("WebFetch", {"url": "https://example.com", "prompt": "x"}), "allow", None),
        (claude("mcp__files__read", {"path": "/repo/customer-data/x"}), "deny", None),
    ],
)
def test_path_rules_decide_tool_calls(body, decision, rule):
    event, _ = parse_event(body)
    verdict = decide(event, Containment(), POLICY)
    assert ("allow" if verdict.allow else "deny") == decision
    if rule:
        assert verdict.rule == rule


def test_revocation_wins_over_a_freeze_and_a_freeze_over_paths():
    event, _ = parse_event(claude("Read", {"file_path": "/repo/customer-data/x"}))
    revoked = decide(event, Containment(revoked=True, frozen=True), POLICY)
    assert (revoked.allow, revoked.rule) == (False, "revoked")
    frozen = decide(event, Containment(frozen=True, freeze_reason="i-1"), POLICY)
    assert (frozen.rule, "the organisation" in frozen.reason) == ("frozen", True)


def test_codex_apply_patch_names_its_files_and_allow_is_empty():
    patch = "*** Begin Patch\n*** Update File: secrets/a.txt\n@@\n-x\n+y\n*** End Patch\n"
    event, adapter = parse_event(claude("apply_patch", {"command": patch}), agent="codex")
    assert event.tool.paths == ("secrets/a.txt",) and event.tool.access == "write"
    verdict = decide(event, Containment(), POLICY)
    assert not verdict.allow
    assert adapter.answer(event, verdict)["hookSpecificOutput"]["permissionDecision"] == "deny"
    allowed = decide(event, Containment(), Policy())
    assert adapter.answer(event, allowed) == {}


def test_cursor_events_use_the_conversation_and_answer_with_permission():
    body = {
        "hook_event_name": "beforeReadFile",
        "conversation_id": "conv-1",
        "generation_id": "g",
        "workspace_roots": ["/repo"],
        "file_path": "/repo/customer-data/x.csv",
        "content": "…",
    }
    event, adapter = parse_event(body, agent="cursor")
    assert (event.session_id, event.cwd, event.kind) == ("conv-1", "/repo", "pre_tool")
    answer = adapter.answer(event, decide(event, Containment(), POLICY))
    assert answer["permission"] == "deny" and "customer-data" in answer["agent_message"]
    shell = {**body, "hook_event_name": "beforeShellExecution", "command": "ls", "cwd": "/repo"}
    event, adapter = parse_event(shell, agent="cursor")
    assert adapter.answer(event, decide(event, Containment(), POLICY)) == {"permission": "allow"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"hook_event_name": "PreToolUse", "session_id": 7}, "session_id: expected a string"),
        ({"hook_event_name": "PreToolUse", "session_id": "s\x00"}, "session_id: at most"),
        (
            {"hook_event_name": "PreToolUse", "session_id": "s", "tool_name": "Read"},
            "tool_input: required",
        ),
        (
            {
                "hook_event_name": "PostToolUse",
                "session_id": "s",
                "tool_name": "R",
                "tool_input": 3,
            },
            "tool_input: expected a JSON object",
        ),
        ({"hook_event_name": "SessionStart", "session_id": "s", "agent": "Bad Name"}, "agent:"),
        ({"hook_event_name": "SessionStart", "session_id": "x" * 300}, "session_id: at most"),
    ],
)
def test_malformed_events_are_refused_with_the_field_named(body, message):
    with pytest.raises(EventError, match=message.replace("(", r"\(")):
        parse_event(body)


def _attribution(**fields) -> Attribution:
    return Attribution(is_agent=True, agent="claude-code", session_id="sess-42", **fields)


def test_an_attested_launcher_replaces_the_trailer_and_both_are_excluded():
    attested = {"sess-42": AttestedSession(session_id="sess-42", launched_by="alice-dev")}
    outcome = apply_attestation(_attribution(launched_by="mallory"), attested, Policy())
    assert outcome.attribution.launched_by == "alice-dev"
    assert outcome.attribution.launcher_attested is True
    assert set(outcome.exclusions) == {"alice-dev", "mallory"}
    assert outcome.attribution.launcher_conflicts == (
        "Agent-Launched-By names @mallory, but session sess-42 was started with "
        "@alice-dev's agent token",
    )
    assert outcome.blocking is None


def test_a_matching_trailer_is_no_conflict_and_unattested_sessions_are_unchanged():
    attested = {"sess-42": AttestedSession(session_id="sess-42", launched_by="alice-dev")}
    same = apply_attestation(_attribution(launched_by="Alice-Dev"), attested, Policy())
    assert same.attribution.launcher_conflicts == ()
    plain = apply_attestation(_attribution(launched_by="bob"), {}, Policy())
    assert plain.attribution == _attribution(launched_by="bob") and plain.exclusions == {}


def test_require_attested_blocks_only_agent_changes_without_an_attested_session():
    strict = Policy(session=Session(require_attested=True))
    blocked = apply_attestation(_attribution(), {}, strict)
    assert blocked.blocking and "sess-42" in blocked.blocking
    human = Attribution(is_agent=False)
    assert apply_attestation(human, {}, strict).blocking is None
    attested = {"sess-42": AttestedSession(session_id="sess-42", launched_by="alice-dev")}
    assert apply_attestation(_attribution(), attested, strict).blocking is None


def test_settings_merge_is_idempotent_and_keeps_other_hooks():
    block = settings_block()
    existing = {"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]}}
    once = merge_settings(existing, block)
    assert merge_settings(once, block) == once
    assert once["hooks"]["Stop"] == existing["hooks"]["Stop"]
    with pytest.raises(ValueError, match="'hooks' is not an object"):
        merge_settings({"hooks": []}, block)


def test_copilot_cli_camel_case_events_are_read_and_answered():
    body = {
        "hookEventName": "preToolUse",
        "sessionId": "cop-1",
        "timestamp": 1764583200000,
        "cwd": "/repo",
        "toolName": "view",
        "toolArgs": '{"path": "/repo/customer-data/x.csv"}',
    }
    event, adapter = parse_event(body, agent="copilot-cli")
    assert (event.session_id, event.tool.access, event.tool.paths) == (
        "cop-1",
        "read",
        ("/repo/customer-data/x.csv",),
    )
    answer = adapter.answer(event, decide(event, Containment(), POLICY))
    assert answer["permissionDecision"] == "deny"
    body["toolName"], body["toolArgs"] = "bash", {"command": "ls src"}
    event, adapter = parse_event(body, agent="copilot-cli")
    assert adapter.answer(event, decide(event, Containment(), POLICY))["permissionDecision"] == (
        "allow"
    )
