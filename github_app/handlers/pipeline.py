"""Re-evaluate one pull request end to end: gather facts, decide, publish, record.

This is the imperative shell around the pure functions ``detect``, ``evaluate`` and
``evidence.pr_entries.state_entries`` (which entries a change of verdict writes).  Every path
that can change a PR's verdict (a push, a review, a rerequest, a freeze, the sweep) goes through
:func:`reevaluate`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from github_app.actions.check_run import (
    check_run_body,
    commit_verdict,
    details_url_for,
    find_check_run,
    publish_check_run,
)
from github_app.actions.record import record
from github_app.context import AppServices, HandlerContext
from github_app.core import github_json
from github_app.core.catalogue import Catalogue
from github_app.core.detection import detect
from github_app.core.github_json import parse_time
from github_app.core.models import Attribution, PullRequest, Review
from github_app.evidence.audit_exceptions import DEFAULT_POST_REVIEW_HOURS
from github_app.evidence.pr_entries import Judgement, state_entries, writes_decision
from github_app.github.codeowners import read_codeowners
from github_app.github.facts import (
    PullRequestFacts,
    co_author_accounts,
    load_policy,
    pull_request_facts,
    referenced_teams,
    reviewer_facts,
    with_counts,
)
from github_app.logs import get_logger
from github_app.metrics import DECISIONS
from github_app.policy.codeowners import CodeOwnersFacts, owned_groups
from github_app.policy.evaluate import (
    Decision,
    EvaluationInput,
    co_author_emails_to_resolve,
    code_owned_files,
    evaluate,
)
from github_app.policy.loader import EffectivePolicy
from github_app.policy.model import Policy
from github_app.sessions.attestation import apply_attestation
from github_app.sessions.attestation import session_ids as attested_session_ids
from github_app.state.agent_sessions import attested_sessions
from github_app.state.decisions import CommitCheck, PrRecord
from github_app.state.pushers import Pushers
from github_app.state.retargets import Retargets

log = get_logger(__name__)


def agent_logins(catalogue: Catalogue) -> frozenset[str]:
    """Every GitHub login the catalogue names as an agent (they never countersign)."""
    return frozenset(
        login.lower() for agent in catalogue.agents for login in agent.identities.logins
    )


def reviews_submitted_by(reviews: tuple[Review, ...], moment: datetime) -> tuple[Review, ...]:
    """The reviews submitted at or before ``moment`` (one without a time is left out)."""
    return tuple(r for r in reviews if r.submitted_at is not None and r.submitted_at <= moment)


def policy_ref_of(pr: PullRequest) -> str:
    """An unambiguous ref for the policy of a PR's base: its commit, else the full branch ref."""
    return pr.base_sha or f"refs/heads/{pr.base_ref}"


