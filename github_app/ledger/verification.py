"""Whole-ledger verification as a pure, streaming state machine (no I/O).

:class:`ChainVerifier` is fed raw rows in ``seq`` order — the columns of
:data:`~github_app.ledger.entry.CANONICAL_FIELDS` followed by the stored ``hash``, timestamps
already as RFC 3339 strings — and checks, for every entry: the sequence has no gap, ``prev_hash``
is the previous entry's hash, and the stored hash is the hash of the canonical encoding.  At
each checkpoint's size it checks the signature, the chain head and the Merkle root it recomputed
from the entries.  It stops at the first problem and names it.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel

from github_app.ledger.checkpoints import (
    Checkpoint,
    key_id_of,
    public_key_from_hex,
    signature_is_valid,
)
from github_app.ledger.entry import CANONICAL_FIELDS, GENESIS_HASH, encode_canonical
from github_app.ledger.merkle import MerkleFrontier

ROW_FIELDS: tuple[str, ...] = (*CANONICAL_FIELDS, "hash")
_SEQ = CANONICAL_FIELDS.index("seq")
_PREV = CANONICAL_FIELDS.index("prev_hash")
_HASH = len(CANONICAL_FIELDS)


class VerifyReport(BaseModel):
    """The outcome of verifying the whole ledger."""

    ok: bool
    entries_checked: int
    checkpoints_checked: int
    first_bad_seq: int | None = None  # the first entry that no longer matches, when known
    bad_checkpoint_size: int | None = None  # the checkpoint that failed, if one did
    problem: str | None = None  # e.g. "entry 42 was altered (hash mismatch)"
    head_seq: int = 0  # entries verified in order before stopping (all of them when ok)
    head_hash: str = GENESIS_HASH
    latest_checkpoint_size: int | None = None
    signatures_trusted: bool = True  # False: no trusted key given, checked with stored keys


@dataclass(frozen=True)
class StoredCheckpoint:
    """A checkpoint as stored: the signed part plus the cached Merkle frontier."""

    checkpoint: Checkpoint
    frontier: str


class ChainVerifier:
    """Streaming verifier; call :meth:`feed` with row batches, then :meth:`report`."""

    def __init__(
        self,
        checkpoints: Sequence[StoredCheckpoint],
        trusted_keys: Mapping[str, Ed25519PublicKey],
        *,
        start: MerkleFrontier | None = None,
        prev_hash: str = GENESIS_HASH,
    ) -> None:
        """``trusted_keys`` maps key ids to keys; empty means "trust the stored keys".

        ``start`` and ``prev_hash`` resume after an already verified prefix (a checkpoint's
        frontier and head hash); by default verification starts at entry 1.
        """
        self._pending = deque(sorted(checkpoints, key=lambda stored: stored.checkpoint.size))
        self._trusted = dict(trusted_keys)
        self._frontier = start.copy() if start is not None else MerkleFrontier()
        self._prev_hash = prev_hash
        self._prev_prev_hash: str | None = None
        self._latest_size: int | None = max(
            (stored.checkpoint.size for stored in checkpoints), default=None
        )
        self.entries_checked = self._frontier.size
        self.checkpoints_checked = 0
        self.problem: str | None = None
        self.first_bad_seq: int | None = None
        self.bad_checkpoint_size: int | None = None
        self._check_due_checkpoints()

    @property
    def frontier(self) -> MerkleFrontier:
        """The Merkle frontier over the entries verified so far (do not modify)."""
        return self._frontier

    @property
    def failed(self) -> bool:
        """True once a problem was found (further rows are ignored)."""
        return self.problem is not None

    def feed(self, rows: Iterable[Sequence[Any]]) -> bool:
        """Check the next rows in order; False as soon as one fails."""
        if self.failed:
            return False
        sha256, encode = hashlib.sha256, encode_canonical
        stack = self._frontier.stack
        prev, prev_prev = self._prev_hash, self._prev_prev_hash
        expected = self.entries_checked + 1
        next_checkpoint = self._next_checkpoint_size()
        row: Sequence[Any] = ()
        try:
            for row in rows:
                seq, stored = row[_SEQ], row[_HASH]
                if seq != expected or row[_PREV] != prev:
                    break
                digest = sha256(encode(row[:_HASH])).digest()
                if digest.hex() != stored:
                    break
                # MerkleFrontier.append, inlined because this loop runs once per entry.
                carry, width = sha256(b"\x00" + digest).digest(), expected - 1
                while width & 1:
                    carry = sha256(b"\x01" + stack.pop() + carry).digest()
                    width >>= 1
                stack.append(carry)
                prev_prev, prev = prev, stored
                expected += 1
                if seq == next_checkpoint:
                    self._save(seq, prev, prev_prev)
                    if not self._check_due_checkpoints():
                        return False
                    next_checkpoint = self._next_checkpoint_size()
            else:
                self._save(expected - 1, prev, prev_prev)
                return True
        except (TypeError, ValueError, UnicodeEncodeError):
            pass  # a value the ledger never wrote: reported as an alteration below
        self._save(expected - 1, prev, prev_prev)
        return self._fail_row(expected, row)

    def report(self) -> VerifyReport:
        """Finish: checkpoints beyond the last entry mean entries were removed from the end."""
        if not self.failed and self._pending:
            size = self._pending[0].checkpoint.size
            count = self.entries_checked
            self.first_bad_seq = count + 1
            self.bad_checkpoint_size = size
            self.problem = (
                f"checkpoint at size {size} does not match the ledger (the ledger has only "
                f"{count} entries: entries {count + 1} to {size} are missing)"
            )
        return VerifyReport(
            ok=not self.failed,
            entries_checked=self.entries_checked,
            checkpoints_checked=self.checkpoints_checked,
            first_bad_seq=self.first_bad_seq,
            bad_checkpoint_size=self.bad_checkpoint_size,
            problem=self.problem,
            head_seq=self.entries_checked,
            head_hash=self._prev_hash,
            latest_checkpoint_size=self._latest_size,
            signatures_trusted=bool(self._trusted),
        )

    def _save(self, entries_checked: int, prev: str, prev_prev: str | None) -> None:
        """Write the hot loop's local state back."""
        self.entries_checked = self._frontier.size = entries_checked
        self._prev_hash, self._prev_prev_hash = prev, prev_prev

    def _next_checkpoint_size(self) -> int | None:
        return self._pending[0].checkpoint.size if self._pending else None

    def _check_due_checkpoints(self) -> bool:
        """Check every pending checkpoint whose size is the number of entries verified so far."""
        while self._pending and self._pending[0].checkpoint.size <= self.entries_checked:
            problem = self._checkpoint_problem(self._pending.popleft())
            if problem is not None:
                self.problem = problem
                return False
            self.checkpoints_checked += 1
        return True

    def _checkpoint_problem(self, stored: StoredCheckpoint) -> str | None:
        """Why ``stored`` fails against the entries verified so far, or None."""
        checkpoint = stored.checkpoint
        size = checkpoint.size
        self.bad_checkpoint_size = size
        signature_problem = self._signature_problem(checkpoint)
        if signature_problem is not None:
            return signature_problem
        mismatch = f"checkpoint at size {size} does not match the ledger"
        if size != self.entries_checked:
            return f"{mismatch} (it was checked after entry {self.entries_checked})"
        if checkpoint.head_hash != self._prev_hash:
            return f"{mismatch} (head hash differs from entry {size}: history was rewritten)"
        if checkpoint.root_hash != self._frontier.root().hex():
            return f"{mismatch} (Merkle root differs: history was rewritten)"
        if stored.frontier != self._frontier.to_hex():
            return f"{mismatch} (its stored Merkle frontier differs)"
        self.bad_checkpoint_size = None
        return None

    def _signature_problem(self, checkpoint: Checkpoint) -> str | None:
        """Why the signature cannot be trusted, or None when it verifies."""
        where = f"checkpoint at size {checkpoint.size}"
        if self._trusted:
            key = self._trusted.get(checkpoint.key_id)
            if key is None:
                return (
                    f"checkpoint signature invalid ({where} is signed by key "
                    f"{checkpoint.key_id}, which is not trusted)"
                )
        else:
            try:
                key = public_key_from_hex(checkpoint.public_key)
            except ValueError:
                return f"checkpoint signature invalid ({where} has a malformed public key)"
            if key_id_of(key) != checkpoint.key_id:
                return f"checkpoint signature invalid ({where}: key id does not match its key)"
        if not signature_is_valid(checkpoint, key):
            return f"checkpoint signature invalid ({where})"
        return None

    def _fail_row(self, expected: int, row: Sequence[Any]) -> bool:
        """Name what is wrong with ``row``, the next entry after a verified prefix."""
        seq = row[_SEQ]
        if seq != expected:
            return self._fail_sequence(expected, seq)
        if row[_PREV] != self._prev_hash:
            return self._fail_link(seq, row[_PREV], self._prev_prev_hash)
        return self._fail(seq, f"entry {seq} was altered (hash mismatch)")

    def _fail(self, seq: int, problem: str) -> bool:
        self.first_bad_seq = seq
        self.problem = problem
        return False

    def _fail_sequence(self, expected: int, seq: object) -> bool:
        if isinstance(seq, int) and seq > expected:
            return self._fail(
                expected, f"entry {expected} is missing (sequence jumps {expected - 1}→{seq})"
            )
        return self._fail(
            expected,
            f"entry {seq} is out of order / inserted (expected entry {expected} next)",
        )

    def _fail_link(self, seq: int, claimed_prev: object, prev_prev: str | None) -> bool:
        """A broken link; if two entries claim the same predecessor, the first is the intruder."""
        if seq > 1 and claimed_prev == prev_prev:
            before = f"entry {seq - 2}" if seq > 2 else "the genesis hash"
            return self._fail(
                seq - 1,
                f"entry {seq - 1} is out of order / inserted "
                f"(entries {seq - 1} and {seq} both follow {before})",
            )
        if seq == 1:
            return self._fail(
                1, "entry 1 is out of order / inserted (prev_hash is not the genesis hash)"
            )
        return self._fail(
            seq,
            f"entry {seq} is out of order / inserted (prev_hash does not match entry {seq - 1})",
        )
