"""Finding 3: the pusher could countersign.

Exclusions came only from the accounts GitHub linked to commit identities.  A reviewer who pushed
a commit written as ``Claude <noreply@anthropic.com>`` (no linked account) could then approve
it and the check turned green.  The ``sender`` of every ``synchronize`` and of every push to the
branch is now recorded per PR (``pr_pushers``) and excluded like an author.
"""

from __future__ import annotations

import copy

from tests.pushes.push_payloads import push_commit, push_payload
from tests.support.pr_scenario import REVIEWER, PullRequestScenario, agent_commit, api_commit

PUSHED = "c0ffee" + "0" * 34


def unlinked_commit(sha: str) -> dict:
    """A commit whose identity GitHub links to no account: only the push says who sent it."""
    commit = api_commit(sha, "Tidy the importer", name="Claude", email="noreply@anthropic.com")
    commit["author"] = commit["committer"] = None
    return commit


def as_sent_by(event: dict, login: str, user_id: int) -> dict:
    body = copy.deepcopy(event)
    body["sender"] = {**body["sender"], "login": login, "id": user_id, "type": "User"}
    return body


def reviewer_pushed(scenario: PullRequestScenario) -> None:
    """The head moves to the reviewer's commit."""
    first = scenario.head_sha
    scenario.payload["pull_request"]["head"]["sha"] = PUSHED
    scenario.set_commits([agent_commit(first), unlinked_commit(PUSHED)])
    scenario.set_reviews([scenario.review(REVIEWER, "APPROVED")])


async def test_the_sender_of_a_synchronize_cannot_approve_it(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.permissions[REVIEWER["login"]] = "write"
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    reviewer_pushed(scenario)
    sync = as_sent_by(scenario.event("synchronize"), REVIEWER["login"], REVIEWER["id"])
    await app_harness.deliver_and_process("pull_request", sync)

    assert scenario.last_conclusion() == "action_required"
    assert any("pushed c0ffee0 to this pull request" in line for line in _verdicts(scenario))


async def test_a_push_to_the_head_branch_before_the_pr_excludes_the_pusher(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.permissions[REVIEWER["login"]] = "write"
    branch = scenario.payload["pull_request"]["head"]["ref"]
    push = push_payload(
        ref=f"refs/heads/{branch}",
        after=PUSHED,
        commits=[push_commit(PUSHED, "Tidy the importer")],
        sender=REVIEWER["login"],
    )
    await app_harness.deliver_and_process("push", push)
    reviewer_pushed(scenario)
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    assert scenario.last_conclusion() == "action_required"
    assert any("pushed c0ffee0" in reason for reason in _verdicts(scenario))


async def test_pushers_are_excluded_from_the_merge_snapshot(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.permissions[REVIEWER["login"]] = "write"
    reviewer_pushed(scenario)
    sync = as_sent_by(scenario.event("synchronize"), REVIEWER["login"], REVIEWER["id"])
    await app_harness.deliver_and_process("pull_request", sync)
    await app_harness.deliver_and_process("pull_request", scenario.merged_event("2" * 40, REVIEWER))
    [merge] = app_harness.services.ledger.entries(kinds=["merge"])
    assert merge.data["approvers"] == []
    assert "unapproved_merge" in app_harness.ledger_kinds()


def _verdicts(scenario: PullRequestScenario) -> list[str]:
    text = scenario.published()[-1]["output"]["text"]
    return [line for line in text.splitlines() if "senior-reviewer" in line]
