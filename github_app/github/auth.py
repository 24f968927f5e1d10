"""GitHub App credentials: the App's JWT and cached installation access tokens.

The App authenticates as itself with a short-lived RS256 JWT, and acts on an installation with
an installation access token that GitHub issues for one hour. Tokens are cached per installation
and renewed a few minutes before they expire; concurrent callers asking for the same
installation share one request to GitHub. Tokens are secrets: they never appear in logs or
reprs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt
from cachetools import TLRUCache
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from github_app.github.app_key import load_app_private_key

# GitHub rejects a JWT whose iat lies in its future; backdating absorbs clock drift.
JWT_BACKDATE_SECONDS = 60
# GitHub caps exp at ten minutes after now; measured from the backdated iat this is 10 minutes.
JWT_LIFETIME_SECONDS = 9 * 60
# Mint a new JWT this long before the cached one expires.
JWT_REFRESH_MARGIN_SECONDS = 60
# Renew an installation token this long before GitHub's expires_at.
TOKEN_REFRESH_MARGIN_SECONDS = 5 * 60

Clock = Callable[[], float]


def app_jwt_claims(app_id: int | str, now: float) -> dict[str, Any]:
    """The claims of an App JWT issued at ``now`` (epoch seconds)."""
    issued = int(now)
    return {
        "iat": issued - JWT_BACKDATE_SECONDS,
        "exp": issued + JWT_LIFETIME_SECONDS,
        "iss": str(app_id),
    }


def create_app_jwt(app_id: int | str, private_key: RSAPrivateKey | str, now: float) -> str:
    """Sign an App JWT (RS256) with the App's private key."""
    return jwt.encode(app_jwt_claims(app_id, now), private_key, algorithm="RS256")


class AppJWT:
    """The App's JWT, minted on demand and reused until shortly before it expires."""

    def __init__(self, app_id: int | str, private_key_pem: str | bytes, clock: Clock = time.time):
        """Validate the key now, so a bad key stops start-up rather than the first request."""
        self.app_id = str(app_id)
        self._key = load_app_private_key(private_key_pem)
        self._clock = clock
        self._token: str | None = None
        self._renew_at = 0.0

    def __repr__(self) -> str:
        """Identify the App without revealing the key or the token."""
        return f"AppJWT(app_id={self.app_id!r})"

    def token(self) -> str:
        """Return a JWT valid for at least another minute."""
        now = self._clock()
        if self._token is None or now >= self._renew_at:
            self._token = create_app_jwt(self.app_id, self._key, now)
            self._renew_at = int(now) + JWT_LIFETIME_SECONDS - JWT_REFRESH_MARGIN_SECONDS
        return self._token


@dataclass(frozen=True)
class InstallationToken:
    """An installation access token and the moment GitHub stops accepting it."""

    token: str = field(repr=False)
    expires_at: datetime

    def renew_at(self, margin_seconds: float = TOKEN_REFRESH_MARGIN_SECONDS) -> float:
        """Epoch seconds after which the token should be replaced."""
        return self.expires_at.timestamp() - margin_seconds


def parse_installation_token(payload: Mapping[str, Any]) -> InstallationToken:
    """Read GitHub's "create an installation access token" response."""
    token = payload.get("token")
    expires_at = payload.get("expires_at")
    if not isinstance(token, str) or not token or not isinstance(expires_at, str):
        raise ValueError("GitHub's installation token response lacks token or expires_at")
    return InstallationToken(token=token, expires_at=datetime.fromisoformat(expires_at))


TokenFetcher = Callable[[int], Awaitable[InstallationToken]]


class InstallationTokens:
    """Installation access tokens cached per installation, renewed before they expire."""

    def __init__(
        self,
        fetch: TokenFetcher,
        *,
        maxsize: int = 10_000,
        refresh_margin_seconds: float = TOKEN_REFRESH_MARGIN_SECONDS,
        clock: Clock = time.time,
    ):
        """``fetch`` asks GitHub for a new token; ``clock`` is wall-clock epoch seconds."""
        self._fetch = fetch
        self._margin = refresh_margin_seconds
        self._cache: TLRUCache[int, InstallationToken] = TLRUCache(
            maxsize, ttu=self._renew_at, timer=clock
        )
        self._in_flight: dict[int, asyncio.Task[InstallationToken]] = {}

    def _renew_at(self, _key: int, value: InstallationToken, _now: float) -> float:
        return value.renew_at(self._margin)

    async def get(self, installation_id: int) -> str:
        """A token for ``installation_id``, from the cache or freshly issued by GitHub."""
        cached = self._cache.get(installation_id)
        if cached is not None:
            return cached.token
        task = self._in_flight.get(installation_id)
        if task is None:
            task = asyncio.ensure_future(self._fetch_and_store(installation_id))
            self._in_flight[installation_id] = task
        # shield: one caller giving up must not cancel the request the others wait on.
        token = await asyncio.shield(task)
        return token.token

    async def _fetch_and_store(self, installation_id: int) -> InstallationToken:
        try:
            token = await self._fetch(installation_id)
            self._cache[installation_id] = token
            return token
        finally:
            self._in_flight.pop(installation_id, None)

    def invalidate(self, installation_id: int) -> None:
        """Forget the cached token, e.g. after GitHub answered 401 to it."""
        self._cache.pop(installation_id, None)
