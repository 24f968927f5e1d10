"""``GET /api/v1/export``: streamed, complete, carrying the checkpoint, verifiable offline."""

from __future__ import annotations

import csv
import io
import json

from github_app.api import export
from github_app.evidence.offline import verify_export
from github_app.ledger import NewEntry
from tests.api.conftest import Tokens
from tests.api.scenario import TOTAL
from tests.support.evidence_reading import record_from_csv


def split_jsonl(text: str) -> tuple[list[dict], dict | None]:
    lines = [json.loads(line) for line in text.splitlines()]
    assert set(lines[-1]) == {"checkpoint"}
    return lines[:-1], lines[-1]["checkpoint"]


def split_csv(text: str) -> tuple[list[dict], dict | None]:
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows[-1]["kind"] == "checkpoint" and rows[-1]["seq"] == ""
    return [record_from_csv(row) for row in rows[:-1]], json.loads(rows[-1]["data"])


async def test_jsonl_export_is_complete_and_verifies_offline(api, seeded, tokens: Tokens) -> None:
    response = await api.get("/api/v1/export?format=jsonl", headers=tokens.auditor)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/x-ndjson")
    records, checkpoint = split_jsonl(await response.text())
    assert [r["seq"] for r in records] == list(range(1, TOTAL + 1))
    assert checkpoint["size"] == TOTAL, "the export signed a checkpoint over the uncovered entry"
    assert json.loads(response.headers[export.CHECKPOINT_HEADER]) == checkpoint

    signer_key = seeded.ledger.latest_checkpoint().public_key
    result = verify_export(records, checkpoint, trusted_public_key_hex=signer_key)
    assert result.ok, result.problem
    assert (result.entries, result.checkpoint_size) == (TOTAL, TOTAL)


async def test_csv_export_carries_checkpoint_and_verifies(api, seeded, tokens: Tokens) -> None:
    response = await api.get("/api/v1/export?format=csv", headers=tokens.auditor)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    records, checkpoint = split_csv(await response.text())
    assert len(records) == TOTAL
    assert verify_export(records, checkpoint).ok


async def test_tampered_export_names_the_broken_entry(api, seeded, tokens: Tokens) -> None:
    response = await api.get("/api/v1/export?format=jsonl", headers=tokens.auditor)
    records, checkpoint = split_jsonl(await response.text())
    records[6]["data"]["approvers"] = ["someone-else"]
    result = verify_export(records, checkpoint)
    assert not result.ok
    assert result.first_broken_seq == 7


async def test_export_streams_in_batches(api, seeded, tokens, monkeypatch) -> None:
    # Many batches of two entries each: the reader never asks for the whole ledger at once.
    seeded.ledger.append_many(
        NewEntry(kind="alert", occurred_at=seeded.ledger.head().occurred_at, data={"n": n})
        for n in range(25)
    )
    requested: list[int | None] = []
    original = seeded.ledger.entries

    def spy(**kwargs):
        requested.append(kwargs.get("limit"))
        return original(**kwargs)

    monkeypatch.setattr(seeded.ledger, "entries", spy)
    original_init = export.ExportCursor.__init__

    def small_batches(self, ledger, fmt, *, batch_size=export.DEFAULT_BATCH):
        original_init(self, ledger, fmt, batch_size=2)

    monkeypatch.setattr(export.ExportCursor, "__init__", small_batches)
    response = await api.get("/api/v1/export?format=jsonl", headers=tokens.auditor)
    records, _ = split_jsonl(await response.text())
    assert len(records) == TOTAL + 25
    assert len(requested) == (TOTAL + 25 + 1) // 2
    assert all(limit is not None and limit <= 2 for limit in requested)


async def test_empty_ledger_exports_a_null_checkpoint(api, tokens: Tokens) -> None:
    response = await api.get("/api/v1/export", headers=tokens.auditor)
    assert response.status == 200
    assert await response.text() == '{"checkpoint":null}\n'


async def test_unknown_format_is_400(api, tokens: Tokens) -> None:
    response = await api.get("/api/v1/export?format=xml", headers=tokens.auditor)
    assert response.status == 400
    assert (await response.json())["error"].startswith("format")
