"""Root command group, ``countersign serve`` and ``countersign migrate``.

Exit codes are listed in :mod:`github_app.cli.exit_codes`.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import click

from github_app.cli.exit_codes import StartupFailed


def package_version() -> str:
    """The installed distribution's version."""
    try:
        return version("countersign")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


class LazyGroup(click.Group):
    """A group whose command families are imported only when one of them runs (fast ``--help``).

    ``lazy`` maps a command name to ``"module:attribute"`` under :mod:`github_app.cli`;
    ``summaries`` gives each family's one-line help, so listing them imports none of them (a
    test checks the lines match the commands' own help).
    """

    def __init__(
        self, *args: Any, lazy: dict[str, str], summaries: dict[str, str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = lazy
        self._summaries = summaries

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in self._lazy:
                summary = click.Command(name, help=self._summaries[name])
                rows.append((name, summary.get_short_help_str(limit)))
                continue
            command = super().get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self._lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy:
            module_name, attribute = self._lazy[cmd_name].split(":")
            module = importlib.import_module(f"github_app.cli.{module_name}")
            return getattr(module, attribute)
        return super().get_command(ctx, cmd_name)


COMMAND_FAMILIES = {
    "policy": "policy_commands:policy",
    "rulesets": "ruleset_commands:rulesets",
    "token": "token_commands:token",
    "drill": "drill_commands:drill",
    "evidence": "evidence_commands:evidence",
    "freeze": "containment_commands:freeze_command",
    "session": "containment_commands:session_group",
    "audit": "audit_commands:audit_command",
    "doctor": "doctor_commands:doctor",
    "hook": "hook_commands:hook",
}
FAMILY_SUMMARIES = {
    "policy": "Validate and try out policy files.",
    "rulesets": "Keep the Countersign ruleset on protected branches; import denied pushes.",
    "token": "API tokens for auditors, admins and agents.",
    "drill": "Exercise each control on synthetic changes and a synthetic agent session (the "
    "kill switch: revoke, then the next tool call must be denied); record a `drill` ledger "
    "entry.",
    "evidence": "Query and export the evidence ledger (what the auditor API serves).",
    "freeze": "Halt (on) or resume (off) agent changes, org-wide or in one repository; or "
    "show (status) the freezes in force.",
    "session": "Agent sessions: show a session's timeline, revoke a session.",
    "audit": "Judge a period of GitHub history as Countersign would have (day-one backfill).",
    "doctor": "Check configuration, store, signing key and GitHub access; print what to fix.",
    "hook": "Agent hooks: send an agent's sessions through Countersign.",
}


@click.group(
    cls=LazyGroup,
    lazy=COMMAND_FAMILIES,
    summaries=FAMILY_SUMMARIES,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_version(), "-V", "--version", prog_name="countersign")
def main() -> None:
    """Countersign: human countersignatures for AI agents' changes, with audit evidence."""


@main.command()
def serve() -> None:
    """Run the App: webhook receiver, worker, auditor API."""
    from github_app.cli.settings import settings_or_exit
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

    from github_app.cli.settings import settings_or_exit
    from github_app.cli.store_access import describe_database, head_revision
    from github_app.ledger.checkpoints import open_signing_key
    from github_app.store.database import Database
    from github_app.store.ledger import Ledger

    settings = settings_or_exit()
    where = describe_database(settings.database_url)
    try:
        db = Database.open(settings.database_url)
        db.migrate()
        revision = db.schema_revision()
        latest = Ledger(db, None).latest_checkpoint()
        db.engine.dispose()
    except (sa.exc.SQLAlchemyError, OSError, ValueError) as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise StartupFailed(f"cannot migrate the store at {where}: {reason}") from None
    try:
        # Never a new key over signed checkpoints (SigningKeyError is a ValueError).
        signer = open_signing_key(settings.countersign_signing_key_path, latest, create=True)
    except (ValueError, OSError) as error:
        raise StartupFailed(f"COUNTERSIGN_SIGNING_KEY_PATH: {error}") from None
    click.echo(f"store at {where} is at revision {revision} (newest: {head_revision()})")
    click.echo(f"ledger signing key {signer.key_id} at {settings.countersign_signing_key_path}")
