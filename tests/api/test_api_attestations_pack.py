"""``GET /api/v1/attestations/{sha}`` and ``GET /api/v1/pack`` through the aiohttp API."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from github_app.evidence.dsse import IN_TOTO_PAYLOAD_TYPE, verify_envelope
from github_app.evidence.pack import verify_pack
from tests.api.conftest import Tokens
from tests.api.merges import MERGE_SHA, seed_merges
from tests.support.databases import drop_append_only_guards


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def merged(services, now):
    seed_merges(services.ledger, now)
    return services


def statement_of(envelope: dict) -> dict:
    return json.loads(base64.b64decode(envelope["payload"]))


async def test_attestation_of_a_countersigned_merge_verifies_offline(api, merged, tokens: Tokens):
    response = await api.get(f"/api/v1/attestations/{MERGE_SHA[1].upper()}", headers=tokens.auditor)
    assert response.status == 200
    envelope = await response.json()
    public_key = merged.ledger.signer.public_key_pem()
    check = verify_envelope(envelope, public_key, IN_TOTO_PAYLOAD_TYPE)
    assert check.ok, check.reason
    statement = statement_of(envelope)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/verification_summary/v1"
    [subject] = statement["subject"]
    assert subject["digest"] == {"gitCommit": MERGE_SHA[1]}
    assert subject["name"] == "git+https://github.com/acme/app@refs/heads/main"
    assert subject["annotations"] == {"sourceRefs": ["refs/heads/main"]}
    predicate = statement["predicate"]
    assert predicate["resourceUri"] == "git+https://github.com/acme/app"
    assert predicate["verificationResult"] == "PASSED"
    assert predicate["verifiedLevels"] == [
        "SLSA_SOURCE_LEVEL_1",
        "ORG_SOURCE_COUNTERSIGNED",
        "ORG_SOURCE_TWO_PARTY_REVIEW",
    ]
    countersign = predicate["countersign"]
    assert countersign["approvers"] == ["bob", "erin"]
    assert countersign["approvedSha"] == "a" * 39 + "1"
    assert countersign["policySha"] == "e" * 64
    assert countersign["ledger"]["seq"] == 2
    assert "SLSA_SOURCE_LEVEL_0..3" in countersign["sourceTrack"]["note"]


async def test_levels_are_what_was_verified(api, merged, tokens: Tokens):
    async def levels(sha: str) -> tuple[str, list[str]]:
        response = await api.get(f"/api/v1/attestations/{sha}", headers=tokens.auditor)
        predicate = statement_of(await response.json())["predicate"]
        return predicate["verificationResult"], predicate["verifiedLevels"]

    # An agent change with one human approver: countersigned, not two-party (the agent is not
    # a trusted person).
    assert await levels(MERGE_SHA[2]) == (
        "PASSED",
        ["SLSA_SOURCE_LEVEL_1", "ORG_SOURCE_COUNTERSIGNED"],
    )
    assert await levels(MERGE_SHA[3]) == ("FAILED", ["SLSA_SOURCE_LEVEL_1"])  # merged blocked
    backfilled = await api.get(f"/api/v1/attestations/{MERGE_SHA[9]}", headers=tokens.auditor)
    assert statement_of(await backfilled.json())["predicate"]["countersign"]["backfilled"]


async def test_attestation_errors(api, merged, tokens: Tokens):
    missing = await api.get(f"/api/v1/attestations/{'f' * 40}", headers=tokens.auditor)
    assert missing.status == 404
    assert "no merged change with merge commit" in (await missing.json())["error"]
    bad = await api.get("/api/v1/attestations/not-a-sha", headers=tokens.auditor)
    assert bad.status == 400 and "40-character" in (await bad.json())["error"]
    anonymous = await api.get(f"/api/v1/attestations/{MERGE_SHA[1]}")
    assert anonymous.status == 401


async def pack_of(api, tokens: Tokens, now: datetime, **params: str) -> bytes:
    query = {
        "since": (now - timedelta(days=30)).isoformat(),
        "until": (now - timedelta(days=5)).isoformat(),
        "n": "2",
        "seed": "audit-2026",
        **params,
    }
    response = await api.get("/api/v1/pack", params=query, headers=tokens.auditor)
    assert response.status == 200, await response.text()
    assert response.content_type == "application/zip"
    return await response.read()


async def test_pack_holds_the_period_and_verifies_offline(api, merged, tokens: Tokens, now):
    body = await pack_of(api, tokens, now)
    public_key = merged.ledger.signer.public_key_pem()
    check = verify_pack(body, public_key)
    assert check.ok, check.problem
    members = zipfile.ZipFile(io.BytesIO(body))
    names = set(members.namelist())
    assert {
        "README.txt",
        "summary.html",
        "population.csv",
        "population.json",
        "sample.json",
        "exceptions.json",
        "ledger/entries.jsonl",
        "ledger/segment.json",
        "public-key.pem",
        "policies/index.json",
        "manifest.json",
        "manifest.sig",
    } <= names
    population = json.loads(members.read("population.json"))
    assert [row["seq"] for row in population] == [4, 5, 7]  # the period's changes only
    sample = json.loads(members.read("sample.json"))
    assert (sample["seed"], sample["n"], len(sample["items"])) == ("audit-2026", 2, 2)
    assert {item["type"] for item in json.loads(members.read("exceptions.json"))} >= {
        "unapproved_merge",
        "direct_push",
    }
    # The entries run from the checkpoint before the period (size 3) to the one after it (9).
    segment = json.loads(members.read("ledger/segment.json"))
    assert (segment["start"]["size"], segment["end"]["size"]) == (3, 9)
    seqs = [json.loads(line)["seq"] for line in members.read("ledger/entries.jsonl").splitlines()]
    assert seqs == list(range(4, 10))
    assert {f"attestations/{MERGE_SHA[n]}.json" for n in (2, 3)} <= names
    assert json.loads(members.read("policies/index.json")) == [
        {"policy_sha": "e" * 64, "included": False}
    ]
    html = members.read("summary.html").decode()
    assert "<script" not in html and "http" not in html.split("</style>")[1]
    header = members.read("population.csv").decode().splitlines()[0]
    assert header.startswith("change_id,repo,pr,title,agent,session_id,launched_by,author")
    # Same period, same seed: the same pack apart from its generation time.
    again = zipfile.ZipFile(io.BytesIO(await pack_of(api, tokens, now)))
    assert again.read("sample.json") == members.read("sample.json")


def rezip(body: bytes, name: str, change) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(body))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, change(data) if info.filename == name else data)
    return out.getvalue()


def flip_one_byte(data: bytes) -> bytes:
    index = len(data) // 2
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


@pytest.mark.parametrize(
    ("member", "problem"),
    [
        ("population.csv", "population.csv: SHA-256 differs from the manifest (altered)"),
        ("ledger/entries.jsonl", "ledger/entries.jsonl: SHA-256 differs"),
        ("manifest.json", "manifest.json is not the manifest that manifest.sig signs"),
        ("manifest.sig", "manifest signature:"),
    ],
)
async def test_one_changed_byte_fails_the_pack(api, merged, tokens, now, member, problem):
    body = await pack_of(api, tokens, now)
    check = verify_pack(rezip(body, member, flip_one_byte), merged.ledger.signer.public_key_pem())
    assert not check.ok
    assert problem in check.problem


async def test_a_pack_of_an_altered_ledger_names_the_entry(api, merged, tokens, now):
    drop_append_only_guards(merged.db)
    with merged.db.transaction() as conn:
        conn.execute(sa.text("UPDATE ledger_entries SET actor = 'nobody' WHERE seq = 5"))
    body = await pack_of(api, tokens, now)
    check = verify_pack(body, merged.ledger.signer.public_key_pem())
    assert not check.ok and check.first_broken_seq == 5
    assert check.problem == "ledger: entry 5: hash does not match its fields"


async def test_another_key_does_not_verify_the_pack(api, merged, tokens, now, tmp_path):
    from github_app.ledger import load_or_create_signing_key

    other = load_or_create_signing_key(tmp_path / "other.key").public_key_pem()
    check = verify_pack(await pack_of(api, tokens, now), other)
    assert not check.ok and "not by the trusted key" in check.problem


async def test_pack_parameters_are_checked(api, merged, tokens: Tokens, now):
    response = await api.get("/api/v1/pack", params={"since": "2026-01-01"}, headers=tokens.auditor)
    assert response.status == 400 and "until" in (await response.json())["error"]
    response = await api.get(
        "/api/v1/pack",
        params={"since": "2026-02-01", "until": "2026-01-01"},
        headers=tokens.auditor,
    )
    assert response.status == 400 and "before until" in (await response.json())["error"]
    assert (await api.get("/api/v1/pack", params={"since": "x"})).status == 401
