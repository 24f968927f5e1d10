"""Alert delivery: signed webhooks, Slack, retries, refusals; never raising."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest
import respx

from github_app.actions.alerts import (
    SIGNATURE_HEADER,
    refused_destination,
    resolve_host,
    send_alerts,
    signature,
)
from github_app.policy.model import Alerts

HOOK = "https://alerts.example.com/countersign"
SLACK = "https://hooks.slack.example.com/services/T0/B0/secretpart"
ENV = {"COUNTERSIGN_ALERT_SECRET": "s3cret", "COUNTERSIGN_ALERT_SLACK_URL": SLACK}
PAYLOAD = {"event": "direct_push", "after": "a" * 40}


async def no_sleep(_seconds: float) -> None:
    return None


def alerts(**data) -> Alerts:
    return Alerts.model_validate(data)


async def send(config: Alerts, **kwargs):
    async with httpx.AsyncClient() as client:
        return await send_alerts(
            config, "direct_push", PAYLOAD, "text", client=client, env=ENV, sleep=no_sleep, **kwargs
        )


def test_signature_is_hmac_sha256_of_the_body():
    body = b'{"a":1}'
    expected = hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert signature("k", body) == f"sha256={expected}"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "https://169.254.169.254/latest",
        "http://10.0.0.3/",
        "https://localhost:8080/",
        "ftp://example.com/",
        "https://[::1]/",
        "http://localhost./",
        "http://2130706433/",
        "http://127.1/",
        "http://0x7f.0.0.1/",
        "http://017700000001/",
        "http://0/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[2002:7f00:1::]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://100.64.0.1/",
        "http://240.0.0.1/",
    ],
)
async def test_internal_destinations_are_refused(url, fake_dns):
    assert await refused_destination(url) is not None
    assert fake_dns.asked == [], "literal addresses are judged without resolving"


@pytest.mark.parametrize(
    ("host", "addresses"),
    [
        ("localtest.me", ["127.0.0.1"]),
        ("metadata.google.internal", ["169.254.169.254"]),
        ("intranet.example.com", ["10.1.2.3"]),
        ("v6.example.com", ["fe80::1%eth0"]),
        ("mapped.example.com", ["::ffff:192.168.0.1"]),
        ("mixed.example.com", ["93.184.215.14", "127.0.0.1"]),
        ("empty.example.com", []),
    ],
)
async def test_hosts_resolving_to_any_internal_address_are_refused(host, addresses, fake_dns):
    fake_dns.answers[host] = addresses
    assert await refused_destination(f"https://{host}/hook") is not None
    assert fake_dns.asked == [host]


async def test_unresolvable_hosts_are_refused():
    assert await refused_destination("https://no-such-host.example.com/") is not None


async def test_public_destinations_are_allowed(fake_dns):
    assert await refused_destination(HOOK) is None
    assert await refused_destination(SLACK) is None
    assert await refused_destination("https://8.8.8.8/hook") is None
    assert await refused_destination("http://134744072/") is None, "8.8.8.8 in shorthand"
    assert fake_dns.asked == ["alerts.example.com", "hooks.slack.example.com"]


async def test_a_resolver_can_be_passed_in():
    async def loopback(_host: str) -> list[str]:
        return ["127.0.0.1"]

    async def public(_host: str) -> list[str]:
        return ["93.184.215.14"]

    assert await refused_destination("https://localtest.me/", resolve=loopback) is not None
    assert await refused_destination("https://localtest.me/", resolve=public) is None


async def test_the_default_resolver_returns_every_address():
    assert await resolve_host("127.0.0.1") == ["127.0.0.1"]  # numeric: no DNS query


async def test_alerts_to_internal_hosts_are_never_sent(fake_dns):
    fake_dns.answers["localtest.me"] = ["127.0.0.1"]
    config = alerts(webhooks=[{"url": "https://localtest.me/hook"}, {"url": HOOK}])
    with respx.mock(assert_all_called=False) as router:
        internal = router.post("https://localtest.me/hook").mock(return_value=httpx.Response(200))
        public = router.post(HOOK).mock(return_value=httpx.Response(204))
        refused, sent = await send(config)
    assert not internal.called and public.call_count == 1
    assert (refused.ok, refused.attempts) == (False, 0)
    assert refused.error is not None and "non-public" in refused.error
    assert sent.ok


@respx.mock
async def test_webhook_is_signed_and_slack_gets_text():
    hook = respx.post(HOOK).mock(return_value=httpx.Response(204))
    slack = respx.post(SLACK).mock(return_value=httpx.Response(200, text="ok"))
    config = alerts(
        webhooks=[{"url": HOOK, "secret_env": "COUNTERSIGN_ALERT_SECRET"}],
        slack=[{"url_env": "COUNTERSIGN_ALERT_SLACK_URL"}],
    )
    results = await send(config)
    assert [r.ok for r in results] == [True, True]
    request = hook.calls.last.request
    assert json.loads(request.content) == PAYLOAD
    assert request.headers[SIGNATURE_HEADER] == signature("s3cret", request.content)
    assert json.loads(slack.calls.last.request.content) == {"text": "text"}
    assert results[1].sink == "slack $COUNTERSIGN_ALERT_SLACK_URL"


@respx.mock
async def test_transient_failures_are_retried():
    route = respx.post(HOOK).mock(
        side_effect=[httpx.Response(503), httpx.ConnectError("down"), httpx.Response(200)]
    )
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with httpx.AsyncClient() as client:
        [result] = await send_alerts(
            alerts(webhooks=[{"url": HOOK}]),
            "direct_push",
            PAYLOAD,
            "t",
            client=client,
            env=ENV,
            sleep=sleep,
        )
    assert result.ok and result.attempts == 3 and route.call_count == 3
    assert slept == [1.0, 2.0], "exponential backoff between attempts"


@respx.mock
async def test_persistent_failure_is_reported_without_raising_or_leaking_the_url():
    respx.post(SLACK).mock(side_effect=httpx.ConnectError(f"cannot reach {SLACK}"))
    respx.post(HOOK).mock(return_value=httpx.Response(400))
    config = alerts(webhooks=[{"url": HOOK}], slack=[{"url_env": "COUNTERSIGN_ALERT_SLACK_URL"}])
    hook, slack = await send(config)
    assert (hook.ok, hook.status, hook.attempts) == (False, 400, 1), "4xx is not retried"
    assert (slack.ok, slack.attempts, slack.error) == (False, 3, "ConnectError")
    assert "secretpart" not in json.dumps(slack.as_json())


async def test_missing_secret_or_url_fails_closed_without_sending():
    config = alerts(
        webhooks=[{"url": HOOK, "secret_env": "COUNTERSIGN_ALERT_NOT_SET"}],
        slack=[{"url_env": "COUNTERSIGN_ALERT_ALSO_NOT_SET"}],
    )
    with respx.mock(assert_all_called=False) as router:
        results = await send(config)
        assert not router.calls
    assert [r.error for r in results] == [
        "$COUNTERSIGN_ALERT_NOT_SET is not set",
        "$COUNTERSIGN_ALERT_ALSO_NOT_SET is not set",
    ]
