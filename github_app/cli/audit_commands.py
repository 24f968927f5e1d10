"""``countersign audit``: day-one history — judge a period of GitHub history, record it.

Reads merged pull requests and direct pushes of the period from GitHub with the App's
credentials (``GITHUB_APP_ID`` and its key), judges each as of its merge (see
:mod:`github_app.jobs.backfill`), prints a summary, and writes the changes as CSV with ``-o``.
``--record`` appends one ``backfill`` ledger entry per change not recorded before.  Progress
and rate-limit pauses go to stderr.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
import sys
from datetime import UTC, date, datetime, time, timedelta

import click

from github_app.cli.common import settings_or_exit
from github_app.config import Settings
from github_app.core.catalogue import load_catalogue
from github_app.evidence.backfill import CSV_COLUMNS, csv_row, summary_counts
from github_app.evidence.csvsafe import neutralise
from github_app.jobs.backfill import AuditReport, AuditSources, Budget, run_audit
from github_app.policy.loader import load_default_policy

RELATIVE = re.compile(r"^(\d{1,4})d$")
REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def parse_moment(value: str, option: str, *, end_of_day: bool = False) -> datetime:
    """``90d`` (days ago), ``YYYY-MM-DD`` (that day, UTC) or an ISO 8601 time."""
    now = datetime.now(UTC)
    relative = RELATIVE.match(value)
    if relative:  # from midnight UTC, so that re-running the same day means the same period
        day = (now - timedelta(days=int(relative.group(1)))).date()
        return datetime.combine(day, time(), tzinfo=UTC)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is not None and len(value) == 10:
        start = datetime.combine(day, time(), tzinfo=UTC)
        return start + timedelta(days=1) if end_of_day else start
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            "expected 90d, YYYY-MM-DD or an ISO 8601 time", param_hint=option
        ) from None
    if moment.tzinfo is None:
        raise click.BadParameter("an ISO 8601 time needs a time zone (Z)", param_hint=option)
    return moment.astimezone(UTC)


def _github(settings: Settings):
    from github_app.github.client import GitHubClient

    if settings.setup_mode:
        raise click.ClickException(
            "countersign audit reads GitHub as the App: set GITHUB_APP_ID and its private key"
        )
    return GitHubClient(
        app_id=settings.github_app_id,
        private_key=settings.private_key_pem(),
        base_url=settings.github_api_url,
    )


def _sources(settings: Settings, record: bool) -> AuditSources:
    default_policy = load_default_policy()
    catalogues: dict[str, object] = {}

    def catalogue_for(policy):
        key = json.dumps(policy.detection.agents, sort_keys=True, default=str)
        if key not in catalogues:
            extra = [dict(agent) for agent in policy.detection.agents] or None
            catalogues[key] = load_catalogue(extra=extra)
        return catalogues[key]

    if not record:
        return AuditSources(default_policy, catalogue_for)
    from github_app.services import Services

    try:
        db, ledger = Services.open_store(settings)
    except (ValueError, OSError) as error:
        raise click.ClickException(f"cannot open the store: {error}") from None
    return AuditSources(default_policy, catalogue_for, db, ledger)


def _write_csv(report: AuditReport, output: str) -> None:
    with open(output, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for change in report.changes:
            writer.writerow([neutralise(cell) for cell in csv_row(change)])


def _summary_line(report: AuditReport, record: bool) -> str:
    counts = ", ".join(f"{key} {value}" for key, value in summary_counts(report.changes).items())
    line = f"{len(report.changes)} change(s) in the period" + (f": {counts}" if counts else "")
    if record:
        line += (
            f"; recorded {report.recorded} new backfill entr"
            f"{'y' if report.recorded == 1 else 'ies'}, {report.already_recorded} already recorded"
        )
    if report.pauses:
        line += f"; waited for the rate limit {report.pauses} time(s)"
    return line


@click.command("audit")
@click.option(
    "--since", required=True, help="Start: 90d (midnight UTC 90 days ago), YYYY-MM-DD or ISO time."
)
@click.option("--until", help="End (exclusive; a date means through that day). Default: now.")
@click.option("--repo", "repos", multiple=True, help="OWNER/REPO (repeatable); default: all.")
@click.option("--record", is_flag=True, help="Append backfill entries to the ledger (once each).")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write a CSV here."
)
@click.option("--json", "as_json", is_flag=True, help="Print the changes and summary as JSON.")
def audit_command(since, until, repos, record, output, as_json) -> None:
    """Judge a period of GitHub history as Countersign would have (day-one backfill)."""
    start = parse_moment(since, "--since")
    end = parse_moment(until, "--until", end_of_day=True) if until else datetime.now(UTC)
    if start >= end:
        raise click.BadParameter("must be before --until", param_hint="--since")
    for repo in repos:
        if not REPO.match(repo):
            raise click.BadParameter(f"{repo!r} is not OWNER/REPO", param_hint="--repo")
    settings = settings_or_exit()
    github = _github(settings)
    sources = _sources(settings, record)
    budget = Budget(progress=lambda line: click.echo(line, err=True))

    async def run() -> AuditReport:
        try:
            return await run_audit(
                github,
                sources,
                since=start,
                until=end,
                repos=list(repos),
                record=record,
                budget=budget,
                open_ended=until is None,
            )
        finally:
            await github.aclose()

    try:
        report = asyncio.run(run())
    except Exception as error:  # a GitHub refusal is one line, not a traceback
        from gidgethub import GitHubException

        if not isinstance(error, GitHubException):
            raise
        raise click.ClickException(f"GitHub refused a request: {error}") from None
    finally:
        if sources.db is not None:
            sources.db.dispose()
    if output:
        _write_csv(report, output)
    if as_json:
        body = {
            "since": start.isoformat(),
            "until": end.isoformat(),
            "summary": summary_counts(report.changes),
            "recorded": report.recorded,
            "already_recorded": report.already_recorded,
            "rate_limit_pauses": report.pauses,
            "changes": [change.as_dict() for change in report.changes],
        }
        click.echo(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        click.echo(_summary_line(report, record))
    if output:
        click.echo(f"wrote {len(report.changes)} row(s) to {output}", err=True)
    sys.stdout.flush()


COMMANDS = (audit_command,)
