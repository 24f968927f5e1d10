"""Finding 9: a bad ``detection.agents`` entry passed ``policy check``, then crashed deliveries.

The attack (or accident): an org policy adds an agent entry the catalogue refuses (a bad name,
a pattern without its group, an identity another agent owns).  The policy parsed, so
``countersign policy check`` said "valid", and every delivery then raised while compiling the
catalogue — retried until dead, with no check run and no ledger entry.  Now the entry is
validated with the policy: the CLI rejects it in one line, and a delivery records
``policy_invalid`` and fails closed.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from github_app.cli import main
from tests.support.pr_scenario import REVIEWER, PullRequestScenario

BAD_ENTRIES = {
    "bad name": "detection:\n  agents:\n    - name: Acme_Bot\n",
    "missing group": (
        "detection:\n  agents:\n    - name: acme-bot\n      session_patterns: ['x-\\d+']\n"
    ),
    "stolen identity": (
        "detection:\n  agents:\n    - name: acme-bot\n"
        "      identities: {emails: [noreply@anthropic.com]}\n"
    ),
    "weakening": "detection:\n  agents:\n    - name: devin\n      assisted_only: true\n",
}


@pytest.mark.parametrize("text", BAD_ENTRIES.values(), ids=BAD_ENTRIES.keys())
def test_policy_check_rejects_the_entry_in_one_line(tmp_path, text):
    policy = tmp_path / "countersign.yml"
    policy.write_text(text)
    result = CliRunner().invoke(main, ["policy", "check", str(policy)], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    first, *rest = result.output.strip().splitlines()
    # One diagnostic line (file:line:col: key: message) names the entry; a count closes the report.
    assert first.startswith(f"{policy}:") and "detection.agents" in first
    assert rest == ["invalid policy: 1 problem"]


async def test_a_delivery_under_a_bad_entry_is_policy_invalid_not_a_crash(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.permissions["senior-reviewer"] = "write"
    scenario.set_reviews([scenario.review(REVIEWER, "APPROVED")])
    scenario.set_policy(BAD_ENTRIES["stolen identity"], org=True)

    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))

    assert scenario.last_conclusion() == "failure"
    assert "policy_invalid" in app_harness.ledger_kinds()
    entry = next(iter(app_harness.services.ledger.entries(kinds=["policy_invalid"])))
    assert "noreply@anthropic.com" in entry.data["error"]
