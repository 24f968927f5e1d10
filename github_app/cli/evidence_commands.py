"""``countersign evidence …``: the auditor API's queries, export, attestations and audit pack.

Each command reads the store named by ``DATABASE_URL`` — read-only: it never creates a store —
or, with ``--url``/``COUNTERSIGN_URL`` and ``COUNTERSIGN_TOKEN``, a remote Countersign's API
(:mod:`github_app.cli.sources`).  Output is a table that fits 100 columns by default
(``--wide`` for every column in full) and JSON with ``--json``; export says on stderr how many
entries it wrote.  An entry whose hash no longer verifies is marked ``!`` with a warning.
``access-log`` reads the API's access log (local store only).  ``verify``, ``prove`` and
``public-key`` live in ``verify_commands``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import click
from tabulate import tabulate

from github_app.cli import verify_commands
from github_app.cli.common import (
    filter_options,
    open_services,
    parse_filter_options,
    print_json,
    short,
    table,
    when,
)
from github_app.cli.sources import remote_option, source_for
from github_app.evidence.params import InvalidParameter, parse_text, parse_timestamp
from github_app.evidence.population import CHANGE_STATUSES
from github_app.evidence.sample import DEFAULT_SAMPLE_SIZE, MAX_SAMPLE_SIZE, new_seed
from github_app.store.access_log import MAX_ROWS, read_access_log


def _clip(value: Any, width: int) -> str:
    """``value`` as text of at most ``width`` characters (an ellipsis marks a cut)."""
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _seq(item: dict[str, Any]) -> str:
    """The seq column; ``!`` marks an entry whose hash no longer verifies."""
    return f"!{item['seq']}" if item.get("integrity") == "altered" else str(item["seq"])


def _integrity_warning(items: list[dict[str, Any]]) -> None:
    """Name the entries whose hash no longer verifies (marked ``!`` in the table)."""
    altered = [str(i["seq"]) for i in items if i.get("integrity") == "altered"]
    if altered:
        click.echo(
            f"WARNING: ledger entries altered, their hash no longer verifies: {', '.join(altered)}"
            " (run `countersign evidence verify`)"
        )


def _day(value: str | None) -> str:
    return (value or "")[:10]


def change_table(items: list[dict[str, Any]], wide: bool) -> str:
    """The population as a table (the narrow form leaves out session and launcher)."""
    if wide:
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
            "backfilled",
        ]
        rows = [
            [
                _seq(i),
                when(i["occurred_at"]),
                i["repo"],
                i["pr"],
                i.get("title"),
                i["status"],
                i["agent"],
                i["session_id"],
                i["launched_by"],
                i.get("author"),
                ",".join(i["approvers"]),
                i["merged_by"],
                i["merge_sha"],
                short(i.get("policy_sha")),
                i.get("exception"),
                "yes" if i.get("backfilled") else "",
            ]
            for i in items
        ]
        return table(rows, headers, wide=True)
    headers = ["seq", "date", "repo", "pr", "status", "agent", "approvers", "by", "sha"]
    rows = [
        [
            _seq(i),
            _day(i["occurred_at"]),
            i["repo"],
            i["pr"],
            i["status"] + ("*" if i.get("backfilled") else ""),
            i["agent"],
            ",".join(i["approvers"]),
            i["merged_by"],
            (i["merge_sha"] or "")[:7],
        ]
        for i in items
    ]
    return table(rows, headers)


def _entry_table(items: list[dict[str, Any]], wide: bool) -> str:
    rows = [
        [
            _seq(i),
            when(i["occurred_at"]),
            i["kind"],
            i["data"].get("state", ""),
            i["repo"],
            i["pr"],
            i["actor"],
            i["head_sha"] if wide else short(i["head_sha"])[:7],
        ]
        for i in items
    ]
    headers = ["seq", "occurred_at", "kind", "state", "repo", "pr", "actor", "head_sha"]
    return table(rows, headers, wide=wide, keep=("seq", "kind"))


def _backfill_note(items: list[dict[str, Any]], wide: bool) -> str:
    if wide or not any(i.get("backfilled") for i in items):
        return ""
    return "\n* imported from GitHub's history by `countersign audit --record`"


@click.group()
def evidence() -> None:
    """Query and export the evidence ledger (what the auditor API serves)."""


@evidence.command("session")
@click.argument("session_id")
@filter_options
@remote_option
def session_command(session_id: str, repo, since, until, agent, as_json, wide, url) -> None:
    """A session's attribution and whole timeline, in order."""
    filters = parse_filter_options(repo, since, until, agent)
    body = source_for(url).session(session_id, filters)
    if as_json:
        print_json(body)
        return
    attribution = body["attribution"]
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
    for line in session_story_lines(body["story"]):
        click.echo(line)
    click.echo(_entry_table(body["items"], wide))
    _integrity_warning(body["items"])


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
    merges = [f"{m['repo']}#{m['pr']} as {short(m['merge_sha'])}" for m in story["merges"]]
    lines.append(f"merges    {', '.join(merges) or 'none'}")
    lines.append(
        f"ended     {ended['at'] + ' (' + str(ended['reason']) + ')' if ended else 'not yet'}"
    )
    lines.append("")
    return lines



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
@remote_option
def changes_command(
    repo, since, until, agent, as_json, wide, status, fmt: str, output: str, url
) -> None:
    """The change population: every merge and direct push, with its status."""
    filters = parse_filter_options(repo, since, until, agent)
    source = source_for(url)
    if fmt == "csv":
        _write_population_csv(source.population_csv(filters, status), output)
        return
    items = source.changes(filters, status)
    if as_json:
        print_json(items)
        return
    click.echo(change_table(items, wide) + _backfill_note(items, wide))
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


