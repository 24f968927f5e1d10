"""Real organisations end to end: CODEOWNERS, drafts, retargeted PRs and fork PRs.

Signed ``pull_request`` and ``pull_request_review`` deliveries in; check runs and ledger entries
out; every request validated against GitHub's OpenAPI description by the fake.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

from tests.support.pr_scenario import REVIEWER, PullRequestScenario
from tests.support.webhooks import load_payload

OWNERS_POLICY = "approvals:\n  code_owners: true\n"


def serve_file(scenario: PullRequestScenario, path: str, content: bytes, size: int | None = None):
    """Serve ``path`` from the repository's contents API."""
    body = {
        "type": "file",
        "encoding": "base64",
        "size": len(content) if size is None else size,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": base64.b64encode(content).decode(),
        "sha": "c" * 40,
        "url": "u",
        "git_url": None,
        "html_url": None,
        "download_url": None,
        "_links": {"self": "s", "git": None, "html": None},
    }
    return scenario.github.route("GET", f"/repos/{scenario.repo}/contents/{path}", json=body)


async def open_pr(harness, scenario: PullRequestScenario, action: str = "opened") -> dict:
    await harness.deliver_and_process("pull_request", scenario.event(action))
    return scenario.published()[-1]


async def approve(harness, scenario: PullRequestScenario, user=REVIEWER, submitted_at=None):
    review = scenario.review(user, "APPROVED")
    if submitted_at:
        review["submitted_at"] = submitted_at
    scenario.set_reviews([review])
    await harness.deliver_and_process("pull_request_review", scenario.review_event(review))
    return scenario.published()[-1]


# --- CODEOWNERS -------------------------------------------------------------------------


