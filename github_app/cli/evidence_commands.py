"""``countersign evidence …``, ``countersign freeze on|off`` and ``countersign session revoke``.

The same queries as the auditor API (:mod:`github_app.api.queries`), read straight from the
store named by ``DATABASE_URL``.  Output is a readable table by default and JSON with
``--json``; export and verify show a progress bar on stderr; ``verify`` exits 1 and names the
first broken entry when the ledger does not check out.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import click
from tabulate import tabulate

from github_app.api import containment as actions
from github_app.api import queries
from github_app.api.export import ExportCursor
from github_app.cli.root import settings_or_exit
from github_app.config import Settings
from github_app.evidence.offline import ExportVerification, verify_export
from github_app.evidence.params import (
    MAX_LIMIT,
    Filters,
    InvalidParameter,
    Position,
    decode_cursor,
    parse_filters,
    parse_text,
)
from github_app.evidence.population import CHANGE_STATUSES
from github_app.evidence.sample import DEFAULT_SAMPLE_SIZE, MAX_SAMPLE_SIZE, new_seed
from github_app.ledger.checkpoints import (
    load_or_create_signing_key,
    load_public_key_pem,
    raw_public_key,
)
from github_app.ledger.ledger import Ledger, LedgerError
from github_app.ledger.proof import verify_proof_offline
from github_app.state.containment import Containment
from github_app.store.access_log import MAX_ROWS, read_access_log
from github_app.store.database import Database

SHORT_SHA = 12


@dataclass
class StoreServices:
    """What the commands need: the store, the ledger and containment state."""

    settings: Settings
    db: Database
    ledger: Ledger
    containment: Containment


def open_services() -> StoreServices:
    """Open (and migrate) the store configured in the environment."""
    from github_app.services import Services

    settings = settings_or_exit()
    try:
        db, ledger = Services.open_store(settings)
    except (ValueError, OSError) as error:
        raise click.ClickException(f"cannot open the store: {error}") from None
    return StoreServices(settings, db, ledger, Containment(db))


def cli_actor() -> str:
    """Who acts from the command line, as recorded in the ledger."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _filters(repo: str | None, since: str | None, until: str | None, agent: str | None) -> Filters:
    try:
        return parse_filters(
            {
                k: v
                for k, v in {"repo": repo, "since": since, "until": until, "agent": agent}.items()
                if v is not None
            }
        )
    except InvalidParameter as error:
        raise click.BadParameter(str(error)) from None


def filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--repo --since --until --agent`` and ``--json`` to a command."""
    options = [
        click.option("--repo", help="Only this repository (owner/name)."),
        click.option("--since", help="Only what occurred at or after this ISO 8601 time."),
        click.option("--until", help="Only what occurred before this ISO 8601 time."),
        click.option("--agent", help="Only this agent."),
        click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _all_pages(fetch: Callable[[Position | None], queries.Page]) -> Iterator[dict[str, Any]]:
    """Every item of a paginated query."""
    after: Position | None = None
    while True:
        page = fetch(after)
        yield from page.items
        if page.next_cursor is None:
            return
        after = decode_cursor(page.next_cursor)


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _short(value: str | None) -> str:
    return (value or "")[:SHORT_SHA]


def _when(value: str | None) -> str:
    """An RFC 3339 timestamp to the second, for tables (JSON output keeps microseconds)."""
    return f"{value[:19]}Z" if value else ""


def _table(rows: list[list[Any]], headers: list[str]) -> str:
    return tabulate(rows, headers=headers, tablefmt="simple") if rows else "(none)"


TABLE_WIDTH = 100
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
            _when(i["occurred_at"])[:16].replace("T", " "),
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
    return _table(rows, headers)


def _wide_change_table(items: list[dict[str, Any]]) -> str:
    rows = [
        [
            _seq(i),
            _when(i["occurred_at"]),
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
            _short(i["merge_sha"]),
            _short(i["policy_sha"]),
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
    return _table(rows, headers)


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
            _when(i["occurred_at"]),
            i["kind"],
            i["data"].get("state", ""),
            i["repo"],
            i["pr"],
            i["actor"],
            _short(i["head_sha"]),
        ]
        for i in items
    ]
    headers = ["seq", "occurred_at", "kind", "state", "repo", "pr", "actor", "head_sha"]
    return _table(rows, headers)


@click.group()
def evidence() -> None:
    """Query and export the evidence ledger (what the auditor API serves)."""


@evidence.command("session")
@click.argument("session_id")
@filter_options
def session_command(session_id: str, repo, since, until, agent, as_json: bool) -> None:
    """A session's attribution and whole timeline, in order."""
    services = open_services()
    filters = _filters(repo, since, until, agent)
    summary = queries.session_summary(services.ledger, session_id)
    if summary.entries == 0:
        raise click.ClickException(f"no ledger entry for session {session_id!r}")
    attribution = summary.as_dict(revoked=services.containment.is_revoked(session_id))
    items = list(
        _all_pages(
            lambda after: queries.evidence_page(
                services.ledger, filters, after=after, limit=MAX_LIMIT, session_id=session_id
            )
        )
    )
    if as_json:
        _print_json({"session_id": session_id, "attribution": attribution, "items": items})
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
    click.echo(_entry_table(items))
    _integrity_warning(items)


