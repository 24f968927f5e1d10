"""The durable operation buffer and its flush, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from github_app.ledger import load_or_create_signing_key
from github_app.ledger.entry import NewEntry
from github_app.sessions.records import OPERATIONS_PER_ENTRY
from github_app.state.agent_sessions import AgentSessions, attested_sessions
from github_app.store import Database
from github_app.store.ledger import Ledger
from tests.support.databases import database, database_url  # noqa: F401

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@pytest.fixture
def sessions(database: Database, tmp_path: Path) -> AgentSessions:  # noqa: F811
    ledger = Ledger(database, load_or_create_signing_key(tmp_path / "key"))
    return AgentSessions(database, ledger)


def _buffer(sessions: AgentSessions, session: str, index: int, **overrides) -> None:
    values = {
        "session_id": session,
        "received_at": T0 + timedelta(seconds=index),
        "agent": "claude-code",
        "launched_by": "alice-dev",
        "actor": "alice-laptop",
        "repo": "acme/shop",
        "operation": {"tool": "Read", "access": "read", "target": f"f{index}", "result": "ok"},
    }
    values.update(overrides)
    sessions.buffer(**values)


def test_flush_moves_every_operation_once_in_order_in_groups(sessions: AgentSessions):
    total = OPERATIONS_PER_ENTRY + 3
    for index in range(total):
        _buffer(sessions, "s1", index)
    _buffer(sessions, "s2", 0)
    assert sessions.pending("s1") == (total, T0)
    end = NewEntry(kind="session_ended", occurred_at=T0 + timedelta(minutes=5), session_id="s1")
    written = sessions.flush("s1", then=end)
    assert [entry.kind for entry in written] == [
        "agent_operation",
        "agent_operation",
        "session_ended",
    ]
    assert [entry.data["count"] for entry in written[:2]] == [OPERATIONS_PER_ENTRY, 3]
    targets = [op["target"] for entry in written[:2] for op in entry.data["operations"]]
    assert targets == [f"f{index}" for index in range(total)]
    assert written[0].launched_by == "alice-dev" and written[0].actor == "alice-laptop"
    assert sessions.pending("s1") == (0, None)
    assert sessions.flush("s1") == [], "flushing again writes nothing"
    assert sessions.sessions_waiting() == ["s2"]


def test_a_change_of_attribution_starts_a_new_group(sessions: AgentSessions):
    _buffer(sessions, "s1", 0)
    _buffer(sessions, "s1", 1, launched_by="bob-dev", actor="bob-laptop")
    _buffer(sessions, "s1", 2)
    written = sessions.flush("s1")
    assert [(entry.launched_by, entry.data["count"]) for entry in written] == [
        ("alice-dev", 1),
        ("bob-dev", 1),
        ("alice-dev", 1),
    ]


def test_flush_waiting_writes_only_sessions_quiet_for_long_enough(sessions: AgentSessions):
    _buffer(sessions, "old", 0)
    _buffer(sessions, "new", 100)
    written = sessions.flush_waiting(T0 + timedelta(seconds=105), timedelta(seconds=10))
    assert written == 1 and sessions.sessions_waiting() == ["new"]
    assert sessions.flush_waiting(T0, None) == 1, "at shutdown every session is flushed"
    assert sessions.sessions_waiting() == []


def test_attested_sessions_are_read_from_session_started_entries(sessions: AgentSessions):
    sessions.record(
        NewEntry(
            kind="session_started",
            occurred_at=T0,
            session_id="s1",
            agent="claude-code",
            launched_by="alice-dev",
            actor="alice-laptop",
        ),
        NewEntry(kind="decision", occurred_at=T0, session_id="s2", launched_by="mallory"),
    )
    found = attested_sessions(sessions._ledger, ["s1", "s2", "s3"])
    assert list(found) == ["s1"]
    assert (found["s1"].launched_by, found["s1"].token_name) == ("alice-dev", "alice-laptop")
