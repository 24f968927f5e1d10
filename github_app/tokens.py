"""API tokens of the auditor, admin and agent API: created once, stored only as a SHA-256 digest.

A token is ``cs_`` followed by 32 random bytes (URL-safe base64).  The plain token is shown to
its creator once and never stored; the database keeps ``sha256(token)`` in a unique column, so a
presented token is found by hashing it and looking the digest up in that index, then compared
with :func:`hmac.compare_digest` — the lookup never compares secrets character by character.

An ``agent`` token is bound to the GitHub ``login`` of the developer it was issued to: it may only
post agent hook events (``POST /api/v1/agent/events``), and its login is the *attested* launcher
of every session it starts.  It grants no auditor or admin access, and auditor and admin tokens
cannot post agent events (they carry no login, so nothing they posted could be attested).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import sqlalchemy as sa

from github_app.store.database import Database
from github_app.store.tables import api_tokens

Role = Literal["auditor", "admin", "agent"]
ROLES: tuple[Role, ...] = ("auditor", "admin", "agent")
TOKEN_PREFIX = "cs_"  # noqa: S105 - the public prefix, not a secret
TOKEN_RANDOM_BYTES = 32
# Longest presented token worth hashing; anything longer cannot be one of ours.
MAX_TOKEN_LENGTH = 128
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,63}$")
_TOKEN_SHAPE = re.compile(r"^cs_[A-Za-z0-9_-]{20,125}$")
# GitHub's login rules: alphanumerics and single hyphens, at most 39 characters.
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")


class TokenError(ValueError):
    """A token could not be created or revoked; the message says why."""


@dataclass(frozen=True)
class ApiToken:
    """A stored token (never the secret itself)."""

    id: int
    name: str
    role: Role
    created_at: datetime
    created_by: str | None
    revoked_at: datetime | None
    login: str | None = None  # agent tokens: the developer the token was issued to

    @property
    def active(self) -> bool:
        """Whether the token still authenticates."""
        return self.revoked_at is None

    def grants(self, role: Role) -> bool:
        """Whether this token may act as ``role`` (an admin is also an auditor, nobody else is an
        agent: agent events need a token bound to a login)."""
        return self.role == role or (self.role == "admin" and role == "auditor")

    def as_dict(self) -> dict[str, object]:
        """JSON-ready description for listings."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "login": self.login,
        }


def generate_token() -> str:
    """A fresh random bearer token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_RANDOM_BYTES)


def hash_token(token: str) -> str:
    """The hex SHA-256 digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def validate_name(name: str) -> str:
    """Return ``name`` if it is a usable token name, else raise :class:`TokenError`."""
    if not _NAME.match(name):
        raise TokenError(
            "token name must be 1-64 characters: letters, digits and _ . @ : - "
            "(starting with a letter or digit)"
        )
    return name


def validate_role(role: str) -> Role:
    """Return ``role`` if it is one of :data:`ROLES`, else raise :class:`TokenError`."""
    if role not in ROLES:
        raise TokenError(f"role must be one of {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


def validate_login(role: Role, login: str | None) -> str | None:
    """The GitHub login an agent token is bound to (required for agent tokens, refused else)."""
    if role != "agent":
        if login is not None:
            raise TokenError("--login binds agent tokens only; auditor and admin tokens have none")
        return None
    if not login:
        raise TokenError("an agent token needs --login: the GitHub login of its developer")
    cleaned = login.strip().removeprefix("@")
    if not _LOGIN.match(cleaned):
        raise TokenError(f"{login!r} is not a GitHub login (letters, digits, single hyphens)")
    return cleaned


class TokenStore:
    """Create, look up, list and revoke API tokens in the ``api_tokens`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self, name: str, role: str, *, created_by: str | None = None, login: str | None = None
    ) -> tuple[ApiToken, str]:
        """Store a new token and return it with its secret (the only time the secret exists)."""
        validate_name(name)
        checked_role = validate_role(role)
        bound_login = validate_login(checked_role, login)
        secret = generate_token()
        values = {
            "name": name,
            "role": checked_role,
            "login": bound_login,
            "token_sha256": hash_token(secret),
            "created_at": datetime.now(UTC),
            "created_by": created_by,
        }
        try:
            with self._db.transaction() as conn:
                new_id = conn.execute(api_tokens.insert().values(**values)).inserted_primary_key[0]
        except sa.exc.IntegrityError:
            raise TokenError(f"an active token named {name!r} already exists") from None
        return self._get(int(new_id)), secret  # type: ignore[return-value]

    def authenticate(self, presented: str | None) -> ApiToken | None:
        """The active token matching ``presented``, or None (unknown, malformed or revoked)."""
        if not presented or len(presented) > MAX_TOKEN_LENGTH or not _TOKEN_SHAPE.match(presented):
            return None
        digest = hash_token(presented)
        query = sa.select(api_tokens).where(api_tokens.c.token_sha256 == digest)
        with self._db.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None or not hmac.compare_digest(row["token_sha256"], digest):
            return None
        token = _from_row(row)
        return token if token.active else None

    def list(self, *, include_revoked: bool = True) -> list[ApiToken]:
        """Every token, oldest first."""
        query = sa.select(api_tokens).order_by(api_tokens.c.id)
        if not include_revoked:
            query = query.where(api_tokens.c.revoked_at.is_(None))
        with self._db.connect() as conn:
            return [_from_row(row) for row in conn.execute(query).mappings()]

    def revoke(self, name_or_id: str) -> ApiToken:
        """Revoke the active token with this name (or numeric id); raise if there is none."""
        target = self._find_active(name_or_id)
        if target is None:
            raise TokenError(f"no active token named or numbered {name_or_id!r}")
        with self._db.transaction() as conn:
            conn.execute(
                api_tokens.update()
                .where(api_tokens.c.id == target.id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
        return self._get(target.id)  # type: ignore[return-value]

    def _find_active(self, name_or_id: str) -> ApiToken | None:
        """An active token by name first, then by id when the argument is a number."""
        active = api_tokens.c.revoked_at.is_(None)
        with self._db.connect() as conn:
            row = (
                conn.execute(sa.select(api_tokens).where(api_tokens.c.name == name_or_id, active))
                .mappings()
                .first()
            )
            if row is None and name_or_id.isdigit() and len(name_or_id) < 19:
                row = (
                    conn.execute(
                        sa.select(api_tokens).where(api_tokens.c.id == int(name_or_id), active)
                    )
                    .mappings()
                    .first()
                )
        return None if row is None else _from_row(row)

    def _get(self, token_id: int) -> ApiToken | None:
        with self._db.connect() as conn:
            row = (
                conn.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id))
                .mappings()
                .first()
            )
        return None if row is None else _from_row(row)


def _from_row(row: sa.RowMapping) -> ApiToken:
    return ApiToken(
        id=int(row["id"]),
        name=row["name"],
        role=row["role"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        revoked_at=row["revoked_at"],
        login=row["login"],
    )
