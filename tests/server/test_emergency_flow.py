"""Break-glass: an emergency approver lets a labelled agent PR through; it is then post-reviewed."""

from __future__ import annotations

from tests.support.pr_scenario import REVIEWER, PullRequestScenario

ONCALL = {"login": "oncall-lead", "id": 5003, "type": "User"}
POLICY = """\
approvals:
  required: 2
emergency:
  approvers:
    users: [oncall-lead]
  post_review_hours: 24
"""


def merged(scenario: PullRequestScenario) -> dict:
    return scenario.merged_event("4" * 40, ONCALL)


def as_github_sends_it(review_event: dict, merged_event: dict) -> dict:
    """A review of a merged PR: review payloads carry merged_at but no merged/merged_by."""
    pull_request = dict(merged_event["pull_request"])
    for absent in ("merged", "merged_by"):
        pull_request.pop(absent, None)
    return {**review_event, "pull_request": pull_request}


async def test_emergency_change_is_recorded_and_post_reviewed(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.set_policy(POLICY, org=True)
    scenario.add_label("emergency")
    scenario.permissions.update({"oncall-lead": "write", "senior-reviewer": "write"})
    scenario.set_reviews([scenario.review(ONCALL, "APPROVED")])
    await app_harness.deliver_and_process("pull_request", scenario.event("labeled"))
    assert scenario.last_conclusion() == "success"
    assert "emergency" in scenario.published()[-1]["output"]["title"].lower()

    await app_harness.deliver_and_process("pull_request", merged(scenario))
    [emergency] = app_harness.services.ledger.entries(kinds=["emergency_change"])
    assert emergency.data["post_review_hours"] == 24

    after_merge = scenario.review(REVIEWER, "APPROVED")
    scenario.set_reviews([scenario.review(ONCALL, "APPROVED"), after_merge])  # as GitHub lists
    review_event = as_github_sends_it(scenario.review_event(after_merge), merged(scenario))
    await app_harness.deliver_and_process("pull_request_review", review_event)
    [post_review] = app_harness.services.ledger.entries(kinds=["post_review"])
    assert post_review.actor == "senior-reviewer"
    assert (post_review.pr, post_review.session_id) == (scenario.number, emergency.session_id)


async def test_the_merger_cannot_post_review_their_own_emergency(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.set_policy(POLICY, org=True)
    scenario.add_label("emergency")
    scenario.permissions["oncall-lead"] = "write"
    scenario.set_reviews([scenario.review(ONCALL, "APPROVED")])
    await app_harness.deliver_and_process("pull_request", merged(scenario))
    review_event = as_github_sends_it(
        scenario.review_event(scenario.review(ONCALL, "APPROVED")), merged(scenario)
    )
    await app_harness.deliver_and_process("pull_request_review", review_event)
    assert "emergency_change" in app_harness.ledger_kinds()
    assert "post_review" not in app_harness.ledger_kinds()
