"""Sessions meet pull requests: a signed ``pull_request`` delivery, the fake GitHub, the check.

The session ``sess-42`` of the scenario's commits was started through an agent token bound to
``alice-dev``, while the commits' ``Agent-Launched-By`` trailer names ``octo-dev``.
"""

from __future__ import annotations

from github_app.policy.model import Policy, Session
from tests.sessions.helpers import claude_event
from tests.support.pr_scenario import REVIEWER, PullRequestScenario

ALICE = {"login": "alice-dev", "id": 6001, "type": "User"}


async def _start_session(agent_app, session: str = "sess-42") -> None:
    status, _ = await agent_app.post(claude_event("SessionStart", session, source="startup"))
    assert status == 200


async def _approve(agent_app, scenario: PullRequestScenario, user: dict) -> None:
    scenario.permissions[user["login"]] = "write"
    review = scenario.review(user, "APPROVED")
    scenario.set_reviews([review])
    await agent_app.harness.deliver_and_process(
        "pull_request_review", scenario.review_event(review)
    )


async def test_the_attested_launcher_cannot_countersign_even_when_the_trailer_names_another(
    agent_app,
):
    await _start_session(agent_app)
    scenario = PullRequestScenario(agent_app.harness.github)
    await agent_app.harness.deliver_and_process("pull_request", scenario.event("opened"))
    text = scenario.published()[-1]["output"]["text"]
    assert "@alice-dev (attested" in text
    assert "Agent-Launched-By names @octo-dev" in text and "alice-dev's agent token" in text

    detected = agent_app.entries("agent_change_detected")[0]
    assert detected.launched_by == "alice-dev"
    assert detected.data["launcher_attested"] is True
    assert detected.data["launcher_conflicts"], "the contradiction is recorded"

    await _approve(agent_app, scenario, ALICE)
    assert scenario.last_conclusion() == "action_required"
    approval = agent_app.entries("approval")[-1]
    assert approval.data["counted"] is False and "launched" in approval.data["reason"]
    assert approval.launched_by == "alice-dev"

    await _approve(agent_app, scenario, REVIEWER)
    assert scenario.last_conclusion() == "success", "an independent reviewer still countersigns"


async def test_require_attested_blocks_sessions_no_agent_token_started(agent_app):
    services = agent_app.harness.services
    services.default_policy = Policy(session=Session(require_attested=True))
    scenario = PullRequestScenario(agent_app.harness.github)
    await agent_app.harness.deliver_and_process("pull_request", scenario.event("opened"))
    check = scenario.published()[-1]
    assert check["conclusion"] == "failure"
    assert "launcher not attested" in check["output"]["title"]
    await _start_session(agent_app)
    await agent_app.harness.deliver_and_process("pull_request", scenario.event("synchronize"))
    assert scenario.last_conclusion() == "action_required", "attested: waits for a human"
