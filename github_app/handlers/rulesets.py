"""``repository_ruleset`` events: someone edited or deleted the ``Countersign`` ruleset.

The ruleset is checked against policy at once; in ``enforce`` mode drift is repaired (a deleted
ruleset is created again) and in ``audit`` mode reported, both as ``ruleset_drift`` entries.
The event is recognised by the ruleset's name, or by the id Countersign remembered, so renaming
the ruleset does not hide it.  GitHub delivers this event only to Apps with Administration: read.
Countersign's own repair triggers an ``edited`` event too; that check finds no drift and
records nothing.
"""

from __future__ import annotations

import asyncio

from gidgethub import routing, sansio

from github_app.context import HandlerContext
from github_app.core.github_json import parse_time
from github_app.rulesets.desired import RULESET_NAME
from github_app.rulesets.sync import Repository, reconcile, remembered_key
from github_app.state import cursors

router = routing.Router()


async def _is_ours(ctx: HandlerContext, repo: Repository, ruleset: dict) -> bool:
    if ruleset.get("name") == RULESET_NAME:
        return True
    remembered = await asyncio.to_thread(cursors.read, ctx.services.db, remembered_key(repo))
    return remembered is not None and remembered == str(ruleset.get("id"))


@router.register("repository_ruleset", action="edited")
@router.register("repository_ruleset", action="deleted")
async def on_ruleset_changed(event: sansio.Event, ctx: HandlerContext) -> None:
    """Check (and in enforce mode repair) the ruleset after someone changed it."""
    repository = event.data.get("repository")
    ruleset = event.data.get("repository_ruleset") or {}
    if repository is None or ruleset.get("source_type", "Repository") != "Repository":
        return
    repo = Repository.from_json(repository)
    deleted = event.data.get("action") == "deleted"
    if not await _is_ours(ctx, repo, ruleset):
        return
    await reconcile(
        ctx,
        repo,
        actor=(event.data.get("sender") or {}).get("login"),
        occurred_at=parse_time(None if deleted else ruleset.get("updated_at")),
    )
