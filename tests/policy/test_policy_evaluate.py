"""The approval matrix: which reviews count, what blocks, and what the decision says."""

from __future__ import annotations

from github_app.core.models import GitIdentity, Signal, Strength
from github_app.policy.evaluate import Decision, evaluate
from tests.policy.builders import (
    HEAD,
    OLD,
    account,
    agent_attribution,
    commit,
    default_facts,
    evaluation,
    facts,
    human_attribution,
    policy,
    pull_request,
    review,
)

PLATFORM_INFRA = """
paths:
  - pattern: "infra/**"
    approvals: {required: 2, teams: [acme/platform]}
"""
EMERGENCY = "emergency: {approvers: {teams: [acme/platform]}}"


def verdict_for(decision: Decision, login: str):
    """The verdict on the (last) review by ``login``."""
    return [v for v in decision.approvals if v.reviewer == login][-1]


# --- human changes and the basics ---------------------------------------------------------


def test_human_pr_passes_without_reviews():
    decision = evaluate(evaluation(attribution=human_attribution()))
    assert decision.state == "not_agent"
    assert decision.passing
    assert decision.title == "Not an agent change"
    assert decision.policy_sha == policy().sha


def test_agent_pr_without_reviews_is_pending_with_concrete_step():
    decision = evaluate(evaluation())
    assert decision.state == "pending"
    assert not decision.passing
    assert decision.title == "Waiting for 1 more approval"
    assert "claude-code" in decision.summary and "launched by @alice" in decision.summary
    assert decision.to_pass == (
        "1 more approval on a1b2c3d from a human with write permission who is not the "
        "launcher @alice or an author, co-author or pusher of its commits",
    )
    [requirement] = decision.requirements
    assert requirement.scope == "all files"
    assert requirement.approvers == "any human with write permission"
    assert not requirement.satisfied


def test_independent_human_approval_of_head_counts():
    decision = evaluate(evaluation(reviews=(review("bob"),)))
    assert decision.state == "approved"
    assert decision.passing
    assert decision.approvers == ("bob",)
    assert decision.title == "Countersigned by @bob"
    assert verdict_for(decision, "bob").counted
    assert decision.requirements[0].satisfied_by == ("bob",)


def test_required_count_above_one_needs_distinct_people():
    two = policy(org="approvals: {required: 2}")
    pending = evaluate(evaluation(policy=two, reviews=(review("bob"),)))
    assert pending.state == "pending"
    assert pending.to_pass[0].startswith("1 more approval on a1b2c3d")
    approved = evaluate(evaluation(policy=two, reviews=(review("bob"), review("carol"))))
    assert approved.state == "approved"
    assert approved.approvers == ("bob", "carol")


# --- who cannot countersign ---------------------------------------------------------------


def test_launcher_approval_not_counted():
    inp = evaluation(
        attribution=agent_attribution(launched_by="gina"),
        reviewer_facts=default_facts() | {"gina": facts("gina", "admin")},
        reviews=(review("gina"),),
    )
    decision = evaluate(inp)
    assert decision.state == "pending"
    verdict = verdict_for(decision, "gina")
    assert not verdict.counted
    assert "launched the agent session" in verdict.reason
    assert "launcher @gina" in decision.to_pass[0]


def test_commit_author_approval_not_counted():
    inp = evaluation(
        commits=(commit(), commit(OLD, author="carol")),
        reviews=(review("carol"),),
    )
    decision = evaluate(inp)
    assert decision.state == "pending"
    assert verdict_for(decision, "carol").reason == (
        "@carol authored commit 9f8e7d6, so cannot countersign it"
    )


def test_committer_approval_not_counted():
    inp = evaluation(commits=(commit(committer="bob"),), reviews=(review("bob"),))
    decision = evaluate(inp)
    assert decision.state == "pending"
    assert "committed a1b2c3d" in verdict_for(decision, "bob").reason


