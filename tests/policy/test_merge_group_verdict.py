"""The merge group verdict (pure): every PR countersigned on its queued head, nothing else."""

from __future__ import annotations

from github_app.policy.merge_group import (
    MergeGroup,
    QueueEntry,
    Standing,
    group_members,
    judge_group,
    queue_entries,
)

GROUP = MergeGroup(
    repo="acme/api",
    repo_id=1,
    head_sha="c" * 40,
    head_ref="refs/heads/gh-readonly-queue/main/pr-2-" + "0" * 40,
    base_ref="refs/heads/main",
    base_sha="0" * 40,
)
ENTRIES = (
    QueueEntry(
        position=1, head_commit="b" * 40, base_commit="0" * 40, pr_number=1, pr_head_sha="1" * 40
    ),
    QueueEntry(
        position=2, head_commit="c" * 40, base_commit="b" * 40, pr_number=2, pr_head_sha="2" * 40
    ),
    QueueEntry(
        position=3, head_commit="d" * 40, base_commit="c" * 40, pr_number=3, pr_head_sha="3" * 40
    ),
)
PASSING = {
    1: Standing(head_sha="1" * 40, state="approved"),
    2: Standing(head_sha="2" * 40, state="not_agent"),
}


def test_the_group_holds_its_entry_and_every_entry_ahead():
    members = group_members(ENTRIES, "c" * 40)
    assert [m.pr_number for m in members] == [1, 2]
    assert group_members(ENTRIES, "e" * 40) is None


def test_every_pr_countersigned_passes():
    verdict = judge_group(GROUP, group_members(ENTRIES, GROUP.head_sha), PASSING)
    assert verdict.passing and verdict.conclusion == "success" and verdict.prs == (1, 2)


def test_each_pr_lacking_a_countersignature_is_named():
    standings = {
        1: Standing(head_sha="1" * 40, state="pending"),
        2: Standing(head_sha="9" * 40, state="approved"),
    }
    verdict = judge_group(GROUP, group_members(ENTRIES, GROUP.head_sha), standings)
    assert verdict.conclusion == "failure"
    assert [pr for pr, _ in verdict.lacking] == [1, 2]
    assert "#1, #2" in verdict.title


def test_a_pr_without_any_decision_blocks():
    verdict = judge_group(GROUP, group_members(ENTRIES, GROUP.head_sha), {1: PASSING[1]})
    assert verdict.lacking == ((2, "Countersign has no decision for it"),)


def test_contents_that_cannot_be_accounted_for_fail_closed():
    other_base = GROUP.model_copy(update={"base_sha": "f" * 40})
    assert not judge_group(other_base, group_members(ENTRIES, GROUP.head_sha), PASSING).passing
    not_a_pr = (ENTRIES[0].model_copy(update={"pr_number": None}), ENTRIES[1])
    assert not judge_group(GROUP, not_a_pr, PASSING).passing
    assert not judge_group(GROUP, None, PASSING).passing


def test_a_frozen_repository_fails_the_group():
    verdict = judge_group(
        GROUP, group_members(ENTRIES, GROUP.head_sha), PASSING, frozen_reason="incident 7"
    )
    assert not verdict.passing and "incident 7" in verdict.summary


def test_graphql_nodes_become_entries_in_queue_order():
    nodes = [
        {
            "position": 2,
            "state": "QUEUED",
            "headCommit": {"oid": "c"},
            "baseCommit": None,
            "pullRequest": {"number": 9, "headRefOid": "9"},
        },
        None,
        {
            "position": 1,
            "state": "AWAITING_CHECKS",
            "headCommit": None,
            "baseCommit": None,
            "pullRequest": None,
        },
    ]
    entries = queue_entries(nodes)
    assert [e.position for e in entries] == [1, 2]
    assert entries[0].pr_number is None and entries[1].pr_head_sha == "9"
