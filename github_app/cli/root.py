"""Root command group, exit codes, ``countersign serve`` and ``countersign migrate``.

Exit codes (the README's table is this list):

- 0: success;
- 1: the command ran and found a problem (a broken ledger, an invalid policy, a failed drill,
  ``doctor`` found something to fix), or GitHub or the store refused an operation;
- 2: usage or configuration error (a bad option, a missing or malformed setting);
- 3: no store or signing key where the configuration points (``no store at …``);
- 4: ``serve`` could not start (port in use, database unreachable, key files, permissions).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import click

from github_app.config import ConfigError, Settings, load_settings

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_CONFIG = 2
EXIT_NO_STORE = 3
EXIT_STARTUP = 4


class ConfigurationError(click.ClickException):
    """A setting is missing or malformed (exit status 2)."""

    exit_code = EXIT_CONFIG


class StoreMissing(click.ClickException):
    """No store or signing key where the configuration points (exit status 3)."""

    exit_code = EXIT_NO_STORE


class StartupFailed(click.ClickException):
    """``serve`` could not start (exit status 4)."""

    exit_code = EXIT_STARTUP


def settings_or_exit() -> Settings:
    """Load settings or stop with the one-line reason (exit status 2)."""
    try:
        return load_settings()
    except ConfigError as error:
        raise ConfigurationError(f"configuration error: {error}") from None


def package_version() -> str:
    """The installed distribution's version."""
    try:
        return version("countersign")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_version(), "-V", "--version", prog_name="countersign")
def main() -> None:
    """Countersign: human countersignatures for AI agents' changes, with audit evidence."""


@main.command()
def serve() -> None:
    """Run the App: webhook receiver, worker, auditor API."""
    from github_app.logs import configure_logging
    from github_app.server.run import StartupError, run

    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    try:
        run(settings)
    except StartupError as error:
        raise StartupFailed(f"cannot start: {error}") from None


@main.command()
def migrate() -> None:
    """Create the store and the ledger signing key, or bring the schema up to date.

    Run it once per release before ``serve`` (the container's migration step); ``serve`` does
    the same on start, so a single instance needs no separate step.
    """
    import sqlalchemy as sa

    from github_app.cli.store_access import describe_database, head_revision
    from github_app.ledger.checkpoints import load_or_create_signing_key
    from github_app.store.database import Database

    settings = settings_or_exit()
    where = describe_database(settings.database_url)
    try:
        db = Database.open(settings.database_url)
        db.migrate()
        revision = db.schema_revision()
        db.engine.dispose()
    except (sa.exc.SQLAlchemyError, OSError, ValueError) as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise StartupFailed(f"cannot migrate the store at {where}: {reason}") from None
    try:
        signer = load_or_create_signing_key(settings.countersign_signing_key_path)
    except (ValueError, OSError) as error:
        raise StartupFailed(f"COUNTERSIGN_SIGNING_KEY_PATH: {error}") from None
    click.echo(f"store at {where} is at revision {revision} (newest: {head_revision()})")
    click.echo(f"ledger signing key {signer.key_id} at {settings.countersign_signing_key_path}")


def register_commands() -> None:
    """Attach the command families (imported here to keep ``--help`` fast and cycles away)."""
    from github_app.cli import (
        doctor_commands,
        drill_commands,
        evidence_commands,
        policy_commands,
        ruleset_commands,
        token_commands,
    )

    main.add_command(policy_commands.policy)
    main.add_command(ruleset_commands.rulesets)
    main.add_command(token_commands.token)
    main.add_command(drill_commands.drill)
    main.add_command(doctor_commands.doctor)
    for command in evidence_commands.COMMANDS:
        main.add_command(command)


register_commands()
