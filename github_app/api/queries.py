"""Evidence queries shared by the API and the CLI: read the ledger, derive, paginate.

The shell around :mod:`github_app.evidence`: each function reads only the ledger entries of the
kinds it needs (``Ledger.entries(kinds=…)`` with the caller's filters), feeds them to the pure
derivations and returns one page.  Pages are cursor-based: a cursor is the position (ledger
``seq`` and rank within the entry) of the last item returned, and the next page re-reads from
that entry on, so a page never holds more than ``limit`` items plus two entries.  All functions
are synchronous (the API runs them in a worker thread).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from github_app.evidence.audit_exceptions import (
    DEFAULT_POST_REVIEW_HOURS,
    EXCEPTION_KINDS,
    collect_post_reviews,
    exception_items,
)
from github_app.evidence.encode import entry_record
from github_app.evidence.integrity import integrity_of
from github_app.evidence.params import Filters, Position, encode_cursor
from github_app.evidence.population import (
    CHANGE_KINDS,
    FLAG_KINDS,
    ChangeRow,
    change_row,
    collect_flags,
    population_csv,
)
from github_app.evidence.sample import Sample, draw_sample
from github_app.evidence.timeline import SessionSummary
from github_app.ledger.entry import LedgerEntry

T = TypeVar("T")


class EntrySource(Protocol):
    """What the queries need from :class:`github_app.store.ledger.Ledger`."""

    def entries(self, **kwargs: Any) -> Iterator[LedgerEntry]:
        """Entries in ``seq`` order, filtered."""
        ...


@dataclass(frozen=True)
class Page:
    """One page of a list: JSON-ready items and the cursor of the next page (or None)."""

    items: list[dict[str, Any]]
    next_cursor: str | None

    def as_dict(self) -> dict[str, Any]:
        """The ``{"items": [...], "next_cursor": ...}`` response body."""
        return {"items": self.items, "next_cursor": self.next_cursor}


def paginate(
    positioned: Iterable[tuple[Position, dict[str, Any]]], after: Position | None, limit: int
) -> Page:
    """Take up to ``limit`` items strictly after ``after``; a cursor only if more exist."""
    items: list[dict[str, Any]] = []
    last: Position | None = None
    for position, item in positioned:
        if after is not None and position <= after:
            continue
        if len(items) == limit:
            return Page(items, encode_cursor(last) if last else None)
        items.append(item)
        last = position
    return Page(items, None)


def _start_seq(after: Position | None) -> int:
    """``after_seq`` for the ledger query: re-read the cursor's entry (it may yield more)."""
    return max(after.seq - 1, 0) if after else 0


def evidence_page(
    ledger: EntrySource,
    filters: Filters,
    *,
    after: Position | None,
    limit: int,
    kinds: Sequence[str] | None = None,
    session_id: str | None = None,
) -> Page:
    """Raw ledger entries, in ``seq`` order."""
    entries = ledger.entries(
        after_seq=_start_seq(after),
        limit=limit + 2,
        kinds=list(kinds) if kinds else None,
        session_id=session_id,
        **filters.ledger_kwargs(),
    )
    return paginate(((Position(e.seq), served_record(e)) for e in entries), after, limit)


def served_record(entry: LedgerEntry) -> dict[str, Any]:
    """An entry as a view serves it: every stored field plus ``integrity`` (ok/altered)."""
    return entry_record(entry) | {"integrity": integrity_of(entry)}


def changes_page(
    ledger: EntrySource,
    filters: Filters,
    *,
    after: Position | None,
    limit: int,
    status: str | None = None,
) -> Page:
    """The change population, one row per change, in ledger order (optionally one status)."""
    flags = collect_flags(ledger.entries(kinds=list(FLAG_KINDS), **filters.ledger_kwargs()))
    # With a status filter a page may skip many rows: read on until it is full.
    entries = ledger.entries(
        after_seq=_start_seq(after),
        limit=None if status else limit + 2,
        kinds=list(CHANGE_KINDS),
        **filters.ledger_kwargs(),
    )
    rows = (
        (Position(row.seq), row.as_dict())
        for row in (change_row(e, flags) for e in entries)
        if status is None or row.status == status
    )
    return paginate(rows, after, limit)