def test_co_author_by_noreply_email_not_counted():
    co_author = GitIdentity(name="Bob", email="1234+bob@users.noreply.github.com")
    inp = evaluation(
        attribution=agent_attribution(co_authors=(co_author,)), reviews=(review("bob"),)
    )
    decision = evaluate(inp)
    assert decision.state == "pending"
    assert "co-author" in verdict_for(decision, "bob").reason


def test_co_author_matched_by_account_id_after_rename_not_counted():
    co_author = GitIdentity(name="Bob", email="1234+old-bob-name@users.noreply.github.com")
    inp = evaluation(
        attribution=agent_attribution(co_authors=(co_author,)),
        reviews=(review(account("bob", account_id=1234)),),
    )
    decision = evaluate(inp)
    assert decision.state == "pending"
    assert "co-author" in verdict_for(decision, "bob").reason


def test_co_author_matched_by_linked_account_not_counted():
    co_author = GitIdentity(name="Carol C", email="carol@corp.example")
    inp = evaluation(
        commits=(commit(), commit(OLD, author="carol", author_email="carol@corp.example")),
        attribution=agent_attribution(co_authors=(co_author,)),
        reviews=(review("bob"), review("carol")),
    )
    decision = evaluate(inp)
    assert decision.approvers == ("bob",)
    assert not verdict_for(decision, "carol").counted


def test_pr_author_approval_not_counted():
    inp = evaluation(
        pr=pull_request(author="carol"),
        attribution=agent_attribution(launched_by="alice"),
        reviews=(review("carol"),),
    )
    decision = evaluate(inp)
    assert decision.state == "pending"
    assert "opened this pull request" in verdict_for(decision, "carol").reason
    assert "the PR author @carol" in decision.to_pass[0]


def test_bot_approval_not_counted():
    inp = evaluation(reviews=(review(account("ci-helper", kind="Bot")),))
    decision = evaluate(inp)
    assert decision.state == "pending"
    assert "is a bot account" in verdict_for(decision, "ci-helper").reason


def test_bot_suffix_login_not_counted_even_if_typed_user():
    decision = evaluate(evaluation(reviews=(review("renovate[bot]"),)))
    assert decision.state == "pending"
    assert "bot account" in verdict_for(decision, "renovate[bot]").reason


def test_agent_account_approval_not_counted():
    inp = evaluation(
        agent_logins=frozenset({"CursorAgent"}),
        reviewer_facts=default_facts() | {"cursoragent": facts("cursoragent", "admin")},
        reviews=(review("cursoragent"),),
    )
    decision = evaluate(inp)
    assert decision.state == "pending"
    assert "agent identity" in verdict_for(decision, "cursoragent").reason


def test_organisation_account_approval_not_counted():
    decision = evaluate(evaluation(reviews=(review(account("acme", kind="Organization")),)))
    assert "not a person" in verdict_for(decision, "acme").reason


# --- which SHA, which review --------------------------------------------------------------


def test_approval_of_older_commit_not_counted():
    decision = evaluate(evaluation(reviews=(review("bob", commit_id=OLD),)))
    assert decision.state == "pending"
    verdict = verdict_for(decision, "bob")
    assert not verdict.counted
    assert verdict.reason == "approved an older commit 9f8e7d6; the head is now a1b2c3d"
    assert "@bob can approve again: their approval is on 9f8e7d6, the head is a1b2c3d" in (
        decision.to_pass
    )


def test_only_latest_review_per_reviewer_counts():
    decision = evaluate(evaluation(reviews=(review("bob", commit_id=OLD), review("bob"))))
    assert decision.state == "approved"
    first, second = decision.approvals
    assert not first.counted and "superseded" in first.reason
    assert second.counted


def test_review_order_follows_ids_not_input_order():
    later = review("bob", "CHANGES_REQUESTED", review_id=20)
    earlier = review("bob", review_id=10)
    decision = evaluate(evaluation(reviews=(later, earlier)))
    assert decision.state == "blocked"


