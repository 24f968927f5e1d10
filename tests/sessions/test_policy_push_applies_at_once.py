"""A push to a repository's default branch drops the hooks' cached policy of that repository:
a rule the push added to ``.github/countersign.yml`` judges the very next tool call, instead of
after up to ``FRESH_SECONDS``.  Driven through a signed ``push`` webhook, then a hook call."""

from __future__ import annotations

import copy

from tests.pushes.push_payloads import AFTER, BEFORE, HUMAN_MESSAGE, push_commit, push_payload
from tests.rulesets.helpers import file_content
from tests.sessions.helpers import tool_event
from tests.support.fake_github import FakeGitHub, example

REPO = "Codertocat/Hello-World"  # the repository of GitHub's push example (default: master)
RULE = """\
paths:
  - pattern: "secrets/**"
    agents_may_not_read: true
"""
POLICY_PATH = ".github/countersign.yml"


def serve_repository(github: FakeGitHub, policy: str | None, head: str) -> None:
    """The installation on the repository, its default branch at ``head`` and its policy file
    (404 when ``policy`` is None), at any ref."""
    installation = example("installation")
    installation["id"] = 42
    github.route("GET", f"/repos/{REPO}/installation", json=installation)
    about = example("full-repository")
    about["default_branch"] = "master"
    github.route("GET", f"/repos/{REPO}", json=about)
    branch = example("branch-with-protection")
    branch["name"], branch["commit"]["sha"] = "master", head
    github.route("GET", f"/repos/{REPO}/branches/master", json=branch)
    path = f"/repos/{REPO}/contents/{POLICY_PATH}"
    if policy is None:
        github.route("GET", path, status=404, json={"message": "Not Found"})
    else:
        github.route("GET", path, json=file_content(policy, POLICY_PATH))


def read_secret() -> dict:
    return tool_event("PreToolUse", "Read", {"file_path": "/home/alice/shop/secrets/prod.env"})


def _decision(body: dict) -> str:
    return body["hookSpecificOutput"]["permissionDecision"]


def policy_push(branch: str) -> dict:
    """A person's push to ``branch`` whose one commit edits the repository's policy file."""
    commit = push_commit(AFTER, HUMAN_MESSAGE)
    commit["modified"] = [POLICY_PATH]
    payload = push_payload(ref=f"refs/heads/{branch}", commits=[commit], sender="octocat")
    return copy.deepcopy(payload)


async def test_a_rule_pushed_to_the_default_branch_judges_the_next_tool_call(agent_app):
    github = agent_app.harness.github
    github.route("GET", f"/repos/{REPO}/commits/{{sha}}/pulls", json=[])
    serve_repository(github, None, head=BEFORE)
    query = f"?repo={REPO}"
    status, body = await agent_app.post(read_secret(), query=query)
    assert status == 200 and _decision(body) == "allow"  # no rule yet; the answer is cached

    serve_repository(github, RULE, head=AFTER)  # the push adds the rule
    response = await agent_app.harness.deliver_and_process("push", policy_push("master"))
    assert response.status == 202
    status, body = await agent_app.post(read_secret(), query=query)
    assert status == 200 and _decision(body) == "deny", "the new rule applies at once"
    assert "secrets/**" in body["hookSpecificOutput"]["permissionDecisionReason"]
    reads = github.requests("GET", f"/repos/{REPO}/contents/{POLICY_PATH}")
    assert reads[-1].url.params["ref"] == AFTER, "read at the pushed head"
    github.assert_no_violations()


async def test_a_push_to_another_branch_keeps_the_cached_policy(agent_app):
    github = agent_app.harness.github
    github.route("GET", f"/repos/{REPO}/commits/{{sha}}/pulls", json=[])
    serve_repository(github, None, head=BEFORE)
    query = f"?repo={REPO}"
    assert _decision((await agent_app.post(read_secret(), query=query))[1]) == "allow"
    branches = len(github.requests("GET", f"/repos/{REPO}/branches/master"))

    serve_repository(github, RULE, head=AFTER)  # (what a default-branch push would bring)
    response = await agent_app.harness.deliver_and_process("push", policy_push("feature/x"))
    assert response.status == 202
    assert _decision((await agent_app.post(read_secret(), query=query))[1]) == "allow"
    assert len(github.requests("GET", f"/repos/{REPO}/branches/master")) == branches, "cached"
