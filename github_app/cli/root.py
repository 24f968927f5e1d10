"""Root command group and ``countersign serve``."""

from __future__ import annotations

import click

from github_app.config import ConfigError, Settings, load_settings


def settings_or_exit() -> Settings:
    """Load settings or stop with the one-line reason (exit status 2)."""
    try:
        return load_settings()
    except ConfigError as error:
        raise click.ClickException(f"configuration error: {error}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Countersign: human countersignatures for AI agents' changes, with audit evidence."""


@main.command()
def serve() -> None:
    """Run the App: webhook receiver, worker, auditor API."""
    from aiohttp import web

    from github_app.logs import configure_logging, get_logger
    from github_app.server.app import create_app

    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    log = get_logger("countersign")
    if settings.setup_mode:
        log.warning("setup_mode", reason="GITHUB_APP_ID is not set; serving the setup page only")
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        access_log=None,
    )


def register_commands() -> None:
    """Attach the command families (imported here to keep ``--help`` fast and cycles away)."""
    from github_app.cli import (
        audit_commands,
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
    for command in (*evidence_commands.COMMANDS, *audit_commands.COMMANDS):
        main.add_command(command)


register_commands()
