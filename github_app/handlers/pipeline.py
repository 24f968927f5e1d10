"""Re-evaluate one pull request end to end: gather facts, decide, publish, record.

This is the imperative shell around the two pure functions of the core, ``detect`` and
``evaluate``.  Every path that can change a PR's verdict (a push, a review, a rerequest, a
freeze, the sweep) goes through :func:`reevaluate`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from github_app.actions.check_run import check_run_body, details_url_for, publish_check_run
from github_app.actions.evidence import new_entry, record
from github_app.core.catalogue import Catalogue
from github_app.core.detection import detect
from github_app.core.models import Attribution, PullRequest, Signal
from github_app.handlers.context import HandlerContext
from github_app.handlers.facts import (
    PullRequestFacts,
    load_policy,
    pull_request_facts,
    referenced_teams,
    reviewer_facts,
)
from github_app.ledger.entry import NewEntry
from github_app.metrics import DECISIONS
from github_app.policy.evaluate import Decision, EvaluationInput, evaluate
from github_app.policy.loader import EffectivePolicy
from github_app.state.decisions import PrRecord

if TYPE_CHECKING:
    from github_app.services import Services


def agent_logins(catalogue: Catalogue) -> frozenset[str]:
    """Every GitHub login the catalogue names as an agent (they never countersign)."""
    return frozenset(
        login.lower() for agent in catalogue.agents for login in agent.identities.logins
    )


def summarise_signals(signals: Iterable[Signal], limit: int = 50) -> list[dict]:
    """Signals grouped by what was seen (a 250-commit PR repeats the same marker 250 times)."""
    groups: dict[tuple, dict] = {}
    for signal in signals:
        key = (signal.agent, signal.kind, int(signal.strength), signal.detail)
        if key not in groups:
            groups[key] = {**signal.model_dump(mode="json"), "count": 0}
        groups[key]["count"] += 1
    ordered = sorted(groups.values(), key=lambda group: (-group["strength"], -group["count"]))
    return ordered[:limit]


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


async def _containment(services: Services, pr: PullRequest, session_id: str | None) -> dict:
    """The freeze and revocation facts of an evaluation input, read now."""
    freeze, revoked = await asyncio.gather(
        asyncio.to_thread(services.containment.active_freeze, pr.repo_full_name),
        asyncio.to_thread(services.containment.is_revoked, session_id),
    )
    return {
        "frozen": freeze is not None,
        "freeze_reason": freeze.reason if freeze else None,
        "revoked": revoked,
    }


async def evaluate_pull_request(
    ctx: HandlerContext, pr: PullRequest, *, policy_ref: str | None = None
) -> Evaluation:
    """Gather what the decision needs from GitHub and the store, then decide (pure).

    The policy is read at ``policy_ref`` (default: the base branch); a merged PR passes its
    base commit, so a PR that edits the policy is not judged by its own edit.
    """
    services = ctx.services
    facts, (policy, policy_error) = await asyncio.gather(
        pull_request_facts(ctx.gh, pr),
        load_policy(ctx.gh, pr.repo_full_name, policy_ref or pr.base_ref, services.default_policy),
    )
    rules = policy.policy if policy else services.default_policy
    catalogue = services.catalogue_for(rules)
    attribution = detect(
        pr,
        facts.commits,
        catalogue,
        threshold=rules.detection.threshold_strength,
        assisted_is_agent=rules.detection.ai_assisted_is_agent,
    )
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
        **await _containment(services, pr, attribution.session_id),
    )
    return Evaluation(pr, facts, policy, policy_error, attribution, evaluate(inputs), inputs)


async def _with_current_containment(services: Services, ev: Evaluation) -> Evaluation:
    """Decide again if a freeze or revocation changed while GitHub was being read.

    Without this, an evaluation that started before a freeze could publish ``success`` after
    the containment sweep had already published ``failure``.
    """
    now = await _containment(services, ev.pr, ev.attribution.session_id)
    if all(getattr(ev.inputs, key) == value for key, value in now.items()):
        return ev
    inputs = ev.inputs.model_copy(update=now)
    return replace(ev, inputs=inputs, decision=evaluate(inputs))


def _state_entries(
    ctx: HandlerContext, ev: Evaluation, previous: PrRecord | None, occurred_at: datetime
) -> list[NewEntry]:
    """Ledger entries for what changed since the last published decision."""
    pr, attribution, decision = ev.pr, ev.attribution, ev.decision
    policy_sha = ev.policy.sha if ev.policy else None
    common = {
        "occurred_at": occurred_at,
        "pr": pr,
        "attribution": attribution,
        "policy_sha": policy_sha,
    }
    new_head = previous is None or previous.head_sha != pr.head_sha
    entries: list[NewEntry] = []
    if attribution.is_agent and new_head:
        entries.append(
            new_entry(
                ctx,
                "agent_change_detected",
                actor=pr.author.login,
                data={
                    "signals": summarise_signals(attribution.signals),
                    "commits": [c.sha for c in ev.facts.commits],
                    "title": pr.title,
                    "head_ref": pr.head_ref,
                    "base_ref": pr.base_ref,
                },
                **common,
            )
        )
    if previous is not None and new_head:
        stale = sorted(
            {
                r.reviewer.login
                for r in ev.facts.reviews
                if r.state == "APPROVED" and r.commit_id == previous.head_sha
            }
        )
        if stale:
            entries.append(
                new_entry(
                    ctx,
                    "approval_invalidated",
                    data={
                        "approvers": stale,
                        "approved_sha": previous.head_sha,
                        "new_head_sha": pr.head_sha,
                    },
                    **common,
                )
            )
    if previous is None or new_head or previous.state != decision.state:
        entries.append(
            new_entry(
                ctx,
                "decision",
                data={
                    "state": decision.state,
                    "passing": decision.passing,
                    "title": decision.title,
                    "approvers": list(decision.approvers),
                    "to_pass": list(decision.to_pass),
                    "previous_state": previous.state if previous else None,
                },
                **common,
            )
        )
        if decision.state == "policy_invalid":
            entries.append(
                new_entry(ctx, "policy_invalid", data={"error": ev.policy_error}, **common)
            )
    return entries


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
    await record(ctx, *_state_entries(ctx, ev, previous, occurred_at))
    await asyncio.to_thread(
        services.decisions.put,
        PrRecord(pr.repo_id, pr.number, pr.head_sha, ev.decision.state, check_run_id),
    )
    DECISIONS.labels(ev.decision.state).inc()
    return ev


async def reevaluate(ctx: HandlerContext, pr: PullRequest, occurred_at: datetime) -> Evaluation:
    """Evaluate and publish one open pull request."""
    return await publish(ctx, await evaluate_pull_request(ctx, pr), occurred_at)
