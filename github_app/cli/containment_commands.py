"""``countersign freeze on|off|status`` and ``countersign session revoke`` (the admin actions).

Local (the store of ``DATABASE_URL``) or, with ``--url``/``COUNTERSIGN_URL`` and an admin
``COUNTERSIGN_TOKEN``, against a remote Countersign's API.  ``freeze status`` only reads.
"""

from __future__ import annotations

from typing import Any

import click

from github_app.api import freeze_revoke as actions
from github_app.cli.common import print_json, table
from github_app.cli.sources import remote_option, source_for
from github_app.evidence.params import InvalidParameter, parse_text


def _report(event: dict[str, Any], as_json: bool, done: str, unchanged: str) -> None:
    if as_json:
        print_json(event)
        return
    entry = event.get("entry") or {}
    seq = f" (ledger entry {entry['seq']})" if entry.get("seq") else ""
    click.echo((done if event.get("changed") else unchanged) + seq)


def _status(status: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(status)
        return
    if not status["freezes"]:
        click.echo("not frozen: agent changes are allowed")
        return
    rows = [[f["repo"] or "(every repository)", f["actor"], f["reason"]] for f in status["freezes"]]
    click.echo(table(rows, ["frozen", "by", "reason"]))


@click.command("freeze")
@click.argument("state", type=click.Choice(["on", "off", "status"]))
@click.option("--repo", help="owner/name; without it the freeze is org-wide.")
@click.option("--reason", default="", help="Why (recorded in the ledger).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@remote_option
def freeze_command(state: str, repo: str | None, reason: str, as_json: bool, url) -> None:
    """Halt (on) or resume (off) agent changes, org-wide or in one repository; or show them."""
    try:
        actions.validate_repo(repo)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--repo") from None
    if state == "status":
        _status(source_for(url).freeze_status(), as_json)
        return
    source = source_for(url, read_only=False)
    scope = repo or "every repository"
    if state == "on":
        event = source.freeze(repo, reason or "frozen from the CLI")
        _report(event, as_json, f"frozen: {scope}", f"already frozen: {scope}")
    else:
        event = source.unfreeze(repo, reason)
        _report(event, as_json, f"unfrozen: {scope}", f"was not frozen: {scope}")


@click.group("session")
def session_group() -> None:
    """Agent sessions."""


@session_group.command("revoke")
@click.argument("session_id")
@click.option("--reason", default="", help="Why (recorded in the ledger).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@remote_option
def revoke_command(session_id: str, reason: str, as_json: bool, url) -> None:
    """Revoke an agent session: its PRs block and its future commits are flagged."""
    try:
        parse_text("session_id", session_id)
    except InvalidParameter as error:
        raise click.BadParameter(str(error)) from None
    event = source_for(url, read_only=False).revoke(session_id, reason or "revoked from the CLI")
    _report(event, as_json, f"revoked session {session_id}", f"already revoked: {session_id}")
