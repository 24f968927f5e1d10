"""``countersign token create|revoke|list``: shown once, stored hashed, revocable."""

from __future__ import annotations

import json

import sqlalchemy as sa

from github_app.cli.token_commands import token
from github_app.store.tables import api_tokens
from github_app.tokens import TokenStore, hash_token
from tests.evidence.conftest import Cli


def test_create_prints_the_token_once_and_stores_only_its_hash(cli: Cli) -> None:
    result = cli.run(token, "create", "--role", "auditor", "--name", "big4-audit")
    secret = result.stdout.strip()
    assert secret.startswith("cs_") and len(secret) >= 40
    assert "only this once" in result.stderr
    with cli.db.connect() as conn:
        row = conn.execute(sa.select(api_tokens)).mappings().one()
    assert row["token_sha256"] == hash_token(secret)
    assert secret not in json.dumps({k: str(v) for k, v in row.items()})
    authenticated = TokenStore(cli.db).authenticate(secret)
    assert authenticated is not None and authenticated.role == "auditor"
    listing = cli.run(token, "list").stdout
    assert "big4-audit" in listing and secret not in listing


def test_revoke_by_name_or_id_stops_the_token(cli: Cli) -> None:
    first = cli.run(token, "create", "--role", "admin", "--name", "ops").stdout.strip()
    second = json.loads(
        cli.run(token, "create", "--role", "auditor", "--name", "aud", "--json").stdout
    )
    cli.run(token, "revoke", "ops")
    cli.run(token, "revoke", str(second["id"]))
    store = TokenStore(cli.db)
    assert store.authenticate(first) is None
    assert store.authenticate(second["token"]) is None
    listed = json.loads(cli.run(token, "list", "--json").stdout)
    assert all(entry["revoked_at"] for entry in listed)
    assert "(no tokens)" in cli.run(token, "list", "--active").stdout


def test_errors_exit_non_zero(cli: Cli) -> None:
    cli.run(token, "create", "--role", "auditor", "--name", "dup")
    assert (
        "already exists"
        in cli.run(token, "create", "--role", "admin", "--name", "dup", code=1).output
    )
    cli.run(token, "create", "--role", "root", "--name", "x", code=2)
    assert "no active token" in cli.run(token, "revoke", "ghost", code=1).output
    assert (
        "token name"
        in cli.run(token, "create", "--role", "admin", "--name", "bad name!", code=1).output
    )


def test_a_revoked_name_can_be_reused(cli: Cli) -> None:
    cli.run(token, "create", "--role", "auditor", "--name", "rotating")
    cli.run(token, "revoke", "rotating")
    fresh = cli.run(token, "create", "--role", "auditor", "--name", "rotating").stdout.strip()
    assert TokenStore(cli.db).authenticate(fresh) is not None
