"""A catalogue update shipped through the org policy judges the next delivery, and says so.

The security team adds an in-house agent under ``detection.agents`` in the org's
``.github/countersign.yml``; the next PR carrying its marker is an agent change, and every
ledger entry of it names the catalogue release that judged it (``+ext.<digest>``).
"""

from __future__ import annotations

from github_app.core.catalogue import default_catalogue
from tests.support.pr_scenario import PullRequestScenario, api_commit

ORG_POLICY = """\
detection:
  agents:
    - name: acme-agent
      session_patterns: ['https://agents\\.acme\\.example/runs/(?P<session>[0-9a-f]{16})']
"""


async def test_an_org_catalogue_entry_detects_and_is_recorded(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.set_policy(ORG_POLICY, org=True)
    message = "Add importer\n\nRun: https://agents.acme.example/runs/0123456789abcdef\n"
    scenario.set_commits([api_commit(scenario.head_sha, message)])

    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))

    detected = next(iter(app_harness.services.ledger.entries(kinds=["agent_change_detected"])))
    assert (detected.agent, detected.session_id) == ("acme-agent", "0123456789abcdef")
    version = detected.data["catalogue_version"]
    assert version.startswith(default_catalogue().version + "+ext.")
    decision = next(iter(app_harness.services.ledger.entries(kinds=["decision"])))
    assert decision.data["catalogue_version"] == version
    assert scenario.last_conclusion() != "success"


async def test_the_shipped_release_is_recorded_without_extensions(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    decision = next(iter(app_harness.services.ledger.entries(kinds=["decision"])))
    assert decision.data["catalogue_version"] == default_catalogue().version
