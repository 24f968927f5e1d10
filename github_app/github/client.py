"""The App's connection to GitHub: one shared HTTP client, gidgethub APIs per identity.

``GitHubClient`` owns the process's single ``httpx.AsyncClient``, the App's JWT, the cache of
installation tokens and the shared ETag cache. It hands out ``CountersignGitHubAPI`` objects
(gidgethub's httpx ``GitHubAPI`` plus retries and credentials) that act either as the App
itself or as one installation, always against the configured ``base_url`` (GitHub Enterprise
Server: ``https://HOST/api/v3``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from gidgethub import httpx as gh_httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
)
from tenacity.stop import stop_base

from github_app.github.auth import (
    AppJWT,
    Clock,
    InstallationToken,
    InstallationTokens,
    parse_installation_token,
)
from github_app.github.etag_cache import Entry, ScopedETagCache, new_etag_store
from github_app.github.file_cache import FileCache, FileView
from github_app.github.retry import (
    backoff_seconds,
    is_rate_limited,
    server_wait,
    should_retry_error,
    should_retry_response,
)
from github_app.github.throttle import Throttle, ThrottlePolicy, Throttles

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_USER_AGENT = "countersign"
DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0, pool=5.0)

log = structlog.get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]
AuthorizationSource = Callable[[], Awaitable[str]]
RawResponse = tuple[int, Mapping[str, str], bytes]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts in total, the longest wait accepted, and how to wait.

    A wait GitHub demands (Retry-After, rate-limit reset) that is longer than
    ``max_wait_seconds`` is not shortened: the request gives up at once instead, because
    retrying before GitHub allows only prolongs the limit.
    """

    attempts: int = 4
    max_wait_seconds: float = 60.0
    backoff_initial_seconds: float = 0.5
    sleep: Sleep = asyncio.sleep
    clock: Clock = time.time


class StopIfWaitExceeds(stop_base):
    """Stop retrying when the next wait would be longer than ``limit`` seconds."""

    def __init__(self, limit: float):
        """``limit`` is the longest acceptable wait in seconds."""
        self.limit = limit

    def __call__(self, retry_state: RetryCallState) -> bool:
        """True when the wait tenacity just computed is too long."""
        return retry_state.upcoming_sleep > self.limit


class CountersignGitHubAPI(gh_httpx.GitHubAPI):
    """gidgethub's httpx GitHubAPI with credentials injected per request and retries.

    Credentials come from ``authorization`` on every attempt, so an instance stays usable
    after its installation token is renewed. A per-call ``jwt=``/``oauth_token=`` still wins.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        requester: str,
        *,
        authorization: AuthorizationSource,
        retry: RetryPolicy,
        cache: MutableMapping[str, Entry] | None,
        base_url: str,
        on_unauthorized: Callable[[], None] | None = None,
        files: FileView | None = None,
        throttle: Throttle | None = None,
    ):
        """Build an API bound to one identity (``authorization``) and ``base_url``."""
        super().__init__(client, requester, cache=cache, base_url=base_url)
        self._throttle = throttle
        self.files = files  # files read at a commit (github.facts.read_text_file)
        self._authorization = authorization
        self._retry = retry
        self._on_unauthorized = on_unauthorized

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> RawResponse:
        """Send the request with credentials, retrying transient failures."""
        request_headers = {key.lower(): value for key, value in headers.items()}
        if "authorization" not in request_headers:
            if _origin(url) != _origin(self.base_url):
                raise ValueError(f"refusing to send GitHub credentials to {_origin(url)}")
            request_headers["authorization"] = await self._authorization()
        path = urlsplit(url).path
        send = partial(self._send, waited={"rate_limit": False})
        response: RawResponse = await self._retrying(method, path)(
            send, method, url, request_headers, body
        )
        if response[0] == 401 and self._on_unauthorized is not None:
            self._on_unauthorized()
        return response

    async def _send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes, *, waited: dict
    ) -> RawResponse:
        """One attempt, through the identity's throttle; a rate limit pauses the identity.

        The refused request itself waits in the retry loop (which also gives up on waits that
        are too long), so its next attempt skips the pause it caused; ``waited`` says so.
        """
        if self._throttle is None:
            return await super()._request(method, url, headers, body)
        async with self._throttle.request(method, skip_pause=waited["rate_limit"]):
            response = await super()._request(method, url, headers, body)
        status, response_headers, response_body = response
        waited["rate_limit"] = is_rate_limited(status, response_headers, response_body)
        if waited["rate_limit"]:
            wait = server_wait(status, response_headers, response_body, self._retry.clock())
            self._throttle.pause(wait or 0.0)
        return response

    async def sleep(self, seconds: float) -> None:
        """Sleep with the policy's sleep (tests inject a no-op)."""
        await self._retry.sleep(seconds)

    def _retrying(self, method: str, path: str) -> AsyncRetrying:
        policy = self._retry
        return AsyncRetrying(
            retry=(
                retry_if_result(lambda r: should_retry_response(method, path, *r))
                | retry_if_exception(lambda e: should_retry_error(method, path, e))
            ),
            wait=self._wait,
            stop=stop_after_attempt(policy.attempts) | StopIfWaitExceeds(policy.max_wait_seconds),
            sleep=policy.sleep,
            before_sleep=partial(_log_retry, method, path),
            retry_error_callback=partial(_give_up, method, path),
        )

    def _wait(self, state: RetryCallState) -> float:
        """GitHub's requested wait for rate limits, else exponential backoff with jitter."""
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            status, headers, body = outcome.result()
            asked = server_wait(status, headers, body, self._retry.clock())
            if asked is not None:
                return asked
        return backoff_seconds(
            state.attempt_number, self._retry.backoff_initial_seconds, self._retry.max_wait_seconds
        )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _outcome_fields(state: RetryCallState) -> dict[str, Any]:
    outcome = state.outcome
    if outcome is None:
        return {}
    if outcome.failed:
        return {"error": type(outcome.exception()).__name__}
    return {"status": outcome.result()[0]}


