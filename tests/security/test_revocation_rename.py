"""Finding 2: a revoked session escapes by renaming itself in the PR body (or a new commit).

The attack: the session ``sess-42`` is revoked; the PR's author edits the body to declare
``Agent-Session-Id: fresh-1``.  Detection used to take the first declared id (the body is read
first) and check only that one, so the PR turned green again.  Every id seen must be checked.
"""

from __future__ import annotations

import asyncio

from github_app.api import routes
from github_app.tokens import TokenStore
from tests.support.fake_github import example
from tests.support.pr_scenario import REVIEWER, PullRequestScenario, agent_commit


def _serve_open_pull_requests(harness, scenario: PullRequestScenario) -> None:
    """What the containment job lists when a revocation lands (as in test_containment_flow)."""
    github = harness.github
    github.route("GET", "/app/installations", json=[{**example("installation"), "id": 1}])
    repository = {**example("full-repository"), **scenario.payload["repository"]}
    github.route(
        "GET", "/installation/repositories", json={"total_count": 1, "repositories": [repository]}
    )
    github.route("GET", f"/repos/{scenario.repo}/pulls", json=[scenario.payload["pull_request"]])


async def _revoke(app_harness, session_id: str) -> None:
    _, secret = TokenStore(app_harness.services.db).create("incident-lead", "admin")
    response = await app_harness.client.post(
        f"/api/v1/sessions/{session_id}/revoke",
        json={"reason": "leaked credentials"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status in (200, 201), await response.text()
    # The API re-evaluates in a background task; let it finish so deliveries do not race it.
    await asyncio.gather(*list(routes._hook_tasks))


async def _approved_agent_pr(app_harness) -> PullRequestScenario:
    scenario = PullRequestScenario(app_harness.github)
    scenario.permissions["senior-reviewer"] = "write"
    scenario.set_reviews([scenario.review(REVIEWER, "APPROVED")])
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    assert scenario.last_conclusion() == "success"
    _serve_open_pull_requests(app_harness, scenario)
    return scenario


async def test_editing_the_body_to_another_session_id_does_not_unrevoke(app_harness):
    scenario = await _approved_agent_pr(app_harness)
    await _revoke(app_harness, "sess-42")
    await app_harness.services.containment_watch.check()
    assert scenario.last_conclusion() == "failure"

    scenario.payload["pull_request"]["body"] = "Retry importer.\n\nAgent-Session-Id: fresh-1\n"
    await app_harness.deliver_and_process("pull_request", scenario.event("edited"))

    latest = scenario.published()[-1]
    assert latest["conclusion"] == "failure"
    assert "revoked" in latest["output"]["title"].lower()
    decisions = list(app_harness.services.ledger.entries(kinds=["decision"]))
    assert decisions[-1].data["state"] == "revoked"
    assert "sess-42" in decisions[-1].data["session_ids"]
    assert "fresh-1" in latest["output"]["summary"]  # judged with the renamed primary id


async def test_a_rebased_commit_declaring_another_session_id_does_not_unrevoke(app_harness):
    scenario = await _approved_agent_pr(app_harness)
    await _revoke(app_harness, "sess-42")

    renamed = agent_commit("c" * 40)
    renamed["commit"]["message"] = renamed["commit"]["message"].replace("sess-42", "fresh-2")
    scenario.payload["pull_request"]["head"]["sha"] = "c" * 40
    # A rebase put the new commit first: its id is the first one declared.
    scenario.set_commits([renamed, agent_commit("a" * 40)])
    scenario.set_reviews([scenario.review(REVIEWER, "APPROVED")])
    await app_harness.deliver_and_process("pull_request", scenario.event("synchronize"))

    assert scenario.last_conclusion() == "failure"
    decisions = list(app_harness.services.ledger.entries(kinds=["decision"]))
    assert decisions[-1].data["state"] == "revoked"


async def test_revoking_the_derived_id_blocks_too(app_harness):
    scenario = await _approved_agent_pr(app_harness)
    pr = scenario.payload["pull_request"]
    await _revoke(app_harness, f"pr:{scenario.payload['repository']['id']}:{pr['number']}")
    await app_harness.deliver_and_process("pull_request", scenario.event("edited"))
    assert scenario.last_conclusion() == "failure"
