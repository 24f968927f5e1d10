"""``countersign evidence verify|prove|public-key``: check the ledger, online or offline.

``verify`` exits 1 and names the first broken entry when the ledger does not check out.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from github_app.cli.common import (
    open_services,
    print_json,
    settings_or_exit,
)
from github_app.evidence.offline import ExportVerification, verify_export
from github_app.ledger.checkpoints import (
    load_public_key_pem,
    raw_public_key,
)
from github_app.ledger.proof import verify_proof_offline
from github_app.store.ledger import LedgerError


@click.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--export",
    "export_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Offline: verify this JSONL export (chain, Merkle root, signed checkpoint).",
)
@click.option(
    "--proof",
    "proof_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Offline: verify one sampled entry's inclusion proof (from `evidence prove -o`).",
)
@click.option(
    "--public-key",
    "public_key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The checkpoint signing key (PEM, from `evidence public-key`) to trust offline.",
)
def verify_command(
    as_json: bool, export_file: Path | None, proof_file: Path | None, public_key_file: Path | None
) -> None:
    """Verify every entry against the chain and the signed checkpoints.

    With --export or --proof nothing is read from the database: an auditor checks an export
    bundle, or a single sampled entry, with only the file and the published public key.
    """
    if export_file or proof_file:
        _verify_offline(as_json, export_file, proof_file, public_key_file)
        return
    services = open_services()
    head = services.ledger.head()
    with click.progressbar(
        length=head.seq if head else 0, label="Verifying", file=sys.stderr
    ) as bar:
        report = services.ledger.verify(progress=lambda done: bar.update(done - bar.pos))
    if as_json:
        print_json(report.model_dump(mode="json"))
    elif report.ok:
        click.echo(
            f"OK: {report.entries_checked} entries and "
            f"{report.checkpoints_checked} checkpoints verified"
        )
        unsigned = report.entries_checked - (report.latest_checkpoint_size or 0)
        if unsigned:
            click.echo(
                f"{unsigned} recent entr{'y is' if unsigned == 1 else 'ies are'} chained but "
                "not yet covered by a signed checkpoint"
            )
    else:
        click.echo(f"FAILED: {report.problem}")
        if report.first_bad_seq is not None:
            click.echo(f"first broken entry: {report.first_bad_seq}")
    if not report.ok:
        sys.exit(1)


def _verify_offline(
    as_json: bool, export_file: Path | None, proof_file: Path | None, public_key_file: Path | None
) -> None:
    if public_key_file is None:
        raise click.UsageError("offline verification needs --public-key (the key you trust)")
    if export_file and proof_file:
        raise click.UsageError("give --export or --proof, not both")
    public_key_pem = public_key_file.read_text(encoding="utf-8")
    if proof_file is not None:
        document = json.loads(proof_file.read_text(encoding="utf-8"))
        ok, reason = verify_proof_offline(document, public_key_pem)
        result = {"ok": ok, "reason": reason, "seq": document.get("entry", {}).get("seq")}
    else:
        outcome = _verify_export_file(export_file, public_key_pem)
        ok = outcome.ok
        result = {
            "ok": ok,
            "entries": outcome.entries,
            "checkpoint_size": outcome.checkpoint_size,
            "first_broken_seq": outcome.first_broken_seq,
            "problem": outcome.problem,
        }
    if as_json:
        print_json(result)
    elif ok:
        click.echo(f"OK: {result.get('reason') or 'export verifies against its checkpoint'}")
    else:
        click.echo(f"FAILED: {result.get('reason') or result.get('problem')}")
        if result.get("first_broken_seq") is not None:
            click.echo(f"first broken entry: {result['first_broken_seq']}")
    if not ok:
        sys.exit(1)


def _verify_export_file(export_file: Path, public_key_pem: str) -> ExportVerification:
    """Check a JSONL export (entry lines, then a ``{"checkpoint": ...}`` line), streaming."""
    try:
        trusted_hex = raw_public_key(load_public_key_pem(public_key_pem)).hex()
    except ValueError as error:
        raise click.UsageError(f"--public-key: {error}") from None
    return verify_export(
        _export_entries(export_file),
        _export_checkpoint(export_file),
        trusted_public_key_hex=trusted_hex,
    )


def _export_entries(export_file: Path) -> Iterator[dict[str, Any]]:
    with export_file.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if "seq" in record:
                yield record


def _export_checkpoint(export_file: Path) -> dict[str, Any] | None:
    last = ""
    with export_file.open(encoding="utf-8") as handle:
        for last in handle:  # noqa: B007 - only the final line is wanted
            pass
    record = json.loads(last) if last.strip() else {}
    return None if "seq" in record else record.get("checkpoint")


@click.command("prove")
@click.argument("seq", type=click.IntRange(1, 2**63 - 1))
@click.option("--json", "as_json", is_flag=True, help="Print the proof as JSON.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Also save the proof (JSON) to this file.",
)
def prove_command(seq: int, as_json: bool, output: str | None) -> None:
    """An inclusion proof of entry SEQ in a signed checkpoint, checkable offline."""
    services = open_services()
    try:
        proof = services.ledger.prove(seq)
    except LedgerError as error:
        raise click.ClickException(str(error)) from None
    document = proof.model_dump(mode="json")
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, ensure_ascii=False)
    if as_json:
        print_json(document)
        return
    ok, reason = verify_proof_offline(document, proof.public_key_pem)
    click.echo(f"entry {seq} ({proof.entry.kind}) in checkpoint of size {proof.tree_size}")
    click.echo(f"root {proof.root_hash}, signed by key {proof.checkpoint.key_id}")
    click.echo(("verifies offline: " if ok else "DOES NOT VERIFY: ") + reason)


@click.command("public-key")
@click.option("--json", "as_json", is_flag=True, help="Print key id, PEM and raw hex as JSON.")
def public_key_command(as_json: bool) -> None:
    """The public key that signs ledger checkpoints (give it to auditors)."""
    from github_app.cli.exit_codes import StoreMissing
    from github_app.cli.store_access import NoStore, load_existing_signing_key

    settings = settings_or_exit()
    try:
        signer = load_existing_signing_key(settings.countersign_signing_key_path)
    except NoStore as error:
        raise StoreMissing(str(error)) from None
    if as_json:
        print_json(
            {
                "key_id": signer.key_id,
                "public_key_pem": signer.public_key_pem(),
                "public_key_hex": signer.public_key_hex,
            }
        )
        return
    click.echo(signer.public_key_pem(), nl=False)
