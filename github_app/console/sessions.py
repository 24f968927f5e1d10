"""Console sign-in sessions, kept server-side and stored only as digests.

Signing in exchanges an auditor or admin API token for a random session secret that lives in
an HttpOnly cookie; the database keeps ``sha256(secret)`` (table ``console_sessions``), so a
copy of the database opens no session.  Every request looks the digest up *together with the
token it came from*: a revoked token ends its sessions at once, and the role is the token's
current one.  The forms' anti-forgery token is derived from the secret (a different digest),
so it needs no storage and a database reader cannot forge it either.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from github_app.store.database import Database
from github_app.store.tables import api_tokens, console_sessions
from github_app.tokens import ApiToken, Role

SESSION_HOURS = 8
SECRET_BYTES = 32
MAX_SECRET_LENGTH = 128


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in browser: who (the token's name and role) and until when."""

    token_id: int
    token_name: str
    role: Role
    expires_at: datetime
    csrf: str

    def grants(self, role: Role) -> bool:
        """Whether the session may see pages needing ``role`` (an admin is also an auditor)."""
        return self.role == "admin" or self.role == role


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def csrf_token(secret: str) -> str:
    """The anti-forgery token of the session whose cookie holds ``secret``."""
    return hashlib.sha256(b"countersign-console-csrf:" + secret.encode("utf-8")).hexdigest()


def same_token(presented: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented anti-forgery token."""
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())


class ConsoleSessions:
    """Create, find and end console sessions."""

    def __init__(self, db: Database, *, hours: float = SESSION_HOURS) -> None:
        """``hours``: how long a session lasts after sign-in (no sliding renewal)."""
        self._db = db
        self._lifetime = timedelta(hours=hours)

    def start(self, token: ApiToken, now: datetime | None = None) -> tuple[str, ConsoleSession]:
        """A new session for ``token``: the cookie secret and the session."""
        moment = now or datetime.now(UTC)
        secret = secrets.token_urlsafe(SECRET_BYTES)
        expires_at = moment + self._lifetime
        with self._db.transaction() as conn:
            conn.execute(  # housekeeping: forget what can never open again
                console_sessions.delete().where(
                    sa.or_(
                        console_sessions.c.expires_at <= moment,
                        console_sessions.c.ended_at.is_not(None),
                    )
                )
            )
            conn.execute(
                console_sessions.insert().values(
                    session_sha256=_digest(secret),
                    token_id=token.id,
                    created_at=moment,
                    expires_at=expires_at,
                )
            )
        session = ConsoleSession(token.id, token.name, token.role, expires_at, csrf_token(secret))
        return secret, session

    def find(self, secret: str | None, now: datetime | None = None) -> ConsoleSession | None:
        """The live session for a cookie secret (None: absent, unknown, expired, ended, revoked)."""
        if not secret or len(secret) > MAX_SECRET_LENGTH:
            return None
        moment = now or datetime.now(UTC)
        sessions, tokens = console_sessions.c, api_tokens.c
        query = (
            sa.select(sessions.token_id, sessions.expires_at, tokens.name, tokens.role)
            .join(api_tokens, tokens.id == sessions.token_id)
            .where(
                sessions.session_sha256 == _digest(secret),
                sessions.ended_at.is_(None),
                sessions.expires_at > moment,
                tokens.revoked_at.is_(None),
            )
        )
        with self._db.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return ConsoleSession(row.token_id, row.name, row.role, row.expires_at, csrf_token(secret))

    def end(self, secret: str, now: datetime | None = None) -> None:
        """Sign out: the session no longer opens."""
        with self._db.transaction() as conn:
            conn.execute(
                console_sessions.update()
                .where(console_sessions.c.session_sha256 == _digest(secret))
                .values(ended_at=now or datetime.now(UTC))
            )
