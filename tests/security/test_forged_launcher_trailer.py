"""Finding 4: a forged ``Agent-Launched-By:`` displaces the vendor's launcher.

The attack: Devin says the session was "Requested by" senior-reviewer; a commit adds the
unauthenticated trailer ``Agent-Launched-By: octo-dev``.  Only one launcher used to be excluded
and the trailer won, so senior-reviewer — who launched the agent — could countersign its work.
And an org or repo ``detection.agents`` entry could silently replace a shipped agent's
launcher rules.  Now the vendor marker is the primary launcher, every candidate is excluded,
and extensions only add.
"""

from __future__ import annotations

from github_app.core.catalogue import load_catalogue
from tests.support.pr_scenario import REVIEWER, PullRequestScenario, api_commit

DEVIN = {"login": "devin-ai-integration[bot]", "id": 158243242, "type": "Bot"}
DEVIN_EMAIL = "158243242+devin-ai-integration[bot]@users.noreply.github.com"
SESSION = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"


def _devin_pr(app_harness) -> PullRequestScenario:
    scenario = PullRequestScenario(app_harness.github)
    scenario.permissions["senior-reviewer"] = "write"
    pr = scenario.payload["pull_request"]
    pr["user"] = {**pr["user"], **DEVIN}
    pr["body"] = (
        "# Add rate limiting\n\n"
        f"Link to Devin run: https://app.devin.ai/sessions/{SESSION}\n"
        "Requested by: Senior Reviewer (@senior-reviewer)\n"
    )
    forged = api_commit(
        scenario.head_sha,
        "Add rate limiting\n\nAgent-Launched-By: octo-dev\n",
        author=DEVIN,
        name="Devin AI",
        email=DEVIN_EMAIL,
    )
    scenario.set_commits([forged])
    scenario.set_reviews([scenario.review(REVIEWER, "APPROVED")])
    return scenario


async def test_the_requester_cannot_countersign_behind_a_forged_trailer(app_harness):
    scenario = _devin_pr(app_harness)
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))

    latest = scenario.published()[-1]
    assert latest["conclusion"] != "success"
    assert "senior-reviewer" in latest["output"]["summary"] + latest["output"].get("text", "")
    detected = next(iter(app_harness.services.ledger.entries(kinds=["agent_change_detected"])))
    assert detected.launched_by == "senior-reviewer"  # the vendor marker outranks the trailer


def test_an_extension_cannot_replace_a_shipped_agents_launcher_rules():
    shipped = load_catalogue().get("devin")
    extended = load_catalogue(extra=[{"name": "devin", "launcher": ["pr_author"]}]).get("devin")
    assert extended.launcher[: len(shipped.launcher)] == shipped.launcher
    assert extended.launcher[-1].source == "pr_author"


def test_an_extension_cannot_rename_or_drop_a_shipped_agents_identities():
    extra = [{"name": "devin", "display_name": "Not Devin", "identities": {"logins": ["x-bot"]}}]
    extended = load_catalogue(extra=extra).get("devin")
    shipped = load_catalogue().get("devin")
    assert extended.display_name == shipped.display_name
    assert set(shipped.identities.account_ids) <= set(extended.identities.account_ids)
    assert set(shipped.identities.logins) < set(extended.identities.logins)
