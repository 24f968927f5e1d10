"""``countersign evidence …``, ``freeze`` and ``session revoke`` through click's CliRunner."""

from __future__ import annotations

import csv
import json

import click
import sqlalchemy as sa

from github_app.cli.containment_commands import freeze_command, session_group
from github_app.cli.evidence_commands import evidence
from github_app.cli.root import main
from github_app.evidence.offline import verify_export
from github_app.ledger import verify_proof_offline
from github_app.state.containment import Containment
from tests.api.scenario import EXPECTED_STATUSES, TOTAL
from tests.evidence.conftest import Cli
from tests.support.databases import drop_append_only_guards
from tests.support.evidence_reading import record_from_csv


def as_json(result) -> object:
    return json.loads(result.stdout)


def test_commands_are_exposed_for_the_root_group() -> None:
    names = main.list_commands(click.Context(main))
    assert {"evidence", "freeze", "session"} <= set(names)
    for name in ("evidence", "freeze", "session"):
        assert main.get_command(click.Context(main), name).name == name
    assert set(evidence.commands) == {
        "session",
        "changes",
        "sample",
        "exceptions",
        "export",
        "verify",
        "prove",
        "public-key",
        "access-log",
        "attest",
        "pack",
    }


def test_changes_table_and_json(seeded_cli: Cli) -> None:
    table = seeded_cli.run(evidence, "changes").stdout
    assert "violation" in table and "unapproved" in table and "5 change(s)" in table
    rows = as_json(seeded_cli.run(evidence, "changes", "--json"))
    assert {row["seq"]: row["status"] for row in rows} == EXPECTED_STATUSES
    filtered = as_json(seeded_cli.run(evidence, "changes", "--repo", "acme/api", "--json"))
    assert [row["seq"] for row in filtered] == [9, 11]


def test_bad_filter_is_a_usage_error(seeded_cli: Cli) -> None:
    result = seeded_cli.run(evidence, "changes", "--since", "last tuesday", code=2)
    assert "since" in result.output


def test_sample_is_reproducible(seeded_cli: Cli) -> None:
    args = ("sample", "--n", "3", "--seed", "audit-q2", "--json")
    first, again = (
        as_json(seeded_cli.run(evidence, *args)),
        as_json(seeded_cli.run(evidence, *args)),
    )
    assert first == again
    assert (first["seed"], first["population_size"], len(first["items"])) == ("audit-q2", 5, 3)
    text = seeded_cli.run(evidence, "sample", "--seed", "audit-q2").stdout
    assert text.startswith("seed audit-q2: 5 of 5 change(s)")


def test_exceptions_include_overdue(seeded_cli: Cli) -> None:
    items = as_json(seeded_cli.run(evidence, "exceptions", "--json"))
    assert ("overdue_post_review", 10) in {(i["type"], i["seq"]) for i in items}
    assert "5 exception(s)" in seeded_cli.run(evidence, "exceptions").stdout


def test_session_timeline(seeded_cli: Cli) -> None:
    body = as_json(seeded_cli.run(evidence, "session", "sess-A", "--json"))
    assert [item["seq"] for item in body["items"]] == [1, 2, 3, 4, 5, 16]
    assert body["attribution"]["launched_by"] == ["alice"]
    table = seeded_cli.run(evidence, "session", "sess-A").stdout
    assert "alice" in table and "agent_change_detected" in table
    missing = seeded_cli.run(evidence, "session", "nope", code=1)
    assert "no ledger entry" in missing.output


def test_jsonl_export_file_verifies_offline(seeded_cli: Cli, tmp_path) -> None:
    target = tmp_path / "ledger.jsonl"
    result = seeded_cli.run(evidence, "export", "--format", "jsonl", "-o", str(target))
    assert f"exported {TOTAL} entries" in result.stderr
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    records, checkpoint = lines[:-1], lines[-1]["checkpoint"]
    key = as_json(seeded_cli.run(evidence, "public-key", "--json"))["public_key_hex"]
    outcome = verify_export(records, checkpoint, trusted_public_key_hex=key)
    assert outcome.ok and outcome.checkpoint_size == TOTAL, "signed at export: every entry covered"


