"""``pull_request`` ``edited``: re-judge the PR, and on a change of base, record the retarget.

A retarget (``changes.base``) moves the PR under another branch's rules: the policy is read at
the new base (``evaluate_pull_request`` always reads it at the PR's current base), and
approvals submitted before the change count only if ``approvals.survive_retarget`` says so, so
the time of the change is stored before judging.  The ledger gets a ``decision`` entry naming
the old and new base.
"""

from __future__ import annotations

import asyncio

from gidgethub import routing, sansio

from github_app.actions.record import new_entry, record
from github_app.context import HandlerContext
from github_app.core import github_json
from github_app.core.github_json import parse_time
from github_app.handlers.pipeline import reevaluate
from github_app.state.retargets import Retarget, Retargets

router = routing.Router()


def _previous_base(event: sansio.Event) -> str | None:
    base = ((event.data.get("changes") or {}).get("base") or {}).get("ref") or {}
    return base.get("from")


@router.register("pull_request", action="edited")
async def on_edited(event: sansio.Event, ctx: HandlerContext) -> None:
    """Re-evaluate an edited open PR; store and record a change of base first."""
    pr_json = event.data["pull_request"]
    pr = github_json.pull_request(pr_json, event.data["repository"])
    if pr.state != "open":
        return
    occurred_at = parse_time(pr_json.get("updated_at"))
    previous = _previous_base(event)
    if previous is None or previous == pr.base_ref:
        await reevaluate(ctx, pr, occurred_at)
        return
    retarget = Retarget(pr.repo_id, pr.number, previous, pr.base_ref, occurred_at)
    await asyncio.to_thread(Retargets(ctx.services.db).put, retarget)
    evaluation = await reevaluate(ctx, pr, occurred_at)
    decision = evaluation.decision
    data = {
        "state": decision.state,
        "passing": decision.passing,
        "title": decision.title,
        "approvers": list(decision.approvers),
        "to_pass": list(decision.to_pass),
        "retarget": {"from": previous, "to": pr.base_ref},
    }
    policy_sha = evaluation.policy.sha if evaluation.policy else None
    entry = new_entry(
        ctx,
        "decision",
        occurred_at=occurred_at,
        pr=pr,
        attribution=evaluation.attribution,
        actor=(event.data.get("sender") or {}).get("login"),
        policy_sha=policy_sha,
        data=data,
    )
    await record(ctx, entry)
