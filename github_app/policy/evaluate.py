"""Approval evaluation: from the facts of one pull request to a Decision, with no I/O.

See the README, "How a pull request is judged".  Only each reviewer's latest review is in force
(a comment does not replace an approval or a change request; a dismissal removes it).  An approval
counts only if it comes from a person (not a bot, not an agent identity), who is not an author,
committer or co-author of any commit, not the pull request's author, not the session's launching
developer, who meets the approver requirement, and who approved the current head commit.  A
qualifying "request changes" blocks.  Every review that does not count says why, and the decision
lists what would make the check pass.
"""

from __future__ import annotations

import re

from github_app.core.models import (
    Account,
    Attribution,
    Review,
)
from github_app.policy.approvers import (
    ReviewerFacts,
    approver_shortfall,
    describe_approvers,
    join_words,
)
from github_app.policy.decision import (
    ApprovalVerdict,
    Blockers,
    Check,
    Context,
    Decision,
    DecisionState,
    EvaluationInput,
    Requirement,
    ReviewOutcome,
    emergency_requested,
    session_of,
)
from github_app.policy.explain import (
    Common,
    approved_decision,
    blocked_decision,
    emergency_decision,
    frozen_decision,
    incomplete_decision,
    literal,
    missing_steps,
    not_agent_decision,
    not_required_decision,
    pending_decision,
    policy_invalid_decision,
    revoked_decision,
    stale_steps,
)
from github_app.policy.globs import matching_paths
from github_app.policy.loader import policy_paths_for, touches_policy
from github_app.policy.model import Policy

__all__ = [
    "ApprovalVerdict",
    "Decision",
    "DecisionState",
    "EvaluationInput",
    "Requirement",
    "ReviewerFacts",
    "evaluate",
    "is_agent_change",
    "session_of",
]


# GitHub's private commit e-mail: "<id>+<login>@users.noreply.<host>" (or the older "<login>@…").
_NOREPLY = re.compile(r"^(?:(\d+)\+)?([a-z0-9][a-z0-9-]*(?:\[bot\])?)@users\.noreply\.", re.I)


def is_agent_change(attribution: Attribution, policy: Policy) -> bool:
    """True when the change is an agent change under this policy.

    Fails closed: detection's own verdict stands, and any signal at or above the policy's
    threshold, or AI assistance when the policy counts it, also makes it an agent change.
    """
    threshold = policy.detection.threshold_strength
    return (
        attribution.is_agent
        or any(signal.strength >= threshold for signal in attribution.signals)
        or (attribution.ai_assisted and policy.detection.ai_assisted_is_agent)
    )


def evaluate(inp: EvaluationInput) -> Decision:
    """Decide whether the pull request's head commit may pass the ``countersign`` check."""
    if inp.policy is None or inp.policy_error is not None:
        return policy_invalid_decision(inp)
    if not inp.policy.policy.is_protected(inp.pr.base_ref, inp.pr.default_branch):
        return not_required_decision(inp)
    if inp.incomplete is not None:
        return incomplete_decision(inp, inp.incomplete)
    ctx = _context(inp, inp.policy.policy)
    if not ctx.is_agent and not ctx.policy_files and not inp.revoked:
        return not_agent_decision(ctx)
    return _decide(ctx, _judge_reviews(ctx))


def _context(inp: EvaluationInput, policy: Policy) -> Context:
    is_agent = is_agent_change(inp.attribution, policy)
    policy_files = _policy_files(inp)
    logins, ids = _exclusions(inp)
    return Context(
        inp=inp,
        policy=policy,
        is_agent=is_agent,
        policy_files=policy_files,
        exclusions=logins,
        excluded_ids=ids,
        checks=_checks(inp, policy, is_agent=is_agent, touches_policy_files=bool(policy_files)),
    )


def _policy_files(inp: EvaluationInput) -> tuple[str, ...]:
    if not touches_policy(inp.changed_files, inp.pr.repo_full_name):
        return ()
    paths = policy_paths_for(inp.pr.repo_full_name)
    return tuple(path for path in inp.changed_files if path.lstrip("/") in paths)


