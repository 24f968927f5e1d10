"""Hook decisions from memory: no query on an allowed call, and a change made elsewhere (another
replica, the CLI) seen within MAX_AGE_SECONDS; a change made here at once."""

from __future__ import annotations

import sqlalchemy as sa

from github_app.api import agent_events
from github_app.state import hook_state
from github_app.state.containment import Containment
from github_app.state.hook_state import HookState, hook_fingerprint
from github_app.store.database import Database
from github_app.tokens import TokenStore
from tests.sessions.helpers import AGENT_TOKEN_NAME, tool_event

READ = tool_event("PreToolUse", "Read", {"file_path": "/home/alice/shop/src/app.py"})


def _decision(body: dict) -> str:
    return body["hookSpecificOutput"]["permissionDecision"]


def _frozen_clock(agent_app, monkeypatch) -> list[float]:
    clock = [5000.0]
    monkeypatch.setattr(agent_app.harness.services.hook_state, "_clock", lambda: clock[0])
    return clock


def _other_replica(agent_app) -> Database:
    """A second handle on the App's database, as another replica or the CLI has."""
    return Database.open(agent_app.harness.services.settings.database_url)


async def test_an_allowed_tool_call_reads_nothing_from_the_store(agent_app, monkeypatch):
    async def no_poller(_state) -> None:  # the poller's own checks are not the decision's
        return None

    monkeypatch.setattr(agent_events, "_poll", no_poller)
    _frozen_clock(agent_app, monkeypatch)
    assert _decision((await agent_app.post(READ))[1]) == "allow"  # fills the memory
    selects: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    engine = agent_app.harness.services.db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(3):
            assert _decision((await agent_app.post(READ))[1]) == "allow"
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert selects == []


def _count_selects(engine, selects: list[str]):
    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    return count


async def test_a_new_sessions_first_call_reads_nothing_and_a_revoked_one_is_denied(
    agent_app, monkeypatch
):
    """The memory holds every revoked session, not just the ones seen: a session's first tool
    call is decided without a store read, and one revoked before its first call is denied."""

    async def no_poller(_state) -> None:
        return None

    monkeypatch.setattr(agent_events, "_poll", no_poller)
    _frozen_clock(agent_app, monkeypatch)
    with _other_replica(agent_app) as other:
        assert Containment(other).revoke_session("sess-gone", "left the company", "cli")
    assert _decision((await agent_app.post(READ))[1]) == "allow"  # fills the memory
    selects: list[str] = []
    engine = agent_app.harness.services.db.engine
    count = _count_selects(engine, selects)
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        for session in ("sess-2", "sess-3"):
            first = tool_event("PreToolUse", "Read", {"file_path": "/home/alice/a"}, session)
            assert _decision((await agent_app.post(first))[1]) == "allow"
        gone = tool_event("PreToolUse", "Read", {"file_path": "/home/alice/a"}, "sess-gone")
        status, body = await agent_app.post(gone)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert status == 200 and _decision(body) == "deny"
    assert "revoked" in body["hookSpecificOutput"]["permissionDecisionReason"]
    reads = [s for s in selects if "ledger" not in s]  # the denial's append reads the head
    assert reads == []


async def test_a_revocation_by_another_replica_denies_within_the_bound(agent_app, monkeypatch):
    clock = _frozen_clock(agent_app, monkeypatch)
    assert _decision((await agent_app.post(READ))[1]) == "allow"
    with _other_replica(agent_app) as other:
        assert Containment(other).revoke_session("sess-1", "stolen laptop", "cli")
    clock[0] += hook_state.MAX_AGE_SECONDS
    status, body = await agent_app.post(READ)
    assert status == 200 and _decision(body) == "deny"
    assert "revoked" in body["hookSpecificOutput"]["permissionDecisionReason"]


async def test_a_freeze_by_another_replica_denies_within_the_bound(agent_app, monkeypatch):
    clock = _frozen_clock(agent_app, monkeypatch)
    assert _decision((await agent_app.post(READ))[1]) == "allow"
    with _other_replica(agent_app) as other:
        assert Containment(other).freeze(None, "incident 9", "cli")
    clock[0] += hook_state.MAX_AGE_SECONDS
    assert _decision((await agent_app.post(READ))[1]) == "deny"
    with _other_replica(agent_app) as other:
        assert Containment(other).unfreeze(None, "cli")
    clock[0] += hook_state.MAX_AGE_SECONDS
    assert _decision((await agent_app.post(READ))[1]) == "allow"


async def test_a_token_revoked_elsewhere_stops_authenticating(agent_app, monkeypatch):
    clock = _frozen_clock(agent_app, monkeypatch)
    assert (await agent_app.post(READ))[0] == 200
    with _other_replica(agent_app) as other:
        TokenStore(other).revoke(AGENT_TOKEN_NAME)
    clock[0] += hook_state.MAX_AGE_SECONDS
    status, body = await agent_app.post(READ)
    assert status == 401 and body == {"error": "invalid or revoked token"}


async def test_a_revocation_through_this_process_denies_the_very_next_call(agent_app, monkeypatch):
    _frozen_clock(agent_app, monkeypatch)  # memory never goes stale: only invalidation helps
    assert _decision((await agent_app.post(READ))[1]) == "allow"
    response = await agent_app.client.post(
        "/api/v1/sessions/sess-1/revoke", json={"reason": "x"}, headers=agent_app.admin
    )
    assert response.status == 200
    assert _decision((await agent_app.post(READ))[1]) == "deny"


def test_the_fingerprint_moves_on_every_containment_and_token_change(database):
    seen = {hook_fingerprint(database)}
    containment, tokens = Containment(database), TokenStore(database)
    changes = [
        lambda: containment.freeze("acme/shop", "r", "a"),
        lambda: containment.unfreeze("acme/shop", "a"),
        lambda: containment.revoke_session("s-1", "r", "a"),
        lambda: tokens.create("t", "auditor"),  # creation need not move it (not cached)...
        lambda: tokens.revoke("t"),  # ...revocation must
    ]
    moved = []
    for change in changes:
        change()
        current = hook_fingerprint(database)
        moved.append(current not in seen)
        seen.add(current)
    assert moved == [True, True, True, False, True]


def test_a_check_that_raced_an_invalidation_does_not_trust_stale_reads(database, monkeypatch):
    state = HookState(database, clock=lambda: 1.0)
    original = hook_state.hook_fingerprint

    def invalidated_while_reading(db):
        state.invalidate()  # a revocation committed while the check was reading
        return original(db)

    monkeypatch.setattr(hook_state, "hook_fingerprint", invalidated_while_reading)
    state.check()
    assert not state.fresh()
