"""Alerts to the sinks of ``policy.alerts``: signed JSON webhooks and Slack incoming webhooks.

Generic webhooks receive the alert as JSON, signed with HMAC-SHA256 over the exact body bytes
(``X-Countersign-Signature-256: sha256=<hex>``) with the secret in the environment variable the
policy names; Slack gets a short text message at the URL held in an environment variable.
Every sink is tried a few times with exponential backoff (tenacity), concurrently, with the
HTTP client the shared services own, and each outcome is returned, never
raised: a dead receiver must not hold up the rest of the response.

Alert URLs come from policy files, which repository admins write, so requests to loopback,
private, link-local (cloud metadata services), reserved, multicast and unspecified addresses are
refused, and redirects are not followed.  The host is checked as written (including numeric
shorthands such as ``127.1`` or ``2130706433``, read the way ``inet_aton`` reads them) and then
resolved: if ANY address it resolves to is not public, the sink is refused.  Error messages name
the sink by its environment variable, never by a secret URL.

Limitation: httpx resolves the host again when it connects, so a DNS server that answers
differently the second time (DNS rebinding) is not stopped; pinning the connection to the
checked address is out of scope here.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import os
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import AsyncRetrying, retry_if_result, stop_after_attempt, wait_exponential

from github_app.policy.model import Alerts

SIGNATURE_HEADER = "X-Countersign-Signature-256"
EVENT_HEADER = "X-Countersign-Event"
ALERT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DEFAULT_ATTEMPTS = 3
BACKOFF_SECONDS = 1.0
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
RESOLVE_TIMEOUT_S = 5.0

Sleep = Callable[[float], Awaitable[None]]
# Host name -> every address it resolves to (textual IPv4/IPv6).
Resolve = Callable[[str], Awaitable[Sequence[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def new_alert_client() -> httpx.AsyncClient:
    """The HTTP client alerts are sent with (the shared services own one and close it)."""
    return httpx.AsyncClient(timeout=ALERT_TIMEOUT, follow_redirects=False)


@dataclass(frozen=True)
class AlertResult:
    """What happened when one sink was alerted."""

    sink: str  # "webhook <url>" or "slack $ENV_NAME": never a secret
    ok: bool
    attempts: int
    status: int | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """For the ``alert`` ledger entry."""
        return {
            "sink": self.sink,
            "ok": self.ok,
            "attempts": self.attempts,
            "status": self.status,
            "error": self.error,
        }


@dataclass(frozen=True)
class _Request:
    sink: str
    url: str | None
    body: bytes
    headers: dict[str, str]
    problem: str | None = None


def signature(secret: str, body: bytes) -> str:
    """The ``X-Countersign-Signature-256`` value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def resolve_host(host: str) -> list[str]:
    """Every address ``host`` resolves to, through the system resolver (off the event loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def numeric_host(host: str) -> IPAddress | None:
    """The address ``host`` names literally, or ``None`` for a host name.

    IPv4 shorthands count (``127.1``, ``0x7f.1``, ``2130706433``: read as ``inet_aton`` reads
    them, which is how the resolver would treat them).
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is a global unicast address.

    IPv4-mapped IPv6 (``::ffff:a.b.c.d``) is judged as its IPv4 address, and a 6to4 address
    (``2002::/16``) also by the IPv4 address it embeds.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif address.sixtofour is not None and not is_public(address.sixtofour):
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def refused_url(url: str) -> str | None:
    """Why ``url`` is refused from its text alone (``None``: its host still needs resolving)."""
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        return "not an http(s) URL"
    host = parts.hostname.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return "refused: a loopback address"
    address = numeric_host(host)
    if address is not None and not is_public(address):
        return "refused: not a public address"
    return None


def refused_addresses(addresses: Sequence[str]) -> str | None:
    """Why a host resolving to ``addresses`` is refused: none, or ANY of them not public."""
    if not addresses:
        return "refused: the host does not resolve"
    for text in addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return "refused: the host resolves to an unreadable address"
        if not is_public(address):
            return "refused: the host resolves to a non-public address"
    return None