def _every(page_of: Callable[..., Any], filters: Any) -> list[Any]:
    """Every item of a paginated query over the configured store."""
    ledger = open_services().ledger
    return list(_all_pages(lambda after: page_of(ledger, filters, after=after, limit=MAX_LIMIT)))


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
    filters = _filters(repo, since, until, agent)
    if fmt == "csv":
        _write_population_csv(open_services().ledger, filters, status, output)
        return
    ledger = open_services().ledger
    items = list(
        _all_pages(
            lambda after: queries.changes_page(
                ledger, filters, after=after, limit=MAX_LIMIT, status=status
            )
        )
    )
    if as_json:
        _print_json(items)
        return
    click.echo(_change_table(items, wide=wide))
    click.echo(f"\n{len(items)} change(s)")
    _integrity_warning(items)


def _write_population_csv(ledger: Ledger, filters: Filters, status: str | None, output: str):
    chunks = queries.population_csv_chunks(ledger, filters, status=status)
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
    filters = _filters(repo, since, until, agent)
    try:
        chosen = parse_text("seed", seed) or new_seed()
    except InvalidParameter as error:
        raise click.BadParameter(str(error)) from None
    drawn = queries.sample(services.ledger, filters, n=n, seed=chosen)
    body = queries.sample_body(drawn, filters)
    if as_json:
        _print_json(body)
        return
    click.echo(f"seed {drawn.seed}: {len(drawn.rows)} of {drawn.population_size} change(s)")
    click.echo(_change_table(body["items"]))
    _integrity_warning(body["items"])


