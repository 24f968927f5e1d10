"""The words of a Decision: titles, summaries and the steps that would make the check pass.

``evaluate`` judges; this module only turns what it found into text for the check run and the
ledger.  Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from github_app.policy.approvers import (
    describe_approvers,
    join_words,
)
from github_app.policy.decision import (
    PASSING_STATES,
    ApprovalVerdict,
    Blockers,
    Context,
    Decision,
    DecisionState,
    EvaluationInput,
    Requirement,
    ReviewOutcome,
    emergency_requested,
    session_of,
)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _who_is_not(ctx: Context, count: int) -> str:
    parts = []
    launcher = ctx.inp.attribution.launched_by
    if launcher:
        parts.append(f"the launcher @{launcher.lstrip('@')}")
    author = ctx.inp.pr.author
    if not author.is_bot and (not launcher or author.login.lower() != launcher.lower()):
        parts.append(f"the PR author @{author.login}")
    parts.append("an author or co-author of its commits")
    return ("who is not " if count == 1 else "who are not ") + join_words(parts)


def literal(text: str) -> str:
    """Commit-controlled text as an inert inline code span (no links, mentions or markup)."""
    cleaned = " ".join(text.replace("`", "'").split())
    return f"`{cleaned}`"


def _intro(ctx: Context) -> str:
    attribution = ctx.inp.attribution
    if not ctx.is_agent and ctx.policy_files:
        return f"Human change that edits a policy file ({', '.join(ctx.policy_files)})."
    if not ctx.is_agent:
        return "Change with no agent signal."
    session_id, derived = session_of(ctx.inp)
    session = literal(session_id) + (", derived" if derived else "")
    launcher = (
        f"launched by @{attribution.launched_by.lstrip('@')}"
        if attribution.launched_by
        else "launching developer unknown"
    )
    agent = attribution.agent or "unknown-agent"
    return f"Agent change by {agent} (session {session}; {launcher})."


def missing_steps(ctx: Context, requirements: tuple[Requirement, ...]) -> list[str]:
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


def _emergency_step(ctx: Context, requirements: tuple[Requirement, ...]) -> list[str]:
    for check, requirement in zip(ctx.checks, requirements, strict=True):
        if check.kind == "emergency" and not requirement.satisfied:
            approvers = describe_approvers(check.spec)
            return [f"or, as an emergency: 1 approval on {ctx.head7} from {approvers}"]
    return []


def stale_steps(ctx: Context, outcome: ReviewOutcome) -> list[str]:
    return [
        f"@{login} can approve again: their approval is on {sha[:7]}, the head is {ctx.head7}"
        for login, sha in outcome.stale
    ]


def _emergency_note(ctx: Context) -> str:
    if not ctx.is_agent or not emergency_requested(ctx.inp, ctx.policy):
        return ""
    if ctx.policy.emergency.approvers.restricted:
        return ""
    return (
        f" The '{ctx.policy.emergency.label}' label is set, but this policy names no emergency "
        "approvers, so it has no effect."
    )


def policy_invalid_decision(inp: EvaluationInput) -> Decision:
    error = inp.policy_error or "no policy was loaded"
    return Decision(
        state="policy_invalid",
        passing=False,
        title="Policy unreadable: failing closed",
        summary=f"The Countersign policy could not be read, so this check fails closed. {error}",
        to_pass=(f"fix the policy file on the base branch: {error}",),
    )


def incomplete_decision(inp: EvaluationInput, why: str) -> Decision:
    return Decision(
        state="blocked",
        passing=False,
        title="Too large to judge: failing closed",
        summary=f"{why} Countersign cannot check commits or files it cannot see, so this "
        "check fails closed.",
        to_pass=("split the pull request into smaller ones",),
        policy_sha=inp.policy.sha if inp.policy else None,
    )


def not_required_decision(inp: EvaluationInput) -> Decision:
    branch = inp.pr.base_ref
    return Decision(
        state="not_required",
        passing=True,
        title="Not required: the base branch is not protected",
        summary=f"`{branch}` is not a protected branch under the policy, so no countersignature "
        "is needed here. The change is judged again when it heads for a protected branch.",
        policy_sha=inp.policy.sha if inp.policy else None,
    )


def not_agent_decision(ctx: Context) -> Decision:
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
class Common:
    """Decision fields that every agent-change outcome carries."""

    requirements: tuple[Requirement, ...]
    approvals: tuple[ApprovalVerdict, ...]
    forbidden_paths: tuple[str, ...]
    approvers: tuple[str, ...]


def _make(
    ctx: Context,
    common: Common,
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


def _sha(ctx: Context) -> str | None:
    return ctx.inp.policy.sha if ctx.inp.policy else None


def _names(logins: tuple[str, ...]) -> str:
    return ", ".join(f"@{login}" for login in logins)


def revoked_decision(ctx: Context, common: Common) -> Decision:
    session, _ = session_of(ctx.inp)
    return _make(
        ctx,
        common,
        "revoked",
        title="Blocked: session revoked",
        summary=f"Session {session} was revoked; its changes stay blocked.",
        to_pass=("none: a revoked session's changes cannot pass; redo the work in a new session",),
    )


def frozen_decision(ctx: Context, common: Common, steps: tuple[str, ...]) -> Decision:
    reason = f": {ctx.inp.freeze_reason}" if ctx.inp.freeze_reason else ""
    return _make(
        ctx,
        common,
        "frozen",
        title="Frozen: agent changes are halted",
        summary=f"Agent changes are frozen{reason}. This check fails until the freeze is lifted.",
        to_pass=("an admin lifts the freeze (countersign freeze off)", *steps),
    )


def blocked_decision(
    ctx: Context, common: Common, blockers: Blockers, waiting: tuple[str, ...]
) -> Decision:
    return _make(
        ctx,
        common,
        "blocked",
        title="Blocked: " + "; ".join(blockers.titles),
        summary=f"Blocked: {'; '.join(blockers.sentences)}.",
        to_pass=(*blockers.steps, *waiting),
    )


def approved_decision(ctx: Context, common: Common) -> Decision:
    names = _names(common.approvers)
    title = f"Countersigned by {names}" if ctx.is_agent else f"Policy change approved by {names}"
    return _make(
        ctx, common, "approved", title=title, summary=f"Approved on {ctx.head7} by {names}."
    )


def emergency_decision(ctx: Context, common: Common) -> Decision:
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


def pending_decision(ctx: Context, common: Common, waiting: tuple[str, ...]) -> Decision:
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
