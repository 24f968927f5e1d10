"""``merge_group`` events: judge each merge queue group before GitHub merges it.

On ``checks_requested`` the group's PRs are read from the merge queue (GraphQL; REST knows no
queue and lists no PR for a group commit), each PR's last decision is looked up, and the
``countersign`` check run is posted on the group's head commit (see ``policy/merge_group.py``).
A ``merge_group`` ledger entry records the verdict, and the group is remembered so its push to
the base branch reads as a merge.  ``destroyed`` records why GitHub dissolved the group.
"""

from __future__ import annotations

import asyncio

from gidgethub import GraphQLException, routing, sansio

from github_app.actions.group_check import group_check_run_body, publish_group_check_run
from github_app.actions.record import new_entry, record
from github_app.context import HandlerContext
from github_app.core.github_json import parse_time
from github_app.github.merge_queue import merge_queue_entries
from github_app.logs import get_logger
from github_app.policy.merge_group import (
    GroupVerdict,
    MergeGroup,
    QueueEntry,
    Standing,
    group_members,
    judge_group,
    merge_group_from_payload,
)
from github_app.state.merge_groups import GroupRecord, MergeGroups

log = get_logger(__name__)

router = routing.Router()


def _sender(event: sansio.Event) -> str | None:
    return (event.data.get("sender") or {}).get("login")


def _occurred_at(event: sansio.Event):
    commit = event.data["merge_group"].get("head_commit") or {}
    return parse_time(commit.get("timestamp"))


async def _standings(
    ctx: HandlerContext, group: MergeGroup, members: tuple[QueueEntry, ...] | None
) -> dict[int, Standing]:
    numbers = [entry.pr_number for entry in members or () if entry.pr_number is not None]
    records = await asyncio.gather(
        *(asyncio.to_thread(ctx.services.decisions.get, group.repo_id, n) for n in numbers)
    )
    return {
        number: Standing(head_sha=rec.head_sha, state=rec.state)
        for number, rec in zip(numbers, records, strict=True)
        if rec is not None
    }


async def judge(ctx: HandlerContext, group: MergeGroup) -> GroupVerdict:
    """Read the queue, the PRs' decisions and any freeze; decide (pure)."""
    api_url = ctx.services.settings.github_api_url
    try:
        entries = await merge_queue_entries(ctx.gh, api_url, group.repo, group.branch)
    except GraphQLException as error:  # GitHub refused the query: the group cannot be known
        log.warning("merge_queue_unreadable", repo=group.repo, error=str(error))
        entries = ()
    members = group_members(entries, group.head_sha)
    standings = await _standings(ctx, group, members)
    freeze = await asyncio.to_thread(ctx.services.containment.active_freeze, group.repo)
    return judge_group(group, members, standings, frozen_reason=freeze.reason if freeze else None)


@router.register("merge_group", action="checks_requested")
async def on_checks_requested(event: sansio.Event, ctx: HandlerContext) -> None:
    """Post ``countersign`` on the group's head, record the verdict, remember the group."""
    group = merge_group_from_payload(event.data)
    verdict = await judge(ctx, group)
    body = group_check_run_body(group, verdict, ctx.services.settings.github_api_url)
    await publish_group_check_run(ctx.gh, group, body)
    groups = MergeGroups(ctx.services.db)
    await asyncio.to_thread(
        groups.put,
        GroupRecord(group.repo_id, group.head_sha, group.base_ref, verdict.prs, verdict.conclusion),
    )
    entry = new_entry(
        ctx,
        "merge_group",
        occurred_at=_occurred_at(event),
        repo=group.repo,
        repo_id=group.repo_id,
        head_sha=group.head_sha,
        actor=_sender(event),
        data=verdict.ledger_data(group),
    )
    await record(ctx, entry)


@router.register("merge_group", action="destroyed")
async def on_destroyed(event: sansio.Event, ctx: HandlerContext) -> None:
    """Record why GitHub dissolved the group (``merged``, ``invalidated``, ``dequeued``)."""
    group = merge_group_from_payload(event.data)
    reason = event.data.get("reason") or "unknown"
    groups = MergeGroups(ctx.services.db)
    known = await asyncio.to_thread(groups.get, group.repo_id, group.head_sha)
    prs = known.prs if known else ()
    updated = GroupRecord(
        group.repo_id,
        group.head_sha,
        group.base_ref,
        prs,
        known.conclusion if known else None,
        destroyed_reason=reason,
    )
    await asyncio.to_thread(groups.put, updated)
    data = {
        "action": "destroyed",
        "reason": reason,
        "head_ref": group.head_ref,
        "base_ref": group.base_ref,
        "base_sha": group.base_sha,
        "prs": list(prs),
        "conclusion": updated.conclusion,
    }
    entry = new_entry(
        ctx,
        "merge_group",
        occurred_at=_occurred_at(event),
        repo=group.repo,
        repo_id=group.repo_id,
        head_sha=group.head_sha,
        actor=_sender(event),
        data=data,
    )
    await record(ctx, entry)
