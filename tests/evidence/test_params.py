"""Query parameter parsing: filters, page size, cursors (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from github_app.evidence.params import (
    InvalidParameter,
    Position,
    decode_cursor,
    encode_cursor,
    parse_filters,
    parse_limit,
    parse_timestamp,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-05-01T12:00:00Z", datetime(2025, 5, 1, 12, tzinfo=UTC)),
        ("2025-05-01T14:00:00+02:00", datetime(2025, 5, 1, 12, tzinfo=UTC)),
        ("2025-05-01", datetime(2025, 5, 1, tzinfo=UTC)),
        ("2025-05-01T12:00:00", datetime(2025, 5, 1, 12, tzinfo=UTC)),
    ],
)
def test_timestamps_are_iso_8601_in_utc(text: str, expected: datetime) -> None:
    assert parse_timestamp("since", text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2025-13-01", "0001-01-01T00:00:00+05:00", "1"])
def test_bad_timestamps_name_the_parameter(text: str) -> None:
    with pytest.raises(InvalidParameter, match=r"^since: expected an ISO 8601"):
        parse_timestamp("since", text)


def test_filters_and_order_check() -> None:
    filters = parse_filters({"repo": "o/r", "agent": "codex", "since": "2025-01-01"})
    assert (filters.repo, filters.agent, filters.until) == ("o/r", "codex", None)
    assert parse_filters({"repo": ""}).repo is None
    with pytest.raises(InvalidParameter, match=r"^since"):
        parse_filters({"since": "2025-02-01", "until": "2025-01-01"})


@pytest.mark.parametrize("value", ["a\x00b", "tab\there", "x" * 257])
def test_text_filters_refuse_control_characters_and_long_values(value: str) -> None:
    with pytest.raises(InvalidParameter, match=r"^repo"):
        parse_filters({"repo": value})


def test_limit_bounds() -> None:
    assert parse_limit(None) == 100
    assert parse_limit("1000") == 1000
    for bad in ("0", "1001", "-1", "1.5", "x", "9" * 40):
        with pytest.raises(InvalidParameter, match=r"^limit"):
            parse_limit(bad)


def test_cursor_round_trip_and_garbage() -> None:
    position = Position(12345, 1)
    assert decode_cursor(encode_cursor(position)) == position
    assert decode_cursor(None) is None and decode_cursor("") is None
    for bad in ("%%%", "bm90LWEtY3Vyc29y", encode_cursor(Position(2**63, 0)), "A" * 100):
        with pytest.raises(InvalidParameter, match=r"^cursor"):
            decode_cursor(bad)
