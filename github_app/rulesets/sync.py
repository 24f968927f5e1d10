"""Keep the ``Countersign`` ruleset in step with policy through GitHub (the shell).

:func:`reconcile` reads the repository's policy (default branch), finds the ruleset (by name,
or by the id remembered from the last sync, so a rename is noticed), compares it with the
desired body, and in ``enforce`` mode creates or repairs it.  Drift is recorded as a
``ruleset_drift`` ledger entry.  ``audit`` mode and ``countersign rulesets check`` never write to
GitHub.  Permissions per mode are listed in :mod:`github_app.rulesets`.

Callers: the ``installation`` and ``installation_repositories`` handlers, a push to the default
branch that changes a policy file, the ``repository_ruleset`` handler, and the CLI.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gidgethub import BadRequest, GitHubException
from gidgethub.abc import GitHubAPI

from github_app.actions.record import new_entry, record
from github_app.context import HandlerContext
from github_app.github.facts import load_policy
from github_app.logs import get_logger
from github_app.rulesets.desired import RULESET_NAME, desired_ruleset
from github_app.rulesets.drift import DriftReport, find_drift, repaired_ruleset
from github_app.state import cursors

log = get_logger(__name__)

Json = dict[str, Any]


@dataclass(frozen=True)
class Repository:
    """A repository the App is installed on."""

    full_name: str
    id: int

    @classmethod
    def from_json(cls, data: Json) -> Repository:
        """From a ``repository`` object of a payload or REST response."""
        return cls(data["full_name"], data["id"])


@dataclass(frozen=True)
class RulesetOutcome:
    """What reconciling one repository found and did."""

    repo: str
    mode: str | None
    action: str  # off | in_sync | created | repaired | drift_reported | error
    report: DriftReport | None = None
    ruleset_id: int | None = None
    error: str | None = None

    @property
    def drifted(self) -> bool:
        """True when the ruleset was missing or weaker than the policy asked."""
        return bool(self.report and self.report.drifted)

    def as_json(self) -> Json:
        """For ``--json`` output."""
        report = self.report
        return {
            "repo": self.repo,
            "mode": self.mode,
            "action": self.action,
            "ruleset_id": self.ruleset_id,
            "findings": [f.as_json() for f in report.findings] if report else [],
            "notes": list(report.notes) if report else [],
            "error": self.error,
        }


def remembered_key(repo: Repository) -> str:
    """The ``sync_cursors`` name under which the ruleset id of ``repo`` is remembered."""
    return f"ruleset:{repo.id}"


async def _get_ruleset(gh: GitHubAPI, repo: str, ruleset_id: int) -> Json | None:
    try:
        return await gh.getitem(f"/repos/{repo}/rulesets/{ruleset_id}?includes_parents=false")
    except BadRequest as error:
        if error.status_code == 404:
            return None
        raise


async def find_ruleset(ctx: HandlerContext, repo: Repository) -> Json | None:
    """The repository's ``Countersign`` ruleset in full, or ``None`` if there is none."""
    listing = ctx.gh.getiter(f"/repos/{repo.full_name}/rulesets?includes_parents=false")
    async for item in listing:
        if item.get("name") == RULESET_NAME and item.get("source_type", "Repository") == (
            "Repository"
        ):
            return await _get_ruleset(ctx.gh, repo.full_name, item["id"])
    remembered = await asyncio.to_thread(cursors.read, ctx.services.db, remembered_key(repo))
    if remembered is None:
        return None
    return await _get_ruleset(ctx.gh, repo.full_name, int(remembered))


async def _write_ruleset(ctx: HandlerContext, repo: Repository, body: Json, actual: Json | None):
    path = f"/repos/{repo.full_name}/rulesets"
    if actual is None:
        return await ctx.gh.post(path, data=body)
    return await ctx.gh.put(f"{path}/{actual['id']}", data=body)


