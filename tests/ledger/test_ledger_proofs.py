"""Signed checkpoints and inclusion proofs an auditor checks offline with only the public key."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from github_app.ledger import CheckpointSigner, verify_proof_offline
from github_app.ledger.checkpoints import signature_is_valid
from github_app.ledger.merkle import leaf_hash
from github_app.store import Database
from github_app.store.ledger import Ledger, LedgerError
from github_app.store.tables import ledger_checkpoints
from tests.ledger.helpers import FakeClock, make_entry
from tests.support.evidence_reading import merkle_root


def expected_root(ledger: Ledger, size: int) -> str:
    hashes = [bytes.fromhex(entry.hash) for entry in ledger.entries(limit=size)]
    return merkle_root(leaf_hash(value) for value in hashes).hex()


def checkpoint_count(db: Database) -> int:
    with db.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(ledger_checkpoints)).scalar_one()
        )


def test_checkpoint_signs_the_merkle_root_and_chain_head(
    ledger: Ledger, fill: Callable[[int], None], signer: CheckpointSigner
) -> None:
    fill(13)
    checkpoint = ledger.checkpoint()
    assert checkpoint is not None
    assert checkpoint.size == 13
    assert checkpoint.head_hash == ledger.head().hash  # type: ignore[union-attr]
    assert checkpoint.root_hash == expected_root(ledger, 13)
    assert checkpoint.key_id == signer.key_id
    assert signature_is_valid(checkpoint, signer.public_key)
    assert ledger.latest_checkpoint() == checkpoint


def test_incremental_checkpoints_equal_a_full_recomputation(
    ledger: Ledger, database: Database
) -> None:
    for count in (1, 7, 10, 16, 3):
        ledger.append_many(make_entry(number) for number in range(count))
        checkpoint = ledger.checkpoint()
        assert checkpoint is not None
        assert checkpoint.root_hash == expected_root(ledger, checkpoint.size)
    assert checkpoint_count(database) == 5
    assert ledger.verify().checkpoints_checked == 5


def test_checkpoint_without_new_entries_returns_the_latest(
    ledger: Ledger, fill: Callable[[int], None], database: Database
) -> None:
    assert ledger.checkpoint() is None  # nothing to sign yet
    fill(4)
    first = ledger.checkpoint()
    assert ledger.checkpoint() == first
    assert checkpoint_count(database) == 1


def test_checkpointing_needs_a_signing_key(database: Database) -> None:
    unsigned = Ledger(database, None)
    unsigned.append(make_entry(0))
    with pytest.raises(LedgerError, match="no checkpoint signing key"):
        unsigned.checkpoint()
    assert unsigned.maybe_checkpoint() is None


def test_maybe_checkpoint_every_n_entries(ledger: Ledger) -> None:
    ledger.append_many(make_entry(number) for number in range(9))
    assert ledger.maybe_checkpoint() is None
    ledger.append(make_entry(9))
    assert ledger.maybe_checkpoint().size == 10  # type: ignore[union-attr]
    ledger.append_many(make_entry(number) for number in range(9))
    assert ledger.maybe_checkpoint() is None
    ledger.append(make_entry(9))
    assert ledger.maybe_checkpoint().size == 20  # type: ignore[union-attr]


def test_maybe_checkpoint_after_the_interval(ledger: Ledger, clock: FakeClock) -> None:
    ledger.append_many(make_entry(number) for number in range(3))
    clock.advance(minutes=59)
    assert ledger.maybe_checkpoint() is None
    clock.advance(minutes=1)
    assert ledger.maybe_checkpoint().size == 3  # type: ignore[union-attr]
    clock.advance(minutes=120)
    assert ledger.maybe_checkpoint() is None  # nothing new to sign
    ledger.append(make_entry(3))
    assert ledger.maybe_checkpoint().size == 4  # type: ignore[union-attr]


def test_replicas_checkpointing_at_once_store_one_checkpoint(
    database_url: str, ledger: Ledger, fill: Callable[[int], None], signer: CheckpointSigner
) -> None:
    fill(12)
    results: list[Any] = []
    with Database.open(database_url) as first, Database.open(database_url) as second:
        replicas = [Ledger(first, signer), Ledger(second, signer)]
        threads = [
            threading.Thread(target=lambda r=r: results.append(r.checkpoint())) for r in replicas
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(results) == 2 and results[0] == results[1]
    assert ledger.latest_checkpoint() == results[0]


def proof_json(ledger: Ledger, seq: int, checkpoint: int | None = None) -> dict[str, Any]:
    """The proof as an auditor receives it: plain JSON."""
    return json.loads(ledger.prove(seq, checkpoint).model_dump_json())


def test_random_entries_verify_offline_with_only_the_public_key(
    ledger: Ledger, signer: CheckpointSigner
) -> None:
    ledger.append_many(make_entry(number) for number in range(23))
    ledger.checkpoint()
    ledger.append_many(make_entry(number) for number in range(23, 37))
    for seq in [*random.Random(7).sample(range(1, 38), 8), 1, 23, 37]:
        proof = proof_json(ledger, seq)
        assert proof["tree_size"] in (23, 37) and proof["tree_size"] >= seq
        assert proof["leaf_index"] == seq - 1
        ok, reason = verify_proof_offline(proof, signer.public_key_pem())
        assert ok, reason
        assert f"entry {seq} is included" in reason


def test_a_proof_against_an_older_checkpoint(ledger: Ledger, signer: CheckpointSigner) -> None:
    ledger.append_many(make_entry(number) for number in range(9))
    ledger.checkpoint()
    ledger.append_many(make_entry(number) for number in range(9, 20))
    ledger.checkpoint()
    proof = proof_json(ledger, 4, checkpoint=9)
    assert proof["tree_size"] == 9
    assert verify_proof_offline(proof, signer.public_key_pem())[0]
    with pytest.raises(LedgerError):
        ledger.prove(15, checkpoint=9)  # not covered by that checkpoint


def test_proving_needs_an_entry_and_a_checkpoint(database: Database) -> None:
    unsigned = Ledger(database, None)
    unsigned.append(make_entry(0))
    with pytest.raises(LedgerError, match="not covered"):
        unsigned.prove(1)
    with pytest.raises(LedgerError, match="no entry 2"):
        unsigned.prove(2)


def altered(proof: dict[str, Any], path: tuple[Any, ...], value: object) -> dict[str, Any]:
    copy = json.loads(json.dumps(proof))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def flip(hex_text: str) -> str:
    return hex_text[:-1] + ("0" if hex_text[-1] != "0" else "1")


@pytest.fixture
def proof(ledger: Ledger) -> dict[str, Any]:
    ledger.append_many(make_entry(number) for number in range(21))
    return proof_json(ledger, 13)


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("entry", "actor"), "mallory", "entry 13 was altered (hash mismatch)"),
        (("entry", "data"), {"number": 0}, "entry 13 was altered (hash mismatch)"),
        (("entry", "occurred_at"), "2025-03-01T09:42:00.000001Z", "entry 13 was altered"),
        (("leaf_index",), 11, "leaf index 11 is not entry 13's position"),
        (("tree_size",), 20, "the proof is not about the signed checkpoint"),
        (("checkpoint", "size"), 20, "checkpoint signature invalid"),
        (("checkpoint", "root_hash"), "0" * 64, "checkpoint signature invalid"),
        (("audit_path", 0), "0" * 64, "audit path does not lead to the checkpoint's Merkle root"),
        (("audit_path", 0), "not hex", "malformed audit path"),
        (("entry", "seq"), "many", "malformed proof"),
    ],
)
def test_an_altered_proof_fails_with_the_reason(
    proof: dict[str, Any],
    signer: CheckpointSigner,
    path: tuple[Any, ...],
    value: object,
    reason: str,
) -> None:
    ok, why = verify_proof_offline(altered(proof, path, value), signer.public_key_pem())
    assert not ok
    assert why.startswith(reason), why


def test_an_entry_with_a_recomputed_hash_is_not_in_the_tree(
    proof: dict[str, Any], signer: CheckpointSigner
) -> None:
    from github_app.ledger import LedgerEntry

    forged = LedgerEntry.model_validate(proof["entry"] | {"actor": "mallory"})
    forged = forged.model_copy(update={"hash": forged.computed_hash()})
    tampered = altered(proof, ("entry",), json.loads(forged.model_dump_json()))
    ok, why = verify_proof_offline(tampered, signer.public_key_pem())
    assert (ok, why) == (False, "audit path does not lead to the checkpoint's Merkle root")


def test_a_tampered_signature_or_a_different_key_fails(
    proof: dict[str, Any], signer: CheckpointSigner
) -> None:
    signature = proof["checkpoint"]["signature"]
    bad = altered(proof, ("checkpoint", "signature"), flip(signature))
    assert verify_proof_offline(bad, signer.public_key_pem()) == (
        False,
        "checkpoint signature invalid",
    )
    other = CheckpointSigner(Ed25519PrivateKey.generate())
    ok, why = verify_proof_offline(proof, other.public_key_pem())
    assert not ok and why == (
        f"checkpoint was signed by key {signer.key_id}, not by key {other.key_id}"
    )
    # The key embedded in the proof is not trusted: only the one the auditor supplies.
    assert verify_proof_offline(proof, "garbage")[0] is False


def test_a_sample_is_proved_in_one_pass_like_single_proofs(
    ledger: Ledger, signer: CheckpointSigner
) -> None:
    ledger.append_many(make_entry(number) for number in range(29))
    sample = [*random.Random(3).sample(range(1, 30), 6), 29, 1]
    proofs = ledger.prove_many(sample)
    assert [proof.entry.seq for proof in proofs] == sample
    for proof in proofs:
        assert proof == ledger.prove(proof.entry.seq, proof.checkpoint.size)
        assert verify_proof_offline(json.loads(proof.model_dump_json()), signer.public_key_pem())[0]
    assert ledger.prove_many([]) == []
    with pytest.raises(LedgerError, match="no entry 30"):
        ledger.prove_many([3, 30])
