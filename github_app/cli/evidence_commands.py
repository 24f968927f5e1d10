"""``countersign evidence …``: the auditor API's queries and export, read straight from the store.

The same queries as the auditor API (:mod:`github_app.api.queries`), read from the store named by
``DATABASE_URL``.  Output is a readable table by default (the changes table fits 100 columns;
``--wide`` shows all) and JSON with ``--json``; an entry whose hash no longer verifies is marked
``!`` with a warning; export shows a progress bar on stderr.  ``access-log`` reads the API's
access log.  ``verify``, ``prove`` and ``public-key`` live in ``verify_commands``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any, TextIO

import click
from tabulate import tabulate

from github_app.api import queries
from github_app.api.export import ExportCursor
from github_app.cli import verify_commands
from github_app.cli.common import (
    all_pages,
    filter_options,
    open_services,
    parse_filter_options,
    print_json,
    short,
    table,
    when,
)
from github_app.evidence.params import (
    MAX_LIMIT,
    InvalidParameter,
    parse_text,
)
from github_app.evidence.population import CHANGE_STATUSES
from github_app.evidence.sample import DEFAULT_SAMPLE_SIZE, MAX_SAMPLE_SIZE, new_seed
from github_app.store.access_log import MAX_ROWS, read_access_log

NARROW = {"repo": 16, "agent": 12, "approvers": 14}


def _clip(value: Any, width: int) -> str:
    """``value`` as text of at most ``width`` characters (an ellipsis marks a cut)."""
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _seq(item: dict[str, Any]) -> str:
    """The seq column; ``!`` marks an entry whose hash no longer verifies."""
    return f"!{item['seq']}" if item.get("integrity") == "altered" else str(item["seq"])


def _change_table(items: list[dict[str, Any]], *, wide: bool = False) -> str:
    """The population as a table: fits 100 columns unless ``wide``."""
    if wide:
        return _wide_change_table(items)
    rows = [
        [
            _seq(i),
            when(i["occurred_at"])[:16].replace("T", " "),
            _clip(i["repo"], NARROW["repo"]),
            i["pr"],
            i["status"],
            _clip(i["agent"], NARROW["agent"]),
            _clip(",".join(i["approvers"]), NARROW["approvers"]),
            (i["merge_sha"] or "")[:7],
        ]
        for i in items
    ]
    headers = ["seq", "merged_at", "repo", "pr", "status", "agent", "approvers", "sha"]
    return table(rows, headers)


def _wide_change_table(items: list[dict[str, Any]]) -> str:
    rows = [
        [
            _seq(i),
            when(i["occurred_at"]),
            i["repo"],
            i["pr"],
            i["title"],
            i["status"],
            i["agent"],
            i["session_id"],
            i["launched_by"],
            i["author"],
            ",".join(i["approvers"]),
            i["merged_by"],
            short(i["merge_sha"]),
            short(i["policy_sha"]),
            i["exception"],
        ]
        for i in items
    ]
    headers = [
        "seq",
        "merged_at",
        "repo",
        "pr",
        "title",
        "status",
        "agent",
        "session",
        "launched_by",
        "author",
        "approvers",
        "merged/pushed by",
        "sha",
        "policy",
        "exception",
    ]
    return table(rows, headers)


def _integrity_warning(items: list[dict[str, Any]]) -> None:
    """Name the entries whose hash no longer verifies (marked ``!`` in the table)."""
    altered = [str(i["seq"]) for i in items if i.get("integrity") == "altered"]
    if altered:
        click.echo(
            f"WARNING: ledger entries altered, their hash no longer verifies: {', '.join(altered)}"
            " (run `countersign evidence verify`)"
        )


def _entry_table(items: list[dict[str, Any]]) -> str:
    rows = [
        [
            _seq(i),
            when(i["occurred_at"]),
            i["kind"],
            i["data"].get("state", ""),
            i["repo"],
            i["pr"],
            i["actor"],
            short(i["head_sha"]),
        ]
        for i in items
    ]
    headers = ["seq", "occurred_at", "kind", "state", "repo", "pr", "actor", "head_sha"]
    return table(rows, headers)


@click.group()
def evidence() -> None:
    """Query and export the evidence ledger (what the auditor API serves)."""


@evidence.command("session")
@click.argument("session_id")
@filter_options
def session_command(session_id: str, repo, since, until, agent, as_json: bool) -> None:
    """A session's attribution and whole timeline, in order."""
    services = open_services()
    filters = parse_filter_options(repo, since, until, agent)
    summary = queries.session_summary(services.ledger, session_id)
    if summary.entries == 0:
        raise click.ClickException(f"no ledger entry for session {session_id!r}")
    attribution = summary.as_dict(revoked=services.containment.is_revoked(session_id))
    items = list(
        all_pages(
            lambda after: queries.evidence_page(
                services.ledger, filters, after=after, limit=MAX_LIMIT, session_id=session_id
            )
        )
    )
    story = summary.story.as_dict()
    if as_json:
        print_json(
            {"session_id": session_id, "attribution": attribution, "story": story, "items": items}
        )
        return
    facts = [
        [key, ", ".join(map(str, value)) if isinstance(value, list) else value]
        for key, value in attribution.items()
        if key not in ("kinds", "pull_requests")
    ]
    facts.append(
        ["pull_requests", ", ".join(f"{p['repo']}#{p['pr']}" for p in attribution["pull_requests"])]
    )
    click.echo(tabulate(facts, tablefmt="plain"))
    click.echo()
    for line in session_story_lines(story):
        click.echo(line)
    click.echo(_entry_table(items))
    _integrity_warning(items)


