"""App JWT claims and the installation token cache."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from github_app.github.auth import (
    AppJWT,
    InstallationToken,
    InstallationTokens,
    create_app_jwt,
    parse_installation_token,
)
from github_app.github.client import GitHubClient
from tests.support.fake_github import FAKE_APP_ID, FakeGitHub

NOW = 1_700_000_000.0


class FakeClock:
    """Wall-clock seconds that only move when the test says so."""

    def __init__(self, now: float = NOW):
        self.now = now

    def __call__(self) -> float:
        return self.now


def public_key(private_pem: str):
    return load_pem_private_key(private_pem.encode(), password=None).public_key()


def decode(token: str, private_pem: str) -> dict:
    return jwt.decode(
        token, public_key(private_pem), algorithms=["RS256"], options={"verify_exp": False}
    )


def test_app_jwt_claims_are_what_github_requires(app_private_key_pem):
    token = create_app_jwt(12345, app_private_key_pem, now=NOW)

    claims = decode(token, app_private_key_pem)
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert claims["iss"] == "12345"
    assert claims["iat"] == NOW - 60
    assert claims["exp"] - NOW <= 600
    assert claims["exp"] > NOW


def test_app_jwt_is_reused_then_renewed_before_it_expires(app_private_key_pem):
    clock = FakeClock()
    signer = AppJWT(7, app_private_key_pem, clock=clock)
    first = signer.token()

    clock.now += 60
    assert signer.token() == first

    clock.now += 8 * 60
    renewed = signer.token()
    assert renewed != first
    assert decode(renewed, app_private_key_pem)["iat"] == clock.now - 60


def test_app_jwt_rejects_a_bad_key_without_echoing_it():
    secret_looking = "-----BEGIN PRIVATE KEY-----\nnot-really-a-key\n-----END PRIVATE KEY-----"
    with pytest.raises(ValueError) as caught:
        AppJWT(1, secret_looking)
    assert "not-really-a-key" not in str(caught.value)


def test_app_jwt_repr_reveals_neither_key_nor_token(app_private_key_pem):
    signer = AppJWT(1, app_private_key_pem)
    assert repr(signer) == "AppJWT(app_id='1')"
    assert signer.token() not in repr(signer)


def test_installation_token_repr_hides_the_token():
    token = parse_installation_token({"token": "ghs_secret", "expires_at": "2030-01-01T00:00:00Z"})
    assert token.expires_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert "ghs_secret" not in repr(token)


def test_installation_token_response_without_token_is_refused():
    with pytest.raises(ValueError):
        parse_installation_token({"expires_at": "2030-01-01T00:00:00Z"})


class CountingFetcher:
    """Issues numbered tokens expiring an hour after the fake clock's now."""

    def __init__(self, clock: FakeClock, gate: asyncio.Event | None = None):
        self.clock = clock
        self.gate = gate
        self.calls: list[int] = []

    async def __call__(self, installation_id: int) -> InstallationToken:
        self.calls.append(installation_id)
        if self.gate is not None:
            await self.gate.wait()
        expires = datetime.fromtimestamp(self.clock.now, UTC) + timedelta(hours=1)
        return InstallationToken(f"tok-{installation_id}-{len(self.calls)}", expires)


async def test_token_is_cached_and_renewed_five_minutes_before_expiry():
    clock = FakeClock()
    fetch = CountingFetcher(clock)
    tokens = InstallationTokens(fetch, clock=clock)

    assert await tokens.get(1) == "tok-1-1"
    clock.now += 54 * 60 + 59
    assert await tokens.get(1) == "tok-1-1"
    clock.now += 1
    assert await tokens.get(1) == "tok-1-2"
    assert fetch.calls == [1, 1]


async def test_tokens_are_cached_per_installation():
    clock = FakeClock()
    fetch = CountingFetcher(clock)
    tokens = InstallationTokens(fetch, clock=clock)

    assert await tokens.get(1) != await tokens.get(2)
    await tokens.get(1)
    assert fetch.calls == [1, 2]


async def test_concurrent_callers_share_one_request():
    clock = FakeClock()
    gate = asyncio.Event()
    fetch = CountingFetcher(clock, gate)
    tokens = InstallationTokens(fetch, clock=clock)

    waiting = [asyncio.create_task(tokens.get(5)) for _ in range(10)]
    await asyncio.sleep(0)
    gate.set()

    assert set(await asyncio.gather(*waiting)) == {"tok-5-1"}
    assert fetch.calls == [5]


async def test_a_failed_fetch_reaches_every_waiter_and_is_retried_next_time():
    clock = FakeClock()
    attempts: list[int] = []

    async def flaky(installation_id: int) -> InstallationToken:
        attempts.append(installation_id)
        await asyncio.sleep(0)
        if len(attempts) == 1:
            raise RuntimeError("GitHub said no")
        return InstallationToken("tok", datetime.fromtimestamp(NOW, UTC) + timedelta(hours=1))

    tokens = InstallationTokens(flaky, clock=clock)
    results = await asyncio.gather(tokens.get(3), tokens.get(3), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)

    assert await tokens.get(3) == "tok"
    assert attempts == [3, 3]


async def test_invalidate_forces_a_new_token():
    clock = FakeClock()
    fetch = CountingFetcher(clock)
    tokens = InstallationTokens(fetch, clock=clock)
    await tokens.get(1)

    tokens.invalidate(1)

    assert await tokens.get(1) == "tok-1-2"


# --- through the HTTP client and the fake GitHub --------------------------------------------


async def test_token_request_uses_the_app_jwt(
    github: FakeGitHub, github_client, app_private_key_pem
):
    await github_client.for_installation(99)

    [sent] = github.requests("POST", "/app/installations/99/access_tokens")
    scheme, _, token = sent.headers["authorization"].partition(" ")
    assert scheme == "bearer"
    assert decode(token, app_private_key_pem)["iss"] == str(FAKE_APP_ID)


async def test_concurrent_installations_requests_make_one_http_call(
    github: FakeGitHub, github_client
):
    await asyncio.gather(*(github_client.for_installation(7) for _ in range(5)))

    assert len(github.requests("POST", "/app/installations/7/access_tokens")) == 1


async def test_client_renews_the_token_before_github_expires_it(
    github: FakeGitHub, app_private_key_pem
):
    clock = FakeClock(now=datetime.now(UTC).timestamp())
    github.route("GET", "/installation/repositories", json={"total_count": 0, "repositories": []})
    async with GitHubClient(
        app_id=FAKE_APP_ID,
        private_key=app_private_key_pem,
        base_url=github.base_url,
        clock=clock,
    ) as client:
        gh = await client.for_installation(1)
        await gh.getitem("/installation/repositories")
        clock.now += 54 * 60
        await gh.getitem("/installation/repositories")
        clock.now += 2 * 60
        await gh.getitem("/installation/repositories")

    assert len(github.requests("POST", "/app/installations/{id}/access_tokens")) == 2
    used = [r.headers["authorization"] for r in github.requests("GET")]
    assert used[0] == used[1] != used[2]