def test_changes_requested_blocks():
    decision = evaluate(evaluation(reviews=(review("bob"), review("carol", "CHANGES_REQUESTED"))))
    assert decision.state == "blocked"
    assert not decision.passing
    assert decision.title == "Blocked: changes requested by @carol"
    assert "@carol approves the head commit a1b2c3d, or their review is dismissed" in (
        decision.to_pass
    )
    assert "blocks until @carol approves" in verdict_for(decision, "carol").reason


def test_changes_requested_on_older_commit_still_blocks():
    stale_objection = review("carol", "CHANGES_REQUESTED", commit_id=OLD)
    decision = evaluate(evaluation(reviews=(stale_objection, review("bob"))))
    assert decision.state == "blocked"


def test_changes_requested_lifted_by_later_approval_from_same_reviewer():
    reviews = (review("carol", "CHANGES_REQUESTED", commit_id=OLD), review("carol"))
    decision = evaluate(evaluation(reviews=reviews))
    assert decision.state == "approved"
    assert decision.approvers == ("carol",)


def test_comment_does_not_lift_changes_requested_or_replace_approval():
    blocked = evaluate(
        evaluation(reviews=(review("carol", "CHANGES_REQUESTED"), review("carol", "COMMENTED")))
    )
    assert blocked.state == "blocked"
    approved = evaluate(evaluation(reviews=(review("bob"), review("bob", "COMMENTED"))))
    assert approved.state == "approved"
    assert verdict_for(approved, "bob").reason == "a comment, not an approval"


def test_dismissed_review_removes_the_earlier_one():
    reviews = (review("carol", "CHANGES_REQUESTED"), review("carol", "DISMISSED"), review("bob"))
    decision = evaluate(evaluation(reviews=reviews))
    assert decision.state == "approved"
    reasons = [v.reason for v in decision.approvals if v.reviewer == "carol"]
    assert reasons == ["superseded by @carol's later review", "dismissed"]


def test_changes_requested_by_someone_who_could_not_approve_does_not_block():
    decision = evaluate(evaluation(reviews=(review("dave", "CHANGES_REQUESTED"), review("bob"))))
    assert decision.state == "approved"
    assert "does not block" in verdict_for(decision, "dave").reason


def test_changes_requested_by_bot_does_not_block():
    bot = account("reviewbot[bot]", kind="Bot")
    decision = evaluate(evaluation(reviews=(review(bot, "CHANGES_REQUESTED"), review("bob"))))
    assert decision.state == "approved"


def test_changes_requested_does_not_block_when_policy_says_so():
    relaxed = policy(org="approvals: {changes_requested_blocks: false}")
    reviews = (review("carol", "CHANGES_REQUESTED"), review("bob"))
    decision = evaluate(evaluation(policy=relaxed, reviews=reviews))
    assert decision.state == "approved"


# --- approver requirements ----------------------------------------------------------------


def test_team_requirement_met():
    team_policy = policy(org="approvals: {teams: [acme/platform]}")
    decision = evaluate(evaluation(policy=team_policy, reviews=(review("frank"),)))
    assert decision.state == "approved"
    assert decision.requirements[0].approvers == "members of acme/platform with write permission"


def test_team_requirement_unmet():
    team_policy = policy(org="approvals: {teams: [acme/platform]}")
    decision = evaluate(evaluation(policy=team_policy, reviews=(review("bob"),)))
    assert decision.state == "pending"
    assert verdict_for(decision, "bob").reason == (
        "does not meet the approver requirement: @bob is not one of the listed approvers "
        "(members of acme/platform)"
    )
    assert "from members of acme/platform with write permission" in decision.to_pass[0]


def test_user_list_requirement():
    users_policy = policy(org="approvals: {users: [Carol]}")
    assert evaluate(evaluation(policy=users_policy, reviews=(review("carol"),))).passing
    assert not evaluate(evaluation(policy=users_policy, reviews=(review("bob"),))).passing


