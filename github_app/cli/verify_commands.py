"""``countersign evidence verify|prove|public-key``: check the ledger, online or offline.

``verify`` exits 1 and names the first broken entry when the ledger does not check out.
Offline, with a public key the auditor trusts: ``--export`` (a JSONL export), ``--proof`` (one
entry), ``--pack`` (an audit pack) and ``--attestation`` (one change's DSSE envelope).
``--witness`` (fetch from the witness repository) or ``--witness-dir`` (a clone of it) also
compares the store's checkpoints with the witnessed ones and names any that differ or are
missing.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from github_app.cli.common import (
    print_json,
    settings_or_exit,
)
from github_app.cli.sources import LocalSource, remote_option, source_for
from github_app.config import Settings
from github_app.evidence.dsse import IN_TOTO_PAYLOAD_TYPE, verify_envelope
from github_app.evidence.offline import ExportVerification, verify_export
from github_app.evidence.pack import verify_pack
from github_app.evidence.witness import WITNESS_DIR, WitnessComparison, compare_checkpoints
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
    "--pack",
    "pack_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Offline: verify an audit pack (from `evidence pack`).",
)
@click.option(
    "--attestation",
    "attestation_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Offline: verify one change's attestation (from `evidence attest`).",
)
@click.option(
    "--public-key",
    "public_key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The checkpoint signing key (PEM, from `evidence public-key`) to trust offline.",
)
@click.option(
    "--witness", is_flag=True, help="Also compare the checkpoints with the witness repository."
)
@click.option(
    "--witness-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Compare the checkpoints with a clone of the witness repository (no network).",
)
@remote_option
def verify_command(
    as_json: bool,
    export_file: Path | None,
    proof_file: Path | None,
    pack_file: Path | None,
    attestation_file: Path | None,
    public_key_file: Path | None,
    witness: bool,
    witness_dir: Path | None,
    url: str | None,
) -> None:
    """Verify every entry against the chain and the signed checkpoints.

    With --export, --proof, --pack or --attestation nothing is read from the database: an
    auditor checks the file with only the published public key.
    """
    offline = [f for f in (export_file, proof_file, pack_file, attestation_file) if f]
    if len(offline) > 1:
        raise click.UsageError("give one of --export, --proof, --pack, --attestation")
    if pack_file or attestation_file:
        _verify_signed_file(as_json, pack_file, attestation_file, public_key_file)
        return
    if export_file or proof_file:
        _verify_offline(as_json, export_file, proof_file, public_key_file)
        return
    if url:
        if witness or witness_dir:
            raise click.UsageError("--witness compares the local store's checkpoints: no --url")
        _print_report(source_for(url).verify(), as_json)
        return
    source = LocalSource(settings_or_exit(), read_only=True)
    ledger = source.ledger
    head = ledger.head()
    with click.progressbar(
        length=head.seq if head else 0, label="Verifying", file=sys.stderr
    ) as bar:
        report = ledger.verify(progress=lambda done: bar.update(done - bar.pos))
    comparison = None
    if witness or witness_dir:
        comparison = compare_checkpoints(ledger.checkpoints(), _witnessed(source, witness_dir))
    _print_report(report.model_dump(mode="json"), as_json, comparison)


def _print_report(
    report: dict[str, Any], as_json: bool, comparison: WitnessComparison | None = None
) -> None:
    ok = report["ok"] and (comparison is None or comparison.ok)
    if as_json:
        print_json({**report, **({"witness": comparison.as_dict()} if comparison else {})})
    elif report["ok"]:
        click.echo(
            f"OK: {report['entries_checked']} entries and "
            f"{report['checkpoints_checked']} checkpoints verified"
        )
        unsigned = report["entries_checked"] - (report.get("latest_checkpoint_size") or 0)
        if unsigned:
            click.echo(
                f"{unsigned} recent entr{'y is' if unsigned == 1 else 'ies are'} chained but "
                "not yet covered by a signed checkpoint"
            )
    else:
        click.echo(f"FAILED: {report['problem']}")
        if report.get("first_bad_seq") is not None:
            click.echo(f"first broken entry: {report['first_bad_seq']}")
    if comparison is not None and not as_json:
        if comparison.ok:
            click.echo(f"witness: all {len(comparison.matching)} checkpoints match")
        for line in comparison.lines():
            click.echo(f"WITNESS: {line}")
    if not ok:
        sys.exit(1)


def _witnessed(source: LocalSource, witness_dir: Path | None) -> dict[str, str]:
    """The witnessed checkpoint files: from a clone, or fetched with the App's credentials."""
    if witness_dir is not None:
        folder = witness_dir / WITNESS_DIR
        files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        return {f"{WITNESS_DIR}/{f.name}": f.read_text(encoding="utf-8") for f in files}
    return asyncio.run(_fetch_witnessed(source.settings))


