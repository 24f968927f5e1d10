"""Streamed ledger export in batches, for the API (``StreamResponse``) and the CLI (a file).

An export is a consistent snapshot: the ledger head and a signed checkpoint are fixed first (a
checkpoint is signed at the head when the latest does not cover every entry, so an export
verifies offline in full with the public key, a fresh install's too), then entries ``1..head``
are read ``batch_size`` at a time (one short query each) and encoded, so memory stays flat
however long the ledger is.  The format is described in :mod:`github_app.evidence.encode`; the
checkpoint is the trailing record in both formats, and the API also sends it up front in the
``X-Countersign-Checkpoint`` header (compact JSON).
"""

from __future__ import annotations

from pydantic import BaseModel

from github_app.evidence import encode
from github_app.ledger.entry import canonical_json
from github_app.logs import get_logger
from github_app.store.ledger import Ledger, LedgerError

log = get_logger(__name__)

DEFAULT_BATCH = 500
CHECKPOINT_HEADER = "X-Countersign-Checkpoint"


def head_seq(ledger: Ledger) -> int:
    """The sequence number of the newest entry (0 for an empty ledger)."""
    head = ledger.head()
    return 0 if head is None else head.seq


def covering_checkpoint(ledger: Ledger, head: int) -> BaseModel | None:
    """The latest signed checkpoint, after signing one at the head when the latest leaves
    entries up to ``head`` uncovered and this ledger can sign.  A ledger that does not add up
    is never signed over: its export carries the older checkpoint, and verification names the
    problem."""
    latest = ledger.latest_checkpoint()
    if not head or ledger.signer is None or (latest is not None and latest.size >= head):
        return latest
    try:
        return ledger.checkpoint() or latest
    except LedgerError as error:
        log.warning("export_checkpoint_refused", error=str(error))
        return latest


class ExportCursor:
    """Yields an export chunk by chunk; call :meth:`next_chunk` until it returns None."""

    def __init__(self, ledger: Ledger, fmt: str, *, batch_size: int = DEFAULT_BATCH) -> None:
        """Fix the snapshot: the head and the checkpoint as they are now."""
        if fmt not in encode.FORMATS:
            raise ValueError(f"format must be one of {', '.join(encode.FORMATS)}")
        self._ledger = ledger
        self.format = fmt
        self._batch = batch_size
        self.head = head_seq(ledger)
        self.checkpoint: BaseModel | None = covering_checkpoint(ledger, self.head)
        self.exported = 0
        self._started = False
        self._done = False

    @property
    def content_type(self) -> str:
        """The MIME type of this format."""
        return encode.FORMATS[self.format]

    def checkpoint_header(self) -> str:
        """The checkpoint as compact JSON for the response header (``null`` if none)."""
        return canonical_json(encode.checkpoint_record(self.checkpoint))

    def next_chunk(self) -> str | None:
        """The next piece of text, or None when the export is complete."""
        if self._done:
            return None
        if not self._started:
            self._started = True
            if self.format == "csv":
                return encode.csv_header()
        if self.exported >= self.head:
            self._done = True
            return self._trailer()
        batch = list(
            self._ledger.entries(
                after_seq=self.exported, limit=min(self._batch, self.head - self.exported)
            )
        )
        if not batch:  # the ledger shrank under us: end with what we have
            self._done = True
            return self._trailer()
        self.exported = batch[-1].seq
        return encode.jsonl_lines(batch) if self.format == "jsonl" else encode.csv_rows(batch)

    def _trailer(self) -> str:
        if self.format == "jsonl":
            return encode.jsonl_checkpoint_line(self.checkpoint)
        return encode.csv_checkpoint_row(self.checkpoint)
