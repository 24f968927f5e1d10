"""Entries and their canonical encoding: deterministic, complete, equal to the documented JSON."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from github_app.ledger import ENTRY_KINDS, GENESIS_HASH, LedgerEntry, NewEntry
from github_app.ledger.entry import (
    CANONICAL_FIELDS,
    encode_canonical,
    parse_rfc3339,
    rfc3339,
)
from tests.ledger.helpers import START, make_entry

PRODUCT_KINDS = [
    "agent_change_detected",
    "decision",
    "approval",
    "approval_invalidated",
    "merge",
    "unapproved_merge",
    "direct_push",
    "push_denied",
    "push_bypassed",
    "ruleset_drift",
    "emergency_change",
    "post_review",
    "freeze",
    "unfreeze",
    "session_revoked",
    "alert",
    "drill",
    "policy_invalid",
    "backfill",
    "session_started",
    "agent_operation",
    "operation_denied",
    "session_ended",
]


def reference_encoding(entry: LedgerEntry) -> bytes:
    """The definition from the module docstring, written the obvious way."""
    fields = entry.model_dump(mode="json", exclude={"hash"})
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def seal(new: NewEntry, seq: int = 1, prev_hash: str = GENESIS_HASH) -> LedgerEntry:
    return LedgerEntry.seal(
        new,
        seq=seq,
        id="6f1c1f1e-0000-4000-8000-000000000001",
        recorded_at=START + timedelta(seconds=1),
        prev_hash=prev_hash,
    )


def test_kinds_are_exactly_those_of_the_product_design() -> None:
    assert list(ENTRY_KINDS) == PRODUCT_KINDS


def test_canonical_fields_are_sorted_and_cover_every_stored_field_but_hash() -> None:
    stored = set(LedgerEntry.model_fields) - {"hash"}
    assert list(CANONICAL_FIELDS) == sorted(stored)


def test_sealed_hash_is_sha256_of_the_documented_encoding() -> None:
    entry = seal(make_entry(7))
    expected = hashlib.sha256(reference_encoding(entry)).hexdigest()
    assert entry.hash == expected
    assert entry.canonical_bytes() == reference_encoding(entry)
    assert entry.computed_hash() == entry.hash


def test_encoding_keeps_nulls_and_writes_microsecond_utc_times() -> None:
    entry = seal(NewEntry(kind="alert", occurred_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)))
    decoded = json.loads(entry.canonical_bytes())
    assert decoded["occurred_at"] == "2025-01-02T03:04:05.000000Z"
    assert decoded["recorded_at"] == "2025-03-01T09:30:01.000000Z"
    assert decoded["actor"] is None and decoded["pr"] is None
    assert decoded["prev_hash"] == GENESIS_HASH
    assert decoded["seq"] == 1 and decoded["data"] == {}
    assert b" " not in entry.canonical_bytes()


@pytest.mark.parametrize(
    "change",
    [
        {"actor": "someone-else"},
        {"data": {"number": 8}},
        {"session_derived": True},
        {"pr": 11},
        {"occurred_at": START + timedelta(microseconds=1)},
    ],
)
def test_every_field_is_covered_by_the_hash(change: dict[str, object]) -> None:
    original = seal(make_entry(7))
    altered = original.model_copy(update=change)
    assert altered.computed_hash() != original.hash


@pytest.mark.parametrize(
    "position", [{"seq": 2}, {"prev_hash": "1" * 64}, {"id": "other-id"}, {"kind": "alert"}]
)
def test_position_fields_are_covered_by_the_hash(position: dict[str, object]) -> None:
    original = seal(make_entry(3))
    assert original.model_copy(update=position).computed_hash() != original.hash


def test_other_time_zones_are_normalised_to_utc() -> None:
    paris = timezone(timedelta(hours=2))
    new = make_entry(1, occurred_at=datetime(2025, 6, 1, 14, 0, tzinfo=paris))
    assert new.occurred_at == datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert rfc3339(new.occurred_at) == "2025-06-01T12:00:00.000000Z"
    assert parse_rfc3339("2025-06-01T14:00:00+02:00") == new.occurred_at


@pytest.mark.parametrize(
    "bad",
    [
        {"occurred_at": datetime(2025, 1, 1)},  # naive: the zone would be a guess
        {"kind": "made_up"},
        {"data": {"x": float("nan")}},
        {"data": {"x": object()}},
        {"actor": "nul\x00byte"},
        {"unknown_field": 1},
    ],
)
def test_invalid_entries_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        make_entry(1, **bad)


def test_data_is_normalised_to_plain_json() -> None:
    when = datetime(2025, 1, 1, tzinfo=UTC)
    new = make_entry(1, data={"when": when, "items": (1, 2), 5: "int key"})
    assert new.data == {"when": "2025-01-01T00:00:00.000000Z", "items": [1, 2], "5": "int key"}


def test_json_view_round_trips_to_the_same_hash() -> None:
    entry = seal(make_entry(4))
    again = LedgerEntry.model_validate_json(entry.model_dump_json())
    assert again == entry
    assert again.computed_hash() == entry.hash
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", entry.model_dump(mode="json")["recorded_at"]
    )


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
    max_leaves=10,
)


@given(
    actor=st.none() | text,
    session_id=st.none() | text,
    pr=st.none() | st.integers(min_value=0, max_value=2**31 - 1),
    repo_id=st.none() | st.integers(min_value=0, max_value=2**62),
    derived=st.booleans(),
    data=st.dictionaries(text, json_values, max_size=4),
    micros=st.integers(min_value=0, max_value=10**12),
)
def test_fast_encoding_equals_the_definition_for_any_entry(
    actor: str | None,
    session_id: str | None,
    pr: int | None,
    repo_id: int | None,
    derived: bool,
    data: dict[str, object],
    micros: int,
) -> None:
    new = make_entry(
        1,
        actor=actor,
        session_id=session_id,
        pr=pr,
        repo_id=repo_id,
        session_derived=derived,
        data=data,
        occurred_at=START + timedelta(microseconds=micros),
    )
    entry = seal(new)
    assert entry.canonical_bytes() == reference_encoding(entry)
    assert encode_canonical(entry.canonical_values()) == reference_encoding(entry)


def test_sqlite_integer_booleans_encode_like_booleans() -> None:
    values = list(seal(make_entry(1, session_derived=True)).canonical_values())
    as_bool = encode_canonical(values)
    values[CANONICAL_FIELDS.index("session_derived")] = 1
    assert encode_canonical(values) == as_bool


def test_encoding_is_deterministic() -> None:
    first, second = seal(make_entry(2)), seal(make_entry(2))
    assert first.canonical_bytes() == second.canonical_bytes()
    assert first.hash == second.hash