def session_story_lines(story: dict[str, Any]) -> list[str]:
    """The session from launch to completion, as a few readable lines."""
    launch, ended, operations = story["launch"], story["ended"], story["operations"]
    lines = []
    if launch:
        attested = " (attested by agent token " + str(launch["token"]) + ")"
        lines.append(
            f"launched  {launch['at']} by {launch['launched_by']}"
            f"{attested if launch['launcher_attested'] else ''} — {launch['agent']} in "
            f"{launch['repo'] or launch['cwd'] or 'unknown place'}"
        )
    else:
        lines.append("launched  (no session_started: not started through an agent token)")
    tools = ", ".join(f"{tool} {count}" for tool, count in operations["by_tool"].items())
    lines.append(f"operations {operations['total']}" + (f" ({tools})" if tools else ""))
    lines += [
        f"  {row['count']:>5}  {row['tool']} {row['target']}" for row in operations["by_target"]
    ]
    lines.append(f"denied    {story['denials']['total']}")
    lines += [
        f"  {d['at']}  {d['tool']} {d['target']}: {d['reason']}" for d in story["denials"]["items"]
    ]
    lines.append(f"commits   {', '.join(short(sha) for sha in story['commits']) or 'none'}")
    approvals = [
        f"{a['reviewer']}{'' if a['counted'] else ' (not counted)'}" for a in story["approvals"]
    ]
    lines.append(f"approvals {', '.join(approvals) or 'none'}")
    merges = [
        f"{m['repo']}#{m['pr']} as {short(m['merge_sha'])}" for m in story["merges"]
    ]
    lines.append(f"merges    {', '.join(merges) or 'none'}")
    lines.append(
        f"ended     {ended['at'] + ' (' + str(ended['reason']) + ')' if ended else 'not yet'}"
    )
    lines.append("")
    return lines


def _every(page_of: Callable[..., Any], filters: Any) -> list[Any]:
    """Every item of a paginated query over the configured store."""
    ledger = open_services().ledger
    return list(all_pages(lambda after: page_of(ledger, filters, after=after, limit=MAX_LIMIT)))


@evidence.command("changes")
@filter_options
@click.option(
    "--status", type=click.Choice(CHANGE_STATUSES), help="Only changes with this status."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv"]),
    default="table",
    show_default=True,
    help="csv: the auditor's population CSV (one row per change).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    default="-",
    help="With --format csv: file to write ('-', the default, for standard output).",
)
@click.option("--wide", is_flag=True, help="Every column (the table no longer fits 100).")
def changes_command(
    repo, since, until, agent, as_json: bool, status, fmt: str, output: str, wide: bool
) -> None:
    """The change population: every merge and direct push, with its status."""
    filters = parse_filter_options(repo, since, until, agent)
    ledger = open_services().ledger
    if fmt == "csv":
        _write_population_csv(queries.population_csv_chunks(ledger, filters, status=status), output)
        return
    items = list(
        all_pages(
            lambda after: queries.changes_page(
                ledger, filters, after=after, limit=MAX_LIMIT, status=status
            )
        )
    )
    if as_json:
        print_json(items)
        return
    click.echo(_change_table(items, wide=wide))
    click.echo(f"\n{len(items)} change(s)")
    _integrity_warning(items)


def _write_population_csv(chunks: Iterator[str], output: str) -> None:
    if output == "-":
        for chunk in chunks:
            click.echo(chunk, nl=False)
        return
    with open(output, "w", encoding="utf-8", newline="") as handle:
        for chunk in chunks:
            handle.write(chunk)
    click.echo(f"wrote the population CSV to {output}", err=True)


