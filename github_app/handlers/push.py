"""``push`` events: catch direct pushes to protected branches; re-sync rulesets on policy change.

A push to a protected branch whose head no merged pull request explains is a ``direct_push``:
recorded with pusher, SHAs and each commit's attribution.  When it counts as a violation
(agent-authored, or any push if ``policy.direct_push.count_human_pushes``) Countersign answers
per ``policy.direct_push``: a revert pull request (optional), one issue, alerts.  Order does not
matter between this event and ``pull_request`` ``closed``: GitHub is asked which merged pull
request, if any, produced the pushed head.

The policy judging the push is read at the push's ``before`` commit: a push cannot loosen the
rules it is judged by.  An unreadable policy fails closed: the shipped default judges the push,
and since the branches the real policy protects are unknown, a push to any branch is recorded
(with ``policy_error`` in its data).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from gidgethub import BadRequest, routing, sansio

from github_app.actions.alerts import send_alerts
from github_app.actions.incidents import IncidentState, load_incident, open_issue, save_incident
from github_app.actions.record import new_entry, record
from github_app.actions.revert import open_revert_pr
from github_app.context import HandlerContext
from github_app.core import github_json
from github_app.core.models import Commit
from github_app.github.facts import load_policy
from github_app.ledger.entry import NewEntry
from github_app.logs import get_logger
from github_app.policy.loader import ORG_POLICY_REPO, EffectivePolicy
from github_app.policy.model import Policy
from github_app.pushes.classify import (
    ZERO_SHA,
    Push,
    PushAttribution,
    attribute_push,
    changes_policy,
    comparison_bases,
    direct_push_data,
    ignore_reason,
    is_violation,
    merged_pull_request,
    merged_through_group,
    org_policy_changed,
    push_from_payload,
    reachable_from_base,
)
from github_app.pushes.report import ALERT_EVENT, alert_payload, slack_text
from github_app.rulesets.sync import (
    Repository,
    installation_repositories,
    reconcile_all,
)
from github_app.state.merge_groups import MergeGroups
from github_app.state.pushers import Pushed, Pushers

log = get_logger(__name__)

router = routing.Router()


@router.register("push")
async def on_push(event: sansio.Event, ctx: HandlerContext) -> None:
    """Look for a direct push, then re-sync rulesets if the push changed the policy."""
    push = push_from_payload(event.data)
    if push.branch is None:
        return
    forget_repo_policy(ctx, push)
    await remember_pushers(ctx, push)
    await check_direct_push(ctx, push)
    if changes_policy(push):
        await resync_rulesets(ctx, push)


def forget_repo_policy(ctx: HandlerContext, push: Push) -> None:
    """Drop the agent hooks' cached policy of a repository whose default branch moved.

    On *every* default-branch push, not only one whose payload lists ``countersign.yml``: the
    cached answer was read at the old head, and a payload's file lists can be incomplete (a
    push lists at most 2048 commits, a merge commit lists no files), so a test of the paths
    could miss a policy change — while a needless re-read costs a few conditional GETs.  A
    push to the org's ``.github`` repository changes every repository's effective policy, so
    it drops them all.  Without this a new rule would wait up to ``FRESH_SECONDS``.
    """
    policies = getattr(ctx.services, "repo_policies", None)
    if policies is None or push.branch != push.default_branch:
        return
    if push.repo.rsplit("/", 1)[-1].lower() == ORG_POLICY_REPO:
        policies.forget_all()
    else:
        policies.forget(push.repo)


async def remember_pushers(ctx: HandlerContext, push: Push) -> None:
    """Record the sender as the pusher of every commit the push carried (and its head).

    A later pull request containing any of them excludes the sender from countersigning it,
    whatever identity the commits name (``state/pushers.py``).
    """
    if push.deleted or not push.sender:
        return
    shas = dict.fromkeys((push.after, *(commit.sha for commit in push.commits)))
    pushed = [Pushed(push.repo_id, sha, push.sender) for sha in shas]
    await asyncio.to_thread(Pushers(ctx.services.db).record, pushed)


async def resync_rulesets(ctx: HandlerContext, push: Push) -> None:
    """Apply a changed policy to the ruleset: of every repository if it is the org policy."""
    if org_policy_changed(push):
        repos = await installation_repositories(ctx.gh)
    else:
        repos = [Repository(push.repo, push.repo_id)]
    await reconcile_all(ctx, repos, actor=push.actor, occurred_at=push.pushed_at)


async def _policy_for(ctx: HandlerContext, push: Push) -> tuple[EffectivePolicy | None, str | None]:
    ref = None if push.created or push.before == ZERO_SHA else push.before
    return await load_policy(ctx.gh, push.repo, ref, ctx.services.default_policy)


async def _merged_through_pr(ctx: HandlerContext, push: Push) -> int | None:
    try:
        pulls = [p async for p in ctx.gh.getiter(f"/repos/{push.repo}/commits/{push.after}/pulls")]
    except BadRequest as error:
        if error.status_code in {404, 409, 422}:
            return None  # GitHub knows no PR for this commit: judge it as a direct push
        raise
    return merged_pull_request(push.after, push.branch or "", pulls)


async def _merged_through_queue(ctx: HandlerContext, push: Push) -> bool:
    groups = MergeGroups(ctx.services.db)
    group = await asyncio.to_thread(groups.get, push.repo_id, push.after)
    return merged_through_group(push, group.base_ref if group else None)


async def _unreviewed_commits(
    ctx: HandlerContext, push: Push, policy: Policy
) -> tuple[tuple[Commit, ...], bool] | None:
    """``None`` when the new branch's head is on a protected branch already; else the commits
    it adds to the default branch and whether GitHub listed fewer than there are (it lists
    250; none at all if it cannot compare)."""
    unreviewed: tuple[tuple[Commit, ...], bool] | None = None
    for base in comparison_bases(push, policy):
        basehead = f"{quote(base, safe='')}...{push.after}"
        try:
            comparison = await ctx.gh.getitem(f"/repos/{push.repo}/compare/{basehead}")
        except BadRequest as error:
            if error.status_code in {404, 422}:  # no such base branch, or unrelated histories
                continue
            raise
        if reachable_from_base(comparison):
            return None
        if unreviewed is None:
            listed = tuple(github_json.api_commit(c) for c in comparison.get("commits") or ())
            total = comparison.get("total_commits")
            unreviewed = (listed, not isinstance(total, int) or total > len(listed))
    return unreviewed if unreviewed is not None else ((), True)


async def check_direct_push(ctx: HandlerContext, push: Push) -> None:
    """Record and answer the push if it bypassed pull requests on a protected branch."""
    effective, policy_error = await _policy_for(ctx, push)
    policy = effective.policy if effective else ctx.services.default_policy
    reason = ignore_reason(push, policy, protection_known=policy_error is None)
    if reason is not None:
        log.debug("push_ignored", repo=push.repo, ref=push.ref, reason=reason)
        return
    if await _merged_through_queue(ctx, push):
        log.debug("push_from_merge_group", repo=push.repo, after=push.after)
        return
    if push.created and not push.deleted and not push.distinct:
        unreviewed = await _unreviewed_commits(ctx, push, policy)
        if unreviewed is None:
            log.debug("push_ignored", repo=push.repo, ref=push.ref, reason="cut from reviewed")
            return
        commits, truncated = unreviewed
        push = replace(push, commits=commits, commits_truncated=truncated)  # judge these
    if not push.deleted:
        number = await _merged_through_pr(ctx, push)
        if number is not None:
            log.debug("push_from_pull_request", repo=push.repo, pr=number)
            return
    try:
        catalogue = await asyncio.to_thread(ctx.services.catalogue_for, policy)
    except ValueError as error:  # a detection.agents entry the catalogue refuses: fail closed
        effective, policy_error = None, str(error)
        catalogue = ctx.services.catalogue
    attribution = await asyncio.to_thread(attribute_push, push, catalogue, policy)
    incident = Incident(ctx, push, policy, effective, policy_error, attribution)
    await incident.respond()


class Incident:
    """The response to one direct push, each step done once (see ``actions/incidents``)."""

    def __init__(
        self,
        ctx: HandlerContext,
        push: Push,
        policy: Policy,
        effective: EffectivePolicy | None,
        policy_error: str | None,
        attribution: PushAttribution,
    ) -> None:
        self.ctx, self.push, self.policy = ctx, push, policy
        self.policy_sha = effective.sha if effective else None
        self.policy_error = policy_error
        self.attribution = attribution
        self.violation = is_violation(attribution.overall, policy, truncated=push.commits_truncated)
        self.errors: dict[str, str] = {}

    async def respond(self) -> None:
        """Revert PR, issue, ledger entry, alerts, in that order (each link feeds the next)."""
        db = self.ctx.services.db
        state = await load_incident(db, self.push)
        steps = (
            (self._revert, self._issue, self._record, self._alert)
            if self.violation
            else (self._record,)
        )
        for step in steps:
            updated = await step(state)
            if updated != state:
                state = updated
                await save_incident(db, self.push, state)

    # Once the entry is recorded, a missing issue or revert stays missing: a late one would
    # not be linked from the evidence.  Transient GitHub errors raise instead, so the delivery
    # is retried before anything is recorded.
    async def _revert(self, state: IncidentState) -> IncidentState:
        if not self.policy.direct_push.revert_pr or state.revert_pr_url or state.recorded:
            return state
        try:
            url = await open_revert_pr(self.ctx.gh, self.push, issue_url=state.issue_url)
        except BadRequest as error:
            self.errors["revert_pr"] = str(error)
            return state
        return state.but(revert_pr_url=url)

    async def _issue(self, state: IncidentState) -> IncidentState:
        if not self.policy.direct_push.open_issue or state.issue_url or state.recorded:
            return state
        try:
            number, url = await open_issue(
                self.ctx.gh,
                self.push,
                self.attribution,
                revert_pr_url=state.revert_pr_url,
                policy_error=self.policy_error,
            )
        except BadRequest as error:  # e.g. 410: issues are disabled on the repository
            self.errors["issue"] = str(error)
            return state
        return state.but(issue_number=number, issue_url=url)

    def _entry(self, kind: str, data: dict[str, Any]) -> NewEntry:
        return new_entry(
            self.ctx,
            kind,
            occurred_at=self.push.pushed_at,
            attribution=self.attribution.overall,
            repo=self.push.repo,
            repo_id=self.push.repo_id,
            head_sha=self.push.after,
            actor=self.push.actor,
            policy_sha=self.policy_sha,
            data=data,
        )

    async def _record(self, state: IncidentState) -> IncidentState:
        if state.recorded:
            return state
        data = direct_push_data(
            self.push, self.attribution, violation=self.violation, policy_error=self.policy_error
        )
        data.update(
            issue_url=state.issue_url,
            issue_number=state.issue_number,
            revert_pr_url=state.revert_pr_url,
            response_errors=self.errors,
        )
        await record(self.ctx, self._entry("direct_push", data))
        return state.but(recorded=True)

    async def _alert(self, state: IncidentState) -> IncidentState:
        alerts = self.policy.alerts
        if state.alerted or not self.policy.direct_push.alert:
            return state
        if not (alerts.webhooks or alerts.slack):
            return state.but(alerted=True)
        payload = alert_payload(
            self.push,
            self.attribution,
            issue_url=state.issue_url,
            revert_pr_url=state.revert_pr_url,
        )
        text = slack_text(self.push, self.attribution, issue_url=state.issue_url)
        client = self.ctx.services.alert_client
        results = await send_alerts(alerts, ALERT_EVENT, payload, text, client=client)
        links = {"issue_url": state.issue_url, "revert_pr_url": state.revert_pr_url}
        await record(
            self.ctx,
            *(
                self._entry("alert", {"event": ALERT_EVENT, **result.as_json(), **links})
                for result in results
            ),
        )
        return state.but(alerted=True)
