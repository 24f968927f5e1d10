"""Which pushes are direct pushes, and how they are attributed (pure)."""

from __future__ import annotations

import pytest

from github_app.core.catalogue import load_catalogue
from github_app.policy.model import Policy
from github_app.pushes.classify import (
    ZERO_SHA,
    attribute_push,
    changes_policy,
    comparison_bases,
    direct_push_data,
    ignore_reason,
    incident_id,
    is_violation,
    merged_pull_request,
    org_policy_changed,
    push_from_payload,
    reachable_from_base,
)
from tests.pushes.push_payloads import AFTER, BEFORE, HUMAN_MESSAGE, push_commit, push_payload
from tests.support.webhooks import load_payload

POLICY = Policy()


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def test_payload_facts():
    push = push_from_payload(push_payload())
    assert (push.repo, push.repo_id, push.branch) == ("Codertocat/Hello-World", 186853002, "master")
    assert (push.before, push.after, push.default_branch) == (BEFORE, AFTER, "master")
    assert push.actor == "Codertocat" and push.pusher == "Codertocat"
    assert [c.sha for c in push.commits] == [AFTER]
    assert push.changed_paths == ("src/importer.py",)
    assert push.pushed_at.year == 2019


def test_tags_are_ignored():
    push = push_from_payload(load_payload("push", "with-installation"))
    assert push.branch is None
    assert ignore_reason(push, POLICY) == "not a branch"


def test_unprotected_branches_are_ignored_protected_ones_are_not():
    assert (
        ignore_reason(push_from_payload(push_payload(ref="refs/heads/feature/x")), POLICY)
        == "unprotected branch"
    )
    assert (
        ignore_reason(push_from_payload(push_payload(ref="refs/heads/release/1/fix")), POLICY)
        is None
    )
    assert ignore_reason(push_from_payload(push_payload()), POLICY) is None


def test_merge_queue_and_empty_pushes_are_ignored():
    assert (
        ignore_reason(push_from_payload(push_payload(sender="github-merge-queue[bot]")), POLICY)
        == "merged by GitHub's merge queue"
    )
    assert ignore_reason(push_from_payload(push_payload(before=AFTER)), POLICY) == (
        "nothing changed"
    )


def test_creating_a_protected_branch_is_judged_not_ignored():
    payload = push_payload(
        ref="refs/heads/release/2.0",
        before=ZERO_SHA,
        commits=[push_commit(AFTER, "old", distinct=False)],
    )
    payload["created"] = True
    # Existing commits are not reviewed commits: the shell asks GitHub's compare API.
    assert ignore_reason(push_from_payload(payload), POLICY) is None


def test_a_new_branch_is_compared_with_the_default_and_named_protected_branches():
    payload = push_payload(ref="refs/heads/release/2.0", before=ZERO_SHA)
    payload["created"] = True
    policy = Policy.model_validate({"protected_branches": ["main", "release/*", "stable"]})
    assert comparison_bases(push_from_payload(payload), policy) == ("master", "main", "stable")


@pytest.mark.parametrize(
    ("status", "reachable"),
    [("identical", True), ("behind", True), ("ahead", False), ("diverged", False), (None, False)],
)
def test_reachable_from_base_follows_the_compare_status(status, reachable):
    assert reachable_from_base({"status": status}) is reachable


def test_unreadable_policy_leaves_no_branch_unprotected():
    push = push_from_payload(push_payload(ref="refs/heads/deploy/prod"))
    assert ignore_reason(push, POLICY) == "unprotected branch"
    assert ignore_reason(push, POLICY, protection_known=False) is None
    tag = push_from_payload(load_payload("push", "with-installation"))
    assert ignore_reason(tag, POLICY, protection_known=False) == "not a branch"


def test_incident_id_tells_apart_branches_and_deletions():
    master = push_from_payload(push_payload())
    release = push_from_payload(push_payload(ref="refs/heads/release/1"))
    assert incident_id(master) == incident_id(push_from_payload(push_payload()))
    assert incident_id(master) != incident_id(release)
    deletions = [
        push_from_payload(push_payload(ref=f"refs/heads/release/{n}", before=sha, after=ZERO_SHA))
        for n, sha in (("1", BEFORE), ("2", "c" * 40))
    ]
    assert incident_id(deletions[0]) != incident_id(deletions[1])
    assert len(incident_id(master)) == 64