def _exclusions(inp: EvaluationInput) -> tuple[dict[str, str], dict[int, str]]:
    """Who cannot countersign this change, each with the reason (the first reason found wins)."""
    logins: dict[str, str] = {}
    ids: dict[int, str] = {}
    if inp.attribution.launched_by:
        logins[inp.attribution.launched_by.lower().lstrip("@")] = "launched the agent session"
    # Every launcher candidate: a forged Agent-Launched-By must not free the real launcher.
    for launcher in inp.attribution.all_launchers:
        logins.setdefault(launcher.lower().lstrip("@"), "launched the agent session")
    for login, why in inp.extra_exclusions.items():
        logins.setdefault(login.lower().lstrip("@"), why)
    for commit in inp.commits:
        if commit.author_account:
            logins.setdefault(
                commit.author_account.login.lower(), f"authored commit {commit.sha[:7]}"
            )
        if commit.committer_account:
            logins.setdefault(commit.committer_account.login.lower(), f"committed {commit.sha[:7]}")
    co_author = "is a co-author (Co-authored-by) of this pull request's commits"
    for login, account_id in _co_author_accounts(inp):
        if login:
            logins.setdefault(login, co_author)
        if account_id is not None:
            ids.setdefault(account_id, co_author)
    logins.setdefault(inp.pr.author.login.lower(), "opened this pull request")
    return logins, ids


def _co_author_accounts(inp: EvaluationInput) -> list[tuple[str | None, int | None]]:
    """Accounts behind Co-authored-by identities: by noreply e-mail, or by an e-mail GitHub
    linked to an account on some commit of this pull request."""
    linked: dict[str, Account] = {}
    for commit in inp.commits:
        for identity, account in (
            (commit.author, commit.author_account),
            (commit.committer, commit.committer_account),
        ):
            if account and identity.email:
                linked.setdefault(identity.email.lower(), account)
    found: list[tuple[str | None, int | None]] = []
    for identity in inp.attribution.co_authors:
        email = identity.email.strip().lower()
        match = _NOREPLY.match(email)
        if match:
            found.append((match.group(2).lower(), int(match.group(1)) if match.group(1) else None))
        if email in linked:
            found.append((linked[email].login.lower(), linked[email].id))
    return found


def _checks(
    inp: EvaluationInput, policy: Policy, *, is_agent: bool, touches_policy_files: bool
) -> tuple[Check, ...]:
    checks: list[Check] = []
    if is_agent:
        checks.append(Check("all files", policy.approvals.required, policy.approvals, "normal"))
        for rule in policy.paths:
            if rule.approvals and matching_paths(rule.pattern, inp.changed_files):
                checks.append(
                    Check(rule.pattern, rule.approvals.required, rule.approvals, "normal")
                )
    if touches_policy_files:
        checks.append(Check("policy files", 1, policy.policy_owners, "owners"))
    emergency = policy.emergency
    if is_agent and emergency.approvers.restricted and emergency_requested(inp, policy):
        checks.append(Check("emergency", 1, emergency.approvers, "emergency"))
    return tuple(checks)


def _latest_reviews(reviews: tuple[Review, ...]) -> tuple[dict[str, Review], dict[int, str]]:
    """Each reviewer's review in force, and why every other review is not.

    GitHub review ids grow over time, so they order the reviews.
    """
    active: dict[str, Review] = {}
    notes: dict[int, str] = {}
    for review in sorted(reviews, key=lambda item: item.id):
        login = review.reviewer.login.lower()
        if review.state == "PENDING":
            notes[review.id] = "not submitted yet"
        elif review.state == "COMMENTED":
            notes[review.id] = "a comment, not an approval"
        elif review.state == "DISMISSED":
            notes[review.id] = "dismissed"
            if login in active:
                notes[active.pop(login).id] = (
                    f"superseded by @{review.reviewer.login}'s later review"
                )
        else:
            if login in active:
                notes[active[login].id] = f"superseded by @{review.reviewer.login}'s later review"
            active[login] = review
    return active, notes


def _verdict(review: Review, *, counted: bool, reason: str) -> ApprovalVerdict:
    return ApprovalVerdict(
        review_id=review.id,
        reviewer=review.reviewer.login,
        state=review.state,
        commit_id=review.commit_id,
        counted=counted,
        reason=reason,
    )


def _not_a_person(account: Account, ctx: Context) -> str | None:
    if account.is_bot:
        return f"@{account.login} is a bot account; only a person can countersign"
    if account.type != "User":
        return f"@{account.login} is a {account.type} account, not a person"
    if account.login.lower() in ctx.inp.agent_logins:
        return f"@{account.login} is an agent identity; only a person can countersign"
    return None


