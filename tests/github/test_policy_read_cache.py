"""Policy reads cost one call per (repository, base SHA), 404s included, via signed deliveries.

The organisation policy is read once per head of the ``.github`` repository's default branch;
an organisation without a ``.github`` repository is asked once, not on every event.
"""

from __future__ import annotations

from tests.support.pr_scenario import PullRequestScenario

REPO_POLICY = "/repos/Codertocat/Hello-World/contents/{+path}"
ORG_POLICY = "/repos/Codertocat/.github/contents/countersign.yml"
ORG_HEAD = "/repos/Codertocat/.github/commits/HEAD"
POLICY = "approvals:\n  required: 1\n"


async def test_a_missing_policy_file_is_read_once_per_base_sha(app_harness):
    github = app_harness.github
    scenario = PullRequestScenario(github)

    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    await app_harness.deliver_and_process("pull_request", scenario.event("edited"))
    await app_harness.deliver_and_process("pull_request", scenario.event("reopened"))

    assert len(github.requests("GET", REPO_POLICY)) == 1
    assert len(github.requests("GET", ORG_HEAD)) == 1, "a missing .github repo is remembered"
    assert github.requests("GET", ORG_POLICY) == []

    scenario.payload["pull_request"]["base"]["sha"] = "e" * 40  # the base branch moved
    await app_harness.deliver_and_process("pull_request", scenario.event("edited"))
    reads = github.requests("GET", REPO_POLICY)
    assert [r.url.params["ref"] for r in reads][-1] == "e" * 40
    assert len(reads) == 2
    github.assert_no_violations()


async def test_the_org_policy_is_read_again_only_when_the_github_repo_moves(app_harness):
    github = app_harness.github
    scenario = PullRequestScenario(github)
    scenario.set_policy(POLICY, org=True)

    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    await app_harness.deliver_and_process("pull_request", scenario.event("edited"))
    assert len(github.requests("GET", ORG_POLICY)) == 1
    assert len(github.requests("GET", ORG_HEAD)) == 2, "the head is looked up every time"

    github.serve_repository_head("Codertocat/.github", sha="d" * 40)
    await app_harness.deliver_and_process("pull_request", scenario.event("edited"))
    reads = github.requests("GET", ORG_POLICY)
    assert len(reads) == 2
    assert reads[-1].url.params["ref"] == "d" * 40
    github.assert_no_violations()


async def test_a_failed_policy_read_is_not_cached(app_harness):
    github = app_harness.github
    scenario = PullRequestScenario(github)
    github.route(
        "GET",
        "/repos/Codertocat/Hello-World/contents/.github/countersign.yml",
        status=403,
        json={"message": "Resource not accessible by integration", "documentation_url": "x"},
    )
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    assert scenario.last_conclusion() == "failure"

    scenario.set_policy(POLICY)
    await app_harness.deliver_and_process("pull_request", scenario.event("edited"))
    assert len(github.requests("GET", REPO_POLICY)) == 2
    assert scenario.last_conclusion() != "failure"
