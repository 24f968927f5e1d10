"""The ruleset body a policy asks for."""

from __future__ import annotations

import fnmatch

from github_app.policy.model import Policy
from github_app.rulesets.desired import RULESET_NAME, desired_ruleset, ref_includes

APP_ID = 424242


def rules_by_type(body: dict) -> dict[str, dict]:
    return {rule["type"]: rule for rule in body["rules"]}


def test_default_policy_protects_default_branch_and_patterns():
    body = desired_ruleset(Policy(), APP_ID)
    assert body["name"] == RULESET_NAME == "Countersign"
    assert (body["target"], body["enforcement"], body["bypass_actors"]) == ("branch", "active", [])
    include = body["conditions"]["ref_name"]["include"]
    assert include[0] == "~DEFAULT_BRANCH"
    assert {"refs/heads/main", "refs/heads/master", "refs/heads/release/*"} <= set(include)
    assert body["conditions"]["ref_name"]["exclude"] == []


def test_every_required_rule_is_present():
    rules = rules_by_type(desired_ruleset(Policy(), APP_ID))
    assert set(rules) == {
        "pull_request",
        "required_status_checks",
        "non_fast_forward",
        "deletion",
        "creation",
    }
    checks = rules["required_status_checks"]["parameters"]["required_status_checks"]
    assert checks == [{"context": "countersign", "integration_id": APP_ID}]


def test_github_approval_settings_come_from_policy():
    policy = Policy.model_validate(
        {"rulesets": {"required_approvals": 2, "require_last_push_approval": True}}
    )
    params = rules_by_type(desired_ruleset(policy, APP_ID))["pull_request"]["parameters"]
    assert params["required_approving_review_count"] == 2
    assert params["require_last_push_approval"] is True


def test_trailing_star_also_covers_nested_branches_like_the_policy_does():
    includes = ref_includes(("release/*", "main"))
    assert includes == [
        "~DEFAULT_BRANCH",
        "refs/heads/release/*",
        "refs/heads/release/*/**/*",
        "refs/heads/main",
    ]
    # The policy's own matching lets * cross "/": the ruleset must cover that branch too.
    assert fnmatch.fnmatchcase("release/1.0/hotfix", "release/*")


def test_duplicate_patterns_are_written_once():
    assert ref_includes(("main", "refs/heads/main")) == ["~DEFAULT_BRANCH", "refs/heads/main"]