def iter_population(
    ledger: EntrySource, filters: Filters, *, status: str | None = None
) -> Iterator[ChangeRow]:
    """The change population for the filters, streamed (only the flags are held in memory)."""
    flags = collect_flags(ledger.entries(kinds=list(FLAG_KINDS), **filters.ledger_kwargs()))
    for entry in ledger.entries(kinds=list(CHANGE_KINDS), **filters.ledger_kwargs()):
        row = change_row(entry, flags)
        if status is None or row.status == status:
            yield row


def population(
    ledger: EntrySource, filters: Filters, *, status: str | None = None
) -> list[ChangeRow]:
    """The whole change population for the filters (only change rows are held in memory)."""
    return list(iter_population(ledger, filters, status=status))


def population_csv_chunks(
    ledger: EntrySource, filters: Filters, *, status: str | None = None, batch: int = 500
) -> Iterator[str]:
    """The population CSV (header first) in chunks of ``batch`` rows, for streaming."""
    yield population_csv([], header=True)
    rows: list[ChangeRow] = []
    for row in iter_population(ledger, filters, status=status):
        rows.append(row)
        if len(rows) == batch:
            yield population_csv(rows, header=False)
            rows = []
    if rows:
        yield population_csv(rows, header=False)


def sample(ledger: EntrySource, filters: Filters, *, n: int, seed: str) -> Sample:
    """A reproducible random sample of the population."""
    return draw_sample(population(ledger, filters), n, seed)


def sample_body(drawn: Sample, filters: Filters) -> dict[str, Any]:
    """The JSON body describing a sample and how to draw it again."""
    return {
        "seed": drawn.seed,
        "n": drawn.requested,
        "population_size": drawn.population_size,
        "filters": _filters_dict(filters),
        "items": [row.as_dict() for row in drawn.rows],
    }


def exceptions_page(
    ledger: EntrySource,
    filters: Filters,
    *,
    after: Position | None,
    limit: int,
    now: datetime | None = None,
    default_hours: int = DEFAULT_POST_REVIEW_HOURS,
) -> Page:
    """Violations, bypasses, unapproved and emergency merges, overdue post-reviews."""
    # Post-reviews can come after the period asked about: only the repo filter applies.
    post_reviews = collect_post_reviews(ledger.entries(kinds=["post_review"], repo=filters.repo))
    moment = now or datetime.now(UTC)
    entries = ledger.entries(
        after_seq=_start_seq(after),
        limit=limit + 2,
        kinds=list(EXCEPTION_KINDS),
        **filters.ledger_kwargs(),
    )
    items = (
        (item.position, item.as_dict())
        for entry in entries
        for item in exception_items(entry, post_reviews, now=moment, default_hours=default_hours)
    )
    return paginate(items, after, limit)


def session_summary(ledger: EntrySource, session_id: str) -> SessionSummary:
    """The attribution summary over every entry of a session."""
    summary = SessionSummary(session_id)
    for entry in ledger.entries(session_id=session_id):
        summary.add(entry)
    return summary


def session_timeline(
    ledger: EntrySource,
    session_id: str,
    filters: Filters,
    *,
    after: Position | None,
    limit: int,
    revoked: bool,
) -> dict[str, Any] | None:
    """A session's summary and one page of its timeline; None if the ledger never saw it."""
    summary = session_summary(ledger, session_id)
    if summary.entries == 0:
        return None
    page = evidence_page(ledger, filters, after=after, limit=limit, session_id=session_id)
    return {
        "session_id": session_id,
        "attribution": summary.as_dict(revoked=revoked),
        "story": summary.story.as_dict(),
        **page.as_dict(),
    }


def _filters_dict(filters: Filters) -> dict[str, Any]:
    return {
        "repo": filters.repo,
        "since": filters.since.isoformat() if filters.since else None,
        "until": filters.until.isoformat() if filters.until else None,
        "agent": filters.agent,
    }


def sample_csv(drawn: Sample) -> str:
    """A drawn sample as population CSV rows (the seed travels in the file name and header)."""
    return population_csv(drawn.rows)
