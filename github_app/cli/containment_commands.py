"""``countersign freeze on|off|status`` and ``countersign session show|revoke``.

``on``, ``off`` and ``revoke`` are the admin API's actions; ``freeze status`` lists the freezes in
force and ``session show`` is the auditor's session timeline (``evidence session``).
"""

from __future__ import annotations

import click

from github_app.api import freeze_revoke as actions
from github_app.cli.common import (
    cli_actor,
    open_services,
    print_json,
)
from github_app.cli.evidence_commands import session_command
from github_app.evidence.params import (
    InvalidParameter,
    parse_text,
)
from github_app.state.containment import Containment


def _report(event: actions.ContainmentEvent, as_json: bool, done: str, unchanged: str) -> None:
    if as_json:
        print_json(event.as_dict())
        return
    seq = f" (ledger entry {event.entry.seq})" if event.entry else ""
    click.echo((done if event.changed else unchanged) + seq)


@click.command("freeze")
@click.argument("state", type=click.Choice(["on", "off", "status"]))
@click.option("--repo", help="owner/name; without it the freeze is org-wide.")
@click.option("--reason", default="", help="Why (recorded in the ledger).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def freeze_command(state: str, repo: str | None, reason: str, as_json: bool) -> None:
    """Halt (on) or resume (off) agent changes, org-wide or in one repository; or show (status)
    the freezes in force."""
    try:
        actions.validate_repo(repo)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--repo") from None
    services = open_services()
    if state == "status":
        _freeze_status(services.containment, repo, as_json)
        return
    scope = repo or "every repository"
    if state == "on":
        event = actions.freeze(services, repo, reason or "frozen from the CLI", cli_actor())
        _report(event, as_json, f"frozen: {scope}", f"already frozen: {scope}")
    else:
        event = actions.unfreeze(services, repo, cli_actor(), reason)
        _report(event, as_json, f"unfrozen: {scope}", f"was not frozen: {scope}")


def _freeze_status(containment: Containment, repo: str | None, as_json: bool) -> None:
    freezes = containment.active_freezes()
    if repo is not None:
        freezes = [f for f in freezes if f.repo in (None, repo)]
    if as_json:
        print_json(
            {
                "frozen": bool(freezes),
                "freezes": [
                    {"repo": f.repo, "reason": f.reason, "actor": f.actor} for f in freezes
                ],
            }
        )
        return
    if not freezes:
        click.echo(f"not frozen: {repo or 'no freeze in force'}")
        return
    for item in freezes:
        scope = item.repo or "every repository"
        click.echo(f"frozen: {scope} by {item.actor or '?'} ({item.reason or 'no reason given'})")


@click.group("session")
def session_group() -> None:
    """Agent sessions: show a session's timeline, revoke a session."""


session_group.add_command(session_command, "show")


@session_group.command("revoke")
@click.argument("session_id")
@click.option("--reason", default="", help="Why (recorded in the ledger).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def revoke_command(session_id: str, reason: str, as_json: bool) -> None:
    """Revoke an agent session: its PRs block and its future commits are flagged."""
    try:
        parse_text("session_id", session_id)
    except InvalidParameter as error:
        raise click.BadParameter(str(error)) from None
    services = open_services()
    event = actions.revoke_session(
        services, session_id, reason or "revoked from the CLI", cli_actor()
    )
    _report(event, as_json, f"revoked session {session_id}", f"already revoked: {session_id}")