async def refused_destination(url: str, resolve: Resolve | None = None) -> str | None:
    """Why an alert must not be sent to ``url`` (``None``: it may be); fails closed.

    ``resolve`` maps a host name to its addresses (default :func:`resolve_host`).
    """
    problem = refused_url(url)
    if problem is not None:
        return problem
    host = (urlsplit(url).hostname or "").rstrip(".")
    if numeric_host(host) is not None:
        return None  # a public literal address: nothing to resolve
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            addresses = await (resolve or resolve_host)(host)
    except (OSError, ValueError, TimeoutError):
        return "refused: the host does not resolve"
    return refused_addresses(addresses)


def _webhook_request(
    url: str, secret_env: str | None, event: str, body: bytes, env: Mapping[str, str]
) -> _Request:
    headers = {"Content-Type": "application/json", EVENT_HEADER: event}
    sink = f"webhook {url}"
    if secret_env is not None:
        secret = env.get(secret_env)
        if not secret:
            return _Request(sink, None, body, headers, f"${secret_env} is not set")
        headers[SIGNATURE_HEADER] = signature(secret, body)
    return _Request(sink, url, body, headers)


def _slack_request(url_env: str, text: str, env: Mapping[str, str]) -> _Request:
    sink = f"slack ${url_env}"
    url = env.get(url_env)
    body = json.dumps({"text": text}).encode()
    if not url:
        return _Request(sink, None, body, {}, f"${url_env} is not set")
    headers = {"Content-Type": "application/json"}
    return _Request(sink, url, body, headers)


def build_requests(
    alerts: Alerts, event: str, payload: dict[str, Any], text: str, env: Mapping[str, str]
) -> list[_Request]:
    """One request per sink of ``alerts``: the JSON payload to webhooks, ``text`` to Slack."""
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    requests = [_webhook_request(w.url, w.secret_env, event, body, env) for w in alerts.webhooks]
    requests += [_slack_request(s.url_env, text, env) for s in alerts.slack]
    return requests


async def _post_once(
    client: httpx.AsyncClient, request: _Request, url: str, attempt: int
) -> AlertResult:
    try:
        response = await client.post(url, content=request.body, headers=request.headers)
    except httpx.HTTPError as error:
        # The exception text can contain the URL, which may be a secret (Slack).
        return AlertResult(request.sink, False, attempt, error=type(error).__name__)
    if response.is_success:
        return AlertResult(request.sink, True, attempt, status=response.status_code)
    status = response.status_code
    return AlertResult(request.sink, False, attempt, status=status, error=f"HTTP {status}")


def _worth_retrying(result: AlertResult) -> bool:
    """A transport error or a status that says "try again later"; never a success."""
    return not result.ok and (result.status is None or result.status in RETRY_STATUSES)


async def _deliver(
    client: httpx.AsyncClient, request: _Request, attempts: int, sleep: Sleep, resolve: Resolve
) -> AlertResult:
    if request.problem is not None or request.url is None:
        return AlertResult(request.sink, False, 0, error=request.problem)
    refusal = await refused_destination(request.url, resolve)
    if refusal is not None:
        return AlertResult(request.sink, False, 0, error=refusal)
    retrying = AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=BACKOFF_SECONDS),
        retry=retry_if_result(_worth_retrying),
        retry_error_callback=lambda state: state.outcome.result(),  # the last failure, as data
        sleep=sleep,
    )
    url = request.url

    async def attempt() -> AlertResult:
        return await _post_once(client, request, url, retrying.statistics["attempt_number"])

    return await retrying(attempt)


async def send_alerts(
    alerts: Alerts,
    event: str,
    payload: dict[str, Any],
    text: str,
    *,
    client: httpx.AsyncClient,
    env: Mapping[str, str] | None = None,
    attempts: int = DEFAULT_ATTEMPTS,
    sleep: Sleep = asyncio.sleep,
    resolve: Resolve | None = None,
) -> list[AlertResult]:
    """Alert every sink concurrently; one result per sink, in policy order.

    Each destination is checked (see :func:`refused_destination`, with ``resolve``) before any
    request is made to it.
    """
    requests = build_requests(alerts, event, payload, text, os.environ if env is None else env)
    resolver = resolve or resolve_host
    deliveries = (_deliver(client, r, attempts, sleep, resolver) for r in requests)
    return list(await asyncio.gather(*deliveries))
