"""Drift: weakening is found, strictness is not, and the repair restores the policy."""

from __future__ import annotations

import copy

import pytest

from github_app.policy.model import Policy
from github_app.rulesets.desired import desired_ruleset
from github_app.rulesets.drift import find_drift, repaired_ruleset

APP_ID = 424242
POLICY = Policy.model_validate({"rulesets": {"required_approvals": 1}})


@pytest.fixture
def desired() -> dict:
    return desired_ruleset(POLICY, APP_ID)


def as_github_returns(body: dict) -> dict:
    """The body as GET /rulesets/{id} shows it: with id, source and links."""
    return {
        **copy.deepcopy(body),
        "id": 7,
        "source_type": "Repository",
        "source": "o/r",
        "node_id": "RRS_1",
        "current_user_can_bypass": "never",
    }


def rule(ruleset: dict, kind: str) -> dict:
    return next(r for r in ruleset["rules"] if r["type"] == kind)


def codes(report) -> list[str]:
    return [f.code for f in report.findings]


def test_identical_ruleset_has_no_drift(desired):
    report = find_drift(desired, as_github_returns(desired))
    assert not report.drifted and report.notes == ()


def test_missing_ruleset_is_drift(desired):
    assert codes(find_drift(desired, None)) == ["missing"]


def test_bypass_actor_added_is_drift(desired):
    actual = as_github_returns(desired)
    actual["bypass_actors"] = [
        {"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}
    ]
    report = find_drift(desired, actual)
    assert codes(report) == ["bypass_actor_added"]
    assert "RepositoryRole 5" in report.findings[0].detail


def test_enforcement_disabled_and_evaluate_are_drift(desired):
    for level in ("disabled", "evaluate"):
        actual = {**as_github_returns(desired), "enforcement": level}
        assert codes(find_drift(desired, actual)) == ["enforcement_disabled"]


def test_removed_rule_is_drift(desired):
    actual = as_github_returns(desired)
    actual["rules"] = [r for r in actual["rules"] if r["type"] != "non_fast_forward"]
    report = find_drift(desired, actual)
    assert codes(report) == ["rule_removed"]
    assert "non_fast_forward" in report.findings[0].detail


def test_unpinned_or_missing_check_is_weakened(desired):
    actual = as_github_returns(desired)
    rule(actual, "required_status_checks")["parameters"]["required_status_checks"] = [
        {"context": "countersign"}
    ]
    assert codes(find_drift(desired, actual)) == ["rule_weakened"]
    rule(actual, "required_status_checks")["parameters"]["required_status_checks"] = [
        {"context": "ci/build", "integration_id": 1}
    ]
    assert "no longer required" in find_drift(desired, actual).findings[0].detail


def test_check_skipped_on_creation_is_weakened_and_repaired(desired):
    actual = as_github_returns(desired)
    rule(actual, "required_status_checks")["parameters"]["do_not_enforce_on_create"] = True
    report = find_drift(desired, actual)
    assert codes(report) == ["rule_weakened"]
    assert "created" in report.findings[0].detail
    repaired = repaired_ruleset(desired, actual)
    assert "do_not_enforce_on_create" not in rule(repaired, "required_status_checks")["parameters"]


def test_fewer_approvals_is_weakened_but_more_is_not(desired):
    actual = as_github_returns(desired)
    rule(actual, "pull_request")["parameters"]["required_approving_review_count"] = 0
    assert codes(find_drift(desired, actual)) == ["rule_weakened"]
    rule(actual, "pull_request")["parameters"]["required_approving_review_count"] = 3
    assert not find_drift(desired, actual).drifted


def test_branch_uncovered_or_excluded_is_drift(desired):
    actual = as_github_returns(desired)
    actual["conditions"]["ref_name"]["include"].remove("refs/heads/main")
    actual["conditions"]["ref_name"]["exclude"] = ["refs/heads/release/*"]
    assert codes(find_drift(desired, actual)) == ["branch_uncovered", "branch_excluded"]


def test_rename_and_target_change_are_drift(desired):
    actual = {**as_github_returns(desired), "name": "old rules", "target": "tag"}
    assert codes(find_drift(desired, actual)) == ["renamed", "target_changed"]


def test_hidden_bypass_actors_are_a_note_not_drift(desired):
    actual = as_github_returns(desired)
    del actual["bypass_actors"]
    report = find_drift(desired, actual)
    assert not report.drifted
    assert "Administration: write" in report.notes[0]


def test_repair_restores_policy_and_keeps_stricter_settings(desired):
    actual = as_github_returns(desired)
    actual["enforcement"] = "disabled"
    actual["bypass_actors"] = [{"actor_id": 1, "actor_type": "OrganizationAdmin"}]
    actual["conditions"]["ref_name"]["include"].append("refs/heads/prod")
    actual["conditions"]["ref_name"]["exclude"] = ["refs/heads/main"]
    actual["rules"] = [r for r in actual["rules"] if r["type"] != "deletion"]
    actual["rules"].append({"type": "required_signatures"})
    rule(actual, "pull_request")["parameters"]["require_code_owner_review"] = True
    rule(actual, "required_status_checks")["parameters"]["required_status_checks"].append(
        {"context": "ci/build"}
    )
    body = repaired_ruleset(desired, actual)
    assert not find_drift(desired, {**body, "id": 7}).drifted
    assert body["bypass_actors"] == [] and body["enforcement"] == "active"
    assert "refs/heads/prod" in body["conditions"]["ref_name"]["include"]
    assert body["conditions"]["ref_name"]["exclude"] == []
    kinds = [r["type"] for r in body["rules"]]
    assert "required_signatures" in kinds and "deletion" in kinds
    assert rule(body, "pull_request")["parameters"]["require_code_owner_review"] is True
    contexts = [
        c["context"]
        for c in rule(body, "required_status_checks")["parameters"]["required_status_checks"]
    ]
    assert contexts == ["countersign", "ci/build"]


def test_repair_of_missing_ruleset_is_the_desired_body(desired):
    assert repaired_ruleset(desired, None) == desired
