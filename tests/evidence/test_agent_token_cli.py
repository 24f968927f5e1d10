"""``countersign token create --role agent --login``: an agent token bound to a developer."""

from __future__ import annotations

import json

import sqlalchemy as sa

from github_app.cli.token_commands import token
from github_app.store.tables import api_tokens
from github_app.tokens import TokenStore, hash_token
from tests.evidence.conftest import Cli


def test_an_agent_token_is_bound_to_a_login_shown_once_and_stored_hashed(cli: Cli) -> None:
    result = cli.run(
        token, "create", "--role", "agent", "--name", "alice-laptop", "--login", "@alice-dev"
    )
    secret = result.stdout.strip()
    assert secret.startswith("cs_") and "launcher @alice-dev" in result.stderr
    with cli.db.connect() as conn:
        row = conn.execute(sa.select(api_tokens)).mappings().one()
    assert (row["role"], row["login"], row["token_sha256"]) == (
        "agent",
        "alice-dev",
        hash_token(secret),
    )
    stored = TokenStore(cli.db).authenticate(secret)
    assert stored is not None and stored.login == "alice-dev"
    assert not stored.grants("auditor") and not stored.grants("admin")
    listed = json.loads(cli.run(token, "list", "--json").stdout)
    assert listed[0]["login"] == "alice-dev" and secret not in json.dumps(listed)


def test_logins_belong_to_agent_tokens_only(cli: Cli) -> None:
    missing = cli.run(token, "create", "--role", "agent", "--name", "x", code=1)
    assert "needs --login" in missing.output
    bad = cli.run(token, "create", "--role", "agent", "--name", "x", "--login", "a_b!", code=1)
    assert "is not a GitHub login" in bad.output
    auditor = cli.run(
        token, "create", "--role", "auditor", "--name", "x", "--login", "alice", code=1
    )
    assert "agent tokens only" in auditor.output
    with cli.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(api_tokens)).scalar() == 0
    admin = TokenStore(cli.db).create("ops", "admin")[0]
    assert admin.grants("auditor") and not admin.grants("agent")
