"""Export encodings and offline verification of an export (pure)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from github_app.evidence import encode
from github_app.evidence.offline import verify_export
from tests.evidence.chain import build_chain, checkpoint_of, new_signer
from tests.support.evidence_reading import record_from_csv

SPECS = [
    {
        "kind": "agent_change_detected",
        "session_id": "s1",
        "agent": "codex",
        "repo": "o/r",
        "pr": 1,
        "data": {"title": 'quotes " and, commas\nnewline ü'},
    },
    {
        "kind": "approval",
        "session_id": "s1",
        "repo": "o/r",
        "pr": 1,
        "actor": "bob",
        "session_derived": True,
    },
    {
        "kind": "merge",
        "session_id": "s1",
        "repo": "o/r",
        "repo_id": 5,
        "pr": 1,
        "data": {"approvers": ["bob"], "passing": True},
    },
    {"kind": "direct_push", "repo": "o/r", "data": {"nested": {"list": [1, 2.5, None]}}},
]


@pytest.fixture
def entries():
    return build_chain(SPECS)


@pytest.fixture
def signer():
    return new_signer()


def jsonl_records(entries, checkpoint) -> tuple[list[dict], dict | None]:
    text = encode.jsonl_lines(entries) + encode.jsonl_checkpoint_line(checkpoint)
    lines = [json.loads(line) for line in text.splitlines()]
    return lines[:-1], lines[-1]["checkpoint"]


def test_jsonl_export_verifies_with_the_trusted_key(entries, signer) -> None:
    records, checkpoint = jsonl_records(entries, checkpoint_of(entries, signer))
    result = verify_export(records, checkpoint, trusted_public_key_hex=signer.public_key_hex)
    assert (result.ok, result.entries, result.checkpoint_size) == (True, 4, 4)


def test_csv_round_trip_verifies(entries, signer) -> None:
    text = (
        encode.csv_header()
        + encode.csv_rows(entries[:2])
        + encode.csv_rows(entries[2:])
        + encode.csv_checkpoint_row(checkpoint_of(entries, signer))
    )
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(rows[0]) == list(encode.CSV_COLUMNS)
    assert rows[-1]["kind"] == "checkpoint"
    records = [record_from_csv(row) for row in rows[:-1]]
    assert records == [encode.entry_record(e) for e in entries]
    assert verify_export(records, json.loads(rows[-1]["data"])).ok


def test_checkpoint_may_cover_a_prefix(entries, signer) -> None:
    records, checkpoint = jsonl_records(entries, checkpoint_of(entries[:3], signer))
    result = verify_export(records, checkpoint)
    assert result.ok and result.checkpoint_size == 3 and result.entries == 4


def test_export_without_checkpoint_still_checks_the_chain(entries) -> None:
    records, checkpoint = jsonl_records(entries, None)
    assert checkpoint is None
    assert verify_export(records, None).ok


def test_altered_entry_is_named(entries, signer) -> None:
    records, checkpoint = jsonl_records(entries, checkpoint_of(entries, signer))
    records[2]["data"]["approvers"] = ["mallory"]
    result = verify_export(records, checkpoint)
    assert (result.ok, result.first_broken_seq) == (False, 3)
    assert "hash" in result.problem


def test_removed_entry_is_detected(entries, signer) -> None:
    records, checkpoint = jsonl_records(entries, checkpoint_of(entries, signer))
    del records[1]
    result = verify_export(records, checkpoint)
    assert not result.ok and "expected seq 2" in result.problem


def test_rewritten_history_fails_the_checkpoint(entries, signer) -> None:
    # A consistent forged chain (every hash recomputed) cannot match the signed checkpoint.
    forged = build_chain([*SPECS[:2], {**SPECS[2], "data": {"approvers": ["mallory"]}}, SPECS[3]])
    records, _ = jsonl_records(forged, None)
    checkpoint = encode.checkpoint_record(checkpoint_of(entries, signer))
    result = verify_export(records, checkpoint)
    assert not result.ok and "checkpoint" in result.problem


def test_untrusted_or_bad_signature_fails(entries, signer) -> None:
    records, checkpoint = jsonl_records(entries, checkpoint_of(entries, signer))
    other = new_signer()
    assert not verify_export(records, checkpoint, trusted_public_key_hex=other.public_key_hex).ok
    forged = checkpoint_of(entries, other).model_dump(mode="json") | {
        "public_key": signer.public_key_hex
    }
    assert "signature" in verify_export(records, forged).problem