def _seed(seed: str | None) -> str:
    try:
        return parse_text("seed", seed) or new_seed()
    except InvalidParameter as error:
        raise click.BadParameter(str(error)) from None


sample_size = click.option(
    "-n",
    "--n",
    "n",
    type=click.IntRange(1, MAX_SAMPLE_SIZE),
    default=DEFAULT_SAMPLE_SIZE,
    show_default=True,
    help="Sample size.",
)


@evidence.command("sample")
@sample_size
@click.option("--seed", help="Seed (text); the same seed and population give the same sample.")
@filter_options
@remote_option
def sample_command(n: int, seed, repo, since, until, agent, as_json, wide, url) -> None:
    """A reproducible random sample of the change population."""
    filters = parse_filter_options(repo, since, until, agent)
    body = source_for(url).sample(filters, n, _seed(seed))
    if as_json:
        print_json(body)
        return
    click.echo(f"seed {body['seed']}: {len(body['items'])} of {body['population_size']} change(s)")
    click.echo(change_table(body["items"], wide))
    _integrity_warning(body["items"])


@evidence.command("exceptions")
@filter_options
@remote_option
def exceptions_command(repo, since, until, agent, as_json, wide, url) -> None:
    """Violations, bypasses, unapproved and emergency merges, overdue post-reviews."""
    items = source_for(url).exceptions(parse_filter_options(repo, since, until, agent))
    if as_json:
        print_json(items)
        return
    rows = [
        [
            _seq(i),
            i["type"],
            when(i["occurred_at"]) if wide else _day(i["occurred_at"]),
            i["repo"],
            i["pr"],
            i["agent"],
            i["actor"],
            _day(i["detail"].get("post_review_due")),
        ]
        for i in items
    ]
    headers = ["seq", "type", "occurred_at", "repo", "pr", "agent", "actor", "post-review due"]
    click.echo(table(rows, headers, wide=wide, keep=("seq", "type")))
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
@remote_option
def export_command(fmt: str, output: str, url: str | None) -> None:
    """Export the whole ledger with its latest signed checkpoint (the last record)."""
    chunks = source_for(url).export(fmt)
    if output == "-":
        for chunk in chunks:
            sys.stdout.write(chunk)
        return
    written = 0
    with open(output, "w", encoding="utf-8", newline="") as handle:
        for chunk in chunks:
            handle.write(chunk)
            written += chunk.count("\n")
    click.echo(f"exported {max(written - 1, 0)} entries and the checkpoint to {output}", err=True)


@evidence.command("attest")
@click.argument("sha")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the envelope here (default: standard output).",
)
@remote_option
def attest_command(sha: str, output: str | None, url: str | None) -> None:
    """The signed attestation (in-toto Statement, DSSE) of the change merged as SHA."""
    import json

    envelope = source_for(url).attestation(sha)
    text = json.dumps(envelope, indent=2) + "\n"
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
        click.echo(f"attestation of {sha} written to {output}", err=True)
        return
    click.echo(text, nl=False)


def _period_end(value: str) -> datetime:
    """``--until``: a date means through that day; a time is exclusive."""
    moment = _moment(value, "--until")
    if len(value) == 10:
        return datetime.combine(moment.date(), time(), tzinfo=UTC) + timedelta(days=1)
    return moment


def _moment(value: str, option: str) -> datetime:
    try:
        moment = parse_timestamp(option.lstrip("-"), value)
    except InvalidParameter as error:
        raise click.BadParameter(str(error), param_hint=option) from None
    assert moment is not None
    return moment


@evidence.command("pack")
@click.option("--since", required=True, help="Start of the period (YYYY-MM-DD or ISO time).")
@click.option("--until", required=True, help="End (a date means through that day).")
@sample_size
@click.option("--seed", help="Sample seed (chosen at random when omitted; kept in the pack).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="The zip to write.",
)
@remote_option
def pack_command(since, until, n, seed, output, url) -> None:
    """The audit pack of a period: a signed zip an auditor verifies offline."""
    start, end = _moment(since, "--since"), _period_end(until)
    if start >= end:
        raise click.BadParameter("must be before --until", param_hint="--since")
    body = source_for(url).pack(start, end, n, _seed(seed))
    with open(output, "wb") as handle:
        handle.write(body)
    click.echo(
        f"audit pack {start:%Y-%m-%d}..{end:%Y-%m-%d} written to {output} "
        f"({len(body)} bytes); verify it with "
        f"`countersign evidence verify --pack {output} --public-key KEY.pem`"
    )


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
    headers = ["id", "at", "token", "role", "method", "path", "status", "from"]
    click.echo(table(listed, headers, keep=("id", "path")))


evidence.add_command(verify_commands.verify_command)
evidence.add_command(verify_commands.prove_command)
evidence.add_command(verify_commands.public_key_command)
