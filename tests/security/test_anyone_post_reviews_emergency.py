"""Finding 11: anyone could post-review an emergency change.

Any account that was not the author, merger or launcher closed the emergency's post-merge
review: a read-only outsider, or the person who pushed the change's commits.  A post-merge
review must now meet the same counting rules as an approval: the approver requirement
(permission, users, teams) and every exclusion (authors, co-authors, pushers, agents).
"""

from __future__ import annotations

import copy

from tests.support.pr_scenario import REVIEWER, PullRequestScenario

ONCALL = {"login": "oncall-lead", "id": 5003, "type": "User"}
OUTSIDER = {"login": "drive-by", "id": 5009, "type": "User"}
POLICY = "approvals:\n  required: 2\nemergency:\n  approvers:\n    users: [oncall-lead]\n"


async def merge_an_emergency(app_harness, pushed_by: dict | None = None) -> PullRequestScenario:
    scenario = PullRequestScenario(app_harness.github)
    scenario.set_policy(POLICY, org=True)
    scenario.add_label("emergency")
    scenario.permissions.update({"oncall-lead": "write", "senior-reviewer": "write"})
    scenario.set_reviews([scenario.review(ONCALL, "APPROVED")])
    await app_harness.deliver_and_process("pull_request", scenario.event("labeled"))
    if pushed_by is not None:
        sync = scenario.event("synchronize")
        sync["sender"] = {**sync["sender"], **pushed_by}
        await app_harness.deliver_and_process("pull_request", sync)
    await app_harness.deliver_and_process("pull_request", merged(scenario))
    assert "emergency_change" in app_harness.ledger_kinds()
    return scenario


def merged(scenario: PullRequestScenario) -> dict:
    return scenario.merged_event("4" * 40, ONCALL)


async def post_review(app_harness, scenario: PullRequestScenario, user: dict) -> None:
    review = scenario.review(user, "APPROVED")
    scenario.set_reviews([scenario.review(ONCALL, "APPROVED"), review])
    event = scenario.review_event(review)
    pull_request = copy.deepcopy(merged(scenario)["pull_request"])
    for absent in ("merged", "merged_by"):  # review payloads carry merged_at only
        pull_request.pop(absent, None)
    event["pull_request"] = pull_request
    await app_harness.deliver_and_process("pull_request_review", event)


async def test_a_reader_without_write_access_cannot_post_review(app_harness):
    scenario = await merge_an_emergency(app_harness)
    scenario.permissions[OUTSIDER["login"]] = "read"
    await post_review(app_harness, scenario, OUTSIDER)
    assert "post_review" not in app_harness.ledger_kinds()


async def test_the_pusher_of_the_change_cannot_post_review_it(app_harness):
    scenario = await merge_an_emergency(app_harness, pushed_by=REVIEWER)
    await post_review(app_harness, scenario, REVIEWER)
    assert "post_review" not in app_harness.ledger_kinds()


async def test_a_qualifying_reviewer_still_closes_the_post_review(app_harness):
    scenario = await merge_an_emergency(app_harness)
    await post_review(app_harness, scenario, REVIEWER)
    [entry] = app_harness.services.ledger.entries(kinds=["post_review"])
    assert entry.actor == "senior-reviewer"
