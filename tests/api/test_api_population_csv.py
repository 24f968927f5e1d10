"""``GET /api/v1/changes?format=csv``: the auditor's population CSV, with period and status."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import sqlalchemy as sa

from github_app.evidence.population import POPULATION_CSV_COLUMNS
from github_app.store.tables import access_log
from tests.api.conftest import Tokens


async def population(api, tokens: Tokens, query: str = "") -> list[dict[str, str]]:
    response = await api.get(f"/api/v1/changes?format=csv{query}", headers=tokens.auditor)
    assert response.status == 200, await response.text()
    assert response.content_type == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    reader = csv.DictReader(io.StringIO(await response.text()))
    assert tuple(reader.fieldnames or ()) == POPULATION_CSV_COLUMNS
    return list(reader)


async def test_one_row_per_change_not_the_raw_ledger(api, seeded, tokens: Tokens) -> None:
    rows = await population(api, tokens)
    assert [row["seq"] for row in rows] == ["5", "7", "9", "11", "14"]
    assert rows[0]["approvers"] == "bob" and rows[0]["backfilled"] == "false"


async def test_period_and_status_filters(api, seeded, tokens: Tokens, now) -> None:
    since = (now - timedelta(hours=25)).isoformat().replace("+00:00", "Z")
    recent = await population(api, tokens, f"&since={since}")
    assert [row["seq"] for row in recent] == ["11", "14"]
    until = await population(api, tokens, f"&until={since}")
    assert [row["seq"] for row in until] == ["5", "7", "9"]
    emergencies = await population(api, tokens, "&status=emergency&repo=acme/api")
    assert [row["seq"] for row in emergencies] == ["9", "11"]
    page = await api.get("/api/v1/changes?status=violation", headers=tokens.auditor)
    assert [item["seq"] for item in (await page.json())["items"]] == [14]


async def test_bad_format_or_status_is_a_clear_400(api, seeded, tokens: Tokens) -> None:
    for query, message in [("format=xlsx", "format:"), ("status=fine", "status:")]:
        response = await api.get(f"/api/v1/changes?{query}", headers=tokens.auditor)
        assert response.status == 400
        assert (await response.json())["error"].startswith(message)


async def test_the_csv_download_is_access_logged(api, seeded, services, tokens: Tokens) -> None:
    await population(api, tokens, "&repo=acme/app")
    with services.db.connect() as conn:
        row = conn.execute(sa.select(access_log).order_by(access_log.c.id.desc())).first()
    assert (row.path, row.query, row.token_name) == (
        "/api/v1/changes",
        "format=csv&repo=acme/app",
        "audit-firm",
    )