def _log_retry(method: str, path: str, state: RetryCallState) -> None:
    log.info(
        "github.request.retry",
        method=method,
        path=path,
        attempt=state.attempt_number,
        wait_seconds=round(state.upcoming_sleep, 3),
        **_outcome_fields(state),
    )


def _give_up(method: str, path: str, state: RetryCallState) -> RawResponse:
    """Hand back the last response (gidgethub turns it into its exception) or re-raise."""
    log.warning(
        "github.request.gave_up",
        method=method,
        path=path,
        attempt=state.attempt_number,
        **_outcome_fields(state),
    )
    assert state.outcome is not None
    return state.outcome.result()


class GitHubClient:
    """The process's GitHub access: the App's credentials, one HTTP client, shared caches."""

    def __init__(
        self,
        *,
        app_id: int | str,
        private_key: str | bytes,
        base_url: str = DEFAULT_API_URL,
        requester: str = DEFAULT_USER_AGENT,
        http: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        etag_cache_size: int = 2048,
        clock: Clock = time.time,
        throttle: ThrottlePolicy | None = None,
    ):
        """Configure from explicit values; an ``http`` client passed in is not closed here."""
        self.base_url = base_url.rstrip("/")
        self.requester = requester
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, follow_redirects=True)
        self._retry = retry or RetryPolicy()
        self._jwt = AppJWT(app_id, private_key, clock=clock)
        self._etags = new_etag_store(etag_cache_size)
        self._files = FileCache()
        self._throttles = Throttles(throttle or ThrottlePolicy(), sleep=self._retry.sleep)
        self.tokens = InstallationTokens(self._create_installation_token, clock=clock)

    @property
    def app_id(self) -> str:
        """The App's id, as GitHub puts it in the JWT's ``iss``."""
        return self._jwt.app_id

    def as_app(self) -> CountersignGitHubAPI:
        """An API authenticated as the App itself (JWT): for ``/app/...`` endpoints."""
        return self._api("app", self._app_authorization)

    async def for_installation(self, installation_id: int) -> CountersignGitHubAPI:
        """An API acting as one installation, with its (cached) installation token."""
        await self.tokens.get(installation_id)  # fail here if GitHub refuses the installation

        async def authorization() -> str:
            return f"token {await self.tokens.get(installation_id)}"

        return self._api(
            f"installation:{installation_id}",
            authorization,
            on_unauthorized=partial(self.tokens.invalidate, installation_id),
        )

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> GitHubClient:
        """Use as ``async with GitHubClient(...) as github``."""
        return self

    async def __aexit__(self, *_exc: object) -> None:
        """Close on leaving the block."""
        await self.aclose()

    def _api(
        self,
        scope: str,
        authorization: AuthorizationSource,
        on_unauthorized: Callable[[], None] | None = None,
    ) -> CountersignGitHubAPI:
        return CountersignGitHubAPI(
            self._http,
            self.requester,
            authorization=authorization,
            retry=self._retry,
            cache=ScopedETagCache(self._etags, scope),
            base_url=self.base_url,
            on_unauthorized=on_unauthorized,
            files=self._files.view(scope),
            throttle=self._throttles.for_scope(scope),
        )

    async def _app_authorization(self) -> str:
        return f"bearer {self._jwt.token()}"

    async def _create_installation_token(self, installation_id: int) -> InstallationToken:
        payload = await self.as_app().post(
            "/app/installations/{installation_id}/access_tokens",
            {"installation_id": installation_id},
            data=b"",
        )
        return parse_installation_token(payload)