async def _remember(ctx: HandlerContext, repo: Repository, ruleset_id: int | None) -> None:
    if ruleset_id is not None:
        await asyncio.to_thread(
            cursors.write, ctx.services.db, remembered_key(repo), str(ruleset_id)
        )


def _app_id(ctx: HandlerContext) -> int:
    app_id = ctx.services.settings.github_app_id
    if app_id is None:
        raise RuntimeError("GITHUB_APP_ID is not set: the ruleset cannot pin the check")
    return int(app_id)


async def reconcile(
    ctx: HandlerContext,
    repo: Repository,
    *,
    write_allowed: bool = True,
    actor: str | None = None,
    occurred_at: datetime | None = None,
) -> RulesetOutcome:
    """Check the repository's ruleset against policy; repair it when the mode is ``enforce``.

    ``write_allowed=False`` (``rulesets check``) reports without writing whatever the mode.
    GitHub errors are returned as an ``error`` outcome, never raised, so one repository
    cannot stop a sync of many.
    """
    try:
        return await _reconcile(ctx, repo, write_allowed, actor, occurred_at)
    except GitHubException as error:
        log.warning("ruleset_reconcile_failed", repo=repo.full_name, error=str(error))
        return RulesetOutcome(repo.full_name, None, "error", error=f"GitHub: {error}")


async def _reconcile(
    ctx: HandlerContext,
    repo: Repository,
    write_allowed: bool,
    actor: str | None,
    occurred_at: datetime | None,
) -> RulesetOutcome:
    effective, error = await load_policy(ctx.gh, repo.full_name, None, ctx.services.default_policy)
    if effective is None:
        # Fail closed without guessing the mode: nothing is written, the caller sees why.
        return RulesetOutcome(repo.full_name, None, "error", error=error)
    mode = effective.policy.rulesets.mode
    if mode == "off":
        return RulesetOutcome(repo.full_name, mode, "off")
    desired = desired_ruleset(effective.policy, _app_id(ctx))
    actual = await find_ruleset(ctx, repo)
    report = find_drift(desired, actual)
    ruleset_id = actual.get("id") if actual else None
    if not report.drifted:
        await _remember(ctx, repo, ruleset_id)
        return RulesetOutcome(repo.full_name, mode, "in_sync", report, ruleset_id)
    action = "drift_reported"
    if mode == "enforce" and write_allowed:
        written = await _write_ruleset(ctx, repo, repaired_ruleset(desired, actual), actual)
        ruleset_id = written.get("id", ruleset_id)
        action = "created" if actual is None else "repaired"
        await _remember(ctx, repo, ruleset_id)
    outcome = RulesetOutcome(repo.full_name, mode, action, report, ruleset_id)
    await _record_drift(ctx, repo, outcome, effective.sha, actor, occurred_at)
    return outcome


async def _record_drift(
    ctx: HandlerContext,
    repo: Repository,
    outcome: RulesetOutcome,
    policy_sha: str,
    actor: str | None,
    occurred_at: datetime | None,
) -> None:
    data = outcome.as_json()
    data.pop("error")
    await record(
        ctx,
        new_entry(
            ctx,
            "ruleset_drift",
            occurred_at=occurred_at or datetime.now(UTC),
            repo=repo.full_name,
            repo_id=repo.id,
            actor=actor,
            policy_sha=policy_sha,
            data=data,
        ),
    )


async def installation_repositories(gh: GitHubAPI) -> list[Repository]:
    """Every repository the installation behind ``gh`` can access."""
    items = gh.getiter("/installation/repositories", iterable_key="repositories")
    return [Repository.from_json(item) async for item in items]


async def reconcile_all(
    ctx: HandlerContext, repos: list[Repository], **options: Any
) -> list[RulesetOutcome]:
    """Reconcile several repositories one after another (gentle on GitHub's rate limits)."""
    return [await reconcile(ctx, repo, **options) for repo in repos]
