"""``countersign freeze on|off|status`` and ``countersign session show|revoke``.

``on``, ``off`` and ``revoke`` are the admin API's actions; ``freeze status`` lists the freezes in
force and ``session show`` is the auditor's session timeline (``evidence session``).  Each runs
on the store of ``DATABASE_URL`` or, with ``--url``/``COUNTERSIGN_URL`` and
``COUNTERSIGN_TOKEN`` (an admin token for the actions), against a remote Countersign's API.
"""

from __future__ import annotations

from typing import Any

import click

from github_app.api import freeze_revoke as actions
from github_app.cli.common import print_json
from github_app.cli.evidence_commands import session_command
from github_app.cli.sources import remote_option, source_for
from github_app.evidence.params import InvalidParameter, parse_text


def _report(event: dict[str, Any], as_json: bool, done: str, unchanged: str) -> None:
    if as_json:
        print_json(event)
        return
    entry = event.get("entry") or {}
    seq = f" (ledger entry {entry['seq']})" if entry.get("seq") else ""
    click.echo((done if event.get("changed") else unchanged) + seq)


def _freeze_status(status: dict[str, Any], repo: str | None, as_json: bool) -> None:
    freezes = status["freezes"]
    if repo is not None:
        freezes = [f for f in freezes if f["repo"] in (None, repo)]
    if as_json:
        print_json({"frozen": bool(freezes), "freezes": freezes})
        return
    if not freezes:
        click.echo(f"not frozen: {repo or 'no freeze in force'}")
        return
    for item in freezes:
        scope = item["repo"] or "every repository"
        reason = item["reason"] or "no reason given"
        click.echo(f"frozen: {scope} by {item['actor'] or '?'} ({reason})")


@click.command("freeze")
@click.argument("state", type=click.Choice(["on", "off", "status"]))
@click.option("--repo", help="owner/name; without it the freeze is org-wide.")
@click.option("--reason", default="", help="Why (recorded in the ledger).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@remote_option
def freeze_command(state: str, repo: str | None, reason: str, as_json: bool, url) -> None:
    """Halt (on) or resume (off) agent changes, org-wide or in one repository; or show (status)
    the freezes in force."""
    try:
        actions.validate_repo(repo)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--repo") from None
    if state == "status":
        _freeze_status(source_for(url).freeze_status(), repo, as_json)
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
    """Agent sessions: show a session's timeline, revoke a session."""


session_group.add_command(session_command, "show")


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
