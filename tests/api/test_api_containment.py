"""Admin containment: freeze, unfreeze and session revocation change state and write entries."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from github_app.api.freeze_revoke import ContainmentEvent
from github_app.api.routes import ON_CONTAINMENT_CHANGE
from tests.api.conftest import Tokens, build_app


def kinds_and_actors(services) -> list[tuple[str, str | None, str | None]]:
    return [(e.kind, e.actor, e.repo) for e in services.ledger.entries()]


async def test_repo_freeze_and_unfreeze_are_ledger_entries(api, services, tokens) -> None:
    response = await api.post(
        "/api/v1/freeze", json={"repo": "acme/app", "reason": "incident"}, headers=tokens.admin
    )
    body = await response.json()
    assert response.status == 200, body
    assert body["changed"] is True
    assert body["entry"]["kind"] == "freeze"
    assert body["entry"]["data"] == {"reason": "incident", "scope": "acme/app"}
    assert services.containment.active_freeze("acme/app") is not None
    assert services.containment.active_freeze("acme/other") is None

    lifted = await api.delete("/api/v1/freeze?repo=acme/app", headers=tokens.admin)
    assert (await lifted.json())["changed"] is True
    assert services.containment.active_freeze("acme/app") is None
    assert kinds_and_actors(services) == [
        ("freeze", "secops", "acme/app"),
        ("unfreeze", "secops", "acme/app"),
    ]


async def test_org_freeze_applies_everywhere_and_is_idempotent(api, services, tokens) -> None:
    first = await api.post("/api/v1/freeze", json={"reason": "stop"}, headers=tokens.admin)
    again = await api.post("/api/v1/freeze", json={"reason": "stop"}, headers=tokens.admin)
    assert (await first.json())["changed"] is True
    repeated = await again.json()
    assert repeated["changed"] is False and repeated["entry"] is None
    assert services.containment.active_freeze("any/repo") is not None
    assert kinds_and_actors(services) == [("freeze", "secops", None)]
    not_frozen = await api.delete("/api/v1/freeze?repo=acme/app", headers=tokens.admin)
    assert (await not_frozen.json())["changed"] is False


async def test_revoke_session_records_attribution(api, seeded, tokens: Tokens) -> None:
    response = await api.post(
        "/api/v1/sessions/sess-B/revoke", json={"reason": "leaked key"}, headers=tokens.admin
    )
    body = await response.json()
    assert response.status == 200, body
    entry = body["entry"]
    assert (entry["kind"], entry["session_id"], entry["actor"]) == (
        "session_revoked",
        "sess-B",
        "secops",
    )
    assert (entry["agent"], entry["launched_by"]) == ("copilot", "carol")
    assert seeded.containment.is_revoked("sess-B")
    timeline = await api.get("/api/v1/sessions/sess-B", headers=tokens.auditor)
    assert (await timeline.json())["attribution"]["revoked"] is True


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": "x", "repo": "not a repo"}, "repo"),
        ({"reason": "x", "extra": 1}, "extra"),
        ({"reason": "a\x00b"}, "reason"),
        ([1, 2], "body"),
    ],
)
async def test_bad_freeze_bodies_are_400(api, services, tokens, body, message) -> None:
    response = await api.post("/api/v1/freeze", json=body, headers=tokens.admin)
    assert response.status == 400
    assert message in (await response.json())["error"]
    assert list(services.ledger.entries()) == []


async def test_non_json_body_is_400(api, tokens: Tokens) -> None:
    response = await api.post("/api/v1/freeze", data=b"\xff{not json", headers=tokens.admin)
    assert response.status == 400


async def test_containment_hook_runs_after_a_change(aiohttp_client, services, tokens) -> None:
    seen: list[ContainmentEvent] = []
    called = asyncio.Event()

    async def hook(event: ContainmentEvent) -> None:
        seen.append(event)
        called.set()

    app: web.Application = build_app(services)
    app[ON_CONTAINMENT_CHANGE] = hook
    client = await aiohttp_client(app)
    await client.post(
        "/api/v1/freeze", json={"repo": "acme/app", "reason": "x"}, headers=tokens.admin
    )
    await asyncio.wait_for(called.wait(), timeout=5)
    assert [(e.action, e.repo, e.actor) for e in seen] == [("freeze", "acme/app", "secops")]


class _FailingLedger:
    """A ledger whose append fails after the state change was made in the same transaction."""

    def __init__(self, real) -> None:
        self._real = real

    def entries(self, **filters):
        return self._real.entries(**filters)

    def append(self, entry, *, conn=None):
        self._real.append(entry, conn=conn)  # the entry is written, then the unit of work fails
        raise RuntimeError("disk full")

    def maybe_checkpoint(self):
        return self._real.maybe_checkpoint()


@pytest.mark.parametrize("action", ["freeze", "unfreeze", "revoke"])
def test_a_failure_between_state_and_evidence_leaves_neither(services, action) -> None:
    """State and its ledger entry commit together: a failed append rolls the state back too."""
    from dataclasses import replace

    from github_app.api import freeze_revoke

    if action == "unfreeze":
        freeze_revoke.freeze(services, "acme/app", "incident", "secops")
    before = [e.kind for e in services.ledger.entries()]
    broken = replace(services, ledger=_FailingLedger(services.ledger))
    run = {
        "freeze": lambda: freeze_revoke.freeze(broken, "acme/app", "incident", "secops"),
        "unfreeze": lambda: freeze_revoke.unfreeze(broken, "acme/app", "secops"),
        "revoke": lambda: freeze_revoke.revoke_session(broken, "sess-9", "leak", "secops"),
    }[action]
    with pytest.raises(RuntimeError, match="disk full"):
        run()
    assert [e.kind for e in services.ledger.entries()] == before
    frozen = services.containment.active_freeze("acme/app") is not None
    assert frozen is (action == "unfreeze"), "the state change was rolled back with the entry"
    assert not services.containment.is_revoked("sess-9")