@evidence.command("exceptions")
@filter_options
def exceptions_command(repo, since, until, agent, as_json: bool) -> None:
    """Violations, bypasses, unapproved and emergency merges, overdue post-reviews."""
    items = _every(queries.exceptions_page, _filters(repo, since, until, agent))
    if as_json:
        _print_json(items)
        return
    rows = [
        [
            _seq(i),
            i["type"],
            _when(i["occurred_at"]),
            i["repo"],
            i["pr"],
            i["agent"],
            i["actor"],
            _when(i["detail"].get("post_review_due")),
        ]
        for i in items
    ]
    click.echo(
        _table(
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


@evidence.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--export",
    "export_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Offline: verify this JSONL export (chain, Merkle root, signed checkpoint).",
)
@click.option(
    "--proof",
    "proof_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Offline: verify one sampled entry's inclusion proof (from `evidence prove -o`).",
)
@click.option(
    "--public-key",
    "public_key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The checkpoint signing key (PEM, from `evidence public-key`) to trust offline.",
)
def verify_command(
    as_json: bool, export_file: Path | None, proof_file: Path | None, public_key_file: Path | None
) -> None:
    """Verify every entry against the chain and the signed checkpoints.

    With --export or --proof nothing is read from the database: an auditor checks an export
    bundle, or a single sampled entry, with only the file and the published public key.
    """
    if export_file or proof_file:
        _verify_offline(as_json, export_file, proof_file, public_key_file)
        return
    services = open_services()
    head = services.ledger.head()
    with click.progressbar(
        length=head.seq if head else 0, label="Verifying", file=sys.stderr
    ) as bar:
        report = services.ledger.verify(progress=lambda done: bar.update(done - bar.pos))
    if as_json:
        _print_json(report.model_dump(mode="json"))
    elif report.ok:
        click.echo(
            f"OK: {report.entries_checked} entries and "
            f"{report.checkpoints_checked} checkpoints verified"
        )
        unsigned = report.entries_checked - (report.latest_checkpoint_size or 0)
        if unsigned:
            click.echo(
                f"{unsigned} recent entr{'y is' if unsigned == 1 else 'ies are'} chained but "
                "not yet covered by a signed checkpoint"
            )
    else:
        click.echo(f"FAILED: {report.problem}")
        if report.first_bad_seq is not None:
            click.echo(f"first broken entry: {report.first_bad_seq}")
    if not report.ok:
        sys.exit(1)


def _verify_offline(
    as_json: bool, export_file: Path | None, proof_file: Path | None, public_key_file: Path | None
) -> None:
    if public_key_file is None:
        raise click.UsageError("offline verification needs --public-key (the key you trust)")
    if export_file and proof_file:
        raise click.UsageError("give --export or --proof, not both")
    public_key_pem = public_key_file.read_text(encoding="utf-8")
    if proof_file is not None:
        document = json.loads(proof_file.read_text(encoding="utf-8"))
        ok, reason = verify_proof_offline(document, public_key_pem)
        result = {"ok": ok, "reason": reason, "seq": document.get("entry", {}).get("seq")}
    else:
        outcome = _verify_export_file(export_file, public_key_pem)
        ok = outcome.ok
        result = {
            "ok": ok,
            "entries": outcome.entries,
            "checkpoint_size": outcome.checkpoint_size,
            "first_broken_seq": outcome.first_broken_seq,
            "problem": outcome.problem,
        }
    if as_json:
        _print_json(result)
    elif ok:
        click.echo(f"OK: {result.get('reason') or 'export verifies against its checkpoint'}")
    else:
        click.echo(f"FAILED: {result.get('reason') or result.get('problem')}")
        if result.get("first_broken_seq") is not None:
            click.echo(f"first broken entry: {result['first_broken_seq']}")
    if not ok:
        sys.exit(1)


def _verify_export_file(export_file: Path, public_key_pem: str) -> ExportVerification:
    """Check a JSONL export (entry lines, then a ``{"checkpoint": ...}`` line), streaming."""
    try:
        trusted_hex = raw_public_key(load_public_key_pem(public_key_pem)).hex()
    except ValueError as error:
        raise click.UsageError(f"--public-key: {error}") from None
    return verify_export(
        _export_entries(export_file),
        _export_checkpoint(export_file),
        trusted_public_key_hex=trusted_hex,
    )


def _export_entries(export_file: Path) -> Iterator[dict[str, Any]]:
    with export_file.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if "seq" in record:
                yield record


def _export_checkpoint(export_file: Path) -> dict[str, Any] | None:
    last = ""
    with export_file.open(encoding="utf-8") as handle:
        for last in handle:  # noqa: B007 - only the final line is wanted
            pass
    record = json.loads(last) if last.strip() else {}
    return None if "seq" in record else record.get("checkpoint")


@evidence.command("prove")
@click.argument("seq", type=click.IntRange(1, 2**63 - 1))
@click.option("--json", "as_json", is_flag=True, help="Print the proof as JSON.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Also save the proof (JSON) to this file.",
)
def prove_command(seq: int, as_json: bool, output: str | None) -> None:
    """An inclusion proof of entry SEQ in a signed checkpoint, checkable offline."""
    services = open_services()
    try:
        proof = services.ledger.prove(seq)
    except LedgerError as error:
        raise click.ClickException(str(error)) from None
    document = proof.model_dump(mode="json")
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, ensure_ascii=False)
    if as_json:
        _print_json(document)
        return
    ok, reason = verify_proof_offline(document, proof.public_key_pem)
    click.echo(f"entry {seq} ({proof.entry.kind}) in checkpoint of size {proof.tree_size}")
    click.echo(f"root {proof.root_hash}, signed by key {proof.checkpoint.key_id}")
    click.echo(("verifies offline: " if ok else "DOES NOT VERIFY: ") + reason)