def _self_review(account: Account, ctx: Context) -> str | None:
    why = ctx.exclusions.get(account.login.lower())
    if why is None and account.id is not None:
        why = ctx.excluded_ids.get(account.id)
    return f"@{account.login} {why}, so cannot countersign it" if why else None


def _met_checks(login: str, ctx: Context) -> tuple[frozenset[int], tuple[str, ...]]:
    """Indexes of the checks this person meets, and why they miss the others."""
    facts = ctx.inp.reviewer_facts.get(login.lower())
    met: set[int] = set()
    misses: dict[str, list[str]] = {}  # shortfall -> scopes it applies to
    for index, check in enumerate(ctx.checks):
        shortfall = approver_shortfall(login, facts, check.spec)
        if shortfall is None:
            met.add(index)
        else:
            misses.setdefault(shortfall, []).append(check.scope)
    if len(misses) == 1:
        return frozenset(met), tuple(misses)
    return frozenset(met), tuple(f"{', '.join(s)}: {why}" for why, s in misses.items())


def _judge_approval(review: Review, ctx: Context) -> tuple[ApprovalVerdict, frozenset[int], bool]:
    """The verdict, the checks the approval counts toward, and whether it is merely stale."""
    problem = _not_a_person(review.reviewer, ctx) or _self_review(review.reviewer, ctx)
    if problem:
        return _verdict(review, counted=False, reason=problem), frozenset(), False
    met, misses = _met_checks(review.reviewer.login, ctx)
    if not met:
        reason = "does not meet the approver requirement: " + "; ".join(misses)
        return _verdict(review, counted=False, reason=reason), frozenset(), False
    if review.commit_id.lower() != ctx.head.lower():
        reason = f"approved an older commit {review.commit_id[:7]}; the head is now {ctx.head7}"
        return _verdict(review, counted=False, reason=reason), frozenset(), True
    scopes = join_words([ctx.checks[index].scope for index in sorted(met)], "and")
    return _verdict(review, counted=True, reason=f"counts toward: {scopes}"), met, False


def _judge_change_request(review: Review, ctx: Context) -> tuple[ApprovalVerdict, bool]:
    """The verdict on a change request in force, and whether it blocks.

    It blocks when its author is a person who meets an approver requirement; authors and the
    launcher included, since an objection only ever makes the change more restricted.
    """
    login = review.reviewer.login
    if not ctx.policy.approvals.changes_requested_blocks:
        return _verdict(
            review,
            counted=False,
            reason="requested changes; this policy does not let change requests block",
        ), False
    problem = _not_a_person(review.reviewer, ctx)
    met, misses = _met_checks(login, ctx)
    if problem or not met:
        why = problem or "; ".join(misses)
        return _verdict(
            review, counted=False, reason=f"requested changes, does not block: {why}"
        ), False
    reason = f"requested changes: blocks until @{login} approves or the review is dismissed"
    return _verdict(review, counted=False, reason=reason), True


def _judge_reviews(ctx: Context) -> ReviewOutcome:
    active, notes = _latest_reviews(ctx.inp.reviews)
    verdicts: dict[int, ApprovalVerdict] = {}
    counted: dict[str, frozenset[int]] = {}
    blocking: list[str] = []
    stale: list[tuple[str, str]] = []
    for review in ctx.inp.reviews:
        if review.id in notes:
            verdicts[review.id] = _verdict(review, counted=False, reason=notes[review.id])
    for login, review in active.items():
        if review.state == "APPROVED":
            verdict, met, is_stale = _judge_approval(review, ctx)
            if met:
                counted[login] = met
            if is_stale:
                stale.append((review.reviewer.login, review.commit_id))
        else:
            verdict, blocks = _judge_change_request(review, ctx)
            if blocks:
                blocking.append(review.reviewer.login)
        verdicts[review.id] = verdict
    ordered = tuple(verdicts[key] for key in sorted(verdicts))
    return ReviewOutcome(ordered, counted, tuple(blocking), tuple(stale))


