"""Approval evaluation: from the facts of one pull request to a Decision, with no I/O.

See the README, "How a pull request is judged".  Only each reviewer's latest review is in force
(a comment does not replace an approval or a change request; a dismissal removes it).  An approval
counts only if it comes from a person (not a bot, not an agent identity), who is not an author,
committer or co-author of any commit, did not push to the pull request, is not its author nor
the session's launching developer, who meets the approver requirement, and who approved the
current head commit.  A
qualifying "request changes" blocks.  Every review that does not count says why, and the decision
lists what would make the check pass.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator

from github_app.core.models import (
    Account,
    Attribution,
    Commit,
    Frozen,
    PullRequest,
    Review,
)
from github_app.policy.approvers import (
    ReviewerFacts,
    approver_shortfall,
    describe_approvers,
    join_words,
)
from github_app.policy.globs import matching_paths
from github_app.policy.loader import EffectivePolicy, policy_paths_for, touches_policy
from github_app.policy.model import ApproverSpec, Policy

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

DecisionState = Literal[
    "not_required",
    "not_agent",
    "approved",
    "pending",
    "blocked",
    "frozen",
    "revoked",
    "policy_invalid",
    "emergency",
]
PASSING_STATES: frozenset[str] = frozenset({"not_required", "not_agent", "approved", "emergency"})

# GitHub's private commit e-mail: "<id>+<login>@users.noreply.<host>" (or the older "<login>@…").
_NOREPLY = re.compile(r"^(?:(\d+)\+)?([a-z0-9][a-z0-9-]*(?:\[bot\])?)@users\.noreply\.", re.I)


class EvaluationInput(Frozen):
    """Everything evaluation needs, gathered by the shell."""

    pr: PullRequest
    commits: tuple[Commit, ...] = ()
    reviews: tuple[Review, ...] = ()
    changed_files: tuple[str, ...] = ()  # include the previous name of renamed files
    attribution: Attribution
    policy: EffectivePolicy | None
    policy_error: str | None = None
    reviewer_facts: Mapping[str, ReviewerFacts] = Field(default_factory=dict)  # by lower login
    agent_logins: frozenset[str] = frozenset()  # lower-case logins of catalogue agent identities
    pushers: Mapping[str, str] = Field(default_factory=dict)  # lower login -> a sha they pushed
    frozen: bool = False
    freeze_reason: str | None = None
    revoked: bool = False
    incomplete: str | None = None  # why GitHub did not list every commit or file, if it did not

    @field_validator("reviewer_facts")
    @classmethod
    def _lower_fact_keys(cls, value: Mapping[str, ReviewerFacts]) -> dict[str, ReviewerFacts]:
        return {login.lower(): facts for login, facts in value.items()}

    @field_validator("agent_logins")
    @classmethod
    def _lower_agent_logins(cls, value: frozenset[str]) -> frozenset[str]:
        return frozenset(login.lower() for login in value)


class ApprovalVerdict(Frozen):
    """How one review was judged."""

    review_id: int
    reviewer: str
    state: str
    commit_id: str
    counted: bool
    reason: str


class Requirement(Frozen):
    """One approval requirement and whether it is met."""

    scope: str  # "all files", a path pattern, "policy files" or "emergency"
    required: int
    approvers: str  # who may approve, in words
    satisfied_by: tuple[str, ...]
    satisfied: bool


class Decision(Frozen):
    """The outcome of evaluating one pull request head."""

    state: DecisionState
    passing: bool
    title: str
    summary: str
    requirements: tuple[Requirement, ...] = ()
    approvals: tuple[ApprovalVerdict, ...] = ()
    to_pass: tuple[str, ...] = ()
    forbidden_paths: tuple[str, ...] = ()
    approvers: tuple[str, ...] = ()  # logins whose approval of the head SHA counted
    policy_sha: str | None = None


@dataclass(frozen=True)
class _Check:
    """A requirement while it is being evaluated."""

    scope: str
    required: int
    spec: ApproverSpec
    kind: Literal["normal", "owners", "emergency"]


@dataclass(frozen=True)
class _Context:
    """Facts derived once from the input and shared by the evaluation steps."""

    inp: EvaluationInput
    policy: Policy
    is_agent: bool
    policy_files: tuple[str, ...]
    exclusions: Mapping[str, str]  # lower login -> why that person cannot countersign
    excluded_ids: Mapping[int, str]  # account id -> why (co-authors known only by noreply id)
    checks: tuple[_Check, ...]

    @property
    def head(self) -> str:
        return self.inp.pr.head_sha

    @property
    def head7(self) -> str:
        return self.inp.pr.head_sha[:7]


@dataclass(frozen=True)
class _ReviewOutcome:
    verdicts: tuple[ApprovalVerdict, ...]
    counted: Mapping[str, frozenset[int]]  # login -> indexes of the checks the approval meets
    blocking: tuple[str, ...]  # logins whose change request blocks
    stale: tuple[tuple[str, str], ...]  # (login, approved sha) of eligible but outdated approvals


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
        return _policy_invalid(inp)
    if not inp.policy.policy.is_protected(inp.pr.base_ref, inp.pr.default_branch):
        return _not_required(inp)
    if inp.incomplete is not None:
        return _incomplete(inp, inp.incomplete)
    ctx = _context(inp, inp.policy.policy)
    if not ctx.is_agent and not ctx.policy_files and not inp.revoked:
        return _not_agent(ctx)
    return _decide(ctx, _judge_reviews(ctx))


# --- context -------------------------------------------------------------------------------


def _context(inp: EvaluationInput, policy: Policy) -> _Context:
    is_agent = is_agent_change(inp.attribution, policy)
    policy_files = _policy_files(inp)
    logins, ids = _exclusions(inp)
    return _Context(
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
    for commit in inp.commits:
        if commit.author_account:
            logins.setdefault(
                commit.author_account.login.lower(), f"authored commit {commit.sha[:7]}"
            )
        if commit.committer_account:
            logins.setdefault(commit.committer_account.login.lower(), f"committed {commit.sha[:7]}")
    for login, sha in inp.pushers.items():
        # GitHub authenticates the sender of a push; commit identities are free text.
        logins.setdefault(login.lower(), f"pushed {sha[:7]} to this pull request")
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


def _emergency_requested(inp: EvaluationInput, policy: Policy) -> bool:
    label = policy.emergency.label.lower()
    return any(existing.lower() == label for existing in inp.pr.labels)


def _checks(
    inp: EvaluationInput, policy: Policy, *, is_agent: bool, touches_policy_files: bool
) -> tuple[_Check, ...]:
    checks: list[_Check] = []
    if is_agent:
        checks.append(_Check("all files", policy.approvals.required, policy.approvals, "normal"))
        for rule in policy.paths:
            if rule.approvals and matching_paths(rule.pattern, inp.changed_files):
                checks.append(
                    _Check(rule.pattern, rule.approvals.required, rule.approvals, "normal")
                )
    if touches_policy_files:
        checks.append(_Check("policy files", 1, policy.policy_owners, "owners"))
    emergency = policy.emergency
    if is_agent and emergency.approvers.restricted and _emergency_requested(inp, policy):
        checks.append(_Check("emergency", 1, emergency.approvers, "emergency"))
    return tuple(checks)


# --- reviews -------------------------------------------------------------------------------


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


def _not_a_person(account: Account, ctx: _Context) -> str | None:
    if account.is_bot:
        return f"@{account.login} is a bot account; only a person can countersign"
    if account.type != "User":
        return f"@{account.login} is a {account.type} account, not a person"
    if account.login.lower() in ctx.inp.agent_logins:
        return f"@{account.login} is an agent identity; only a person can countersign"
    return None


def _self_review(account: Account, ctx: _Context) -> str | None:
    why = ctx.exclusions.get(account.login.lower())
    if why is None and account.id is not None:
        why = ctx.excluded_ids.get(account.id)
    return f"@{account.login} {why}, so cannot countersign it" if why else None


def _met_checks(login: str, ctx: _Context) -> tuple[frozenset[int], tuple[str, ...]]:
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


def _judge_approval(review: Review, ctx: _Context) -> tuple[ApprovalVerdict, frozenset[int], bool]:
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


def _judge_change_request(review: Review, ctx: _Context) -> tuple[ApprovalVerdict, bool]:
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


def _judge_reviews(ctx: _Context) -> _ReviewOutcome:
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
    return _ReviewOutcome(ordered, counted, tuple(blocking), tuple(stale))


# --- requirements and blocks ---------------------------------------------------------------


def _requirements(ctx: _Context, outcome: _ReviewOutcome) -> tuple[Requirement, ...]:
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


def _forbidden_files(ctx: _Context) -> tuple[tuple[str, str], ...]:
    """(file, pattern) for each changed file an agent change may not touch."""
    if not ctx.is_agent:
        return ()
    found: dict[str, str] = {}
    for rule in ctx.policy.paths:
        if rule.agents_forbidden:
            for path in matching_paths(rule.pattern, ctx.inp.changed_files):
                found.setdefault(path, rule.pattern)
    return tuple(found.items())


def session_of(inp: EvaluationInput) -> tuple[str, bool]:
    """The session id and whether it is derived: detection's, or ``pr:<repo-id>:<number>`` when
    detection found none (the derived id the README describes)."""
    attribution = inp.attribution
    if attribution.session_id:
        return attribution.session_id, attribution.session_derived
    return f"pr:{inp.pr.repo_id}:{inp.pr.number}", True


def _session_problem(ctx: _Context) -> str | None:
    session = ctx.policy.session
    if not ctx.is_agent or not session.require_id or session.allow_derived:
        return None
    session_id, derived = session_of(ctx.inp)
    if not derived:
        return None
    return (
        f"no commit carries a session id (Countersign derived {_literal(session_id)}), "
        "and the policy does not accept derived session ids"
    )


# --- wording -------------------------------------------------------------------------------


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _who_is_not(ctx: _Context, count: int) -> str:
    parts = []
    launcher = ctx.inp.attribution.launched_by
    if launcher:
        parts.append(f"the launcher @{launcher.lstrip('@')}")
    author = ctx.inp.pr.author
    if not author.is_bot and (not launcher or author.login.lower() != launcher.lower()):
        parts.append(f"the PR author @{author.login}")
    parts.append("an author, co-author or pusher of its commits")
    return ("who is not " if count == 1 else "who are not ") + join_words(parts)


def _literal(text: str) -> str:
    """Commit-controlled text as an inert inline code span (no links, mentions or markup)."""
    cleaned = " ".join(text.replace("`", "'").split())
    return f"`{cleaned}`"


def _intro(ctx: _Context) -> str:
    attribution = ctx.inp.attribution
    if not ctx.is_agent and ctx.policy_files:
        return f"Human change that edits a policy file ({', '.join(ctx.policy_files)})."
    if not ctx.is_agent:
        return "Change with no agent signal."
    session_id, derived = session_of(ctx.inp)
    session = _literal(session_id) + (", derived" if derived else "")
    launcher = (
        f"launched by @{attribution.launched_by.lstrip('@')}"
        if attribution.launched_by
        else "launching developer unknown"
    )
    agent = attribution.agent or "unknown-agent"
    return f"Agent change by {agent} (session {session}; {launcher})."


def _missing_steps(ctx: _Context, requirements: tuple[Requirement, ...]) -> list[str]:
    steps = []
    for check, requirement in zip(ctx.checks, requirements, strict=True):
        if requirement.satisfied or check.kind == "emergency":
            continue
        missing = requirement.required - len(requirement.satisfied_by)
        scope = "" if check.scope == "all files" else f" for {check.scope}"
        approvers = describe_approvers(check.spec, anyone="a human")
        steps.append(
            f"{_plural(missing, 'more approval')} on {ctx.head7}{scope} from {approvers} "
            f"{_who_is_not(ctx, missing)}"
        )
    return steps


def _emergency_step(ctx: _Context, requirements: tuple[Requirement, ...]) -> list[str]:
    for check, requirement in zip(ctx.checks, requirements, strict=True):
        if check.kind == "emergency" and not requirement.satisfied:
            approvers = describe_approvers(check.spec)
            return [f"or, as an emergency: 1 approval on {ctx.head7} from {approvers}"]
    return []


def _stale_steps(ctx: _Context, outcome: _ReviewOutcome) -> list[str]:
    return [
        f"@{login} can approve again: their approval is on {sha[:7]}, the head is {ctx.head7}"
        for login, sha in outcome.stale
    ]


def _emergency_note(ctx: _Context) -> str:
    if not ctx.is_agent or not _emergency_requested(ctx.inp, ctx.policy):
        return ""
    if ctx.policy.emergency.approvers.restricted:
        return ""
    return (
        f" The '{ctx.policy.emergency.label}' label is set, but this policy names no emergency "
        "approvers, so it has no effect."
    )


# --- decisions -----------------------------------------------------------------------------


def _policy_invalid(inp: EvaluationInput) -> Decision:
    error = inp.policy_error or "no policy was loaded"
    return Decision(
        state="policy_invalid",
        passing=False,
        title="Policy unreadable: failing closed",
        summary=f"The Countersign policy could not be read, so this check fails closed. {error}",
        to_pass=(f"fix the policy file on the base branch: {error}",),
    )


def _incomplete(inp: EvaluationInput, why: str) -> Decision:
    return Decision(
        state="blocked",
        passing=False,
        title="Too large to judge: failing closed",
        summary=f"{why} Countersign cannot check commits or files it cannot see, so this "
        "check fails closed.",
        to_pass=("split the pull request into smaller ones",),
        policy_sha=inp.policy.sha if inp.policy else None,
    )


def _not_required(inp: EvaluationInput) -> Decision:
    branch = inp.pr.base_ref
    return Decision(
        state="not_required",
        passing=True,
        title="Not required: the base branch is not protected",
        summary=f"`{branch}` is not a protected branch under the policy, so no countersignature "
        "is needed here. The change is judged again when it heads for a protected branch.",
        policy_sha=inp.policy.sha if inp.policy else None,
    )


def _not_agent(ctx: _Context) -> Decision:
    threshold = ctx.policy.detection.threshold
    summary = f"No agent signal at or above the policy threshold ({threshold}) was found."
    if ctx.inp.attribution.ai_assisted:
        summary += " AI-assisted changes are not agent changes under this policy."
    return Decision(
        state="not_agent",
        passing=True,
        title="Not an agent change",
        summary=summary,
        policy_sha=_sha(ctx),
    )


@dataclass(frozen=True)
class _Blockers:
    """Everything that blocks regardless of approvals: short titles, sentences and steps."""

    titles: tuple[str, ...] = ()
    sentences: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()


def _blockers(ctx: _Context, outcome: _ReviewOutcome) -> _Blockers:
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
    if outcome.blocking:
        who = ", ".join(f"@{login}" for login in outcome.blocking)
        titles.append(f"changes requested by {who}")
        sentences.append(f"{who} requested changes")
        steps.extend(
            f"@{login} approves the head commit {ctx.head7}, or their review is dismissed"
            for login in outcome.blocking
        )
    return _Blockers(tuple(titles), tuple(sentences), tuple(steps))


def _satisfied(ctx: _Context, requirements: tuple[Requirement, ...], kind: str) -> bool:
    """All requirements of a kind are met; for ``emergency``, one exists and is met."""
    relevant = [r for c, r in zip(ctx.checks, requirements, strict=True) if c.kind == kind]
    if kind == "emergency":
        return any(r.satisfied for r in relevant)
    return all(r.satisfied for r in relevant)


def _decide(ctx: _Context, outcome: _ReviewOutcome) -> Decision:
    requirements = _requirements(ctx, outcome)
    common = _Common(
        requirements=requirements,
        approvals=outcome.verdicts,
        forbidden_paths=tuple(path for path, _ in _forbidden_files(ctx)),
        approvers=tuple(verdict.reviewer for verdict in outcome.verdicts if verdict.counted),
    )
    blockers = _blockers(ctx, outcome)
    waiting = (*_missing_steps(ctx, requirements), *_stale_steps(ctx, outcome))
    owners_ok = _satisfied(ctx, requirements, "owners")
    if ctx.inp.revoked:
        return _revoked(ctx, common)
    if ctx.is_agent and ctx.inp.frozen:
        return _frozen(ctx, common, (*blockers.steps, *waiting))
    if blockers.titles:
        return _blocked(ctx, common, blockers, waiting)
    if owners_ok and _satisfied(ctx, requirements, "normal"):
        return _approved(ctx, common)
    if owners_ok and _satisfied(ctx, requirements, "emergency"):
        return _emergency(ctx, common)
    return _pending(ctx, common, waiting)


@dataclass(frozen=True)
class _Common:
    """Decision fields that every agent-change outcome carries."""

    requirements: tuple[Requirement, ...]
    approvals: tuple[ApprovalVerdict, ...]
    forbidden_paths: tuple[str, ...]
    approvers: tuple[str, ...]


def _make(
    ctx: _Context,
    common: _Common,
    state: DecisionState,
    *,
    title: str,
    summary: str,
    to_pass: tuple[str, ...] = (),
) -> Decision:
    return Decision(
        state=state,
        passing=state in PASSING_STATES,
        title=title,
        summary=f"{_intro(ctx)} {summary}",
        requirements=common.requirements,
        approvals=common.approvals,
        to_pass=to_pass,
        forbidden_paths=common.forbidden_paths,
        approvers=common.approvers,
        policy_sha=_sha(ctx),
    )


def _sha(ctx: _Context) -> str | None:
    return ctx.inp.policy.sha if ctx.inp.policy else None


def _names(logins: tuple[str, ...]) -> str:
    return ", ".join(f"@{login}" for login in logins)


def _revoked(ctx: _Context, common: _Common) -> Decision:
    session, _ = session_of(ctx.inp)
    return _make(
        ctx,
        common,
        "revoked",
        title="Blocked: session revoked",
        summary=f"Session {session} was revoked; its changes stay blocked.",
        to_pass=("none: a revoked session's changes cannot pass; redo the work in a new session",),
    )


def _frozen(ctx: _Context, common: _Common, steps: tuple[str, ...]) -> Decision:
    reason = f": {ctx.inp.freeze_reason}" if ctx.inp.freeze_reason else ""
    return _make(
        ctx,
        common,
        "frozen",
        title="Frozen: agent changes are halted",
        summary=f"Agent changes are frozen{reason}. This check fails until the freeze is lifted.",
        to_pass=("an admin lifts the freeze (countersign freeze off)", *steps),
    )


def _blocked(
    ctx: _Context, common: _Common, blockers: _Blockers, waiting: tuple[str, ...]
) -> Decision:
    return _make(
        ctx,
        common,
        "blocked",
        title="Blocked: " + "; ".join(blockers.titles),
        summary=f"Blocked: {'; '.join(blockers.sentences)}.",
        to_pass=(*blockers.steps, *waiting),
    )


def _approved(ctx: _Context, common: _Common) -> Decision:
    names = _names(common.approvers)
    title = f"Countersigned by {names}" if ctx.is_agent else f"Policy change approved by {names}"
    return _make(
        ctx, common, "approved", title=title, summary=f"Approved on {ctx.head7} by {names}."
    )


def _emergency(ctx: _Context, common: _Common) -> Decision:
    names = _names(common.approvers)
    hours = ctx.policy.emergency.post_review_hours
    return _make(
        ctx,
        common,
        "emergency",
        title=f"Emergency change approved by {names}",
        summary=f"Emergency approval on {ctx.head7} by {names}; a post-merge review is due "
        f"within {hours} hours of the merge.",
    )


def _pending(ctx: _Context, common: _Common, waiting: tuple[str, ...]) -> Decision:
    unmet = [
        requirement
        for check, requirement in zip(ctx.checks, common.requirements, strict=True)
        if not requirement.satisfied and check.kind != "emergency"
    ]
    missing = max(r.required - len(r.satisfied_by) for r in unmet)
    details = "; ".join(
        f"{r.scope}: {len(r.satisfied_by)} of {r.required} from {r.approvers}" for r in unmet
    )
    return _make(
        ctx,
        common,
        "pending",
        title=f"Waiting for {_plural(missing, 'more approval')}",
        summary=f"Waiting for a countersignature ({details}).{_emergency_note(ctx)}",
        to_pass=(*waiting, *_emergency_step(ctx, common.requirements)),
    )