async def test_code_owner_must_approve_owned_files(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.set_policy(OWNERS_POLICY)
    codeowners = serve_file(
        scenario,
        ".github/CODEOWNERS",
        b"* @acme/everyone\n/src/ @acme/importers\n!/src/gen/ @acme/bots\n",
    )
    scenario.set_files(["src/importer.py", "CODEOWNERS"])
    scenario.permissions["senior-reviewer"] = "write"
    check = await approve(app_harness, scenario)
    assert check["conclusion"] == "action_required"
    text = check["output"]["text"]
    assert "code owners of /src/ (src/importer.py)" in text
    assert "acme/importers" in text
    assert "code owners of * (CODEOWNERS)" in text
    assert ".github/CODEOWNERS line 3" in text and "negation (!) is not supported" in text
    # The PR's own edit of CODEOWNERS does not count: the base branch's copy judges it.
    query = parse_qs(urlsplit(str(codeowners.calls[-1].url)).query)
    assert query["ref"] == ["master"]
    scenario.teams["acme/importers"] = {"senior-reviewer"}
    scenario.teams["acme/everyone"] = {"senior-reviewer"}
    check = await approve(app_harness, scenario)
    assert check["conclusion"] == "success"


async def test_code_owners_in_a_path_rule_apply_to_its_files_only(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    policy = "paths:\n  - pattern: 'infra/**'\n    approvals: {required: 1, code_owners: true}\n"
    scenario.set_policy(policy)
    serve_file(scenario, "CODEOWNERS", b"* @acme/platform\n")
    scenario.set_files(["infra/main.tf", "src/importer.py"])
    scenario.permissions["senior-reviewer"] = "write"
    check = await approve(app_harness, scenario)
    assert check["conclusion"] == "action_required"
    assert "code owners of * (infra/main.tf)" in check["output"]["text"]


async def test_without_codeowners_the_requirement_says_so_and_does_not_block(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.set_policy(OWNERS_POLICY)
    scenario.permissions["senior-reviewer"] = "write"
    check = await approve(app_harness, scenario)
    assert check["conclusion"] == "success"
    assert "no CODEOWNERS file on master: not applicable" in check["output"]["text"]
    tried = [r.url.path for r in app_harness.github.requests("GET", "^/repos/.*/contents/.*")]
    assert [p.split("/contents/")[1] for p in tried if "CODEOWNERS" in p] == [
        ".github/CODEOWNERS",
        "CODEOWNERS",
        "docs/CODEOWNERS",
    ]


async def test_unreadable_codeowners_fails_closed_with_the_error(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.set_policy(OWNERS_POLICY)
    serve_file(scenario, "docs/CODEOWNERS", b"\xff\xfe* @acme/x\n")
    scenario.permissions["senior-reviewer"] = "write"
    check = await approve(app_harness, scenario)
    assert check["conclusion"] == "failure"
    assert "code owners cannot be judged" in check["output"]["title"]
    assert "not UTF-8" in check["output"]["summary"]


async def test_codeowners_of_three_megabytes_is_ignored_as_github_does(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.set_policy(OWNERS_POLICY)
    serve_file(scenario, "CODEOWNERS", b"* @acme/x\n", size=3 * 1024 * 1024)
    scenario.permissions["senior-reviewer"] = "write"
    check = await approve(app_harness, scenario)
    assert check["conclusion"] == "success"
    assert "3 MB or more" in check["output"]["text"]


# --- drafts -----------------------------------------------------------------------------


def draft_event(scenario: PullRequestScenario, action: str) -> dict:
    """A real ``converted_to_draft`` / ``ready_for_review`` payload carrying this PR."""
    body = load_payload("pull_request", action)
    body["pull_request"] = scenario.event()["pull_request"]
    body["repository"] = scenario.payload["repository"]
    body["installation"] = scenario.payload["installation"]
    body["pull_request"]["draft"] = action == "converted_to_draft"
    return body


async def test_a_draft_agent_pr_stays_blocked_until_ready_for_review(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.permissions["senior-reviewer"] = "write"
    scenario.set_reviews([scenario.review(REVIEWER, "APPROVED")])
    await app_harness.deliver_and_process(
        "pull_request", draft_event(scenario, "converted_to_draft")
    )
    check = scenario.published()[-1]
    assert check["conclusion"] == "failure"
    assert check["output"]["title"] == "Blocked: draft pull request"
    await app_harness.deliver_and_process("pull_request", draft_event(scenario, "ready_for_review"))
    assert scenario.last_conclusion() == "success"


async def test_policy_may_judge_drafts_like_any_pr(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.set_policy("drafts:\n  block: false\n", org=True)
    scenario.permissions["senior-reviewer"] = "write"
    scenario.set_reviews([scenario.review(REVIEWER, "APPROVED")])
    await app_harness.deliver_and_process(
        "pull_request", draft_event(scenario, "converted_to_draft")
    )
    assert scenario.last_conclusion() == "success"


# --- retargeted PRs ---------------------------------------------------------------------


def retarget_event(scenario: PullRequestScenario, old: str, new: str, at: str) -> dict:
    body = scenario.event("edited")
    body["pull_request"]["base"]["ref"] = new
    body["pull_request"]["base"]["sha"] = "d" * 40  # the new base's head
    body["pull_request"]["updated_at"] = at
    # GitHub answers later reads of the PR with the new base too.
    current = scenario.payload["pull_request"]
    current["base"] = {**current["base"], "ref": new, "sha": "d" * 40}
    current["updated_at"] = at
    body["changes"] = {"base": {"ref": {"from": old}, "sha": {"from": "e" * 40}}}
    return body


async def test_retarget_rereads_policy_at_the_new_base_and_drops_earlier_approvals(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.permissions["senior-reviewer"] = "write"
    assert (await approve(app_harness, scenario, submitted_at="2026-11-20T11:00:00Z"))[
        "conclusion"
    ] == "success"
    event = retarget_event(scenario, "master", "release/2.0", "2026-11-20T12:00:00Z")
    await app_harness.deliver_and_process("pull_request", event)
    check = scenario.published()[-1]
    assert check["conclusion"] == "action_required"
    assert "approved while the pull request targeted master" in check["output"]["text"]
    policy_reads = app_harness.github.requests("GET", "^/repos/[^/]+/[^/]+/contents/.github/.*")
    assert str(policy_reads[-1].url).endswith("ref=" + "d" * 40)  # the new base, by commit
    recorded = list(app_harness.services.ledger.entries(kinds=["decision"]))[-1]
    assert recorded.data["retarget"] == {"from": "master", "to": "release/2.0"}
    scenario.payload["pull_request"]["base"]["ref"] = "release/2.0"
    check = await approve(app_harness, scenario, submitted_at="2026-11-20T13:00:00Z")
    assert check["conclusion"] == "success"


async def test_policy_may_let_approvals_survive_a_retarget(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.set_policy("approvals:\n  survive_retarget: true\n", org=True)
    scenario.permissions["senior-reviewer"] = "write"
    await approve(app_harness, scenario, submitted_at="2026-11-20T11:00:00Z")
    event = retarget_event(scenario, "master", "release/2.0", "2026-11-20T12:00:00Z")
    await app_harness.deliver_and_process("pull_request", event)
    assert scenario.last_conclusion() == "success"


# --- fork PRs ---------------------------------------------------------------------------


async def test_fork_pr_is_judged_from_the_base_repository_alone(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    head = scenario.payload["pull_request"]["head"]
    head["repo"] = {**head["repo"], "full_name": "outside-dev/Hello-World", "fork": True}
    head["repo"]["owner"] = {**head["repo"]["owner"], "login": "outside-dev"}
    head["label"] = "outside-dev:changes"
    app_harness.github.forbidden_repos.add("outside-dev/hello-world")
    scenario.permissions["senior-reviewer"] = "write"
    await open_pr(app_harness, scenario)
    check = await approve(app_harness, scenario)
    assert check["conclusion"] == "success"
    sent = [app_harness.github.api_path(r) for r in app_harness.github.requests()]
    assert not [path for path in sent if "outside-dev" in path]
    assert f"/repos/{scenario.repo}/pulls/{scenario.number}/commits" in sent
