"""Finding 10: approvals submitted after the merge counted in the merge snapshot.

The ``merge`` entry is written when ``closed`` is processed; a reviewer approving in between
(or a late delivery) made an unreviewed merge look countersigned, and no ``unapproved_merge``
was recorded.  Only reviews submitted at or before ``merged_at`` count now.
"""

from __future__ import annotations

from tests.support.pr_scenario import REVIEWER, PullRequestScenario

MERGED_AT = "2026-11-21T09:00:00Z"  # what PullRequestScenario.merged_event sets


async def test_an_approval_after_the_merge_does_not_countersign_it(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.permissions[REVIEWER["login"]] = "write"
    late = {**scenario.review(REVIEWER, "APPROVED"), "submitted_at": "2026-11-21T09:00:01Z"}
    scenario.set_reviews([late])
    await app_harness.deliver_and_process("pull_request", scenario.merged_event("2" * 40, REVIEWER))
    [merge] = app_harness.services.ledger.entries(kinds=["merge"])
    assert merge.data["approvers"] == [] and merge.data["passing"] is False
    assert "unapproved_merge" in app_harness.ledger_kinds()


async def test_an_approval_at_the_merge_still_counts(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.permissions[REVIEWER["login"]] = "write"
    scenario.set_reviews([{**scenario.review(REVIEWER, "APPROVED"), "submitted_at": MERGED_AT}])
    await app_harness.deliver_and_process("pull_request", scenario.merged_event("2" * 40, REVIEWER))
    [merge] = app_harness.services.ledger.entries(kinds=["merge"])
    assert merge.data["approvers"] == ["senior-reviewer"]
    assert "unapproved_merge" not in app_harness.ledger_kinds()