def test_csv_export_file(seeded_cli: Cli, tmp_path) -> None:
    target = tmp_path / "ledger.csv"
    seeded_cli.run(evidence, "export", "--format", "csv", "-o", str(target))
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    records = [record_from_csv(row) for row in rows[:-1]]
    assert len(records) == TOTAL
    assert verify_export(records, json.loads(rows[-1]["data"])).ok


def test_verify_passes_then_names_the_first_tampered_entry(seeded_cli: Cli) -> None:
    ok = seeded_cli.run(evidence, "verify")
    assert f"OK: {TOTAL} entries" in ok.stdout
    assert "1 recent entry is chained but not yet covered by a signed checkpoint" in ok.stdout
    drop_append_only_guards(seeded_cli.db)
    with seeded_cli.db.transaction() as conn:
        conn.execute(sa.text("UPDATE ledger_entries SET actor = 'nobody' WHERE seq = 7"))
    failed = seeded_cli.run(evidence, "verify", code=1)
    assert "first broken entry: 7" in failed.stdout
    report = as_json(seeded_cli.run(evidence, "verify", "--json", code=1))
    assert (report["ok"], report["first_bad_seq"]) == (False, 7)


def test_prove_produces_an_offline_verifiable_proof(seeded_cli: Cli, tmp_path) -> None:
    proof = as_json(seeded_cli.run(evidence, "prove", "5", "--json"))
    pem = seeded_cli.run(evidence, "public-key").stdout
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    ok, reason = verify_proof_offline(proof, pem)
    assert ok, reason
    summary = seeded_cli.run(evidence, "prove", "5", "-o", str(tmp_path / "p.json")).stdout
    assert "verifies offline" in summary
    assert json.loads((tmp_path / "p.json").read_text())["entry"]["seq"] == 5
    assert "no entry" in seeded_cli.run(evidence, "prove", "999", code=1).output


def test_freeze_on_off_writes_entries(cli: Cli) -> None:
    on = as_json(
        cli.run(freeze_command, "on", "--repo", "acme/app", "--reason", "incident", "--json")
    )
    assert on["changed"] and on["entry"]["kind"] == "freeze"
    assert on["entry"]["actor"].startswith("cli")
    assert Containment(cli.db).active_freeze("acme/app") is not None
    assert "already frozen" in cli.run(freeze_command, "on", "--repo", "acme/app").stdout
    assert "unfrozen: acme/app" in cli.run(freeze_command, "off", "--repo", "acme/app").stdout
    assert Containment(cli.db).active_freeze("acme/app") is None
    assert [e.kind for e in cli.ledger.entries()] == ["freeze", "unfreeze"]
    cli.run(freeze_command, "on", "--repo", "not a repo", code=2)


def test_session_revoke(seeded_cli: Cli) -> None:
    result = seeded_cli.run(session_group, "revoke", "sess-B", "--reason", "leaked")
    assert "revoked session sess-B" in result.stdout
    assert Containment(seeded_cli.db).is_revoked("sess-B")
    last = list(seeded_cli.ledger.entries(kinds=["session_revoked"]))
    assert [(e.session_id, e.launched_by, e.data["reason"]) for e in last] == [
        ("sess-B", "carol", "leaked")
    ]
    assert "already revoked" in seeded_cli.run(session_group, "revoke", "sess-B").stdout


