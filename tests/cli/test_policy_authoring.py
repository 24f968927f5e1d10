"""Writing a policy: positioned, plain-language errors, no-op warnings, drafts tried on real PRs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from github_app.cli import main
from github_app.policy.model import schema_text
from tests.support.fake_github import FAKE_API_URL, FAKE_APP_ID, example
from tests.support.pr_scenario import REVIEWER, PullRequestScenario

REPO_ROOT = Path(__file__).resolve().parents[2]


def check(tmp_path: Path, text: str, *args: str):
    policy = tmp_path / "countersign.yml"
    policy.write_text(text)
    return policy, CliRunner().invoke(main, ["policy", "check", str(policy), *args])


def test_unknown_key_is_placed_and_a_close_name_suggested(tmp_path):
    policy, result = check(tmp_path, "version: 1\napprovals:\n  requried: 2\n")
    assert result.exit_code == 1
    assert f"{policy}:3:3: approvals.requried: unknown key; did you mean 'required'?" in (
        result.output.splitlines()
    )
    assert result.output.count("invalid policy") == 1  # no doubled prefixes


def test_wrong_types_are_errors_in_policy_words(tmp_path):
    text = "approvals:\n  required: yes\nprotected_branches: main\nsession:\n  require_id: 'no'\n"
    policy, result = check(tmp_path, text)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"{policy}:2:3: approvals.required: must be a whole number" in lines
    assert f"{policy}:3:1: protected_branches: must be a list" in lines
    assert f"{policy}:5:3: session.require_id: must be true or false" in lines
    assert "Input should be" not in result.output
    assert "tuple" not in result.output


def test_unknown_top_level_key_lists_what_is_allowed(tmp_path):
    _, result = check(tmp_path, "aprovals: {}\nzzz: 1\n")
    assert "aprovals: unknown key; did you mean 'approvals'?" in result.output
    assert "zzz: unknown key (allowed: alerts, approvals," in result.output


def test_path_rule_with_only_a_pattern_is_a_warning(tmp_path):
    policy, result = check(
        tmp_path,
        "paths:\n  - pattern: 'infra/**'\n  - pattern: '*.pem'\n    agents_forbidden: true\n",
    )
    assert result.exit_code == 0, result.output
    assert (
        f"{policy}:2:5: warning: paths[0]: this rule only names a pattern and changes nothing"
        in result.output
    )
    assert "paths[1]" not in result.output


def test_an_invalid_policy_reports_its_no_op_warnings_too(tmp_path):
    """All problems in one run, as the README's example shows: errors, warnings, the count."""
    text = "approvals:\n  requried: 2\npaths:\n  - pattern: 'infra/**'\n"
    policy, result = check(tmp_path, text)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{policy}:2:3: approvals.requried: unknown key; did you mean 'required'?",
        f"{policy}:4:5: warning: paths[0]: this rule only names a pattern and changes nothing: "
        "add `approvals`, `agents_forbidden: true` or `agents_may_not_read: true`",
        "invalid policy: 1 problem",
    ]


def test_yaml_syntax_error_is_positioned(tmp_path):
    policy, result = check(tmp_path, "approvals:\n  required: [2\n  users: bob\n")
    assert result.exit_code == 1
    assert result.output.startswith(f"{policy}:3:8: invalid YAML: ")


def test_committed_schema_has_an_id_and_is_current():
    committed = (REPO_ROOT / "policies" / "countersign.schema.json").read_text()
    assert committed == schema_text()
    schema = json.loads(committed)
    assert schema["$id"].endswith("/countersign.schema.json")
    assert schema["$schema"].startswith("https://json-schema.org/")


def test_action_checks_changed_policy_files():
    import yaml

    action = yaml.safe_load((REPO_ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    assert any(step.get("uses", "").startswith("actions/setup-python@") for step in steps)
    script = "\n".join(step.get("run", "") for step in steps)
    assert "pip install" in script
    assert "countersign policy check" in script
    assert "countersign.yml" in script


@pytest.fixture
def app_env(tmp_path, monkeypatch, app_private_key_pem):
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "GITHUB_APP_ID": str(FAKE_APP_ID),
        "GITHUB_PRIVATE_KEY": app_private_key_pem,
        "GITHUB_WEBHOOK_SECRET": "s",
        "GITHUB_API_URL": FAKE_API_URL,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'countersign.db'}",
        "COUNTERSIGN_SIGNING_KEY_PATH": str(tmp_path / "data" / "signing.key"),
    }.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def approved_pr(github) -> PullRequestScenario:
    scenario = PullRequestScenario(github)
    scenario.permissions["senior-reviewer"] = "write"
    scenario.set_reviews([scenario.review(REVIEWER, "APPROVED")])
    github.route("GET", f"/repos/{scenario.repo}/installation", json=example("installation"))
    github.route("GET", scenario.base, json=scenario.payload["pull_request"])
    return scenario


def test_simulate_judges_a_real_pr_with_a_draft_policy(app_env, github):
    scenario = approved_pr(github)
    in_force = CliRunner().invoke(
        main, ["policy", "simulate", scenario.repo, str(scenario.number), "--json"]
    )
    assert in_force.exit_code == 0, in_force.output
    assert json.loads(in_force.output)["decision"]["passing"] is True

    draft = app_env / "draft.yml"
    draft.write_text("approvals:\n  required: 2\n")
    with_draft = CliRunner().invoke(
        main,
        ["policy", "simulate", "--policy", str(draft), scenario.repo, str(scenario.number)],
    )
    assert with_draft.exit_code == 0, with_draft.output
    assert with_draft.output.splitlines()[0].endswith("(not passing)")
    assert scenario.published() == []  # nothing was published
    assert not (app_env / "data").exists()  # and no store was created


def test_simulate_refuses_an_invalid_draft_before_asking_github(app_env, github):
    draft = app_env / "draft.yml"
    draft.write_text("approvals:\n  required: 0\n")
    result = CliRunner().invoke(main, ["policy", "simulate", "--policy", str(draft), "a/b", "1"])
    assert result.exit_code == 1
    assert f"{draft}:2:3: approvals.required: must be at least 1" in result.output
    assert github.requests() == []


def test_nested_mistakes_each_get_their_own_line(tmp_path):
    text = (
        "approvals: 5\npaths:\n  - {}\nalerts:\n  webhooks:\n    - url: 'not a url'\nversion: 2\n"
    )
    policy, result = check(tmp_path, text)
    lines = result.output.splitlines()
    assert lines == [
        f"{policy}:1:1: approvals: must be a mapping of settings",
        f"{policy}:3:5: paths[0].pattern: is required",
        f"{policy}:6:7: alerts.webhooks[0].url: must match ^https?://\\S+$",
        f"{policy}:7:1: version: must be 1",
        "invalid policy: 4 problems",
    ]
