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
    send_alerts,
    signature,
)
from github_app.policy.model import Alerts

HOOK = "https://alerts.example.com/countersign"
SLACK = "https://hooks.slack.example.com/services/T0/B0/secretpart"
ENV = {"ALERT_SECRET": "s3cret", "SLACK_URL": SLACK}
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
    ],
)
def test_internal_destinations_are_refused(url):
    assert refused_destination(url) is not None


def test_public_destinations_are_allowed():
    assert refused_destination(HOOK) is None
    assert refused_destination("https://8.8.8.8/hook") is None


@respx.mock
async def test_webhook_is_signed_and_slack_gets_text():
    hook = respx.post(HOOK).mock(return_value=httpx.Response(204))
    slack = respx.post(SLACK).mock(return_value=httpx.Response(200, text="ok"))
    config = alerts(
        webhooks=[{"url": HOOK, "secret_env": "ALERT_SECRET"}], slack=[{"url_env": "SLACK_URL"}]
    )
    results = await send(config)
    assert [r.ok for r in results] == [True, True]
    request = hook.calls.last.request
    assert json.loads(request.content) == PAYLOAD
    assert request.headers[SIGNATURE_HEADER] == signature("s3cret", request.content)
    assert json.loads(slack.calls.last.request.content) == {"text": "text"}
    assert results[1].sink == "slack $SLACK_URL"


@respx.mock
async def test_transient_failures_are_retried():
    route = respx.post(HOOK).mock(
        side_effect=[httpx.Response(503), httpx.ConnectError("down"), httpx.Response(200)]
    )
    [result] = await send(alerts(webhooks=[{"url": HOOK}]))
    assert result.ok and result.attempts == 3 and route.call_count == 3


@respx.mock
async def test_persistent_failure_is_reported_without_raising_or_leaking_the_url():
    respx.post(SLACK).mock(side_effect=httpx.ConnectError(f"cannot reach {SLACK}"))
    respx.post(HOOK).mock(return_value=httpx.Response(400))
    config = alerts(webhooks=[{"url": HOOK}], slack=[{"url_env": "SLACK_URL"}])
    hook, slack = await send(config)
    assert (hook.ok, hook.status, hook.attempts) == (False, 400, 1), "4xx is not retried"
    assert (slack.ok, slack.attempts, slack.error) == (False, 3, "ConnectError")
    assert "secretpart" not in json.dumps(slack.as_json())


async def test_missing_secret_or_url_fails_closed_without_sending():
    config = alerts(
        webhooks=[{"url": HOOK, "secret_env": "NOT_SET"}], slack=[{"url_env": "ALSO_NOT_SET"}]
    )
    with respx.mock(assert_all_called=False) as router:
        results = await send(config)
        assert not router.calls
    assert [r.error for r in results] == ["$NOT_SET is not set", "$ALSO_NOT_SET is not set"]
