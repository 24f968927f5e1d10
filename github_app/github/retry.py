"""When to retry a GitHub request, and how long GitHub asks us to wait (pure functions).

Rate-limit answers (429, and 403 when GitHub says a rate limit was hit) mean GitHub did not act
on the request, so every method may be retried. A 5xx or a read timeout may hide a request that
GitHub did carry out, so those are retried only when repeating the request is harmless.
Headers are read through a case-insensitive mapping (``httpx.Headers``) or lowercase keys.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import httpx
from gidgethub import RateLimitExceeded

RETRYABLE_SERVER_ERRORS = frozenset({500, 502, 503, 504})
# PATCH is not idempotent in general, but GitHub's PATCH endpoints set fields to given values,
# so replaying one leaves the same state.
REPLAY_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
# POSTs whose repetition is harmless: a second installation token is as good as the first.
REPLAY_SAFE_POST_PATHS = (re.compile(r"(?:^|/)app/installations/[^/]+/access_tokens$"),)
# Failures that happen before the request reaches GitHub: always safe to try again.
UNSENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectTimeout,
    httpx.ConnectError,
    httpx.PoolTimeout,
)
# Failures after the request may have reached GitHub.
MAYBE_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
)
SECONDARY_RATE_LIMIT_WAIT_SECONDS = 60.0


def is_replay_safe(method: str, path: str) -> bool:
    """True if sending the request twice has the same effect as sending it once."""
    method = method.upper()
    if method in REPLAY_SAFE_METHODS:
        return True
    return method == "POST" and any(p.search(path) for p in REPLAY_SAFE_POST_PATHS)


def is_rate_limited(status: int, headers: Mapping[str, str], body: bytes) -> bool:
    """True if GitHub refused the request because of a primary or secondary rate limit."""
    if status == 429:
        return True
    if status != 403:
        return False
    if "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0":
        return True
    # A 403 for missing permissions must not be retried; GitHub's rate-limit 403s say so.
    return b"rate limit" in body.lower()


def is_rate_limit_error(error: Exception) -> bool:
    """The same rule for an error gidgethub raised (it keeps the status and message only)."""
    if isinstance(error, RateLimitExceeded):
        return True
    status = getattr(error, "status_code", None)
    return status is not None and is_rate_limited(int(status), {}, str(error).encode())


def should_retry_response(
    method: str, path: str, status: int, headers: Mapping[str, str], body: bytes
) -> bool:
    """True if a response is a transient failure worth another attempt."""
    if is_rate_limited(status, headers, body):
        return True
    return status in RETRYABLE_SERVER_ERRORS and is_replay_safe(method, path)


def should_retry_error(method: str, path: str, error: BaseException) -> bool:
    """True if a transport error is transient and retrying cannot duplicate an effect."""
    if isinstance(error, UNSENT_ERRORS):
        return True
    return isinstance(error, MAYBE_SENT_ERRORS) and is_replay_safe(method, path)


def backoff_seconds(attempt: int, initial: float, cap: float) -> float:
    """Exponential backoff after the ``attempt``-th failure, with jitter so clients spread out."""
    jitter = random.uniform(0, initial)  # noqa: S311 - spreading load, not security
    return min(cap, initial * 2 ** (attempt - 1) + jitter)


def server_wait(status: int, headers: Mapping[str, str], body: bytes, now: float) -> float | None:
    """Seconds GitHub asks us to wait before retrying this response, or None to back off.

    Retry-After wins on any response. A rate-limited response without it waits for
    ``x-ratelimit-reset`` when the quota is spent, else the minute GitHub's documentation
    asks for after a secondary rate limit.
    """
    retry_after = _parse_retry_after(headers.get("retry-after"), now)
    if retry_after is not None:
        return retry_after
    if not is_rate_limited(status, headers, body):
        return None
    reset = _parse_reset(headers) if headers.get("x-ratelimit-remaining") == "0" else None
    return SECONDARY_RATE_LIMIT_WAIT_SECONDS if reset is None else max(0.0, reset - now)


def _parse_reset(headers: Mapping[str, str]) -> float | None:
    try:
        return float(headers["x-ratelimit-reset"])
    except (KeyError, ValueError):
        return None


def _parse_retry_after(value: str | None, now: float) -> float | None:
    """Retry-After is either delay-seconds or an HTTP-date."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None
