"""``countersign evidence attest|pack``, ``verify --attestation|--pack|--witness-dir``, narrow
tables, ``freeze status`` and read-only opening, through click's CliRunner on both backends."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from github_app.cli import main
from github_app.cli.containment_commands import freeze_command
from github_app.cli.evidence_commands import evidence
from github_app.evidence.witness import witness_document, witness_path
from tests.api.merges import MERGE_SHA, seed_merges
from tests.evidence.conftest import Cli


def merged(cli: Cli) -> Cli:
    seed_merges(cli.ledger, datetime.now(UTC))
    return cli


def public_key(cli: Cli, tmp_path: Path) -> Path:
    path = tmp_path / "ledger.pub"
    path.write_text(cli.run(evidence, "public-key").stdout)
    return path


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_attest_then_verify_offline_and_a_changed_byte_fails(cli: Cli, tmp_path: Path) -> None:
    merged(cli)
    key = public_key(cli, tmp_path)
    out = tmp_path / "att.json"
    cli.run(evidence, "attest", MERGE_SHA[1], "-o", str(out))
    ok = cli.run(evidence, "verify", "--attestation", str(out), "--public-key", str(key))
    assert f"subject: git+https://github.com/acme/app@refs/heads/main gitCommit={MERGE_SHA[1]}" in (
        ok.stdout
    )
    assert ok.stdout.strip().endswith("is valid")
    envelope = json.loads(out.read_text())
    payload = bytearray(base64.b64decode(envelope["payload"]))
    payload[payload.index(b"bob")] = ord("m")  # "bob" -> "mob" among the approvers
    envelope["payload"] = base64.b64encode(bytes(payload)).decode()
    out.write_text(json.dumps(envelope))
    failed = cli.run(
        evidence, "verify", "--attestation", str(out), "--public-key", str(key), code=1
    )
    assert failed.stdout.strip().splitlines()[-1] == (
        f"FAILED: signature by key {cli.ledger.signer.key_id} does not match the payload (altered)"
    )


def test_attest_refuses_unknown_and_malformed_shas(cli: Cli) -> None:
    merged(cli)
    unknown = cli.run(evidence, "attest", "f" * 40, code=1)
    assert "no merged change with merge commit" in unknown.output
    bad = cli.run(evidence, "attest", "xyz", code=1)
    assert "40-character" in bad.output


def test_pack_then_verify_offline_and_tampering_fails(cli: Cli, tmp_path: Path) -> None:
    merged(cli)
    key = public_key(cli, tmp_path)
    now = datetime.now(UTC)
    since, until = (now - timedelta(days=30)).date(), (now - timedelta(days=5)).date()
    out = tmp_path / "pack.zip"
    made = cli.run(
        evidence,
        "pack",
        "--since",
        str(since),
        "--until",
        str(until),
        "--seed",
        "s1",
        "-o",
        str(out),
    )
    assert "written to" in made.stdout
    ok = cli.run(evidence, "verify", "--pack", str(out), "--public-key", str(key))
    assert ok.stdout.strip().endswith("OK: the audit pack verifies")
    assert "ok: ledger: entries 4-9 verify against the checkpoint of size 9" in ok.stdout
    population = json.loads(zipfile.ZipFile(out).read("population.json"))
    assert [row["seq"] for row in population] == [4, 5, 7]
    # Change one byte of one member (re-zipped, as a tamperer would).
    source = zipfile.ZipFile(io.BytesIO(out.read_bytes()))
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "exceptions.json":
                data = data.replace(b"mallory", b"mallorz")
            target.writestr(info, data)
    failed = cli.run(evidence, "verify", "--pack", str(tampered), "--public-key", str(key), code=1)
    assert failed.stdout.strip().splitlines()[-1] == (
        "FAILED: exceptions.json: SHA-256 differs from the manifest (altered)"
    )
    flip_byte(out, len(out.read_bytes()) // 2)
    assert (
        "FAILED:"
        in cli.run(evidence, "verify", "--pack", str(out), "--public-key", str(key), code=1).stdout
    )


def test_pack_needs_an_ordered_period(cli: Cli) -> None:
    result = cli.run(
        evidence, "pack", "--since", "2026-02-01", "--until", "2026-01-01", "-o", "x.zip", code=2
    )
    assert "must be before --until" in result.output
    assert not Path("x.zip").exists()


def test_tables_fit_100_columns_unless_wide(cli: Cli) -> None:
    merged(cli)
    narrow = cli.run(evidence, "changes").stdout
    assert max(len(line) for line in narrow.splitlines()) <= 100
    assert "approved*" in narrow  # the backfilled change is marked
    wide = cli.run(evidence, "changes", "--wide").stdout
    assert max(len(line) for line in wide.splitlines()) > 100
    assert MERGE_SHA[1] in wide
    for command in (("exceptions",), ("session", "sess-1"), ("sample", "--seed", "x")):
        text = cli.run(evidence, *command).stdout
        assert max(len(line) for line in text.splitlines()) <= 100, command


def test_freeze_status(cli: Cli) -> None:
    assert "not frozen" in cli.run(freeze_command, "status").stdout
    cli.run(freeze_command, "on", "--repo", "acme/app", "--reason", "incident 7")
    status = cli.run(freeze_command, "status").stdout
    assert "acme/app" in status and "incident 7" in status
    body = json.loads(cli.run(freeze_command, "status", "--json").stdout)
    assert body["frozen"] and body["freezes"][0]["repo"] == "acme/app"


def test_read_only_commands_never_create_a_store_or_key(tmp_path: Path, monkeypatch) -> None:
    store, key = tmp_path / "none" / "countersign.db", tmp_path / "none" / "signing.key"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{store}")
    monkeypatch.setenv("COUNTERSIGN_SIGNING_KEY_PATH", str(key))
    for variable in ("GITHUB_APP_ID", "COUNTERSIGN_URL", "COUNTERSIGN_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    runner = CliRunner()
    for args in (
        ["evidence", "changes"],
        ["evidence", "verify"],
        ["evidence", "public-key"],
        ["evidence", "attest", "a" * 40],
        ["freeze", "status"],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 3, (args, result.output)  # exit status 3: no store
        assert "no signing key at" in result.output or "no store at" in result.output
    assert not store.exists() and not key.exists() and not store.parent.exists()


def test_verify_compares_checkpoints_with_a_witness_clone(cli: Cli, tmp_path: Path) -> None:
    merged(cli)
    clone = tmp_path / "countersign-ledger"
    (clone / "checkpoints").mkdir(parents=True)
    checkpoints = cli.ledger.checkpoints()
    for checkpoint in checkpoints:
        (clone / witness_path(checkpoint.size)).write_text(witness_document(checkpoint))
    ok = cli.run(evidence, "verify", "--witness-dir", str(clone))
    assert "witness: all 2 checkpoints match" in ok.stdout
    first = clone / witness_path(checkpoints[0].size)
    first.write_text(first.read_text().replace(checkpoints[0].root_hash, "0" * 64))
    (clone / witness_path(checkpoints[1].size)).unlink()
    failed = cli.run(evidence, "verify", "--witness-dir", str(clone), code=1)
    assert "WITNESS: checkpoint 3: differs from the witnessed one (root_hash)" in failed.stdout
    assert "WITNESS: checkpoint 9: not witnessed" in failed.stdout
