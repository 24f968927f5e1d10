"""Export encodings of ledger entries and the signed checkpoint (pure).

**JSONL** (``application/x-ndjson``): one JSON object per line, one line per entry, in ``seq``
order, each object holding every stored field (timestamps as RFC 3339 UTC with microseconds,
``data`` as an object), exactly what the entry's ``hash`` covers plus ``hash`` itself.  The last
line is ``{"checkpoint": {...}}``: the latest signed checkpoint (``size``, ``root_hash``,
``head_hash``, ``created_at``, ``key_id``, ``public_key``, ``signature``), or
``{"checkpoint": null}`` when none was written yet.

**CSV** (``text/csv``, RFC 4180, header row first): columns ``seq``, ``id``, ``kind``,
``occurred_at``, ``recorded_at``, ``session_id``, ``session_derived`` (``true``/``false``),
``agent``, ``launched_by``, ``repo``, ``repo_id``, ``pr``, ``head_sha``, ``actor``,
``delivery_id``, ``payload_sha256``, ``policy_sha``, ``data`` (canonical JSON text),
``prev_hash``, ``hash``.  An empty cell is ``null``.  The last row is the checkpoint: ``kind``
is ``checkpoint`` (never a ledger kind), ``seq`` empty, and ``data`` holds the checkpoint object
as JSON (``null`` when there is none).  For byte-exact hash recomputation prefer JSONL.
Every cell is spreadsheet-safe (:mod:`github_app.evidence.csvsafe`): one that could run as a
formula is prefixed with an apostrophe (:func:`github_app.evidence.csvsafe.restore` removes it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from github_app.evidence.csvsafe import neutralise
from github_app.ledger.entry import LedgerEntry, canonical_json

CSV_COLUMNS = (
    "seq",
    "id",
    "kind",
    "occurred_at",
    "recorded_at",
    "session_id",
    "session_derived",
    "agent",
    "launched_by",
    "repo",
    "repo_id",
    "pr",
    "head_sha",
    "actor",
    "delivery_id",
    "payload_sha256",
    "policy_sha",
    "data",
    "prev_hash",
    "hash",
)
CHECKPOINT_MARKER = "checkpoint"
FORMATS = {"jsonl": "application/x-ndjson", "csv": "text/csv"}


def entry_record(entry: LedgerEntry) -> dict[str, Any]:
    """Every stored field of an entry as JSON-ready values."""
    return entry.model_dump(mode="json")


def checkpoint_record(checkpoint: BaseModel | None) -> dict[str, Any] | None:
    """A checkpoint as JSON-ready values (``None`` stays ``None``)."""
    return None if checkpoint is None else checkpoint.model_dump(mode="json")


def jsonl_lines(entries: Iterable[LedgerEntry]) -> str:
    """JSONL text for a batch of entries (each line ends with a newline)."""
    return "".join(canonical_json(entry_record(entry)) + "\n" for entry in entries)


def jsonl_checkpoint_line(checkpoint: BaseModel | None) -> str:
    """The trailing JSONL line carrying the checkpoint."""
    return canonical_json({"checkpoint": checkpoint_record(checkpoint)}) + "\n"


def csv_text(rows: Iterable[Iterable[str]]) -> str:
    """RFC 4180 text for rows of text cells, each one neutralised against formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def csv_header() -> str:
    """The CSV header row."""
    return csv_text([CSV_COLUMNS])


def _csv_cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column == "data":
        return canonical_json(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def csv_rows(entries: Iterable[LedgerEntry]) -> str:
    """CSV rows for a batch of entries."""
    records = (entry_record(entry) for entry in entries)
    return csv_text([_csv_cell(col, record.get(col)) for col in CSV_COLUMNS] for record in records)


def csv_checkpoint_row(checkpoint: BaseModel | None) -> str:
    """The trailing CSV row carrying the checkpoint."""
    row = dict.fromkeys(CSV_COLUMNS, "")
    row["kind"] = CHECKPOINT_MARKER
    row["data"] = canonical_json(checkpoint_record(checkpoint))
    return csv_text([[row[column] for column in CSV_COLUMNS]])
