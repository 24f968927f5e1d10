"""Root command group and ``countersign serve``."""

from __future__ import annotations

import importlib
from typing import Any

import click
from click.utils import make_default_short_help


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
                rows.append((name, make_default_short_help(self._summaries[name], limit)))
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
    "freeze": "Halt (on) or resume (off) agent changes, org-wide or in one repository.",
    "session": "Agent sessions.",
    "hook": "Agent hooks: send an agent's sessions through Countersign.",
}


@click.group(
    cls=LazyGroup,
    lazy=COMMAND_FAMILIES,
    summaries=FAMILY_SUMMARIES,
    context_settings={"help_option_names": ["-h", "--help"]},
)
def main() -> None:
    """Countersign: human countersignatures for AI agents' changes, with audit evidence."""


@main.command()
def serve() -> None:
    """Run the App: webhook receiver, worker, auditor API."""
    from aiohttp import web

    from github_app.cli.common import settings_or_exit
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
