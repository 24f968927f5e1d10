"""``countersign doctor``: check a deployment end to end and say what to fix.

Checks, in order: the configuration loads; the store exists and its schema is current; the
ledger signing key exists and is the key that signed the stored checkpoints; the GitHub App's
credentials work (``GET /app``); the App is installed somewhere (``GET /app/installations``).
Nothing is created or changed.  Exit status 1 when any check fails.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict, dataclass

import click
import sqlalchemy as sa
from gidgethub import GitHubException
from httpx import HTTPError

from github_app.config import ConfigError, Settings, load_settings


@dataclass(frozen=True)
class Finding:
    """One check's outcome; ``fix`` says what to do when it failed."""

    check: str
    ok: bool
    detail: str
    fix: str = ""


def check_config() -> tuple[Settings | None, Finding]:
    """The configuration loads and names what it will use."""
    try:
        settings = load_settings()
    except ConfigError as error:
        return None, Finding("config", False, str(error), "correct the variable named above")
    mode = "setup mode (no GITHUB_APP_ID)" if settings.setup_mode else "App configured"
    return settings, Finding("config", True, f"{mode}; data folder {settings.data_dir}")


def check_store(settings: Settings) -> list[Finding]:
    """The store exists and is current; the signing key exists and signed its checkpoints."""
    from github_app.cli.store_access import (
        NoStore,
        describe_database,
        head_revision,
        load_existing_signing_key,
        open_existing_database,
    )
    from github_app.store.ledger import Ledger

    where = describe_database(settings.database_url)
    try:
        db = open_existing_database(settings)
    except NoStore as error:
        fix = "run `countersign migrate` (or `serve`), or point DATABASE_URL at the store"
        return [Finding("store", False, str(error), fix)]
    try:
        revision, newest = db.schema_revision(), head_revision()
        findings = [
            Finding(
                "store",
                revision == newest,
                f"{where} at schema {revision}" + ("" if revision == newest else f" < {newest}"),
                "" if revision == newest else "run `countersign migrate`",
            )
        ]
        try:
            signer = load_existing_signing_key(settings.countersign_signing_key_path)
        except NoStore as error:
            fix = "restore the key from backup and set COUNTERSIGN_SIGNING_KEY_PATH"
            return [*findings, Finding("signing key", False, str(error), fix)]
        checkpoint = Ledger(db, signer).latest_checkpoint()
        if checkpoint is None:
            detail = f"key {signer.key_id} (no checkpoint signed yet)"
            findings.append(Finding("signing key", True, detail))
        elif checkpoint.public_key != signer.public_key_hex:
            findings.append(
                Finding(
                    "signing key",
                    False,
                    f"key {signer.key_id} did not sign the checkpoints (they name key "
                    f"{checkpoint.key_id})",
                    "set COUNTERSIGN_SIGNING_KEY_PATH to the key that signed them",
                )
            )
        else:
            findings.append(
                Finding("signing key", True, f"key {signer.key_id} signed the checkpoints")
            )
        return findings
    except sa.exc.SQLAlchemyError as error:
        return [Finding("store", False, str(error).splitlines()[0], "check DATABASE_URL")]
    finally:
        db.engine.dispose()


async def check_github(settings: Settings) -> list[Finding]:
    """The App's key is accepted and the App is installed somewhere."""
    from github_app.github.client import GitHubClient, RetryPolicy

    if settings.setup_mode:
        fix = "run `countersign serve` and register the App on its page (/)"
        return [Finding("github app", False, "GITHUB_APP_ID is not set", fix)]
    client = GitHubClient(
        app_id=settings.github_app_id or 0,
        private_key=settings.private_key_pem() or "",
        base_url=settings.github_api_url,
        retry=RetryPolicy(attempts=1),
    )
    try:
        gh = client.as_app()
        app = await gh.getitem("/app")
        findings = [Finding("github app", True, f"{app.get('slug')} (id {app.get('id')})")]
        installations = [item async for item in gh.getiter("/app/installations?per_page=100")]
    except (GitHubException, HTTPError, ValueError) as error:
        fix = "check GITHUB_APP_ID, the private key and GITHUB_API_URL"
        return [Finding("github app", False, f"GitHub refused: {error}", fix)]
    finally:
        await client.aclose()
    accounts = [i.get("account", {}).get("login", "?") for i in installations]
    if not accounts:
        url = f"{app.get('html_url', '')}/installations/new"
        return [*findings, Finding("installations", False, "installed nowhere", f"install: {url}")]
    return [*findings, Finding("installations", True, ", ".join(accounts))]


def run_checks() -> list[Finding]:
    """Every check, stopping at the configuration if it does not load."""
    settings, config = check_config()
    if settings is None:
        return [config]
    return [config, *check_store(settings), *asyncio.run(check_github(settings))]


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def doctor(as_json: bool) -> None:
    """Check configuration, store, signing key and GitHub access; print what to fix."""
    findings = run_checks()
    if as_json:
        click.echo(json.dumps([asdict(f) for f in findings], indent=2))
    else:
        for finding in findings:
            click.echo(f"{'ok  ' if finding.ok else 'FAIL'} {finding.check}: {finding.detail}")
            if not finding.ok and finding.fix:
                click.echo(f"     fix: {finding.fix}")
    if not all(f.ok for f in findings):
        sys.exit(1)
