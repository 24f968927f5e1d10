"""Evaluation (pure) of drafts, retargets and code owners."""

from __future__ import annotations

from datetime import UTC, datetime

from github_app.policy.codeowners import CodeOwnersFacts, parse
from github_app.policy.evaluate import evaluate
from tests.policy.builders import evaluation, facts, policy, pull_request, review

RETARGETED = datetime(2026, 11, 20, 12, tzinfo=UTC)


def approved_by_bob(**overrides):
    approval = review("bob").model_copy(
        update={"submitted_at": overrides.pop("submitted_at", None)}
    )
    return evaluation(reviews=(approval,), **overrides)


def test_draft_agent_change_is_blocked_with_a_clear_title():
    decision = evaluate(approved_by_bob(pr=pull_request().model_copy(update={"draft": True})))
    assert decision.state == "blocked"
    assert decision.title == "Blocked: draft pull request"
    assert "mark the pull request ready for review" in decision.to_pass


def test_approval_before_a_retarget_does_not_count_by_default():
    before = datetime(2026, 11, 20, 11, tzinfo=UTC)
    inp = approved_by_bob(submitted_at=before, retargeted_at=RETARGETED, retargeted_from="develop")
    decision = evaluate(inp)
    assert decision.state == "pending"
    assert "targeted develop" in decision.approvals[0].reason


def test_approval_with_no_submission_time_is_treated_as_before_the_retarget():
    decision = evaluate(approved_by_bob(retargeted_at=RETARGETED, retargeted_from="develop"))
    assert not decision.approvals[0].counted


def test_approval_after_the_retarget_counts():
    after = datetime(2026, 11, 20, 13, tzinfo=UTC)
    decision = evaluate(approved_by_bob(submitted_at=after, retargeted_at=RETARGETED))
    assert decision.state == "approved"


def test_policy_can_let_approvals_survive_a_retarget():
    inp = approved_by_bob(
        retargeted_at=RETARGETED, policy=policy("approvals:\n  survive_retarget: true\n")
    )
    assert evaluate(inp).state == "approved"


OWNERS = policy("approvals:\n  code_owners: true\n")


def test_owner_team_member_satisfies_the_owned_group():
    owners = CodeOwnersFacts(ref="main", file=parse("/src/ @acme/core\n", "CODEOWNERS"))
    base = {"policy": OWNERS, "code_owners": owners}
    assert evaluate(approved_by_bob(**base)).state == "pending"
    member = {"bob": facts("bob", teams=("acme/core",))}
    decision = evaluate(approved_by_bob(reviewer_facts=member, **base))
    assert decision.state == "approved"
    scopes = [r.scope for r in decision.requirements]
    assert "code owners of /src/ (src/app.py)" in scopes


def test_unowned_files_need_no_owner():
    owners = CodeOwnersFacts(ref="main", file=parse("/docs/ @acme/docs\n", "CODEOWNERS"))
    assert evaluate(approved_by_bob(policy=OWNERS, code_owners=owners)).state == "approved"


def test_codeowners_error_and_e_mail_only_owners_fail_closed():
    broken = CodeOwnersFacts(ref="main", error="CODEOWNERS is not UTF-8 text")
    assert evaluate(approved_by_bob(policy=OWNERS, code_owners=broken)).state == "blocked"
    emails = CodeOwnersFacts(ref="main", file=parse("* a@example.com\n", "CODEOWNERS"))
    decision = evaluate(approved_by_bob(policy=OWNERS, code_owners=emails))
    assert decision.state == "blocked" and "e-mail" in decision.summary


def test_codeowners_not_read_when_required_fails_closed():
    assert evaluate(approved_by_bob(policy=OWNERS)).state == "blocked"
