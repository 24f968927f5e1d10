"""``countersign policy check`` and ``policy schema`` through the real command line."""

from __future__ import annotations

import json

from click.testing import CliRunner

from github_app.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_policy_check_prints_the_effective_policy(tmp_path):
    policy = tmp_path / "countersign.yml"
    policy.write_text("approvals:\n  required: 2\n  teams: [acme/platform]\n")
    result = run("policy", "check", str(policy))
    assert result.exit_code == 0, result.output
    assert "# valid" in result.output
    assert "required: 2" in result.output
    assert "acme/platform" in result.output


def test_policy_check_rejects_an_unknown_key_with_its_path(tmp_path):
    policy = tmp_path / "countersign.yml"
    policy.write_text("approvals:\n  requird: 2\n")
    result = run("policy", "check", str(policy))
    assert result.exit_code == 1
    assert "invalid policy" in result.output
    assert "requird" in result.output


def test_policy_check_reports_the_yaml_line(tmp_path):
    policy = tmp_path / "countersign.yml"
    policy.write_text("approvals:\n  required: [2\n")
    result = run("policy", "check", str(policy))
    assert result.exit_code == 1
    assert result.output.startswith(f"{policy}:3:1: invalid YAML: ")


def test_repo_policy_cannot_loosen_the_org_policy(tmp_path):
    org = tmp_path / "org.yml"
    org.write_text("approvals:\n  required: 2\n")
    repo = tmp_path / "repo.yml"
    repo.write_text("approvals:\n  required: 1\n")
    result = run("policy", "check", str(repo), "--org-file", str(org), "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["policy"]["approvals"]["required"] == 2
    assert document["ignored"], "the loosening attempt is reported"


def test_policy_schema_matches_the_published_file():
    from github_app.paths import policies_dir

    result = run("policy", "schema")
    published = (policies_dir() / "countersign.schema.json").read_text()
    assert json.loads(result.output) == json.loads(published)
