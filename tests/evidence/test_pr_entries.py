"""Which entries a pull request's life writes: the pure rules of evidence.pr_entries, by table."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from github_app.core.models import Account, Attribution, Commit, PullRequest, Review
from github_app.evidence.pr_entries import (
    Judgement,
    Stamp,
    approval_entry,
    delivery_key,
    make_entry,
    merge_entries,
    post_review_entry,
    state_entries,
)
from github_app.ledger.entry import GENESIS_HASH, LedgerEntry, NewEntry
from github_app.policy.evaluate import ApprovalVerdict, Decision, Requirement

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
STAMP = Stamp("delivery-1", "ab" * 32)
OLD, NEW = "a" * 40, "b" * 40
AUTHOR = Account(login="dev")
AGENT = Attribution(is_agent=True, agent="claude-code", session_id="s-1", launched_by="dev")
HUMAN = Attribution(is_agent=False)


def pr(**changes) -> PullRequest:
    fields = {"repo_full_name": "acme/app", "repo_id": 7, "number": 3, "author": AUTHOR}
    return PullRequest(**{**fields, "head_sha": NEW, **changes})


def decision(state: str, passing: bool = False, **changes) -> Decision:
    return Decision(state=state, passing=passing, title=state, summary=f"{state}!", **changes)


def review(login: str, sha: str, state: str = "APPROVED") -> Review:
    return Review(id=hash(login) % 1000, reviewer=Account(login=login), state=state, commit_id=sha)


@dataclass(frozen=True)
class Previous:
    head_sha: str
    state: str
    version: int = 0


def kinds(entries: list[NewEntry]) -> list[str]:
    return [e.kind for e in entries]


# previous, agent?, reviews of the old head, state now -> kinds written
STATE_CASES = [
    (None, True, [], "pending", ["agent_change_detected", "decision"]),
    (None, False, [], "not_agent", ["decision"]),
    (None, True, [], "policy_invalid", ["agent_change_detected", "decision", "policy_invalid"]),
    (Previous(NEW, "pending"), True, [], "pending", []),
    (Previous(NEW, "pending"), True, [], "approved", ["decision"]),
    (Previous(NEW, "approved"), True, [], "policy_invalid", ["decision", "policy_invalid"]),
    (Previous(OLD, "approved"), True, [], "pending", ["agent_change_detected", "decision"]),
    (
        Previous(OLD, "approved"),
        True,
        [review("rev", OLD)],
        "pending",
        ["agent_change_detected", "approval_invalidated", "decision"],
    ),
    (
        Previous(OLD, "pending"),
        False,
        [review("rev", OLD)],
        "not_agent",
        ["approval_invalidated", "decision"],
    ),
    (Previous(OLD, "pending"), False, [review("rev", OLD, "COMMENTED")], "not_agent", ["decision"]),
    (Previous(OLD, "pending"), False, [review("rev", NEW)], "not_agent", ["decision"]),
    (Previous(NEW, "pending"), True, [review("rev", OLD)], "pending", []),
]


@pytest.mark.parametrize(("previous", "agent", "reviews", "state", "expected"), STATE_CASES)
def test_state_entries_write_what_changed(previous, agent, reviews, state, expected) -> None:
    judgement = Judgement(
        pr(),
        AGENT if agent else HUMAN,
        decision(state),
        commits=(Commit(sha=NEW),),
        reviews=tuple(reviews),
        policy_sha="p" * 40,
        policy_error="bad yaml" if state == "policy_invalid" else None,
    )
    entries = state_entries(STAMP, previous, judgement, AT)
    assert kinds(entries) == expected
    for entry in entries:
        assert (entry.delivery_id, entry.payload_sha256) == (
            STAMP.delivery_id,
            STAMP.payload_sha256,
        )
        assert (entry.repo, entry.pr, entry.head_sha, entry.policy_sha) == (
            "acme/app",
            3,
            NEW,
            "p" * 40,
        )
        assert entry.session_id == ("s-1" if agent else None)


def test_state_entries_over_every_combination_never_repeat_an_unchanged_decision() -> None:
    states = ["pending", "approved", "blocked", "policy_invalid"]
    for head, before, now, agent in itertools.product((OLD, NEW), states, states, (True, False)):
        judgement = Judgement(pr(), AGENT if agent else HUMAN, decision(now))
        written = kinds(state_entries(STAMP, Previous(head, before), judgement, AT))
        changed = head != NEW or before != now
        assert ("decision" in written) is changed
        assert ("agent_change_detected" in written) is (agent and head != NEW)
        assert ("policy_invalid" in written) is (changed and now == "policy_invalid")


def test_invalidated_approvals_name_who_and_which_heads() -> None:
    judgement = Judgement(
        pr(), HUMAN, decision("not_agent"), reviews=(review("b", OLD), review("a", OLD))
    )
    [invalidated] = [
        e
        for e in state_entries(STAMP, Previous(OLD, "x"), judgement, AT)
        if e.kind == "approval_invalidated"
    ]
    assert invalidated.data == {"approvers": ["a", "b"], "approved_sha": OLD, "new_head_sha": NEW}


def test_each_effect_has_one_key_per_pr_and_head_and_state_change() -> None:
    judgement = Judgement(
        pr(), AGENT, decision("pending"), commits=(Commit(sha=NEW),), reviews=(review("a", OLD),)
    )
    entries = state_entries(STAMP, Previous(OLD, "approved", version=4), judgement, AT)
    keys = {entry.kind: entry.idempotency_key for entry in entries}
    assert keys == {
        "agent_change_detected": f"agent_change_detected:7:3:{NEW}",
        "approval_invalidated": f"approval_invalidated:7:3:{OLD}",
        "decision": "decision:7:3:4",
    }
    # The same effect computed again (a retry, another replica, another delivery) has the
    # same keys; the next change of state has the next decision key.
    again = state_entries(Stamp("delivery-2", None), Previous(OLD, "approved", 4), judgement, AT)
    assert [entry.idempotency_key for entry in again] == list(keys.values())
    later = state_entries(STAMP, Previous(NEW, "pending", 5), replace_state(judgement), AT)
    assert [entry.idempotency_key for entry in later] == ["decision:7:3:5"]


def replace_state(judgement: Judgement) -> Judgement:
    return Judgement(judgement.pr, judgement.attribution, decision("approved", passing=True))


def test_delivery_key_names_delivery_kind_and_subject() -> None:
    entry = make_entry(STAMP, "direct_push", occurred_at=AT, repo="acme/app", data={"n": 1})
    other = make_entry(STAMP, "direct_push", occurred_at=AT, repo="acme/app", data={"n": 2})
    assert delivery_key(entry) == delivery_key(entry.model_copy())
    assert delivery_key(entry).startswith("delivery:delivery-1:direct_push:")
    assert delivery_key(entry) != delivery_key(other)
    outside = make_entry(Stamp(), "direct_push", occurred_at=AT, repo="acme/app")
    assert delivery_key(outside) is None


MERGED = pr(merged=True, state="closed", merge_commit_sha="m" * 40, merged_by=Account(login="lead"))

# state, passing -> kinds written at merge
MERGE_CASES = [
    ("not_required", True, []),
    ("not_agent", True, []),
    ("approved", True, ["merge"]),
    ("emergency", True, ["merge", "emergency_change"]),
    ("pending", False, ["merge", "unapproved_merge"]),
    ("blocked", False, ["merge", "unapproved_merge"]),
    ("frozen", False, ["merge", "unapproved_merge"]),
]


@pytest.mark.parametrize(("state", "passing", "expected"), MERGE_CASES)
def test_merge_entries(state, passing, expected) -> None:
    judgement = Judgement(
        MERGED, AGENT, decision(state, passing, approvers=("rev",)), post_review_hours=24
    )
    entries = merge_entries(STAMP, judgement, AT)
    assert kinds(entries) == expected
    for entry in entries:
        assert entry.actor == "lead"
        assert entry.data["merge_sha"] == "m" * 40
        assert entry.data["approved_sha"] == (NEW if passing else None)
    if "emergency_change" in expected:
        assert entries[1].data["post_review_hours"] == 24
    if "unapproved_merge" in expected:
        assert entries[1].data["reason"] == f"{state}!"


APPROVAL = {"id": 11, "state": "approved", "commit_id": NEW, "user": {"login": "rev"}}


@pytest.mark.parametrize(
    ("review_json", "approvals", "counted", "reason"),
    [
        (
            APPROVAL,
            (
                ApprovalVerdict(
                    review_id=11,
                    reviewer="rev",
                    state="APPROVED",
                    commit_id=NEW,
                    counted=True,
                    reason="ok",
                ),
            ),
            True,
            "ok",
        ),
        (
            APPROVAL,
            (
                ApprovalVerdict(
                    review_id=11,
                    reviewer="rev",
                    state="APPROVED",
                    commit_id=NEW,
                    counted=False,
                    reason="is the author",
                ),
            ),
            False,
            "is the author",
        ),
        (APPROVAL, (), False, "not an agent change"),
        ({**APPROVAL, "state": "commented"}, (), None, None),
    ],
)
def test_approval_entry(review_json, approvals, counted, reason) -> None:
    judgement = Judgement(pr(), AGENT, decision("approved", True, approvals=approvals))
    entry = approval_entry(STAMP, judgement, review_json, AT)
    if counted is None:
        assert entry is None
        return
    assert entry is not None and entry.kind == "approval"
    assert (entry.data["counted"], entry.data["reason"], entry.actor) == (counted, reason, "rev")


def emergency_entry(merged_by: str = "lead", launched_by: str | None = "launcher") -> LedgerEntry:
    new = NewEntry(
        kind="emergency_change",
        occurred_at=AT,
        session_id="s-9",
        agent="claude-code",
        launched_by=launched_by,
        repo="acme/app",
        pr=3,
        data={"merged_by": merged_by},
    )
    return LedgerEntry.seal(new, seq=41, id="e", recorded_at=AT, prev_hash=GENESIS_HASH)


# reviewer, approved?, emergency present? -> post_review written?
POST_REVIEW_CASES = [
    (Account(login="auditor"), True, True, True),
    (Account(login="Auditor"), True, True, True),
    (None, True, True, False),
    (Account(login="auditor"), False, True, False),
    (Account(login="auditor"), True, False, False),
    (Account(login="ci[bot]"), True, True, False),
    (Account(login="helper", type="Bot"), True, True, False),
    (Account(login="DEV"), True, True, False),  # the author
    (Account(login="lead"), True, True, False),  # the merger
    (Account(login="launcher"), True, True, False),  # the launching developer
]


def judged(login: str, *, counted: bool = True, scope: str = "all files") -> Judgement:
    """The merged PR re-evaluated with review 5 by ``login`` judged as given."""
    verdict = ApprovalVerdict(
        review_id=5, reviewer=login, state="APPROVED", commit_id=NEW, counted=counted, reason="r"
    )
    requirement = Requirement(
        scope=scope,
        required=1,
        approvers="anyone",
        satisfied_by=(login,) if counted else (),
        satisfied=counted,
    )
    outcome = decision("emergency", True, approvals=(verdict,), requirements=(requirement,))
    return Judgement(pr=MERGED, attribution=AGENT, decision=outcome)


@pytest.mark.parametrize(("reviewer", "approved", "has_emergency", "written"), POST_REVIEW_CASES)
def test_post_review_entry(reviewer, approved, has_emergency, written) -> None:
    emergency = emergency_entry() if has_emergency else None
    judgement = judged(reviewer.login if reviewer else "nobody")
    entry = post_review_entry(STAMP, judgement, reviewer, approved, emergency, 5, AT)
    assert (entry is not None) is written
    if entry is not None:
        assert entry.kind == "post_review"
        assert entry.data == {
            "reviewer": reviewer.login,
            "emergency_seq": 41,
            "review_id": 5,
            "merge_sha": "m" * 40,
        }
        assert (entry.session_id, entry.agent, entry.launched_by) == (
            "s-9",
            "claude-code",
            "launcher",
        )


@pytest.mark.parametrize(
    ("judgement", "why"),
    [
        (judged("auditor", counted=False), "excluded or short of the approver requirement"),
        (judged("auditor", scope="emergency"), "an emergency approver only"),
    ],
)
def test_post_review_must_meet_the_approval_rules(judgement, why) -> None:
    reviewer = Account(login="auditor")
    entry = post_review_entry(STAMP, judgement, reviewer, True, emergency_entry(), 5, AT)
    assert entry is None, why
