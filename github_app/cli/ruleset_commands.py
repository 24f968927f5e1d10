"""``countersign rulesets sync|check|pull-denials``: the ruleset and denial jobs on demand.

* ``sync`` - reconcile each repository's ``Countersign`` ruleset with its policy (creates and
  repairs in ``enforce`` mode, reports in ``audit``, skips ``off``).
* ``check`` - report drift without writing to GitHub, whatever the mode; records
  ``ruleset_drift`` entries; exits 1 when any repository drifted or failed.
* ``pull-denials`` - import denied and bypassed pushes (rule suites) into the ledger now.

Without ``--repo`` every repository of every installation is visited.  Each command exits 1
when a repository could not be processed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import click
from gidgethub import GitHubException
from tabulate import tabulate

from github_app.context import HandlerContext
from github_app.jobs.denials import DenialImport, pull_denials_safely
from github_app.jobs.installations import context_for, for_each_repository, for_installation
from github_app.rulesets.sync import Repository, RulesetOutcome, reconcile
from github_app.services import Services

RepoWork = Callable[[HandlerContext, Repository], Awaitable[Any]]


async def _repository_context(
    services: Services, full_name: str
) -> tuple[HandlerContext, Repository]:
    assert services.github is not None
    installation = await services.github.as_app().getitem(f"/repos/{full_name}/installation")
    ctx = await context_for(services, installation["id"])
    repo = await ctx.gh.getitem(f"/repos/{full_name}")
    return ctx, Repository.from_json(repo)


async def _visit(services: Services, repos: tuple[str, ...], work: RepoWork) -> list[Any]:
    if not repos:
        return await for_each_repository(services, work)
    results = []
    for full_name in repos:
        ctx, repo = await _repository_context(services, full_name)
        results += await for_installation(ctx, work, [repo])
    return results


def _run(repos: tuple[str, ...], work: RepoWork) -> list[Any]:
    from github_app.cli.common import settings_or_exit

    settings = settings_or_exit()
    if settings.setup_mode:
        raise click.ClickException("GITHUB_APP_ID is not set: configure the App first")

    async def main() -> list[Any]:
        services = await Services.start(settings)
        try:
            return await _visit(services, repos, work)
        except GitHubException as error:
            raise click.ClickException(f"GitHub refused: {error}") from None
        finally:
            await services.close()

    return asyncio.run(main())


def _findings_text(outcome: RulesetOutcome) -> str:
    if outcome.error:
        return outcome.error
    findings = outcome.report.findings if outcome.report else ()
    return "; ".join(finding.detail for finding in findings)


def _print_outcomes(outcomes: list[RulesetOutcome], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([o.as_json() for o in outcomes], indent=2))
        return
    rows = [(o.repo, o.mode or "-", o.action, _findings_text(o)) for o in outcomes]
    click.echo(tabulate(rows, headers=["repository", "mode", "action", "findings"]))


def _reconciling(write_allowed: bool) -> RepoWork:
    async def work(ctx: HandlerContext, repo: Repository) -> RulesetOutcome:
        return await reconcile(ctx, repo, write_allowed=write_allowed)

    return work


repo_option = click.option(
    "--repo",
    "repos",
    multiple=True,
    metavar="OWNER/REPO",
    help="Only this repository (repeatable). Default: every installed repository.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group()
def rulesets() -> None:
    """Keep the Countersign ruleset on protected branches; import denied pushes."""


@rulesets.command()
@repo_option
@json_option
def sync(repos: tuple[str, ...], as_json: bool) -> None:
    """Create or repair rulesets as each repository's policy mode says."""
    outcomes = _run(repos, _reconciling(write_allowed=True))
    _print_outcomes(outcomes, as_json)
    if any(o.action == "error" for o in outcomes):
        raise SystemExit(1)


@rulesets.command()
@repo_option
@json_option
def check(repos: tuple[str, ...], as_json: bool) -> None:
    """Report ruleset drift without changing anything on GitHub."""
    outcomes = _run(repos, _reconciling(write_allowed=False))
    _print_outcomes(outcomes, as_json)
    if any(o.action == "error" or o.drifted for o in outcomes):
        raise SystemExit(1)


@rulesets.command("pull-denials")
@repo_option
@json_option
def pull_denials(repos: tuple[str, ...], as_json: bool) -> None:
    """Import denied and bypassed pushes (GitHub rule suites) into the ledger."""
    results: list[DenialImport] = _run(repos, pull_denials_safely)
    if as_json:
        click.echo(json.dumps([r.as_json() for r in results], indent=2))
    else:
        rows = [
            (r.repo, r.time_period or "-", r.imported, r.already_seen, r.error or "")
            for r in results
        ]
        click.echo(tabulate(rows, headers=["repository", "period", "imported", "seen", "error"]))
    if any(r.error for r in results):
        raise SystemExit(1)
