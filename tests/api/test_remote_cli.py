"""The CLI against a remote Countersign: the real API on a localhost port, real tokens."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from github_app.cli import main
from github_app.evidence.pack import verify_pack
from tests.api.conftest import Tokens, build_app
from tests.api.merges import MERGE_SHA, seed_merges
from tests.api.test_api_fuzz import served


@pytest.fixture
def remote(services, tokens: Tokens, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The API served over the scenario ledger; no local store is configured."""
    seed_merges(services.ledger, datetime.now(UTC))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'absent.db'}")
    monkeypatch.setenv("COUNTERSIGN_SIGNING_KEY_PATH", str(tmp_path / "absent.key"))
    monkeypatch.delenv("COUNTERSIGN_URL", raising=False)
    with served(build_app(services)) as base_url:
        yield base_url
    assert not (tmp_path / "absent.db").exists() and not (tmp_path / "absent.key").exists()


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].split(" ", 1)[1]


def run(args: list[str], token: str, code: int = 0):
    result = CliRunner().invoke(main, args, env={"COUNTERSIGN_TOKEN": token})
    assert result.exit_code == code, result.output
    return result


def test_read_only_evidence_commands_run_remotely(remote: str, tokens: Tokens, services) -> None:
    auditor = token_of(tokens.auditor)
    url = ["--url", remote]
    changes = json.loads(run(["evidence", "changes", "--json", *url], auditor).stdout)
    assert [row["seq"] for row in changes] == [2, 4, 5, 7, 8, 10]
    assert [row["backfilled"] for row in changes] == [False] * 4 + [True, False]
    table = run(["evidence", "changes", *url], auditor).stdout
    assert max(len(line) for line in table.splitlines()) <= 100 and "6 change(s)" in table
    sample = json.loads(
        run(["evidence", "sample", "--n", "2", "--seed", "r", "--json", *url], auditor).stdout
    )
    assert (sample["seed"], len(sample["items"])) == ("r", 2)
    exceptions = json.loads(run(["evidence", "exceptions", "--json", *url], auditor).stdout)
    assert {item["type"] for item in exceptions} >= {"unapproved_merge", "direct_push"}
    session = json.loads(run(["evidence", "session", "sess-1", "--json", *url], auditor).stdout)
    assert [item["seq"] for item in session["items"]] == [1, 2, 3]
    run(["evidence", "export", "--format", "jsonl", "-o", "ledger.jsonl", *url], auditor)
    lines = Path("ledger.jsonl").read_text().splitlines()
    # The export signs a checkpoint over every entry (the last one was not yet covered).
    assert len(lines) == 11 and json.loads(lines[-1])["checkpoint"]["size"] == 10
    assert run(["evidence", "verify", *url], auditor).stdout.startswith("OK: 10 entries")
    key = run(["evidence", "public-key", *url], auditor).stdout
    assert key == services.ledger.signer.public_key_pem()
    Path("key.pem").write_text(key)
    run(["evidence", "attest", MERGE_SHA[2], "-o", "att.json", *url], auditor)
    verified = run(
        ["evidence", "verify", "--attestation", "att.json", "--public-key", "key.pem"], auditor
    )
    assert "OK: signature by key" in verified.stdout
    now = datetime.now(UTC)
    since, until = (now - timedelta(days=30)).isoformat(), (now - timedelta(days=5)).isoformat()
    run(["evidence", "pack", "--since", since, "--until", until, "-o", "p.zip", *url], auditor)
    assert verify_pack(Path("p.zip").read_bytes(), key).ok
    assert "population.csv" in zipfile.ZipFile(io.BytesIO(Path("p.zip").read_bytes())).namelist()


def test_containment_runs_remotely_with_an_admin_token(remote: str, tokens: Tokens) -> None:
    admin, auditor = token_of(tokens.admin), token_of(tokens.auditor)
    url = ["--url", remote]
    refused = run(["freeze", "on", "--repo", "acme/app", *url], auditor, code=1)
    assert "HTTP 403: this call needs the admin role" in refused.output
    done = run(["freeze", "on", "--repo", "acme/app", "--reason", "incident", *url], admin)
    assert done.stdout.startswith("frozen: acme/app (ledger entry")
    status = json.loads(run(["freeze", "status", "--json", *url], auditor).stdout)
    assert status == {
        "frozen": True,
        "freezes": [{"repo": "acme/app", "reason": "incident", "actor": "secops"}],
    }
    assert "unfrozen: acme/app" in run(["freeze", "off", "--repo", "acme/app", *url], admin).stdout
    assert "not frozen" in run(["freeze", "status", *url], auditor).stdout
    revoked = run(["session", "revoke", "sess-2", "--reason", "leak", *url], admin)
    assert revoked.stdout.startswith("revoked session sess-2")


def test_remote_errors_are_one_line(remote: str, tokens: Tokens) -> None:
    missing = CliRunner().invoke(main, ["evidence", "changes", "--url", remote], env={})
    assert missing.exit_code == 2 and "COUNTERSIGN_TOKEN" in missing.output
    bad = run(["evidence", "changes", "--url", remote], "cs_not-a-token", code=1)
    assert bad.output.strip().endswith("HTTP 401: invalid or revoked token")
    unknown = run(["evidence", "attest", "f" * 40, "--url", remote], token_of(tokens.auditor), 1)
    assert "HTTP 404: no merged change with merge commit" in unknown.output
    down = run(["evidence", "changes", "--url", "http://127.0.0.1:9"], "cs_x", code=1)
    assert "cannot reach http://127.0.0.1:9/api/v1" in down.output