def test_min_permission_met():
    maintain = policy(org="approvals: {min_permission: maintain}")
    decision = evaluate(evaluation(policy=maintain, reviews=(review("erin"),)))
    assert decision.state == "approved"


def test_min_permission_unmet():
    decision = evaluate(evaluation(reviews=(review("dave"),)))
    assert decision.state == "pending"
    assert verdict_for(decision, "dave").reason == (
        "does not meet the approver requirement: needs write permission, @dave has read"
    )


def test_reviewer_without_known_facts_does_not_meet_requirement():
    decision = evaluate(evaluation(reviews=(review("stranger"),)))
    assert decision.state == "pending"
    assert "permission on this repository is unknown" in verdict_for(decision, "stranger").reason


# --- path rules ---------------------------------------------------------------------------


def test_path_rule_adds_stricter_requirement():
    rules = policy(org=PLATFORM_INFRA)
    inp = evaluation(policy=rules, changed_files=("infra/prod/main.tf",), reviews=(review("bob"),))
    decision = evaluate(inp)
    assert decision.state == "pending"
    general, infra = decision.requirements
    assert general.satisfied and general.satisfied_by == ("bob",)
    assert infra.scope == "infra/**" and infra.required == 2 and not infra.satisfied
    assert decision.to_pass[0].startswith(
        "2 more approvals on a1b2c3d for infra/** from members of acme/platform"
    )


def test_path_rule_satisfied_by_enough_team_members():
    rules = policy(org=PLATFORM_INFRA)
    reviews = (review("erin"), review("frank"))
    decision = evaluate(evaluation(policy=rules, changed_files=("infra/x.tf",), reviews=reviews))
    assert decision.state == "approved"
    assert decision.requirements[1].satisfied_by == ("erin", "frank")
    assert "counts toward: all files and infra/**" in verdict_for(decision, "erin").reason


def test_path_rule_ignored_when_no_file_matches():
    rules = policy(org=PLATFORM_INFRA)
    decision = evaluate(evaluation(policy=rules, reviews=(review("bob"),)))
    assert decision.state == "approved"
    assert len(decision.requirements) == 1


def test_forbidden_path_blocks_agent_change_even_when_approved():
    rules = policy(org='paths: [{pattern: "secrets/**", agents_forbidden: true}]')
    inp = evaluation(
        policy=rules,
        changed_files=("src/app.py", "secrets/prod.env"),
        reviews=(review("bob"),),
    )
    decision = evaluate(inp)
    assert decision.state == "blocked"
    assert decision.forbidden_paths == ("secrets/prod.env",)
    assert decision.title == "Blocked: agent changed forbidden paths"
    assert any("secrets/prod.env" in step for step in decision.to_pass)


def test_forbidden_path_does_not_apply_to_human_change():
    rules = policy(org='paths: [{pattern: "secrets/**", agents_forbidden: true}]')
    inp = evaluation(policy=rules, attribution=human_attribution(), changed_files=("secrets/a",))
    assert evaluate(inp).state == "not_agent"


# --- policy files -------------------------------------------------------------------------


def test_human_pr_touching_policy_file_needs_policy_owner():
    inp = evaluation(
        attribution=human_attribution(),
        changed_files=(".github/countersign.yml",),
        reviews=(review("bob"),),
    )
    decision = evaluate(inp)
    assert decision.state == "pending"
    assert decision.requirements[0].scope == "policy files"
    assert "needs admin permission, @bob has write" in verdict_for(decision, "bob").reason


def test_human_pr_touching_policy_file_approved_by_owner():
    inp = evaluation(
        attribution=human_attribution(),
        changed_files=(".github/countersign.yml",),
        reviews=(review("erin"),),
    )
    decision = evaluate(inp)
    assert decision.state == "approved"
    assert decision.title == "Policy change approved by @erin"


