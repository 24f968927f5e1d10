"""``countersign token create|revoke|list``: bearer tokens of the auditor and admin API.

``create`` prints the token once; only its SHA-256 is stored, so a lost token is revoked and
replaced, never recovered.
"""

from __future__ import annotations

import getpass
import json

import click
from tabulate import tabulate

from github_app.cli.common import settings_or_exit
from github_app.tokens import ROLES, TokenError, TokenStore


def open_token_store() -> TokenStore:
    """The token store in the existing database named by ``DATABASE_URL`` (never created)."""
    from github_app.cli.exit_codes import StoreMissing
    from github_app.cli.store_access import NoStore, open_existing_database

    settings = settings_or_exit()
    try:
        db = open_existing_database(settings)
        db.migrate()
    except NoStore as error:
        raise StoreMissing(str(error)) from None
    except (ValueError, OSError) as error:
        raise click.ClickException(f"cannot open the store: {error}") from None
    return TokenStore(db)


def _creator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@click.group()
def token() -> None:
    """API tokens for auditors, admins and agents."""


@token.command("create")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    required=True,
    help="auditor: read only; admin: read and containment; agent: post agent hook events.",
)
@click.option("--name", required=True, help="Who or what holds the token (unique while active).")
@click.option(
    "--login",
    help="agent tokens: the GitHub login of the developer (the sessions' attested launcher).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (includes the token).")
def create_command(role: str, name: str, login: str | None, as_json: bool) -> None:
    """Create a token and print it (once: it cannot be shown again)."""
    store = open_token_store()
    try:
        created, secret = store.create(name, role, created_by=_creator(), login=login)
    except TokenError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(created.as_dict() | {"token": secret}, indent=2))
        return
    click.echo(secret)
    click.echo(
        f"token {created.id} {created.name!r} ({created.role}"
        + (f", launcher @{created.login}" if created.login else "")
        + ") created; the token above is "
        "shown only this once: store it now.",
        err=True,
    )


@token.command("revoke")
@click.argument("name_or_id")
def revoke_command(name_or_id: str) -> None:
    """Revoke the active token with this NAME (or numeric ID): it stops working at once."""
    store = open_token_store()
    try:
        revoked = store.revoke(name_or_id)
    except TokenError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"revoked token {revoked.id} {revoked.name!r} ({revoked.role})")


@token.command("list")
@click.option("--active", is_flag=True, help="Only tokens that are not revoked.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(active: bool, as_json: bool) -> None:
    """List tokens (never their secrets)."""
    tokens = open_token_store().list(include_revoked=not active)
    if as_json:
        click.echo(json.dumps([t.as_dict() for t in tokens], indent=2))
        return
    rows = [
        [
            t.id,
            t.name,
            t.role,
            t.created_at.isoformat(timespec="seconds"),
            t.created_by,
            t.revoked_at.isoformat(timespec="seconds") if t.revoked_at else "",
            t.login or "",
        ]
        for t in tokens
    ]
    headers = ["id", "name", "role", "created", "created by", "revoked", "login"]
    click.echo(tabulate(rows, headers=headers) if rows else "(no tokens)")