def test_verify_offline_from_an_export_bundle_and_the_public_key(seeded_cli: Cli, tmp_path):
    bundle, key = tmp_path / "ledger.jsonl", tmp_path / "ledger.pub"
    seeded_cli.run(evidence, "export", "--format", "jsonl", "-o", str(bundle))
    key.write_text(seeded_cli.run(evidence, "public-key").stdout)
    seeded_cli.db.dispose()  # offline: the database is not used at all
    ok = seeded_cli.run(evidence, "verify", "--export", str(bundle), "--public-key", str(key))
    assert ok.stdout.startswith("OK")

    lines = bundle.read_text().splitlines()
    altered = json.loads(lines[3])
    altered["actor"] = "someone-else"
    lines[3] = json.dumps(altered)
    bundle.write_text("\n".join(lines) + "\n")
    failed = seeded_cli.run(
        evidence, "verify", "--export", str(bundle), "--public-key", str(key), code=1
    )
    assert f"first broken entry: {altered['seq']}" in failed.stdout


def test_verify_offline_refuses_an_export_without_its_checkpoint(seeded_cli: Cli, tmp_path):
    """A rewritten export with its checkpoint line dropped must not pass for the trusted key."""
    bundle, key = tmp_path / "ledger.jsonl", tmp_path / "ledger.pub"
    seeded_cli.run(evidence, "export", "--format", "jsonl", "-o", str(bundle))
    key.write_text(seeded_cli.run(evidence, "public-key").stdout)
    lines = bundle.read_text().splitlines()
    assert json.loads(lines[-1])["checkpoint"] is not None
    bundle.write_text("\n".join([*lines[:-1], json.dumps({"checkpoint": None})]) + "\n")
    failed = seeded_cli.run(
        evidence, "verify", "--export", str(bundle), "--public-key", str(key), code=1
    )
    assert failed.stdout.startswith("FAILED: the export carries no signed checkpoint")


def test_verify_offline_rejects_a_bundle_signed_by_another_key(seeded_cli: Cli, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    bundle, key = tmp_path / "ledger.jsonl", tmp_path / "other.pub"
    seeded_cli.run(evidence, "export", "--format", "jsonl", "-o", str(bundle))
    other = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    key.write_bytes(other)
    failed = seeded_cli.run(
        evidence, "verify", "--export", str(bundle), "--public-key", str(key), code=1
    )
    assert "FAILED" in failed.stdout


def test_verify_offline_one_sampled_entry(seeded_cli: Cli, tmp_path):
    proof, key = tmp_path / "proof.json", tmp_path / "ledger.pub"
    seeded_cli.run(evidence, "prove", "5", "-o", str(proof))
    key.write_text(seeded_cli.run(evidence, "public-key").stdout)
    ok = seeded_cli.run(evidence, "verify", "--proof", str(proof), "--public-key", str(key))
    assert ok.stdout.startswith("OK")
    document = json.loads(proof.read_text())
    document["entry"]["actor"] = "someone-else"
    proof.write_text(json.dumps(document))
    seeded_cli.run(evidence, "verify", "--proof", str(proof), "--public-key", str(key), code=1)


def test_verify_offline_needs_a_trusted_key(seeded_cli: Cli, tmp_path):
    proof = tmp_path / "proof.json"
    seeded_cli.run(evidence, "prove", "5", "-o", str(proof))
    result = seeded_cli.run(evidence, "verify", "--proof", str(proof), code=2)
    assert "--public-key" in result.output


def test_a_fresh_install_exports_a_ledger_that_verifies_offline(cli: Cli, tmp_path):
    """A few entries and no checkpoint yet (none was due): the export signs one at its head."""
    from datetime import UTC, datetime

    from github_app.ledger.entry import NewEntry

    for number in range(3):
        entry = NewEntry(
            kind="freeze", occurred_at=datetime.now(UTC), actor="secops", data={"n": number}
        )
        cli.ledger.append(entry)
    assert cli.ledger.latest_checkpoint() is None
    bundle, key = tmp_path / "ledger.jsonl", tmp_path / "ledger.pub"
    cli.run(evidence, "export", "--format", "jsonl", "-o", str(bundle))
    key.write_text(cli.run(evidence, "public-key").stdout)
    ok = cli.run(evidence, "verify", "--export", str(bundle), "--public-key", str(key))
    assert ok.stdout.startswith("OK"), ok.stdout
    assert cli.ledger.latest_checkpoint().size == 3