def test_deleting_a_protected_branch_is_a_candidate():
    payload = push_payload(ref="refs/heads/release/1.0", after=ZERO_SHA, commits=[])
    payload["deleted"] = True
    assert ignore_reason(push_from_payload(payload), POLICY) is None


def pull(
    number: int, *, merged: bool, merge_sha: str | None, head: str, base: str = "master"
) -> dict:
    return {
        "number": number,
        "merged_at": "2026-01-01T00:00:00Z" if merged else None,
        "merge_commit_sha": merge_sha,
        "head": {"sha": head},
        "base": {"ref": base},
    }


def explains(pulls: list[dict], branch: str = "master") -> int | None:
    return merged_pull_request(AFTER, branch, pulls)


def test_merged_pr_explains_the_head_by_merge_sha_or_rebased_head():
    assert explains([pull(3, merged=True, merge_sha=AFTER, head="c" * 40)]) == 3
    assert explains([pull(4, merged=True, merge_sha="d" * 40, head=AFTER)]) == 4


def test_open_or_unrelated_prs_do_not_explain_the_head():
    assert explains([pull(5, merged=False, merge_sha=AFTER, head=AFTER)]) is None
    assert explains([pull(6, merged=True, merge_sha="e" * 40, head="f" * 40)]) is None
    assert explains([]) is None


def test_a_pr_merged_into_another_branch_does_not_explain_the_head():
    into_dev = pull(7, merged=True, merge_sha=AFTER, head="c" * 40, base="dev")
    assert explains([into_dev], branch="master") is None
    assert explains([into_dev], branch="dev") == 7
    into_master = pull(8, merged=True, merge_sha=AFTER, head="c" * 40)
    assert explains([into_dev, into_master], branch="master") == 8


def test_agent_push_is_attributed_per_commit(catalogue):
    commits = [
        push_commit("1" * 40, HUMAN_MESSAGE),
        push_commit(AFTER, push_payload()["commits"][0]["message"]),
    ]
    push = push_from_payload(push_payload(commits=commits))
    attribution = attribute_push(push, catalogue, POLICY)
    assert attribution.overall.is_agent and attribution.overall.session_id == "sess-42"
    assert attribution.overall.launched_by == "octo-dev"
    assert [a.is_agent for _, a in attribution.per_commit] == [False, True]
    assert is_violation(attribution.overall, POLICY)
    data = direct_push_data(push, attribution, violation=True, policy_error=None)
    assert data["agent_authored"] is True and data["before"] == BEFORE and data["after"] == AFTER
    assert [c["is_agent"] for c in data["commits"]] == [False, True]
    assert data["pusher"] == "Codertocat"


def test_human_push_counts_only_when_policy_says_so(catalogue):
    push = push_from_payload(push_payload(message=HUMAN_MESSAGE))
    attribution = attribute_push(push, catalogue, POLICY)
    assert not attribution.overall.is_agent
    assert not is_violation(attribution.overall, POLICY)
    strict = Policy.model_validate({"direct_push": {"count_human_pushes": True}})
    assert is_violation(attribution.overall, strict)


def test_agent_push_without_session_gets_a_derived_push_session(catalogue):
    message = "Refactor\n\nCo-Authored-By: Claude Opus 4.5 <noreply@anthropic.com>\n"
    attribution = attribute_push(
        push_from_payload(push_payload(message=message)), catalogue, POLICY
    )
    assert attribution.overall.is_agent
    assert attribution.overall.session_id == f"push:186853002:{AFTER}"
    assert attribution.overall.session_derived


def test_policy_file_changes_on_default_branch_are_noticed():
    payload = push_payload()
    payload["commits"][0]["modified"] = [".github/countersign.yml"]
    push = push_from_payload(payload)
    assert changes_policy(push) and not org_policy_changed(push)
    other = push_from_payload({**payload, "ref": "refs/heads/release/1"})
    assert not changes_policy(other)


def test_org_policy_change_in_the_dot_github_repository():
    payload = push_payload()
    payload["repository"] = {
        **payload["repository"],
        "full_name": "Codertocat/.github",
        "name": ".github",
    }
    payload["commits"][0]["modified"] = ["countersign.yml"]
    assert org_policy_changed(push_from_payload(payload))