@evidence.command("public-key")
@click.option("--json", "as_json", is_flag=True, help="Print key id, PEM and raw hex as JSON.")
def public_key_command(as_json: bool) -> None:
    """The public key that signs ledger checkpoints (give it to auditors)."""
    settings = settings_or_exit()
    signer = load_or_create_signing_key(settings.countersign_signing_key_path)
    if as_json:
        _print_json(
            {
                "key_id": signer.key_id,
                "public_key_pem": signer.public_key_pem(),
                "public_key_hex": signer.public_key_hex,
            }
        )
        return
    click.echo(signer.public_key_pem(), nl=False)


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
    filters = _filters(None, since, until, None)
    rows = read_access_log(
        open_services().db,
        limit=limit,
        since=filters.since,
        until=filters.until,
        token_name=token_name,
    )
    if as_json:
        _print_json(rows)
        return
    table = [
        [
            r["id"],
            _when(r["at"]),
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
    click.echo(_table(table, headers))


# --- containment -----------------------------------------------------------------------------


def _report(event: actions.ContainmentEvent, as_json: bool, done: str, unchanged: str) -> None:
    if as_json:
        _print_json(event.as_dict())
        return
    seq = f" (ledger entry {event.entry.seq})" if event.entry else ""
    click.echo((done if event.changed else unchanged) + seq)


@click.command("freeze")
@click.argument("state", type=click.Choice(["on", "off"]))
@click.option("--repo", help="owner/name; without it the freeze is org-wide.")
@click.option("--reason", default="", help="Why (recorded in the ledger).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def freeze_command(state: str, repo: str | None, reason: str, as_json: bool) -> None:
    """Halt (on) or resume (off) agent changes, org-wide or in one repository."""
    try:
        actions.validate_repo(repo)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--repo") from None
    services = open_services()
    scope = repo or "every repository"
    if state == "on":
        event = actions.freeze(services, repo, reason or "frozen from the CLI", cli_actor())
        _report(event, as_json, f"frozen: {scope}", f"already frozen: {scope}")
    else:
        event = actions.unfreeze(services, repo, cli_actor(), reason)
        _report(event, as_json, f"unfrozen: {scope}", f"was not frozen: {scope}")


@click.group("session")
def session_group() -> None:
    """Agent sessions."""


@session_group.command("revoke")
@click.argument("session_id")
@click.option("--reason", default="", help="Why (recorded in the ledger).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def revoke_command(session_id: str, reason: str, as_json: bool) -> None:
    """Revoke an agent session: its PRs block and its future commits are flagged."""
    try:
        parse_text("session_id", session_id)
    except InvalidParameter as error:
        raise click.BadParameter(str(error)) from None
    services = open_services()
    event = actions.revoke_session(
        services, session_id, reason or "revoked from the CLI", cli_actor()
    )
    _report(event, as_json, f"revoked session {session_id}", f"already revoked: {session_id}")


COMMANDS = (evidence, freeze_command, session_group)
