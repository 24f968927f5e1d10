"""The evidence ledger on top of the store: append, read, checkpoint, prove, verify.

Appends are serialised across threads, processes and replicas by the database itself — a
per-schema ``pg_advisory_xact_lock`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite — so every
appender reads the true head before it hashes; the primary key on ``seq`` would refuse a fork
anyway.  Reads stream in keyset-paginated batches (each batch its own short query), so memory
stays flat however large the ledger grows.

Call :meth:`Ledger.maybe_checkpoint` after appends or from a periodic job: it signs a checkpoint
when ``checkpoint_every`` entries or ``checkpoint_minutes`` have passed since the last one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Connection

from github_app.ledger.checkpoints import (
    Checkpoint,
    CheckpointSigner,
    key_id_of,
    load_public_key_pem,
    public_key_from_hex,
    public_key_to_pem,
)
from github_app.ledger.entry import GENESIS_HASH, LedgerEntry, NewEntry, canonical_json
from github_app.ledger.merkle import MerkleFrontier, MerkleTree, inclusion_proof, leaf_hash
from github_app.ledger.proof import InclusionProof
from github_app.ledger.verification import ROW_FIELDS, ChainVerifier, StoredCheckpoint, VerifyReport
from github_app.store.database import Database
from github_app.store.tables import ledger_checkpoints, ledger_entries

READ_BATCH = 1000
VERIFY_BATCH = 10_000
_LOCK_AND_HEAD_SQL = (
    "SELECT pg_advisory_xact_lock(hashtext('countersign:ledger:' || current_schema())); "
    "SELECT seq, hash FROM ledger_entries ORDER BY seq DESC LIMIT 1"
)


class LedgerError(Exception):
    """The ledger cannot do what was asked (no signing key, no such entry…)."""


class LedgerIntegrityError(LedgerError):
    """The stored ledger or its checkpoints do not add up; refuse to build on them."""


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class Ledger:
    """The append-only evidence ledger with signed checkpoints."""

    def __init__(
        self,
        db: Database,
        signer: CheckpointSigner | None,
        checkpoint_every: int = 1000,
        checkpoint_minutes: float = 60,
        *,
        trusted_public_keys: Iterable[str] = (),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """``signer`` signs checkpoints (None: read, append and verify only).

        Checkpoint signatures are trusted when made by the signer's key or one of
        ``trusted_public_keys`` (PEM; earlier keys after a rotation).  With no key at all,
        ``verify`` can only check signatures against the keys stored beside them.
        """
        if checkpoint_every < 1 or checkpoint_minutes <= 0:
            raise ValueError("checkpoint_every and checkpoint_minutes must be positive")
        self._db = db
        self._signer = signer
        self._every = checkpoint_every
        self._interval = timedelta(minutes=checkpoint_minutes)
        self._clock = clock
        self._trusted = _trusted_keys(signer, trusted_public_keys)

    # -- appending ---------------------------------------------------------------------------

    def append(self, entry: NewEntry, *, conn: Connection | None = None) -> LedgerEntry:
        """Append one entry in its own transaction (or in ``conn``'s) and return it sealed."""
        return self.append_many([entry], conn=conn)[0]

    def append_many(
        self, entries: Iterable[NewEntry], *, conn: Connection | None = None
    ) -> list[LedgerEntry]:
        """Append entries in order, in one transaction; all or nothing.

        Pass ``conn`` from ``db.write_transaction()`` to make the append part of a larger unit
        of work (the ledger lock is then held until that transaction ends: keep it short).
        """
        batch = list(entries)
        if not batch:
            return []
        if conn is not None:
            return self._append_locked(conn, batch)
        with self._db.write_transaction() as own:
            return self._append_locked(own, batch)

    def _append_locked(self, conn: Connection, batch: list[NewEntry]) -> list[LedgerEntry]:
        """Take the ledger lock, read the head, seal and insert ``batch``."""
        head = _lock_and_read_head(conn) if self._db.dialect == "postgresql" else _head(conn)
        seq, prev_hash = head if head is not None else (0, GENESIS_HASH)
        recorded_at = self._clock()
        sealed = []
        for new in batch:
            seq += 1
            entry = LedgerEntry.seal(
                new, seq=seq, id=str(uuid.uuid4()), recorded_at=recorded_at, prev_hash=prev_hash
            )
            sealed.append(entry)
            prev_hash = entry.hash
        conn.execute(ledger_entries.insert(), [_entry_row(entry) for entry in sealed])
        return sealed

    # -- reading -----------------------------------------------------------------------------

    def head(self) -> LedgerEntry | None:
        """The last entry, or None when the ledger is empty."""
        query = sa.select(ledger_entries).order_by(ledger_entries.c.seq.desc()).limit(1)
        with self._db.connect() as conn:
            row = conn.execute(query).first()
        return _entry_from_row(row) if row is not None else None

    def get(self, seq: int) -> LedgerEntry | None:
        """The entry with sequence number ``seq``, or None."""
        query = sa.select(ledger_entries).where(ledger_entries.c.seq == seq)
        with self._db.connect() as conn:
            row = conn.execute(query).first()
        return _entry_from_row(row) if row is not None else None

    def entries(
        self,
        *,
        after_seq: int = 0,
        limit: int | None = None,
        session_id: str | None = None,
        repo: str | None = None,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        agent: str | None = None,
        pr: int | None = None,
        batch_size: int = READ_BATCH,
    ) -> Iterator[LedgerEntry]:
        """Entries in ``seq`` order after ``after_seq``, filtered, streamed in batches.

        ``since`` is inclusive and ``until`` exclusive, both on ``occurred_at``; ``kinds``
        keeps entries of any of the given kinds.  Use the last ``seq`` seen as the next
        ``after_seq`` to paginate.
        """
        columns = ledger_entries.c
        conditions = _filters(session_id, repo, kinds, since, until, agent)
        if pr is not None:
            conditions.append(columns.pr == pr)
        remaining = limit
        last = after_seq
        while remaining is None or remaining > 0:
            size = batch_size if remaining is None else min(batch_size, remaining)
            query = (
                sa.select(ledger_entries)
                .where(columns.seq > last, *conditions)
                .order_by(columns.seq)
                .limit(size)
            )
            with self._db.connect() as conn:
                rows = conn.execute(query).all()
            for row in rows:
                yield _entry_from_row(row)
            if len(rows) < size:
                return
            last = rows[-1].seq
            remaining = None if remaining is None else remaining - len(rows)

    # -- checkpoints -------------------------------------------------------------------------

    def latest_checkpoint(self) -> Checkpoint | None:
        """The checkpoint covering the most entries, or None."""
        with self._db.connect() as conn:
            stored = _latest_stored_checkpoint(conn)
        return stored.checkpoint if stored is not None else None

    def checkpoint_at(self, size: int) -> Checkpoint | None:
        """The checkpoint of exactly ``size`` entries, or None."""
        query = sa.select(ledger_checkpoints).where(ledger_checkpoints.c.size == size)
        with self._db.connect() as conn:
            row = conn.execute(query).first()
        return _stored_checkpoint(row).checkpoint if row is not None else None

    def maybe_checkpoint(self) -> Checkpoint | None:
        """Sign a checkpoint if ``checkpoint_every`` entries or the interval have passed.

        Returns the new checkpoint, or None when none was due (or there is no signer).
        """
        if self._signer is None:
            return None
        with self._db.connect() as conn:
            head = _head(conn)
            latest = _latest_stored_checkpoint(conn)
            if latest is not None:
                since = latest.checkpoint.created_at
            else:  # never checkpointed: count the interval from the first entry
                first = sa.select(ledger_entries.c.recorded_at).where(ledger_entries.c.seq == 1)
                since = conn.execute(first).scalar()
        covered = latest.checkpoint.size if latest is not None else 0
        head_seq = head[0] if head is not None else 0
        if head_seq <= covered:
            return None
        overdue = since is None or self._clock() - since >= self._interval
        if head_seq - covered >= self._every or overdue:
            return self.checkpoint()
        return None

    def checkpoint(self) -> Checkpoint | None:
        """Sign a checkpoint at the current head (None for an empty ledger).

        Only the entries since the previous checkpoint are read: they are verified (hashes and
        links) and added to that checkpoint's Merkle frontier, which is itself checked against
        its signed root first.  Raises :class:`LedgerIntegrityError` rather than sign on top of
        anything that does not add up.
        """
        signer = self._require_signer()
        with self._db.connect() as conn:
            head = _head(conn)
            latest = _latest_stored_checkpoint(conn)
        if head is None:
            return None
        head_seq, head_hash = head
        if latest is not None and latest.checkpoint.size == head_seq:
            return latest.checkpoint
        verifier = self._resume_verifier(latest, head_seq)
        for batch in self._row_batches(verifier.entries_checked, head_seq, VERIFY_BATCH):
            if not verifier.feed(batch):
                raise LedgerIntegrityError(f"refusing to checkpoint: {verifier.problem}")
        verified = verifier.report()
        if verified.head_seq != head_seq or verified.head_hash != head_hash:
            raise LedgerIntegrityError("refusing to checkpoint: the head changed while reading")
        signed = signer.sign(
            size=head_seq,
            root_hash=verifier.frontier.root().hex(),
            head_hash=head_hash,
            created_at=self._clock(),
        )
        return self._store_checkpoint(signed, verifier.frontier.to_hex())

    def _resume_verifier(self, latest: StoredCheckpoint | None, head_seq: int) -> ChainVerifier:
        """A verifier positioned after the latest checkpoint, once that checkpoint checks out."""
        if latest is None:
            return ChainVerifier([], self._trusted)
        size = latest.checkpoint.size
        if size > head_seq:
            raise LedgerIntegrityError(
                f"refusing to checkpoint: the ledger has {head_seq} entries but a checkpoint "
                f"covers {size}"
            )
        try:
            frontier = MerkleFrontier.from_hex(size, latest.frontier)
        except ValueError as error:
            raise LedgerIntegrityError(f"checkpoint at size {size} is malformed") from error
        # Check the stored checkpoint against itself: signature, and frontier vs signed root.
        check = ChainVerifier(
            [latest], self._trusted, start=frontier, prev_hash=latest.checkpoint.head_hash
        )
        if check.failed:
            raise LedgerIntegrityError(f"refusing to checkpoint: {check.problem}")
        return ChainVerifier(
            [], self._trusted, start=frontier, prev_hash=latest.checkpoint.head_hash
        )

    def _store_checkpoint(self, signed: Checkpoint, frontier: str) -> Checkpoint:
        """Insert ``signed``; if another replica stored one of that size first, return theirs."""
        row = signed.model_dump() | {"frontier": frontier}
        try:
            with self._db.transaction() as conn:
                conn.execute(ledger_checkpoints.insert(), row)
        except sa.exc.IntegrityError:
            existing = self.checkpoint_at(signed.size)
            if existing is None:
                raise
            return existing
        return signed

    def _require_signer(self) -> CheckpointSigner:
        if self._signer is None:
            raise LedgerError("no checkpoint signing key configured")
        return self._signer

    # -- proofs ------------------------------------------------------------------------------

    def prove(self, seq: int, checkpoint: Checkpoint | int | None = None) -> InclusionProof:
        """An inclusion proof of entry ``seq`` in a signed checkpoint.

        ``checkpoint`` (or its size) defaults to the latest one; if that does not cover ``seq``
        yet and a signer is configured, a new checkpoint is signed first.  One streaming pass
        over the checkpoint's entry hashes, in constant memory.
        """
        entry = self.get(seq)
        if entry is None:
            raise LedgerError(f"there is no entry {seq}")
        target = self._checkpoint_covering(seq, checkpoint)
        leaves = (leaf_hash(bytes.fromhex(value)) for value in self._hashes(0, target.size))
        path, root = inclusion_proof(leaves, seq - 1, target.size)
        _require_root(target, root)
        return self._proof(entry, path, target)

    def prove_many(
        self, seqs: Iterable[int], checkpoint: Checkpoint | int | None = None
    ) -> list[InclusionProof]:
        """Inclusion proofs for several entries (an audit sample) in one pass over the hashes.

        Same checkpoint rules as :meth:`prove`; keeps the Merkle tree in memory (about 64 bytes
        per entry) so each further proof costs only a path lookup.
        """
        wanted = list(seqs)
        if not wanted:
            return []
        entries = {seq: self.get(seq) for seq in set(wanted)}
        missing = sorted(seq for seq, entry in entries.items() if entry is None)
        if missing:
            raise LedgerError(f"there is no entry {missing[0]}")
        target = self._checkpoint_covering(max(wanted), checkpoint)
        tree = MerkleTree(leaf_hash(bytes.fromhex(value)) for value in self._hashes(0, target.size))
        _require_root(target, tree.root())
        return [
            self._proof(entries[seq], tree.inclusion_path(seq - 1), target)  # type: ignore[arg-type]
            for seq in wanted
        ]

    def _proof(self, entry: LedgerEntry, path: list[bytes], target: Checkpoint) -> InclusionProof:
        """Package an entry, its audit path and the checkpoint as an :class:`InclusionProof`."""
        return InclusionProof(
            entry=entry,
            leaf_index=entry.seq - 1,
            tree_size=target.size,
            audit_path=[node.hex() for node in path],
            root_hash=target.root_hash,
            checkpoint=target,
            public_key_pem=self._public_key_pem(target),
        )

    def _checkpoint_covering(self, seq: int, wanted: Checkpoint | int | None) -> Checkpoint:
        """Resolve ``prove``'s checkpoint argument to a stored checkpoint covering ``seq``."""
        if isinstance(wanted, Checkpoint):
            found: Checkpoint | None = wanted
        elif isinstance(wanted, int):
            found = self.checkpoint_at(wanted)
        else:
            found = self.latest_checkpoint()
            if (found is None or found.size < seq) and self._signer is not None:
                found = self.checkpoint()
        if found is None or found.size < seq:
            raise LedgerError(f"entry {seq} is not covered by a signed checkpoint yet")
        return found

    def _public_key_pem(self, checkpoint: Checkpoint) -> str:
        """PEM of the key that signed ``checkpoint``, preferring our trusted copy."""
        key = self._trusted.get(checkpoint.key_id) or public_key_from_hex(checkpoint.public_key)
        return public_key_to_pem(key)

    # -- verification ------------------------------------------------------------------------

    def verify(self, progress: Callable[[int], None] | None = None) -> VerifyReport:
        """Recompute every hash, link and checkpoint; stop at and name the first problem.

        ``progress`` is called with the number of entries checked after each batch.
        """
        with self._db.connect() as conn:
            checkpoints = _all_stored_checkpoints(conn)  # before the head: all are covered
            head = _head(conn)
        head_seq = head[0] if head is not None else 0
        verifier = ChainVerifier(checkpoints, self._trusted)
        batches = self._row_batches(0, head_seq, VERIFY_BATCH)
        if self._db.dialect == "postgresql":  # waits on the network: overlap it with hashing
            batches = _prefetched(batches)
        for batch in batches:
            if not verifier.feed(batch):
                break
            if progress is not None:
                progress(verifier.entries_checked)
        return verifier.report()

    def _row_batches(self, after: int, upto: int, size: int) -> Iterator[list[Any]]:
        """Raw verification rows (``ROW_FIELDS`` order) for ``after < seq <= upto``.

        Plain DBAPI tuples rather than SQLAlchemy rows: this feeds ``verify``'s hot loop.
        """
        columns = _verify_select_list(self._db.dialect)
        while after < upto:
            # The range itself is bounded (seq is dense), not only a LIMIT: with stale
            # statistics PostgreSQL plans a bitmap scan of everything after ``after`` and sorts
            # it, which made each batch cost the rest of the ledger.  Rows deleted by hand just
            # make a batch shorter (or empty); the verifier reports the gap.
            end = min(upto, after + size)
            query = (
                f"SELECT {columns} FROM ledger_entries "
                f"WHERE seq > {int(after)} AND seq <= {int(end)} ORDER BY seq"
            )
            connection = self._db.engine.raw_connection()
            try:
                cursor = connection.cursor()
                cursor.execute(query)
                rows = cursor.fetchall()
                cursor.close()
            finally:
                connection.close()  # back to the pool, which rolls back the read
            if rows:
                yield rows
            after = end

    def _hashes(self, after: int, upto: int) -> Iterator[str]:
        """Stored entry hashes for ``after < seq <= upto`` in order, streamed."""
        columns = ledger_entries.c
        while after < upto:
            end = min(upto, after + VERIFY_BATCH)  # a bounded range: see _row_batches
            query = (
                sa.select(columns.seq, columns.hash)
                .where(columns.seq > after, columns.seq <= end)
                .order_by(columns.seq)
            )
            with self._db.connect() as conn:
                rows = conn.execute(query).all()
            for row in rows:
                yield row.hash
            after = end


def _require_root(checkpoint: Checkpoint, root: bytes) -> None:
    """Refuse to prove anything against a checkpoint the stored hashes no longer match."""
    if root.hex() != checkpoint.root_hash:
        raise LedgerIntegrityError(
            f"checkpoint at size {checkpoint.size} does not match the ledger (Merkle root differs)"
        )


def _trusted_keys(
    signer: CheckpointSigner | None, extra_pems: Iterable[str]
) -> dict[str, Ed25519PublicKey]:
    """Key id → public key for every key whose checkpoints we trust."""
    keys = [load_public_key_pem(pem) for pem in extra_pems]
    if signer is not None:
        keys.append(signer.public_key)
    return {key_id_of(key): key for key in keys}


def _prefetched(batches: Iterator[list[Any]]) -> Iterator[list[Any]]:
    """Read the next batch in a worker thread while the caller hashes the current one.

    On PostgreSQL, verification alternates between waiting for the server and hashing in
    Python; overlapping the two raises its rate by about half.  (On SQLite the read holds the
    GIL, so a second thread only adds contention.)  One thread at a time advances the generator.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-read") as reader:
        pending = reader.submit(next, batches, None)
        while (batch := pending.result()) is not None:
            pending = reader.submit(next, batches, None)
            yield batch


def _lock_and_read_head(conn: Connection) -> tuple[int, str] | None:
    """Take the ledger lock, then read the head: two statements in one round trip.

    Sent as one simple-protocol query, each statement gets its own snapshot, so the head is
    read after the lock is held (one statement would read a snapshot taken before the wait).
    """
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(_LOCK_AND_HEAD_SQL)
        cursor.nextset()
        row = cursor.fetchone()
    finally:
        cursor.close()
    return (row[0], row[1]) if row is not None else None


def _head(conn: Connection) -> tuple[int, str] | None:
    """(seq, hash) of the last entry, or None."""
    columns = ledger_entries.c
    row = conn.execute(
        sa.select(columns.seq, columns.hash).order_by(columns.seq.desc()).limit(1)
    ).first()
    return (row.seq, row.hash) if row is not None else None


def _entry_row(entry: LedgerEntry) -> dict[str, Any]:
    """The column values to insert for a sealed entry."""
    return entry.__dict__ | {"data": canonical_json(entry.data)}


def _entry_from_row(row: sa.Row[Any]) -> LedgerEntry:
    """A stored row as a :class:`LedgerEntry`."""
    fields = dict(row._mapping)
    fields["data"] = json.loads(fields["data"])
    fields["session_derived"] = bool(fields["session_derived"])
    return LedgerEntry.model_validate(fields)


def _filters(
    session_id: str | None,
    repo: str | None,
    kinds: Iterable[str] | None,
    since: datetime | None,
    until: datetime | None,
    agent: str | None,
) -> list[sa.ColumnElement[bool]]:
    """WHERE conditions for :meth:`Ledger.entries`."""
    columns = ledger_entries.c
    conditions: list[sa.ColumnElement[bool]] = []
    if session_id is not None:
        conditions.append(columns.session_id == session_id)
    if repo is not None:
        conditions.append(columns.repo == repo)
    if kinds is not None:
        conditions.append(columns.kind.in_([kinds] if isinstance(kinds, str) else list(kinds)))
    if since is not None:
        conditions.append(columns.occurred_at >= since)
    if until is not None:
        conditions.append(columns.occurred_at < until)
    if agent is not None:
        conditions.append(columns.agent == agent)
    return conditions


def _stored_checkpoint(row: sa.Row[Any]) -> StoredCheckpoint:
    """A checkpoint row as the signed checkpoint plus its cached frontier."""
    fields = dict(row._mapping)
    frontier = fields.pop("frontier")
    return StoredCheckpoint(Checkpoint.model_validate(fields), frontier)


def _latest_stored_checkpoint(conn: Connection) -> StoredCheckpoint | None:
    query = sa.select(ledger_checkpoints).order_by(ledger_checkpoints.c.size.desc()).limit(1)
    row = conn.execute(query).first()
    return _stored_checkpoint(row) if row is not None else None


def _all_stored_checkpoints(conn: Connection) -> list[StoredCheckpoint]:
    query = sa.select(ledger_checkpoints).order_by(ledger_checkpoints.c.size)
    return [_stored_checkpoint(row) for row in conn.execute(query)]


def _verify_select_list(dialect: str) -> str:
    """Columns in ``ROW_FIELDS`` order, timestamps rendered as canonical RFC 3339 by SQL."""
    if dialect == "postgresql":
        timestamp = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    else:  # SQLAlchemy stores 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC) on SQLite
        timestamp = "(replace({}, ' ', 'T') || 'Z')"
    return ", ".join(
        timestamp.format(name) if name in ("occurred_at", "recorded_at") else name
        for name in ROW_FIELDS
    )