@evidence.command("sample")
@click.option(
    "-n",
    "--n",
    "n",
    type=click.IntRange(1, MAX_SAMPLE_SIZE),
    default=DEFAULT_SAMPLE_SIZE,
    show_default=True,
    help="Sample size.",
)
@click.option("--seed", help="Seed (text); the same seed and population give the same sample.")
@filter_options
def sample_command(n: int, seed: str | None, repo, since, until, agent, as_json: bool) -> None:
    """A reproducible random sample of the change population."""
    services = open_services()
    filters = parse_filter_options(repo, since, until, agent)
    try:
        chosen = parse_text("seed", seed) or new_seed()
    except InvalidParameter as error:
        raise click.BadParameter(str(error)) from None
    drawn = queries.sample(services.ledger, filters, n=n, seed=chosen)
    body = queries.sample_body(drawn, filters)
    if as_json:
        print_json(body)
        return
    click.echo(f"seed {drawn.seed}: {len(drawn.rows)} of {drawn.population_size} change(s)")
    click.echo(_change_table(body["items"]))
    _integrity_warning(body["items"])


@evidence.command("exceptions")
@filter_options
def exceptions_command(repo, since, until, agent, as_json: bool) -> None:
    """Violations, bypasses, unapproved and emergency merges, overdue post-reviews."""
    items = _every(queries.exceptions_page, parse_filter_options(repo, since, until, agent))
    if as_json:
        print_json(items)
        return
    rows = [
        [
            _seq(i),
            i["type"],
            when(i["occurred_at"]),
            i["repo"],
            i["pr"],
            i["agent"],
            i["actor"],
            when(i["detail"].get("post_review_due")),
        ]
        for i in items
    ]
    click.echo(
        table(
            rows, ["seq", "type", "occurred_at", "repo", "pr", "agent", "actor", "post-review due"]
        )
    )
    click.echo(f"\n{len(items)} exception(s)")
    _integrity_warning(items)


@evidence.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), required=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    required=True,
    help="File to write ('-' for standard output).",
)
def export_command(fmt: str, output: str) -> None:
    """Export the whole ledger with its latest signed checkpoint (the last record)."""
    services = open_services()
    cursor = ExportCursor(services.ledger, fmt)
    if output == "-":
        _write_export(cursor, sys.stdout, lambda _done: None)
        return
    with (
        open(output, "w", encoding="utf-8", newline="") as handle,
        click.progressbar(length=cursor.head, label="Exporting", file=sys.stderr) as bar,
    ):
        _write_export(cursor, handle, lambda done: bar.update(done - bar.pos))
    size = cursor.checkpoint.size if cursor.checkpoint else "none"
    click.echo(
        f"exported {cursor.exported} entries to {output} (checkpoint size: {size})", err=True
    )


def _write_export(cursor: ExportCursor, handle: TextIO, progress: Callable[[int], None]) -> None:
    while (chunk := cursor.next_chunk()) is not None:
        handle.write(chunk)
        progress(cursor.exported)


@evidence.command("access-log")
@click.option(
    "--limit", type=click.IntRange(1, MAX_ROWS), default=100, show_default=True, help="Rows."
)
@click.option("--token", "token_name", help="Only calls made with this token (by name).")
@click.option("--since", help="Only calls at or after this ISO 8601 time.")
@click.option("--until", help="Only calls before this ISO 8601 time.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def access_log_command(
    limit: int, token_name: str | None, since: str | None, until: str | None, as_json: bool
) -> None:
    """Who read the evidence: the API's access log, newest first (admins only: store access)."""
    filters = parse_filter_options(None, since, until, None)
    rows = read_access_log(
        open_services().db,
        limit=limit,
        since=filters.since,
        until=filters.until,
        token_name=token_name,
    )
    if as_json:
        print_json(rows)
        return
    listed = [
        [
            r["id"],
            when(r["at"]),
            _clip(r["token_name"] or "(none)", 16),
            r["role"] or "",
            r["method"],
            _clip(r["path"] + (f"?{r['query']}" if r["query"] else ""), 40),
            r["status"],
            _clip(r["remote_addr"], 15),
        ]
        for r in rows
    ]
    click.echo(table(listed, ["id", "at", "token", "role", "method", "path", "status", "from"]))


evidence.add_command(verify_commands.verify_command)
evidence.add_command(verify_commands.prove_command)
evidence.add_command(verify_commands.public_key_command)