def test_org_policy_file_in_dot_github_repo_needs_owner():
    inp = evaluation(
        pr=pull_request(repo="acme/.github"),
        attribution=human_attribution(),
        changed_files=("countersign.yml",),
    )
    assert evaluate(inp).state == "pending"


def test_agent_pr_touching_policy_file_needs_owner_as_well():
    owners = policy(org="policy_owners: {teams: [acme/platform], min_permission: write}")
    inp = evaluation(
        policy=owners,
        changed_files=("src/a.py", ".github/countersign.yml"),
        reviews=(review("bob"),),
    )
    assert evaluate(inp).state == "pending"
    inp = inp.model_copy(update={"reviews": (review("bob"), review("frank"))})
    assert evaluate(inp).state == "approved"


# --- session ------------------------------------------------------------------------------


def test_derived_session_blocked_when_policy_disallows():
    strict = policy(org="session: {allow_derived: false}")
    inp = evaluation(
        policy=strict,
        attribution=agent_attribution(session_id="pr:42:7", session_derived=True),
        reviews=(review("bob"),),
    )
    decision = evaluate(inp)
    assert decision.state == "blocked"
    assert "does not accept derived session ids" in decision.summary
    assert any("Agent-Session-Id:" in step for step in decision.to_pass)


def test_derived_session_allowed_by_default():
    inp = evaluation(
        attribution=agent_attribution(session_id="pr:42:7", session_derived=True),
        reviews=(review("bob"),),
    )
    assert evaluate(inp).state == "approved"


def test_missing_session_id_is_derived_from_the_pull_request():
    inp = evaluation(attribution=agent_attribution(session_id=None), reviews=(review("bob"),))
    decision = evaluate(inp)
    assert decision.state == "approved"
    assert "session `pr:42:7`, derived" in decision.summary
    strict = policy(org="session: {allow_derived: false}")
    assert evaluate(inp.model_copy(update={"policy": strict})).state == "blocked"


def test_derived_session_accepted_when_ids_are_not_required():
    lax = policy(org="session: {require_id: false, allow_derived: false}")
    inp = evaluation(
        policy=lax,
        attribution=agent_attribution(session_id="pr:42:7", session_derived=True),
        reviews=(review("bob"),),
    )
    assert evaluate(inp).state == "approved"


# --- containment --------------------------------------------------------------------------


def test_frozen_agent_change_fails_even_when_approved():
    decision = evaluate(
        evaluation(frozen=True, freeze_reason="incident 42", reviews=(review("bob"),))
    )
    assert decision.state == "frozen"
    assert not decision.passing
    assert "incident 42" in decision.summary
    assert decision.to_pass[0] == "an admin lifts the freeze (countersign freeze off)"


def test_freeze_does_not_affect_human_change():
    decision = evaluate(evaluation(attribution=human_attribution(), frozen=True))
    assert decision.state == "not_agent"
    assert decision.passing


def test_revoked_flag_fails_a_human_change_too():
    decision = evaluate(evaluation(attribution=human_attribution(), revoked=True))
    assert decision.state == "revoked"
    assert not decision.passing
    assert decision.summary.startswith("Change with no agent signal.")


def test_revoked_session_fails_even_when_approved():
    decision = evaluate(evaluation(revoked=True, reviews=(review("bob"),)))
    assert decision.state == "revoked"
    assert not decision.passing
    assert "session_01ABCDEFGHIJKLMNOPQRSTUV was revoked" in decision.summary


# --- emergency ----------------------------------------------------------------------------


def test_emergency_label_with_emergency_approver_passes():
    inp = evaluation(
        policy=policy(org=EMERGENCY + "\napprovals: {required: 2}"),
        pr=pull_request(labels=("Emergency",)),
        reviews=(review("erin"),),
    )
    decision = evaluate(inp)
    assert decision.state == "emergency"
    assert decision.passing
    assert decision.approvers == ("erin",)
    assert "within 72 hours" in decision.summary