async def _fetch_witnessed(settings: Settings) -> dict[str, str]:
    from gidgethub import GitHubException

    from github_app.github.client import GitHubClient
    from github_app.github.witness import witnessed_files
    from github_app.jobs.witness import WitnessUnavailable, resolve_witness_repo, witness_api

    if settings.setup_mode or not settings.countersign_witness_repo:
        raise click.ClickException(
            "--witness reads the witness repository as the App: set GITHUB_APP_ID, its key and "
            "COUNTERSIGN_WITNESS_REPO (or use --witness-dir with a clone)"
        )
    github = GitHubClient(
        app_id=settings.github_app_id,
        private_key=settings.private_key_pem(),
        base_url=settings.github_api_url,
    )
    try:
        repo = await resolve_witness_repo(
            github, settings.countersign_witness_repo, settings.countersign_witness_branch
        )
        return await witnessed_files(await witness_api(github, repo), repo)
    except (WitnessUnavailable, GitHubException) as error:
        raise click.ClickException(f"cannot read the witness repository: {error}") from None
    finally:
        await github.aclose()


def _verify_signed_file(
    as_json: bool,
    pack_file: Path | None,
    attestation_file: Path | None,
    public_key_file: Path | None,
) -> None:
    """``--pack`` or ``--attestation``: the signature (and a pack's contents) offline."""
    if public_key_file is None:
        raise click.UsageError("offline verification needs --public-key (the key you trust)")
    public_key_pem = public_key_file.read_text(encoding="utf-8")
    if pack_file is not None:
        check = verify_pack(pack_file.read_bytes(), public_key_pem)
        result = {
            "ok": check.ok,
            "passed": check.passed,
            "problem": check.problem,
            "first_broken_seq": check.first_broken_seq,
        }
        lines = [f"ok: {line}" for line in check.passed]
        verdict = "OK: the audit pack verifies" if check.ok else f"FAILED: {check.problem}"
    else:
        assert attestation_file is not None
        outcome = verify_envelope(
            attestation_file.read_bytes(), public_key_pem, IN_TOTO_PAYLOAD_TYPE
        )
        subject = _subject(outcome.payload) if outcome.ok else None
        result = {"ok": outcome.ok, "reason": outcome.reason, "subject": subject}
        lines = [f"subject: {subject}"] if subject else []
        verdict = f"OK: {outcome.reason}" if outcome.ok else f"FAILED: {outcome.reason}"
    if as_json:
        print_json(result)
    else:
        for line in lines:
            click.echo(line)
        click.echo(verdict)
    if not result["ok"]:
        sys.exit(1)


def _subject(payload: bytes | None) -> str | None:
    """``git+https://…@refs/heads/main gitCommit=SHA`` from a verified statement."""
    try:
        statement = json.loads(payload or b"")
        first = statement["subject"][0]
        return f"{first.get('name', '')} gitCommit={first['digest']['gitCommit']}".strip()
    except (ValueError, KeyError, IndexError, TypeError):
        return None


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
    ledger = LocalSource(settings_or_exit(), read_only=True).ledger
    try:
        proof = ledger.prove(seq)
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
@remote_option
def public_key_command(as_json: bool, url: str | None) -> None:
    """The public key that signs ledger checkpoints (give it to auditors)."""
    key = source_for(url).public_key() if url else _local_public_key()
    if as_json:
        print_json(key)
        return
    click.echo(key["public_key_pem"], nl=False)


def _local_public_key() -> dict[str, str]:
    """The key at COUNTERSIGN_SIGNING_KEY_PATH (never created here); no store needed."""
    from github_app.cli.exit_codes import StoreMissing
    from github_app.cli.store_access import NoStore, load_existing_signing_key

    settings = settings_or_exit()
    try:
        signer = load_existing_signing_key(settings.countersign_signing_key_path)
    except NoStore as error:
        raise StoreMissing(str(error)) from None
    return {
        "key_id": signer.key_id,
        "public_key_pem": signer.public_key_pem(),
        "public_key_hex": signer.public_key_hex,
    }
