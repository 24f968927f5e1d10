"""A session traced from launch to completion: ``GET /api/v1/sessions/{id}`` and the CLI."""

from __future__ import annotations

import json

from click.testing import CliRunner

from github_app.cli import main
from tests.sessions.helpers import claude_event, tool_event
from tests.support.pr_scenario import REVIEWER, PullRequestScenario

SESSION = "sess-42"  # the session id the scenario's commits carry


async def _run_session(agent_app) -> PullRequestScenario:
    post = agent_app.post
    await post(claude_event("SessionStart", SESSION, source="startup", repo="acme/shop"))
    for path in ("src/importer.py", "src/importer.py", "tests/test_importer.py"):
        event = tool_event(
            "PostToolUse", "Edit", {"file_path": f"/home/alice/shop/{path}"}, SESSION
        )
        await post(event)
    await post(tool_event("PostToolUse", "Bash", {"command": "pytest -q"}, SESSION))
    await agent_app.client.post("/api/v1/freeze", json={"reason": "drill"}, headers=agent_app.admin)
    await post(tool_event("PreToolUse", "Bash", {"command": "git push"}, SESSION))
    await agent_app.client.delete("/api/v1/freeze", headers=agent_app.admin)
    await post(claude_event("SessionEnd", SESSION, reason="prompt_input_exit"))
    scenario = PullRequestScenario(agent_app.harness.github)
    await agent_app.harness.deliver_and_process("pull_request", scenario.event("opened"))
    scenario.permissions[REVIEWER["login"]] = "write"
    review = scenario.review(REVIEWER, "APPROVED")
    scenario.set_reviews([review])
    await agent_app.harness.deliver_and_process(
        "pull_request_review", scenario.review_event(review)
    )
    await agent_app.harness.deliver_and_process(
        "pull_request", scenario.merged_event("9" * 40, REVIEWER)
    )
    return scenario


async def test_the_timeline_shows_launch_operations_denials_git_evidence_and_end(agent_app):
    scenario = await _run_session(agent_app)
    response = await agent_app.client.get(f"/api/v1/sessions/{SESSION}", headers=agent_app.auditor)
    assert response.status == 200
    body = await response.json()
    story = body["story"]
    launch = story["launch"]
    assert (launch["launched_by"], launch["launcher_attested"], launch["token"]) == (
        "alice-dev",
        True,
        "alice-laptop",
    )
    assert launch["repo"] == "acme/shop" and launch["cwd"] == "/home/alice/shop"
    assert story["operations"]["total"] == 4
    assert story["operations"]["by_tool"] == {"Bash": 1, "Edit": 3}
    assert story["operations"]["by_target"][0] == {
        "tool": "Edit",
        "target": "src/importer.py",
        "count": 2,
    }
    assert story["denials"]["total"] == 1 and story["denials"]["items"][0]["rule"] == "frozen"
    assert story["commits"] == [scenario.head_sha]
    assert [a["reviewer"] for a in story["approvals"]] == [REVIEWER["login"]]
    assert story["approvals"][0]["counted"] is True
    assert story["merges"][0]["merge_sha"] == "9" * 40
    assert story["ended"]["reason"] == "prompt_input_exit"
    kinds = [item["kind"] for item in body["items"]]
    assert kinds[0] == "session_started" and "session_ended" in kinds and kinds[-1] == "merge"
    assert body["attribution"]["launched_by"] == ["alice-dev"]


async def test_the_cli_tells_the_same_story(agent_app, monkeypatch):
    await _run_session(agent_app)
    settings = agent_app.harness.services.settings
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("COUNTERSIGN_SIGNING_KEY_PATH", str(settings.countersign_signing_key_path))
    result = CliRunner().invoke(main, ["evidence", "session", SESSION])
    assert result.exit_code == 0, result.output
    assert "by alice-dev (attested by agent token alice-laptop)" in result.output
    assert "Edit src/importer.py" in result.output and "denied    1" in result.output
    assert "ended" in result.output and "prompt_input_exit" in result.output
    as_json = CliRunner().invoke(main, ["evidence", "session", SESSION, "--json"])
    assert json.loads(as_json.output)["story"]["operations"]["total"] == 4
