"""Witnessed checkpoints: the file each checkpoint becomes, and the comparison (pure).

Every signed checkpoint is also published outside the App's database, as one file in a
repository the App's operators cannot rewrite silently (GitHub's commit history timestamps
each one).  :func:`witness_path` and :func:`witness_document` fix the file's name and bytes;
:func:`compare_checkpoints` sets the local checkpoints beside the witnessed ones and names every
checkpoint that differs, is missing from the witness, or is witnessed but missing locally — a
rewritten history or a replaced key shows up as a difference even to someone who never saw the
database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from github_app.ledger.checkpoints import Checkpoint
from github_app.ledger.entry import canonical_json

WITNESS_DIR = "checkpoints"
_FIELDS = ("size", "root_hash", "head_hash", "created_at", "key_id", "public_key", "signature")


def witness_path(size: int) -> str:
    """The file of the checkpoint of ``size`` entries (zero-padded so names sort by size)."""
    return f"{WITNESS_DIR}/{size:012d}.json"


def witness_document(checkpoint: Checkpoint) -> str:
    """The file's text: the checkpoint as canonical JSON and a newline."""
    return canonical_json(checkpoint.model_dump(mode="json")) + "\n"


def commit_message(checkpoint: Checkpoint) -> str:
    """The witness commit's message."""
    return (
        f"Ledger checkpoint: {checkpoint.size} entries\n\n"
        f"root {checkpoint.root_hash}\nhead {checkpoint.head_hash}\nkey {checkpoint.key_id}\n"
    )


def parse_witness(text: str) -> Checkpoint | None:
    """A witnessed checkpoint, or None when the file is not one."""
    try:
        return Checkpoint.model_validate(json.loads(text))
    except (ValueError, ValidationError):
        return None


@dataclass
class WitnessComparison:
    """How the local checkpoints and the witnessed ones line up."""

    matching: list[int] = field(default_factory=list)
    differing: list[tuple[int, list[str]]] = field(default_factory=list)
    missing_from_witness: list[int] = field(default_factory=list)
    missing_locally: list[int] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every checkpoint is witnessed and identical, and nothing else is."""
        return not (
            self.differing or self.missing_from_witness or self.missing_locally or self.unreadable
        )

    def lines(self) -> list[str]:
        """One line per problem (none when ``ok``)."""
        found = [
            f"checkpoint {size}: differs from the witnessed one ({', '.join(fields)})"
            for size, fields in self.differing
        ]
        found += [f"checkpoint {size}: not witnessed" for size in self.missing_from_witness]
        found += [
            f"checkpoint {size}: witnessed but missing locally" for size in self.missing_locally
        ]
        found += [f"{path}: witnessed file is not a checkpoint" for path in self.unreadable]
        return found

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "ok": self.ok,
            "matching": self.matching,
            "differing": [{"size": s, "fields": f} for s, f in self.differing],
            "missing_from_witness": self.missing_from_witness,
            "missing_locally": self.missing_locally,
            "unreadable": self.unreadable,
        }


def compare_checkpoints(
    local: Iterable[Checkpoint], witnessed: dict[str, str]
) -> WitnessComparison:
    """Compare local checkpoints with witnessed files (path -> text)."""
    result = WitnessComparison()
    remote: dict[int, Checkpoint] = {}
    for path, text in sorted(witnessed.items()):
        parsed = parse_witness(text)
        if parsed is None or witness_path(parsed.size) != path:
            result.unreadable.append(path)
            continue
        remote[parsed.size] = parsed
    local_by_size = {checkpoint.size: checkpoint for checkpoint in local}
    for size, mine in sorted(local_by_size.items()):
        theirs = remote.get(size)
        if theirs is None:
            result.missing_from_witness.append(size)
            continue
        fields = _differences(mine, theirs)
        if fields:
            result.differing.append((size, fields))
        else:
            result.matching.append(size)
    result.missing_locally = sorted(set(remote) - set(local_by_size))
    return result


def _differences(mine: Checkpoint, theirs: Checkpoint) -> list[str]:
    left, right = mine.model_dump(mode="json"), theirs.model_dump(mode="json")
    return [name for name in _FIELDS if left.get(name) != right.get(name)]
