"""Finding 16: an unreadable org ``.github`` repository silently fell back to the default policy.

A 404 on ``countersign.yml`` was read as "the org has no policy", but GitHub also answers 404
when the App is not installed on ``.github``: removing the App from that one repository
replaced the org's rules by the shipped default.  "File missing" (404 on the file in a
repository the App can read) is now told from "repository not accessible" (404/403 on the
repository), which fails closed unless the policy says to warn.
"""

from __future__ import annotations

from tests.pushes.push_payloads import push_payload
from tests.rulesets.helpers import REPO, entries
from tests.support.fake_github import example
from tests.support.pr_scenario import REVIEWER, PullRequestScenario


def org_repository_not_accessible(scenario: PullRequestScenario, status: int = 404) -> None:
    owner = scenario.repo.split("/")[0]
    scenario.github.route("GET", f"/repos/{owner}/.github", status=status, json={"message": "x"})


def approved(scenario: PullRequestScenario) -> None:
    scenario.permissions[REVIEWER["login"]] = "write"
    scenario.set_reviews([scenario.review(REVIEWER, "APPROVED")])


async def test_an_inaccessible_org_policy_repository_fails_closed(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    approved(scenario)
    org_repository_not_accessible(scenario)
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    assert scenario.last_conclusion() == "failure"
    summary = scenario.published()[-1]["output"]["summary"]
    assert "Codertocat/.github is not accessible" in summary
    assert "policy_invalid" in app_harness.ledger_kinds()


async def test_a_forbidden_org_policy_repository_fails_closed_too(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    approved(scenario)
    org_repository_not_accessible(scenario, status=403)
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    assert scenario.last_conclusion() == "failure"


async def test_a_missing_file_in_a_readable_repository_is_the_default(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    approved(scenario)
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    assert scenario.last_conclusion() == "success"
    assert app_harness.github.org_policy_repository.called


async def test_the_repo_policy_may_choose_to_warn(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    approved(scenario)
    org_repository_not_accessible(scenario)
    scenario.set_policy("org_policy:\n  unreadable: warn\n")
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    assert scenario.last_conclusion() == "success"
    text = scenario.published()[-1]["output"]["text"]
    assert "### Policy warnings" in text and "Codertocat/.github is not accessible" in text


async def test_a_direct_push_with_an_unreadable_org_policy_is_recorded(app_harness):
    github = app_harness.github
    github.route("GET", "/repos/Codertocat/.github", status=404, json={"message": "Not Found"})
    github.route("GET", f"/repos/{REPO}/commits/{{sha}}/pulls", json=[])
    github.route("POST", f"/repos/{REPO}/issues", status=201, json=example("issue"))
    # A branch only the org policy protects: with the org unreadable it must still count.
    await app_harness.deliver_and_process("push", push_payload(ref="refs/heads/deploy/prod"))
    [push] = entries(app_harness, "direct_push")
    assert "not accessible" in push.data["policy_error"]
