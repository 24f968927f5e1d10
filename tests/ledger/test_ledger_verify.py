"""Tamper evidence: with the guards dropped by hand, every kind of rewrite is found and named."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from github_app.ledger import CheckpointSigner, LedgerEntry, NewEntry
from github_app.ledger.entry import canonical_json
from github_app.ledger.verification import ROW_FIELDS, ChainVerifier
from github_app.store import Database
from github_app.store import ledger as ledger_module
from github_app.store.ledger import Ledger, LedgerIntegrityError
from github_app.store.tables import ledger_checkpoints, ledger_entries
from tests.ledger.helpers import START, make_entry
from tests.support.databases import drop_append_only_guards

SIZE = 60


@pytest.fixture
def tamperable(ledger: Ledger, database: Database) -> Ledger:
    """60 entries with signed checkpoints at 30 and 60, and no triggers left to stop us."""
    ledger.append_many(make_entry(number) for number in range(30))
    ledger.checkpoint()
    ledger.append_many(make_entry(number) for number in range(30, SIZE))
    ledger.checkpoint()
    drop_append_only_guards(database)
    return ledger


def run(db: Database, sql: str, **params: object) -> None:
    with db.transaction() as conn:
        conn.execute(sa.text(sql), params)


def stored_hash(db: Database, seq: int) -> str:
    with db.connect() as conn:
        query = sa.select(ledger_entries.c.hash).where(ledger_entries.c.seq == seq)
        return str(conn.execute(query).scalar_one())


def insert_entry(db: Database, entry: LedgerEntry) -> None:
    with db.transaction() as conn:
        row = entry.model_dump() | {"data": canonical_json(entry.data)}
        conn.execute(ledger_entries.insert(), row)


def forge(seq: int, prev_hash: str) -> LedgerEntry:
    """A well-formed entry with a valid hash of its own, as an attacker would write it."""
    return LedgerEntry.seal(
        make_entry(999, actor="mallory"),
        seq=seq,
        id=str(uuid.uuid4()),
        recorded_at=START + timedelta(days=1),
        prev_hash=prev_hash,
    )


def shift_up_from(db: Database, seq: int) -> None:
    """Renumber entries seq.. to seq+1.. (two steps, so the primary key never collides)."""
    run(db, "UPDATE ledger_entries SET seq = -(seq + 1) WHERE seq >= :seq", seq=seq)
    run(db, "UPDATE ledger_entries SET seq = -seq WHERE seq < 0")


def test_an_intact_ledger_verifies(tamperable: Ledger) -> None:
    report = tamperable.verify()
    assert report.ok and report.problem is None and report.first_bad_seq is None
    assert report.entries_checked == SIZE
    assert report.checkpoints_checked == 2
    assert report.latest_checkpoint_size == SIZE
    assert report.head_hash == tamperable.head().hash  # type: ignore[union-attr]
    assert report.signatures_trusted


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("data", '{"number":41}'),
        ("actor", "someone-else"),
        ("kind", "approval_invalidated"),
        ("occurred_at", "2025-03-01 10:11:00.000001"),
        ("session_derived", True),
        ("pr", 999),
    ],
)
def test_an_altered_entry_is_named(
    tamperable: Ledger, database: Database, column: str, value: object
) -> None:
    if column == "occurred_at" and database.dialect == "postgresql":
        value = "2025-03-01 10:11:00.000001+00"
    run(database, f"UPDATE ledger_entries SET {column} = :value WHERE seq = 42", value=value)
    report = tamperable.verify()
    assert not report.ok
    assert report.first_bad_seq == 42
    assert report.problem == "entry 42 was altered (hash mismatch)"
    assert report.entries_checked == 41


def test_a_deleted_entry_is_named(tamperable: Ledger, database: Database) -> None:
    run(database, "DELETE FROM ledger_entries WHERE seq = 42")
    report = tamperable.verify()
    assert report.first_bad_seq == 42
    assert report.problem == "entry 42 is missing (sequence jumps 41→43)"


def test_deleting_the_first_entry_is_named(tamperable: Ledger, database: Database) -> None:
    run(database, "DELETE FROM ledger_entries WHERE seq = 1")
    report = tamperable.verify()
    assert report.first_bad_seq == 1
    assert report.problem == "entry 1 is missing (sequence jumps 0→2)"


def test_two_swapped_entries_are_named(tamperable: Ledger, database: Database) -> None:
    run(database, "UPDATE ledger_entries SET seq = -1 WHERE seq = 42")
    run(database, "UPDATE ledger_entries SET seq = 42 WHERE seq = 43")
    run(database, "UPDATE ledger_entries SET seq = 43 WHERE seq = -1")
    report = tamperable.verify()
    assert report.first_bad_seq == 42
    assert report.problem == (
        "entry 42 is out of order / inserted (prev_hash does not match entry 41)"
    )


def test_an_inserted_entry_is_named(tamperable: Ledger, database: Database) -> None:
    forged = forge(42, prev_hash=stored_hash(database, 41))  # links correctly to entry 41
    shift_up_from(database, 42)
    insert_entry(database, forged)
    report = tamperable.verify()
    assert report.first_bad_seq == 42
    assert report.problem == (
        "entry 42 is out of order / inserted (entries 42 and 43 both follow entry 41)"
    )


def test_an_entry_appended_behind_the_ledgers_back_is_named(
    tamperable: Ledger, database: Database
) -> None:
    insert_entry(database, forge(SIZE + 1, prev_hash="ab" * 32))
    report = tamperable.verify()
    assert report.first_bad_seq == SIZE + 1
    assert report.problem == (
        f"entry {SIZE + 1} is out of order / inserted (prev_hash does not match entry {SIZE})"
    )


def test_an_altered_entry_with_a_recomputed_hash_breaks_the_next_link(
    tamperable: Ledger, database: Database
) -> None:
    original = tamperable.get(42)
    assert original is not None
    rewritten = LedgerEntry.seal(
        make_entry(41, actor="mallory"),
        seq=42,
        id=original.id,
        recorded_at=original.recorded_at,
        prev_hash=original.prev_hash,
    )
    run(
        database,
        "UPDATE ledger_entries SET actor = :actor, hash = :hash WHERE seq = 42",
        actor="mallory",
        hash=rewritten.hash,
    )
    report = tamperable.verify()
    assert report.first_bad_seq == 43
    assert report.problem == (
        "entry 43 is out of order / inserted (prev_hash does not match entry 42)"
    )


def rewrite_history_from(ledger: Ledger, db: Database, seq: int) -> None:
    """Alter entry ``seq`` and re-hash every later entry so the chain itself is consistent."""
    previous = ledger.get(seq - 1)
    prev_hash = previous.hash if previous is not None else "0" * 64
    for entry in list(ledger.entries(after_seq=seq - 1)):
        actor = "mallory" if entry.seq == seq else entry.actor
        fields = entry.model_dump(include=set(NewEntry.model_fields)) | {"actor": actor}
        resealed = LedgerEntry.seal(
            NewEntry.model_validate(fields),
            seq=entry.seq,
            id=entry.id,
            recorded_at=entry.recorded_at,
            prev_hash=prev_hash,
        )
        run(
            db,
            "UPDATE ledger_entries SET actor = :actor, prev_hash = :prev, hash = :hash "
            "WHERE seq = :seq",
            actor=actor,
            prev=prev_hash,
            hash=resealed.hash,
            seq=entry.seq,
        )
        prev_hash = resealed.hash


def test_a_consistently_rewritten_history_is_caught_by_the_signed_checkpoint(
    tamperable: Ledger, database: Database
) -> None:
    rewrite_history_from(tamperable, database, 42)
    report = tamperable.verify()
    assert not report.ok
    assert report.entries_checked == SIZE  # the chain alone looks fine
    assert report.checkpoints_checked == 1  # the one at 30 still matches
    assert report.bad_checkpoint_size == SIZE
    assert report.problem is not None
    assert report.problem.startswith(f"checkpoint at size {SIZE} does not match the ledger")


def test_entries_removed_from_the_end_are_caught_by_the_checkpoint(
    tamperable: Ledger, database: Database
) -> None:
    run(database, "DELETE FROM ledger_entries WHERE seq > 55")
    report = tamperable.verify()
    assert report.first_bad_seq == 56
    assert report.bad_checkpoint_size == SIZE
    assert report.problem == (
        f"checkpoint at size {SIZE} does not match the ledger "
        "(the ledger has only 55 entries: entries 56 to 60 are missing)"
    )


def test_an_altered_checkpoint_fails_its_signature(tamperable: Ledger, database: Database) -> None:
    run(database, "UPDATE ledger_checkpoints SET root_hash = :root WHERE size = 30", root="0" * 64)
    report = tamperable.verify()
    assert report.bad_checkpoint_size == 30
    assert report.problem == "checkpoint signature invalid (checkpoint at size 30)"


def test_a_checkpoint_signed_by_another_key_is_not_trusted(
    tamperable: Ledger, database: Database
) -> None:
    genuine = tamperable.checkpoint_at(30)
    assert genuine is not None
    mallory = CheckpointSigner(Ed25519PrivateKey.generate())
    forged = mallory.sign(
        size=30, root_hash=genuine.root_hash, head_hash=genuine.head_hash, created_at=START
    )
    run(database, "DELETE FROM ledger_checkpoints WHERE size = 30")
    with database.transaction() as conn:
        frontier = conn.execute(sa.select(ledger_checkpoints.c.frontier).limit(1)).scalar()
        conn.execute(ledger_checkpoints.insert(), forged.model_dump() | {"frontier": frontier})
    report = tamperable.verify()
    assert report.problem == (
        f"checkpoint signature invalid (checkpoint at size 30 is signed by key "
        f"{mallory.key_id}, which is not trusted)"
    )


def test_without_a_trusted_key_signatures_are_checked_against_the_stored_keys(
    tamperable: Ledger, database: Database
) -> None:
    report = Ledger(database, None).verify()
    assert report.ok and report.checkpoints_checked == 2
    assert not report.signatures_trusted


def test_a_rotated_key_stays_trusted_when_listed(
    tamperable: Ledger, database: Database, signer: CheckpointSigner
) -> None:
    successor = CheckpointSigner(Ed25519PrivateKey.generate())
    rotated = Ledger(database, successor, trusted_public_keys=[signer.public_key_pem()])
    assert rotated.verify().ok
    assert not Ledger(database, successor).verify().ok


def test_progress_is_reported_per_batch(
    tamperable: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger_module, "VERIFY_BATCH", 25)
    seen: list[int] = []
    assert tamperable.verify(progress=seen.append).ok
    assert seen == [25, 50, 60]


def test_no_checkpoint_is_signed_over_an_altered_entry(
    tamperable: Ledger, database: Database, fill: Callable[[int], None]
) -> None:
    fill(5)
    run(database, "UPDATE ledger_entries SET actor = 'mallory' WHERE seq = 63")
    with pytest.raises(LedgerIntegrityError, match="entry 63 was altered"):
        tamperable.checkpoint()


def test_no_checkpoint_is_signed_on_top_of_a_tampered_one(
    tamperable: Ledger, database: Database, fill: Callable[[int], None]
) -> None:
    fill(5)
    run(
        database,
        "UPDATE ledger_checkpoints SET frontier = :f WHERE size = :s",
        f="ab" * 32 * 4,
        s=SIZE,
    )
    with pytest.raises(LedgerIntegrityError, match="Merkle root differs"):
        tamperable.checkpoint()


def test_a_value_of_the_wrong_type_counts_as_an_alteration() -> None:
    # SQLite stores whatever it is given: text where the ledger only ever wrote a number.
    entry = LedgerEntry.seal(
        make_entry(1), seq=1, id=str(uuid.uuid4()), recorded_at=START, prev_hash="0" * 64
    )
    row = [*entry.canonical_values(), entry.hash]
    row[ROW_FIELDS.index("pr")] = "eleven"
    verifier = ChainVerifier([], {})
    assert not verifier.feed([row])
    assert verifier.problem == "entry 1 was altered (hash mismatch)"