def test_emergency_label_needs_an_emergency_approver():
    inp = evaluation(
        policy=policy(org=EMERGENCY + "\napprovals: {required: 2}"),
        pr=pull_request(labels=("emergency",)),
        reviews=(review("bob"),),
    )
    decision = evaluate(inp)
    assert decision.state == "pending"
    assert decision.to_pass[-1].startswith("or, as an emergency: 1 approval on a1b2c3d")


def test_emergency_label_without_configured_approvers_has_no_effect():
    inp = evaluation(
        pr=pull_request(labels=("emergency",)), reviews=(review("erin", commit_id=OLD),)
    )
    decision = evaluate(inp)
    assert decision.state == "pending"
    assert "names no emergency approvers" in decision.summary


def test_emergency_does_not_lift_blocks():
    inp = evaluation(
        policy=policy(org=EMERGENCY),
        pr=pull_request(labels=("emergency",)),
        reviews=(review("carol", "CHANGES_REQUESTED"), review("erin")),
    )
    assert evaluate(inp).state == "blocked"


# --- policy problems and detection thresholds ---------------------------------------------


def test_policy_error_fails_closed():
    error = "acme/.github:countersign.yml@main: invalid YAML at line 3, column 1: boom"
    decision = evaluate(evaluation(policy=None, policy_error=error, reviews=(review("bob"),)))
    assert decision.state == "policy_invalid"
    assert not decision.passing
    assert error in decision.summary


def test_missing_policy_without_error_fails_closed():
    decision = evaluate(evaluation(policy=None, attribution=human_attribution()))
    assert decision.state == "policy_invalid"
    assert not decision.passing


def test_ai_assisted_is_not_agent_change_by_default():
    assisted = human_attribution().model_copy(update={"ai_assisted": True})
    decision = evaluate(evaluation(attribution=assisted))
    assert decision.state == "not_agent"
    assert "AI-assisted" in decision.summary


def test_ai_assisted_is_agent_change_when_policy_says_so():
    assisted = human_attribution().model_copy(update={"ai_assisted": True})
    strict = policy(org="detection: {ai_assisted_is_agent: true}")
    assert evaluate(evaluation(policy=strict, attribution=assisted)).state == "pending"


def test_signal_at_policy_threshold_makes_agent_change():
    branch_only = human_attribution().model_copy(
        update={
            "signals": (
                Signal(
                    agent="codex",
                    kind="branch_prefix",
                    strength=Strength.BRANCH_PREFIX,
                    source="branch name",
                ),
            )
        }
    )
    assert evaluate(evaluation(attribution=branch_only)).state == "not_agent"
    strict = policy(org="detection: {threshold: branch_prefix}")
    assert evaluate(evaluation(policy=strict, attribution=branch_only)).state == "pending"


def test_every_review_not_counted_has_a_reason():
    reviews = (
        review("alice"),
        review("bob", commit_id=OLD),
        review("carol", "COMMENTED"),
        review("dave"),
        review(account("x[bot]", kind="Bot")),
        review("erin", "PENDING"),
        review("frank"),
    )
    decision = evaluate(evaluation(reviews=reviews))
    assert len(decision.approvals) == len(reviews)
    assert [v.reviewer for v in decision.approvals if v.counted] == ["frank"]
    for verdict in decision.approvals:
        assert verdict.reason
    assert {v.commit_id for v in decision.approvals} == {HEAD, OLD}


def test_a_session_id_cannot_inject_markdown_into_the_check_run():
    hostile = "[Approved-merge-now](https://evil.example)`x"
    inp = evaluation(attribution=agent_attribution(session_id=hostile))
    summary = evaluate(inp).summary
    assert "`[Approved-merge-now](https://evil.example)'x`" in summary
    assert "(session [" not in summary
