"""What the command families share: settings, the opened store, the actor, filters, output."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import click
from tabulate import tabulate

from github_app.api import queries
from github_app.config import ConfigError, Settings, load_settings
from github_app.evidence.params import (
    Filters,
    InvalidParameter,
    Position,
    decode_cursor,
    parse_filters,
)
from github_app.state.containment import Containment
from github_app.store.database import Database
from github_app.store.ledger import Ledger


def settings_or_exit() -> Settings:
    """Load settings or stop with the one-line reason (exit status 2)."""
    from github_app.cli.exit_codes import ConfigurationError

    try:
        return load_settings()
    except ConfigError as error:
        raise ConfigurationError(f"configuration error: {error}") from None


SHORT_SHA = 12


@dataclass
class StoreServices:
    """What the commands need: the store, the ledger and containment state."""

    settings: Settings
    db: Database
    ledger: Ledger
    containment: Containment


def open_services() -> StoreServices:
    """Open the existing store configured in the environment (never creates one)."""
    from github_app.cli.exit_codes import StoreMissing
    from github_app.cli.store_access import NoStore, open_existing_store

    settings = settings_or_exit()
    try:
        db, ledger = open_existing_store(settings)
    except NoStore as error:
        raise StoreMissing(str(error)) from None
    except (ValueError, OSError) as error:
        raise click.ClickException(f"cannot open the store: {error}") from None
    return StoreServices(settings, db, ledger, Containment(db))


def cli_actor() -> str:
    """Who acts from the command line, as recorded in the ledger."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def parse_filter_options(
    repo: str | None, since: str | None, until: str | None, agent: str | None
) -> Filters:
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
        click.option("--wide", is_flag=True, help="Show every column in full (wider than 100)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def all_pages(fetch: Callable[[Position | None], queries.Page]) -> Iterator[dict[str, Any]]:
    """Every item of a paginated query."""
    after: Position | None = None
    while True:
        page = fetch(after)
        yield from page.items
        if page.next_cursor is None:
            return
        after = decode_cursor(page.next_cursor)


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def short(value: str | None) -> str:
    return (value or "")[:SHORT_SHA]


def when(value: str | None) -> str:
    """An RFC 3339 timestamp to the second, for tables (JSON output keeps microseconds)."""
    return f"{value[:19]}Z" if value else ""


TABLE_WIDTH = 100
ELLIPSIS = "…"
MIN_CELL = 6


def table(
    rows: list[list[Any]], headers: list[str], *, wide: bool = False, keep: tuple[str, ...] = ()
) -> str:
    """A plain table; unless ``wide``, long cells are shortened until it fits 100 columns.

    Columns named in ``keep`` (an entry's kind, say) are never shortened.
    """
    if not rows:
        return "(none)"
    cells = [["" if value is None else str(value) for value in row] for row in rows]
    if not wide:
        cells = _fitted(cells, headers, TABLE_WIDTH, keep)
    return tabulate(cells, headers=headers, tablefmt="simple", disable_numparse=True)


def _fitted(
    cells: list[list[str]], headers: list[str], width: int, keep: tuple[str, ...] = ()
) -> list[list[str]]:
    """Shorten the widest column, a character at a time, until the table is ``width`` wide."""
    # tabulate makes a column at least its header plus two wide, whatever its cells.
    limits = [max(len(h) + 2, *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    floors = [
        limits[i] if h in keep else max(len(h) + 2, MIN_CELL) for i, h in enumerate(headers)
    ]
    total = sum(limits) + 2 * (len(limits) - 1)
    while total > width:
        widest = max(range(len(limits)), key=lambda i: limits[i] - floors[i])
        if limits[widest] <= floors[widest]:
            break  # nothing left to shorten: the headers alone are wider
        limits[widest] -= 1
        total -= 1
    return [[_clip(value, limits[i]) for i, value in enumerate(row)] for row in cells]


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + ELLIPSIS
