"""Finding 5: creating a protected branch at unreviewed commits was ignored.

A push creating ``release/x`` at an agent branch's head carries no new (``distinct``) commits,
and was dropped as "created from existing commits"; the managed ruleset did not stop it either
(``do_not_enforce_on_create``, no ``creation`` rule).  Such a push is now recorded as a direct
push unless GitHub's compare API says the head is already on a protected branch, and the
ruleset carries a ``creation`` rule (the body is validated against GitHub's OpenAPI schema by
the fake).
"""

from __future__ import annotations

import json

from github_app.pushes.classify import ZERO_SHA
from tests.pushes.push_payloads import AFTER, AGENT_MESSAGE, push_commit, push_payload
from tests.rulesets.helpers import REPO, entries, serve_org_policy
from tests.support.fake_github import example
from tests.support.pr_scenario import agent_commit
from tests.support.webhooks import load_payload

COMPARE = f"/repos/{REPO}/compare/{{basehead}}"


def creation_push() -> dict:
    """``release/x`` created at a commit that already exists (on an agent's branch)."""
    payload = push_payload(
        ref="refs/heads/release/x",
        before=ZERO_SHA,
        commits=[push_commit(AFTER, AGENT_MESSAGE, distinct=False)],
    )
    payload["created"] = True
    return payload


def serve_routes(github, comparison: dict):
    github.route("GET", f"/repos/{REPO}/commits/{{sha}}/pulls", json=[])
    github.route("POST", f"/repos/{REPO}/issues", status=201, json=example("issue"))
    return github.route("GET", COMPARE, json={**example("commit-comparison"), **comparison})


def serve_policy(github) -> None:
    serve_org_policy(github, "protected_branches: [release/*]\n")


async def test_creating_a_protected_branch_at_agent_commits_is_a_direct_push(app_harness):
    github = app_harness.github
    serve_policy(github)
    compare = serve_routes(
        github, {"status": "ahead", "ahead_by": 1, "commits": [agent_commit(AFTER)]}
    )
    await app_harness.deliver_and_process("push", creation_push())
    assert compare.called
    assert github.api_path(compare.calls[0]).endswith(f"/compare/master...{AFTER}")
    [push] = entries(app_harness, "direct_push")
    assert push.data["created"] is True and push.data["branch"] == "release/x"
    assert push.data["agent_authored"] is True and push.data["violation"] is True
    assert push.agent == "claude-code"


async def test_creating_a_protected_branch_from_reviewed_history_is_not(app_harness):
    github = app_harness.github
    serve_policy(github)
    serve_routes(github, {"status": "behind", "ahead_by": 0, "behind_by": 3, "commits": []})
    await app_harness.deliver_and_process("push", creation_push())
    assert entries(app_harness, "direct_push") == []


async def test_the_managed_ruleset_forbids_creating_protected_branches(app_harness):
    github = app_harness.github
    rulesets = f"/repos/{REPO}/rulesets"
    github.route("GET", rulesets, json=[])
    created = github.route("POST", rulesets, status=201, json=example("repository-ruleset"))
    await app_harness.deliver_and_process("installation", load_payload("installation", "created"))
    body = json.loads(created.calls[0].content)
    rules = {rule["type"]: rule for rule in body["rules"]}
    assert "creation" in rules
    assert "do_not_enforce_on_create" not in rules["required_status_checks"]["parameters"]
