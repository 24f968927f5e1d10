"""Authentication, roles and the access log of ``/api/v1``, through the real aiohttp app."""

from __future__ import annotations

import sqlalchemy as sa
from openapi_spec_validator import validate

from github_app.api import access as auth
from github_app.api.routes import openapi_document
from github_app.store.tables import access_log
from tests.api.conftest import Tokens, bearer
from tests.api.scenario import ApiServices


def access_rows(services: ApiServices) -> list[dict]:
    """Every access-log row, oldest first."""
    with services.db.connect() as conn:
        query = sa.select(access_log).order_by(access_log.c.id)
        return [dict(row) for row in conn.execute(query).mappings()]


async def test_no_token_is_401_with_a_bearer_challenge(api, services) -> None:
    response = await api.get("/api/v1/changes")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "token" in (await response.json())["error"]


async def test_unknown_malformed_and_revoked_tokens_are_401(api, tokens: Tokens) -> None:
    for headers in (
        bearer("cs_" + "A" * 43),
        bearer("not-a-token"),
        {"Authorization": "Basic dXNlcjpwYXNz"},
        tokens.revoked,
    ):
        response = await api.get("/api/v1/evidence", headers=headers)
        assert response.status == 401, headers
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"] or (
            headers["Authorization"].startswith("Basic")
        )


async def test_auditor_reads_but_may_not_contain(api, tokens: Tokens, services) -> None:
    assert (await api.get("/api/v1/changes", headers=tokens.auditor)).status == 200
    freeze = await api.post("/api/v1/freeze", json={"reason": "x"}, headers=tokens.auditor)
    assert freeze.status == 403
    assert "admin" in (await freeze.json())["error"]
    revoke = await api.post(
        "/api/v1/sessions/s1/revoke", json={"reason": "x"}, headers=tokens.auditor
    )
    assert revoke.status == 403
    assert services.containment.active_freeze("acme/app") is None
    assert not services.containment.is_revoked("s1")


async def test_admin_may_read_too(api, tokens: Tokens) -> None:
    assert (await api.get("/api/v1/evidence", headers=tokens.admin)).status == 200


async def test_openapi_document_needs_no_token(api) -> None:
    response = await api.get("/api/v1/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) >= {
        "/api/v1/changes",
        "/api/v1/changes/sample",
        "/api/v1/freeze",
        "/api/v1/sessions/{session_id}/revoke",
    }


async def test_unknown_api_path_without_token_is_401_not_404(api, tokens: Tokens) -> None:
    assert (await api.get("/api/v1/nope")).status == 401
    assert (await api.get("/api/v1/nope", headers=tokens.auditor)).status == 404
    wrong_method = await api.put("/api/v1/changes", headers=tokens.auditor)
    assert wrong_method.status == 405
    assert "GET" in wrong_method.headers["Allow"]
    assert "error" in await wrong_method.json()


def test_openapi_document_is_valid() -> None:
    validate(openapi_document())


async def test_every_call_is_written_to_the_access_log(api, tokens: Tokens, services) -> None:
    await api.get("/api/v1/changes?repo=acme/app&limit=5", headers=tokens.auditor)
    await api.post("/api/v1/freeze", json={"reason": "x"}, headers=tokens.auditor)
    await api.get("/api/v1/evidence", headers=tokens.revoked)
    await api.get("/api/v1/evidence")

    rows = access_rows(services)
    assert [(r["token_name"], r["role"], r["method"], r["path"], r["status"]) for r in rows] == [
        ("audit-firm", "auditor", "GET", "/api/v1/changes", 200),
        ("audit-firm", "auditor", "POST", "/api/v1/freeze", 403),
        (None, None, "GET", "/api/v1/evidence", 401),
        (None, None, "GET", "/api/v1/evidence", 401),
    ]
    assert rows[0]["query"] == "repo=acme/app&limit=5"
    assert rows[0]["token_id"] is not None
    assert all(row["at"] is not None and row["remote_addr"] for row in rows)


async def test_access_log_failure_refuses_the_answer(api, tokens: Tokens, monkeypatch) -> None:
    def broken(*_args) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(auth, "_insert_access_row", broken)
    response = await api.get("/api/v1/changes", headers=tokens.auditor)
    assert response.status == 503
    assert "access log" in (await response.json())["error"]
