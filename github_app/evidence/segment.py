"""A slice of the ledger between two signed checkpoints, verifiable offline (pure).

An audit pack holds only its period's entries, not the whole ledger.  To let an auditor check
them against signed checkpoints anyway, the pack carries a :class:`Segment`: the checkpoint
signed just before the period (``start``; none when the period begins at the first entry), the
RFC 9162 Merkle frontier of the tree at that checkpoint (at most 64 subtree roots), every entry
after it up to a checkpoint that covers the period (``end``), and ``end`` itself.

:func:`verify_segment` then checks, with only the trusted public key: both signatures; that the
frontier's root is ``start``'s signed root (so the frontier stands for the earlier entries);
that the entries are consecutive, each hash matches its fields and links to the previous one
(the first to ``start``'s head hash); and that extending the frontier with them yields ``end``'s
signed root, with the last entry being ``end``'s head.  Any changed, dropped or inserted entry
breaks one of these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from github_app.evidence.offline import entry_problem
from github_app.ledger.checkpoints import (
    Checkpoint,
    key_id_of,
    load_public_key_pem,
    signature_is_valid,
)
from github_app.ledger.entry import GENESIS_HASH
from github_app.ledger.merkle import MerkleFrontier, leaf_hash

SEGMENT_FORMAT = "countersign-ledger-segment/v1"


@dataclass(frozen=True)
class Segment:
    """The checkpoints and frontier around a run of entries (the entries travel separately)."""

    start: Checkpoint | None
    start_frontier: str  # MerkleFrontier.to_hex() at start.size ("" for an empty tree)
    end: Checkpoint

    @property
    def start_size(self) -> int:
        """How many entries precede the segment."""
        return self.start.size if self.start is not None else 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``ledger/segment.json`` in a pack)."""
        return {
            "format": SEGMENT_FORMAT,
            "start": self.start.model_dump(mode="json") if self.start else None,
            "start_size": self.start_size,
            "start_frontier": self.start_frontier,
            "end": self.end.model_dump(mode="json"),
        }

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Segment:
        """Parse :meth:`as_dict`'s form; ``ValueError`` when malformed."""
        if value.get("format") != SEGMENT_FORMAT:
            raise ValueError(f"segment format is not {SEGMENT_FORMAT}")
        try:
            start = Checkpoint.model_validate(value["start"]) if value.get("start") else None
            end = Checkpoint.model_validate(value["end"])
        except (KeyError, ValidationError) as error:
            raise ValueError(
                f"segment checkpoints are malformed ({type(error).__name__})"
            ) from None
        frontier = value.get("start_frontier")
        if not isinstance(frontier, str):
            raise ValueError("segment start_frontier must be a string")
        return cls(start, frontier, end)


@dataclass(frozen=True)
class SegmentCheck:
    """The outcome; ``first_broken_seq`` names the first entry that does not match."""

    ok: bool
    reason: str
    entries: int = 0
    first_broken_seq: int | None = None


def verify_segment(
    segment: Segment, records: Iterable[Mapping[str, Any]], public_key_pem: str
) -> SegmentCheck:
    """Check ``records`` (entry dicts in order) against ``segment`` (see the module docstring)."""
    try:
        key = load_public_key_pem(public_key_pem)
    except ValueError as error:
        return SegmentCheck(False, f"unusable public key: {error}")
    problem = _checkpoint_problems(segment, key)
    if problem:
        return SegmentCheck(False, problem)
    try:
        frontier = MerkleFrontier.from_hex(segment.start_size, segment.start_frontier)
    except ValueError:
        return SegmentCheck(False, "the start frontier is malformed")
    if segment.start is not None and frontier.root().hex() != segment.start.root_hash:
        return SegmentCheck(False, "the start frontier does not match the start checkpoint's root")
    previous = segment.start.head_hash if segment.start is not None else GENESIS_HASH
    count = 0
    for record in records:
        count += 1
        expected = segment.start_size + count
        problem = entry_problem(dict(record), expected, previous)
        if problem:
            return SegmentCheck(False, problem, count - 1, expected)
        previous = record["hash"]
        frontier.append(leaf_hash(bytes.fromhex(previous)))
    return _end_check(segment, frontier, previous, count)


def _checkpoint_problems(segment: Segment, key: Any) -> str | None:
    """Why a checkpoint of the segment is not signed by the trusted key, or None."""
    trusted = key_id_of(key)
    named = (("start", segment.start), ("end", segment.end))
    for name, checkpoint in named:
        if checkpoint is None:
            continue
        if checkpoint.key_id != trusted:
            return f"{name} checkpoint was signed by key {checkpoint.key_id}, not by {trusted}"
        if not signature_is_valid(checkpoint, key):
            return f"{name} checkpoint (size {checkpoint.size}) signature is invalid"
    if segment.end.size <= segment.start_size:
        return "the end checkpoint does not come after the start checkpoint"
    return None


def _end_check(segment: Segment, frontier: MerkleFrontier, head: str, count: int) -> SegmentCheck:
    end = segment.end
    if frontier.size != end.size:
        return SegmentCheck(
            False, f"entries run to {frontier.size}, the end checkpoint covers {end.size}", count
        )
    if head != end.head_hash:
        return SegmentCheck(False, f"entry {end.size} is not the end checkpoint's head", count)
    if frontier.root().hex() != end.root_hash:
        return SegmentCheck(False, "the Merkle root differs from the end checkpoint's", count)
    return SegmentCheck(
        True,
        f"entries {segment.start_size + 1}-{end.size} verify against the checkpoint of size "
        f"{end.size} signed by key {end.key_id}",
        count,
    )
