"""A freeze through the admin API blocks every open agent PR at once; unfreezing releases it."""

from __future__ import annotations

from github_app.tokens import TokenStore
from tests.support.fake_github import example
from tests.support.pr_scenario import REVIEWER, PullRequestScenario


def serve_open_pull_requests(harness, scenario: PullRequestScenario) -> None:
    github = harness.github
    github.route("GET", "/app/installations", json=[{**example("installation"), "id": 1}])
    repository = {**example("full-repository"), **scenario.payload["repository"]}
    github.route(
        "GET", "/installation/repositories", json={"total_count": 1, "repositories": [repository]}
    )
    github.route("GET", f"/repos/{scenario.repo}/pulls", json=[scenario.payload["pull_request"]])


async def test_freeze_blocks_open_agent_prs_within_the_request(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.permissions["senior-reviewer"] = "write"
    scenario.set_reviews([scenario.review(REVIEWER, "APPROVED")])
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    assert scenario.last_conclusion() == "success"
    serve_open_pull_requests(app_harness, scenario)

    _, secret = TokenStore(app_harness.services.db).create("incident-lead", "admin")
    headers = {"Authorization": f"Bearer {secret}"}
    frozen = await app_harness.client.post(
        "/api/v1/freeze", json={"reason": "incident 7"}, headers=headers
    )
    assert frozen.status in (200, 201), await frozen.text()
    await app_harness.services.containment_watch.check()  # what the 5-second job does
    assert scenario.last_conclusion() == "failure"
    assert "freeze" in app_harness.ledger_kinds()

    lifted = await app_harness.client.delete("/api/v1/freeze", headers=headers)
    assert lifted.status == 200, await lifted.text()
    await app_harness.services.containment_watch.check()
    assert scenario.last_conclusion() == "success"
    assert "unfreeze" in app_harness.ledger_kinds()


async def test_revoked_session_blocks_its_prs(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.permissions["senior-reviewer"] = "write"
    scenario.set_reviews([scenario.review(REVIEWER, "APPROVED")])
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    serve_open_pull_requests(app_harness, scenario)
    _, secret = TokenStore(app_harness.services.db).create("incident-lead", "admin")
    revoked = await app_harness.client.post(
        "/api/v1/sessions/sess-42/revoke",
        json={"reason": "leaked credentials"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert revoked.status in (200, 201), await revoked.text()
    await app_harness.services.containment_watch.check()
    latest = scenario.published()[-1]
    assert latest["conclusion"] == "failure"
    assert (
        "revoked" in latest["output"]["title"].lower()
        or "revoked" in latest["output"]["summary"].lower()
    )


async def test_a_freeze_set_while_no_server_ran_applies_at_start(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.permissions["senior-reviewer"] = "write"
    scenario.set_reviews([scenario.review(REVIEWER, "APPROVED")])
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    serve_open_pull_requests(app_harness, scenario)
    services = app_harness.services
    services.containment.freeze(None, "set from the CLI", "secops")  # no server was told
    await services.containment_watch.prime()  # what Services.start does
    assert await services.containment_watch.check() == 1
    assert scenario.last_conclusion() == "failure"
    assert await services.containment_watch.check() == 0, "nothing changed since"


async def test_a_freeze_during_an_evaluation_is_not_overwritten_by_it(app_harness):
    import httpx

    scenario = PullRequestScenario(app_harness.github)
    scenario.permissions["senior-reviewer"] = "write"
    approval = scenario.review(REVIEWER, "APPROVED")

    def reviews_then_freeze(_request):
        # The freeze lands while this evaluation is still reading GitHub.
        app_harness.services.containment.freeze(None, "incident", "secops")
        return httpx.Response(200, json=[approval])

    app_harness.github.route("GET", f"{scenario.base}/reviews", handler=reviews_then_freeze)
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    assert scenario.last_conclusion() == "failure"
    decisions = app_harness.services.ledger.entries(kinds=["decision"])
    assert [entry.data["state"] for entry in decisions] == ["frozen"]
