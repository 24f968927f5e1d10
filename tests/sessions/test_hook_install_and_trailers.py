"""``countersign hook install`` and the ``prepare-commit-msg`` hook ``hook git-trailers``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from github_app.cli import main

EVENTS = ("SessionStart", "PreToolUse", "PostToolUse", "SessionEnd")


def test_install_prints_a_command_hook_block_that_fails_closed():
    result = CliRunner().invoke(main, ["hook", "install"])
    assert result.exit_code == 0, result.output
    block = json.loads(result.stdout)
    assert set(block["hooks"]) == set(EVENTS)
    assert block["allowManagedHooksOnly"] is True
    handler = block["hooks"]["PreToolUse"][0]["hooks"][0]
    assert handler == {"type": "command", "command": "countersign hook claude-code"}
    assert block["hooks"]["PreToolUse"][0]["matcher"] == "*"
    assert "/etc/claude-code/managed-settings.json" in result.stderr


def test_the_http_form_blocks_on_failure_and_allow_lists_the_url():
    result = CliRunner().invoke(
        main,
        ["hook", "install", "--form", "http", "--url", "https://cs.example", "--repo", "acme/shop"],
    )
    assert result.exit_code == 0, result.output
    block = json.loads(result.stdout)
    handler = block["hooks"]["PreToolUse"][0]["hooks"][0]
    assert handler["url"] == "https://cs.example/api/v1/agent/events?repo=acme/shop"
    assert handler["onFailure"] == "block"
    assert handler["headers"] == {"Authorization": "Bearer $COUNTERSIGN_AGENT_TOKEN"}
    assert handler["allowedEnvVars"] == ["COUNTERSIGN_AGENT_TOKEN"]
    assert block["allowedHttpHookUrls"] == ["https://cs.example/api/v1/agent/events*"]
    missing = CliRunner().invoke(main, ["hook", "install", "--form", "http"], env={})
    assert missing.exit_code == 2 and "--url" in missing.output  # usage error


def test_merge_keeps_other_settings_and_is_idempotent(tmp_path: Path):
    settings = tmp_path / "managed-settings.json"
    own_hook = {"matcher": "Bash", "hooks": [{"type": "command", "command": "audit.sh"}]}
    settings.write_text(
        json.dumps({"model": "opus", "hooks": {"PreToolUse": [own_hook]}}), encoding="utf-8"
    )
    for _ in range(2):
        result = CliRunner().invoke(main, ["hook", "install", "--merge", str(settings)])
        assert result.exit_code == 0, result.output
    merged = json.loads(settings.read_text())
    assert merged["model"] == "opus"
    assert merged["hooks"]["PreToolUse"][0] == own_hook
    assert len(merged["hooks"]["PreToolUse"]) == 2, "merging twice adds the group once"
    assert all(len(merged["hooks"][event]) >= 1 for event in EVENTS)
    settings.write_text("[1]", encoding="utf-8")
    bad = CliRunner().invoke(main, ["hook", "install", "--merge", str(settings)])
    assert bad.exit_code != 0 and "expected a JSON object" in bad.output
    assert settings.read_text() == "[1]", "a refused merge changes nothing"


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.fail("git is needed for the prepare-commit-msg hook")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def _stamp(repository: Path, message: Path, **env: str) -> subprocess.CompletedProcess:
    keep = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    return subprocess.run(
        [sys.executable, "-m", "github_app", "hook", "git-trailers", str(message), "message"],
        cwd=repository,
        env={**keep, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_git_trailers_stamps_the_session_once(repository: Path):
    message = repository / ".git" / "COMMIT_EDITMSG"
    message.write_text("Add retry to the importer\n\nBecause the API flakes.\n", encoding="utf-8")
    env = {"CLAUDE_CODE_SESSION_ID": "sess-77", "COUNTERSIGN_LAUNCHED_BY": "@alice-dev"}
    for _ in range(2):
        result = _stamp(repository, message, **env)
        assert result.returncode == 0, result.stderr
    text = message.read_text()
    assert text.count("Agent-Session-Id: sess-77") == 1
    assert text.count("Agent-Launched-By: alice-dev") == 1
    assert text.startswith("Add retry to the importer\n\nBecause the API flakes.\n")


def test_git_trailers_leaves_human_commits_and_existing_trailers_alone(repository: Path):
    message = repository / "msg"
    message.write_text("Fix typo\n", encoding="utf-8")
    assert _stamp(repository, message).returncode == 0
    assert message.read_text() == "Fix typo\n"
    message.write_text("Fix typo\n\nAgent-Session-Id: from-agent\n", encoding="utf-8")
    assert _stamp(repository, message, CLAUDE_CODE_SESSION_ID="other").returncode == 0
    assert "other" not in message.read_text()
    assert message.read_text().count("Agent-Session-Id:") == 1


def test_git_trailers_through_click_matches_the_fast_path(repository: Path, monkeypatch):
    message = repository / "msg"
    message.write_text("Subject\n", encoding="utf-8")
    monkeypatch.chdir(repository)
    monkeypatch.setenv("CLAUDE_CODE_SESSION_ID", "sess-9")
    monkeypatch.delenv("COUNTERSIGN_SESSION_ID", raising=False)
    result = CliRunner().invoke(main, ["hook", "git-trailers", str(message)])
    assert result.exit_code == 0, result.output
    assert "Agent-Session-Id: sess-9" in message.read_text()
