"""Re-evaluate one pull request end to end: gather facts, decide, publish, record.

This is the imperative shell around the pure functions ``detect``, ``evaluate`` and
``evidence.pr_entries.state_entries`` (which entries a change of verdict writes).  Every path
that can change a PR's verdict (a push, a review, a rerequest, a freeze, the sweep) goes through
:func:`reevaluate`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime

from github_app.actions.check_run import check_run_body, details_url_for, publish_check_run
from github_app.actions.record import record
from github_app.context import AppServices, HandlerContext
from github_app.core.catalogue import Catalogue
from github_app.core.detection import detect
from github_app.core.models import Attribution, PullRequest
from github_app.evidence.audit_exceptions import DEFAULT_POST_REVIEW_HOURS
from github_app.evidence.pr_entries import Judgement, state_entries
from github_app.github.facts import (
    PullRequestFacts,
    load_policy,
    pull_request_facts,
    referenced_teams,
    reviewer_facts,
)
from github_app.metrics import DECISIONS
from github_app.policy.evaluate import Decision, EvaluationInput, evaluate
from github_app.policy.loader import EffectivePolicy
from github_app.sessions.attestation import apply_attestation
from github_app.sessions.attestation import session_ids as attested_session_ids
from github_app.state.agent_sessions import attested_sessions
from github_app.state.decisions import PrRecord


def agent_logins(catalogue: Catalogue) -> frozenset[str]:
    """Every GitHub login the catalogue names as an agent (they never countersign)."""
    return frozenset(
        login.lower() for agent in catalogue.agents for login in agent.identities.logins
    )


@dataclass(frozen=True)
class Evaluation:
    """Everything one evaluation saw and decided."""

    pr: PullRequest
    facts: PullRequestFacts
    policy: EffectivePolicy | None
    policy_error: str | None
    attribution: Attribution
    decision: Decision
    inputs: EvaluationInput

    @property
    def judgement(self) -> Judgement:
        """What the evidence rules need of this evaluation."""
        policy = self.policy
        return Judgement(
            pr=self.pr,
            attribution=self.attribution,
            decision=self.decision,
            commits=self.facts.commits,
            reviews=self.facts.reviews,
            policy_sha=policy.sha if policy else None,
            policy_error=self.policy_error,
            post_review_hours=(
                policy.policy.emergency.post_review_hours if policy else DEFAULT_POST_REVIEW_HOURS
            ),
        )


def _any_revoked(services: AppServices, session_ids: tuple[str, ...]) -> bool:
    """True when any session id the change carries was revoked (renaming never un-revokes)."""
    return any(services.containment.is_revoked(session_id) for session_id in session_ids)


async def _containment(services: AppServices, pr: PullRequest, attribution: Attribution) -> dict:
    """The freeze and revocation facts of an evaluation input, read now."""
    freeze, revoked = await asyncio.gather(
        asyncio.to_thread(services.containment.active_freeze, pr.repo_full_name),
        asyncio.to_thread(_any_revoked, services, attribution.all_session_ids),
    )
    return {
        "frozen": freeze is not None,
        "freeze_reason": freeze.reason if freeze else None,
        "revoked": revoked,
    }


async def evaluate_pull_request(
    ctx: HandlerContext,
    pr: PullRequest,
    *,
    policy_ref: str | None = None,
    draft_policy: EffectivePolicy | None = None,
) -> Evaluation:
    """Gather what the decision needs from GitHub and the store, then decide (pure).

    The policy is read at ``policy_ref`` (default: the base branch's commit as of the event,
    which keeps reads cacheable); a merged PR passes its base commit, so a PR that edits the
    policy is not judged by its own edit.  A ``draft_policy`` (``countersign policy simulate
    --policy``) replaces the one in force.
    """
    services = ctx.services

    async def policy_in_force() -> tuple[EffectivePolicy | None, str | None]:
        if draft_policy is not None:
            return draft_policy, None
        ref = policy_ref or pr.base_sha or pr.base_ref
        return await load_policy(ctx.gh, pr.repo_full_name, ref, services.default_policy)

    facts, (policy, policy_error) = await asyncio.gather(
        pull_request_facts(ctx.gh, pr), policy_in_force()
    )
    rules = policy.policy if policy else services.default_policy
    try:
        catalogue = await asyncio.to_thread(services.catalogue_for, rules)
    except ValueError as error:  # a detection.agents entry the catalogue refuses: fail closed
        policy, policy_error = None, str(error)
        rules, catalogue = services.default_policy, services.catalogue
    # Detection is CPU work over PR text: off the event loop, so one PR cannot stall the rest.
    attribution = await asyncio.to_thread(
        detect,
        pr,
        facts.commits,
        catalogue,
        threshold=rules.detection.threshold_strength,
        assisted_is_agent=rules.detection.ai_assisted_is_agent,
    )
    # Agent sessions: an attested launcher (agent token) replaces the trailer's, and blocks
    # under session.require_attested when there is none (github_app.sessions.attestation).
    attested = await asyncio.to_thread(
        attested_sessions, services.ledger, attested_session_ids(attribution)
    )
    attestation = apply_attestation(attribution, attested, rules)
    attribution = attestation.attribution
    reviewers = await reviewer_facts(ctx.gh, pr, facts.reviews, referenced_teams(rules))
    inputs = EvaluationInput(
        pr=pr,
        commits=facts.commits,
        reviews=facts.reviews,
        changed_files=facts.files,
        attribution=attribution,
        policy=policy,
        policy_error=policy_error,
        reviewer_facts=reviewers,
        agent_logins=agent_logins(catalogue),
        incomplete=facts.incomplete,
        extra_exclusions=attestation.exclusions,
        session_block=attestation.blocking,
        **await _containment(services, pr, attribution),
    )
    return Evaluation(pr, facts, policy, policy_error, attribution, evaluate(inputs), inputs)


async def _with_current_containment(services: AppServices, ev: Evaluation) -> Evaluation:
    """Decide again if a freeze or revocation changed while GitHub was being read.

    Without this, an evaluation that started before a freeze could publish ``success`` after
    the containment sweep had already published ``failure``.
    """
    now = await _containment(services, ev.pr, ev.attribution)
    if all(getattr(ev.inputs, key) == value for key, value in now.items()):
        return ev
    inputs = ev.inputs.model_copy(update=now)
    return replace(ev, inputs=inputs, decision=evaluate(inputs))


async def publish(ctx: HandlerContext, ev: Evaluation, occurred_at: datetime) -> Evaluation:
    """Update the check run, record what changed in the ledger, remember the state."""
    services, pr = ctx.services, ev.pr
    ev = await _with_current_containment(services, ev)
    previous = await asyncio.to_thread(services.decisions.get, pr.repo_id, pr.number)
    existing = previous.check_run_id if previous and previous.head_sha == pr.head_sha else None
    ignored = ev.policy.ignored if ev.policy else ()
    details_url = details_url_for(services.settings.countersign_public_url, pr)
    body = check_run_body(ev.decision, ev.attribution, pr, ignored, details_url=details_url)
    check_run_id = await publish_check_run(ctx.gh, pr, body, existing)
    await record(ctx, *state_entries(ctx.stamp, previous, ev.judgement, occurred_at))
    await asyncio.to_thread(
        services.decisions.put,
        PrRecord(pr.repo_id, pr.number, pr.head_sha, ev.decision.state, check_run_id),
    )
    DECISIONS.labels(ev.decision.state).inc()
    return ev


async def reevaluate(ctx: HandlerContext, pr: PullRequest, occurred_at: datetime) -> Evaluation:
    """Evaluate and publish one open pull request."""
    return await publish(ctx, await evaluate_pull_request(ctx, pr), occurred_at)