def _requirements(ctx: Context, outcome: ReviewOutcome) -> tuple[Requirement, ...]:
    requirements = []
    for index, check in enumerate(ctx.checks):
        by = tuple(
            verdict.reviewer
            for verdict in outcome.verdicts
            if verdict.counted and index in outcome.counted.get(verdict.reviewer.lower(), ())
        )
        requirements.append(
            Requirement(
                scope=check.scope,
                required=check.required,
                approvers=describe_approvers(check.spec),
                satisfied_by=by,
                satisfied=len(by) >= check.required,
            )
        )
    return tuple(requirements)


def _forbidden_files(ctx: Context) -> tuple[tuple[str, str], ...]:
    """(file, pattern) for each changed file an agent change may not touch."""
    if not ctx.is_agent:
        return ()
    found: dict[str, str] = {}
    for rule in ctx.policy.paths:
        if rule.agents_forbidden:
            for path in matching_paths(rule.pattern, ctx.inp.changed_files):
                found.setdefault(path, rule.pattern)
    return tuple(found.items())


def _session_problem(ctx: Context) -> str | None:
    session = ctx.policy.session
    if not ctx.is_agent or not session.require_id or session.allow_derived:
        return None
    session_id, derived = session_of(ctx.inp)
    if not derived:
        return None
    return (
        f"no commit carries a session id (Countersign derived {literal(session_id)}), "
        "and the policy does not accept derived session ids"
    )


def _blockers(ctx: Context, outcome: ReviewOutcome) -> Blockers:
    titles: list[str] = []
    sentences: list[str] = []
    steps: list[str] = []
    forbidden = _forbidden_files(ctx)
    if forbidden:
        titles.append("agent changed forbidden paths")
        sentences.append("agents may not change " + ", ".join(path for path, _ in forbidden))
        steps.extend(
            f"remove the change to {path} (agents may not change {pattern}); "
            "a person must make it in a separate pull request"
            for path, pattern in forbidden
        )
    session = _session_problem(ctx)
    if session:
        titles.append("session id required")
        sentences.append(session)
        steps.append(
            "add an `Agent-Session-Id:` trailer (or the agent's session marker) to the agent's "
            "commits and push again"
        )
    if ctx.is_agent and ctx.inp.session_block:
        titles.append("launcher not attested")
        sentences.append(ctx.inp.session_block)
        steps.append(
            "redo the work in a session started through Countersign's agent hook "
            "(an agent token bound to the launching developer)"
        )
    if outcome.blocking:
        who = ", ".join(f"@{login}" for login in outcome.blocking)
        titles.append(f"changes requested by {who}")
        sentences.append(f"{who} requested changes")
        steps.extend(
            f"@{login} approves the head commit {ctx.head7}, or their review is dismissed"
            for login in outcome.blocking
        )
    return Blockers(tuple(titles), tuple(sentences), tuple(steps))


def _satisfied(ctx: Context, requirements: tuple[Requirement, ...], kind: str) -> bool:
    """All requirements of a kind are met; for ``emergency``, one exists and is met."""
    relevant = [r for c, r in zip(ctx.checks, requirements, strict=True) if c.kind == kind]
    if kind == "emergency":
        return any(r.satisfied for r in relevant)
    return all(r.satisfied for r in relevant)


def _decide(ctx: Context, outcome: ReviewOutcome) -> Decision:
    requirements = _requirements(ctx, outcome)
    common = Common(
        requirements=requirements,
        approvals=outcome.verdicts,
        forbidden_paths=tuple(path for path, _ in _forbidden_files(ctx)),
        approvers=tuple(verdict.reviewer for verdict in outcome.verdicts if verdict.counted),
    )
    blockers = _blockers(ctx, outcome)
    waiting = (*missing_steps(ctx, requirements), *stale_steps(ctx, outcome))
    owners_ok = _satisfied(ctx, requirements, "owners")
    if ctx.inp.revoked:
        return revoked_decision(ctx, common)
    if ctx.is_agent and ctx.inp.frozen:
        return frozen_decision(ctx, common, (*blockers.steps, *waiting))
    if blockers.titles:
        return blocked_decision(ctx, common, blockers, waiting)
    if owners_ok and _satisfied(ctx, requirements, "normal"):
        return approved_decision(ctx, common)
    if owners_ok and _satisfied(ctx, requirements, "emergency"):
        return emergency_decision(ctx, common)
    return pending_decision(ctx, common, waiting)