def agent_emails(catalogue: Catalogue) -> frozenset[str]:
    """Every e-mail the catalogue names as an agent's (a co-author that is not a person)."""
    return frozenset(
        email.lower() for agent in catalogue.agents for email in agent.identities.emails
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


async def _organisation_facts(
    ctx: HandlerContext, pr: PullRequest, rules: Policy, ref: str, files: tuple[str, ...]
) -> dict:
    """CODEOWNERS (only when the policy asks for code owners) and the PR's last retarget."""
    code_owners: CodeOwnersFacts | None = None
    probe = EvaluationInput(
        pr=pr, changed_files=files, attribution=Attribution(is_agent=False), policy=None
    )
    if code_owned_files(probe, rules) is not None:
        code_owners = await read_codeowners(ctx.gh, pr.repo_full_name, ref)
    retarget = await asyncio.to_thread(Retargets(ctx.services.db).get, pr.repo_id, pr.number)
    return {
        "code_owners": code_owners,
        "retargeted_at": retarget.changed_at if retarget else None,
        "retargeted_from": retarget.from_base if retarget else None,
    }


def _owner_teams(code_owners: CodeOwnersFacts | None, files: tuple[str, ...]) -> frozenset[str]:
    """Teams owning a changed file: their members' memberships are looked up."""
    file = code_owners.file if code_owners else None
    groups = owned_groups(file, files) if file else ()
    return frozenset(team for rule, _ in groups for team in rule.teams)


async def evaluate_pull_request(
    ctx: HandlerContext,
    pr: PullRequest,
    *,
    policy_ref: str | None = None,
    reviews_until: datetime | None = None,
    draft_policy: EffectivePolicy | None = None,
) -> Evaluation:
    """Gather what the decision needs from GitHub and the store, then decide (pure).

    ``reviews_until`` (the merge time, for the merge snapshot) leaves out reviews submitted
    after it: an approval given once the change is merged did not let it through.

    The policy is read at ``policy_ref`` (default: the base commit), so a PR that edits the
    policy is not judged by its own edit, and never by a bare branch name: a tag named like
    the base branch would win GitHub's ref lookup and substitute its own policy file.  A
    ``draft_policy`` (``countersign policy simulate --policy``) replaces the one in force.
    """
    services = ctx.services
    pr = await with_counts(ctx.gh, pr)

    async def policy_in_force() -> tuple[EffectivePolicy | None, str | None]:
        if draft_policy is not None:
            return draft_policy, None
        ref = policy_ref or policy_ref_of(pr)
        return await load_policy(ctx.gh, pr.repo_full_name, ref, services.default_policy)

    facts, (policy, policy_error) = await asyncio.gather(
        pull_request_facts(ctx.gh, pr), policy_in_force()
    )
    if reviews_until is not None:
        facts = replace(facts, reviews=reviews_submitted_by(facts.reviews, reviews_until))
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
    extra = await _organisation_facts(ctx, pr, rules, policy_ref or pr.base_ref, facts.files)
    teams = referenced_teams(rules) | _owner_teams(extra["code_owners"], facts.files)
    emails = agent_emails(catalogue)
    unknown = co_author_emails_to_resolve(attribution, facts.commits, emails)
    reviewers, co_authors = await asyncio.gather(
        reviewer_facts(ctx.gh, pr, facts.reviews, teams),
        co_author_accounts(ctx.gh, pr.repo_full_name, unknown),
    )
    shas = [commit.sha for commit in facts.commits]
    pushers = await asyncio.to_thread(
        Pushers(services.db).of_pull_request, pr.repo_id, pr.number, shas
    )
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
        pushers=pushers,
        co_author_accounts=co_authors,
        agent_emails=emails,
        incomplete=facts.incomplete,
        **extra,
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


def is_older(previous: PrRecord | None, head_sha: str, seen_at: datetime | None) -> bool:
    """Whether facts seen at ``seen_at`` (GitHub's ``pull_request.updated_at``) for head
    ``head_sha`` are older than what was already applied to the PR.

    Equal timestamps with another head are treated as older too: GitHub's timestamps have one
    second of resolution, and only the current pull request can say which head came last.
    """
    if previous is None or previous.source_updated_at is None:
        return False
    if seen_at is None:
        return True
    if seen_at != previous.source_updated_at:
        return seen_at < previous.source_updated_at
    return head_sha != previous.head_sha


def _newest(*moments: datetime | None) -> datetime | None:
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None


async def current_pull_request(
    ctx: HandlerContext, pr: PullRequest
) -> tuple[PullRequest, datetime]:
    """The pull request as GitHub has it now, and its ``updated_at``."""
    item = await ctx.gh.getitem(f"/repos/{pr.repo_full_name}/pulls/{pr.number}")
    return github_json.pull_request(item, item["base"]["repo"]), parse_time(item.get("updated_at"))


async def publish(
    ctx: HandlerContext,
    ev: Evaluation,
    occurred_at: datetime,
    previous: PrRecord | None,
    seen_at: datetime | None = None,
) -> Evaluation:
    """Record what changed (ledger and ``pr_decisions`` in one transaction), then publish the
    verdict of the head commit.  Call with the PR's work lock held (see :func:`reevaluate`).

    Recording first means a failed publish (a 502) is simply published again by the retry,
    which then finds nothing new to record.
    """
    services, pr = ctx.services, ev.pr
    ev = await _with_current_containment(services, ev)
    ignored = ev.policy.ignored if ev.policy else ()
    warnings = ev.policy.warnings if ev.policy else ()
    details_url = details_url_for(services.settings.countersign_public_url, pr)
    body = check_run_body(
        ev.decision, ev.attribution, pr, ignored, warnings, details_url=details_url
    )
    entries = state_entries(ctx.stamp, previous, ev.judgement, occurred_at)
    version = (previous.version if previous else 0) + (1 if writes_decision(entries) else 0)
    new_state = PrRecord(
        pr.repo_id,
        pr.number,
        pr.head_sha,
        ev.decision.state,
        previous.check_run_id if previous and previous.head_sha == pr.head_sha else None,
        source_updated_at=_newest(seen_at, previous.source_updated_at if previous else None),
        version=version,
        check_body=body,
        is_open=pr.state == "open",
    )
    await record(ctx, *entries, state=new_state)
    await publish_commit_verdict(ctx, pr.repo_full_name, pr.repo_id, pr.head_sha)
    DECISIONS.labels(ev.decision.state).inc()
    return ev


async def publish_commit_verdict(
    ctx: HandlerContext, repo_full_name: str, repo_id: int, head_sha: str
) -> int | None:
    """Publish on ``head_sha`` the strictest decision of its open PRs, on its one check run.

    Holds the commit's work lock, so two PRs on one commit (or two replicas) never both create
    a run.  A create whose answer was lost (a 502, a crash) leaves a marker; the next publish
    looks the run up on GitHub before creating one.  Returns the check run id.
    """
    decisions = ctx.services.decisions
    async with ctx.services.locks.hold("commit", repo_id, head_sha):
        records = await asyncio.to_thread(decisions.open_on_commit, repo_id, head_sha)
        bodies = {item.pr: item.check_body for item in records if item.check_body}
        if not bodies:
            return None
        number, body = commit_verdict(bodies)
        body = {**body, "completed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        stored = await asyncio.to_thread(decisions.check_of, repo_id, head_sha)
        # Before one run per commit was stored, each PR kept the id of the run it created.
        legacy = next((item.check_run_id for item in records if item.check_run_id), None)
        run_id = stored.check_run_id if stored else legacy
        if stored is not None and run_id is None:
            app_id = ctx.services.settings.github_app_id or 0
            run_id = await find_check_run(ctx.gh, repo_full_name, head_sha, app_id)
        if run_id is None:
            marker = CommitCheck(repo_id, head_sha, None, None, number)
            await asyncio.to_thread(decisions.put_check, marker)
        run_id = await publish_check_run(ctx.gh, repo_full_name, body, run_id)
        published = CommitCheck(repo_id, head_sha, run_id, body["conclusion"], number)
        await asyncio.to_thread(decisions.put_check, published)
        return run_id


async def reevaluate(
    ctx: HandlerContext,
    pr: PullRequest,
    occurred_at: datetime,
    *,
    seen_at: datetime | None = None,
) -> Evaluation:
    """Evaluate and publish one pull request, one unit of work at a time per PR.

    ``seen_at`` is GitHub's ``updated_at`` of the pull request in hand.  Work on one PR is
    serialised across tasks and replicas (the PR's work lock); a delivery older than what was
    already applied — a retry after a 502, a redelivery after a crash — never writes entries
    for an old head: it reads the pull request as it is now and judges that instead.
    """
    services = ctx.services
    async with services.locks.hold("pr", pr.repo_id, pr.number):
        previous = await asyncio.to_thread(services.decisions.get, pr.repo_id, pr.number)
        if is_older(previous, pr.head_sha, seen_at):
            log.info("delivery_older_than_state", repo=pr.repo_full_name, pr=pr.number)
            pr, seen_at = await current_pull_request(ctx, pr)
        evaluation = await evaluate_pull_request(ctx, pr)
        return await publish(ctx, evaluation, occurred_at, previous, seen_at)


async def close_pull_request(ctx: HandlerContext, pr: PullRequest, seen_at: datetime) -> None:
    """A closed PR stops counting towards its head commit's verdict.

    Its record keeps the closing time as the newest fact applied, so a retried older delivery
    (a ``synchronize`` that failed before the close) re-reads the PR instead of reopening it.
    The commit is published again when other open PRs still share it.
    """
    services = ctx.services
    async with services.locks.hold("pr", pr.repo_id, pr.number):
        previous = await asyncio.to_thread(services.decisions.get, pr.repo_id, pr.number)
        if previous is None:
            return
        closed = replace(
            previous,
            is_open=False,
            source_updated_at=_newest(seen_at, previous.source_updated_at),
        )
        await asyncio.to_thread(services.decisions.put, closed)
        await publish_commit_verdict(ctx, pr.repo_full_name, pr.repo_id, previous.head_sha)
