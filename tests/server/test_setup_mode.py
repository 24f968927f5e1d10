"""Without GITHUB_APP_ID the App starts, explains what is missing, and refuses webhooks."""

from __future__ import annotations

import json

from github_app.config import Settings
from github_app.server.app import create_app
from tests.support.webhooks import signed_headers


async def test_setup_mode_serves_the_manifest_page_and_refuses_webhooks(aiohttp_client, tmp_path):
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'cs.db'}",
        countersign_signing_key_path=tmp_path / "key",
    )
    client = await aiohttp_client(create_app(settings, start_worker=False))
    page = await (await client.get("/")).text()
    assert "setup mode" in page
    assert "GITHUB_APP_ID" in page
    assert "settings/apps/new?state=" in page
    body = json.dumps({"zen": "hi"}).encode()
    refused = await client.post("/webhooks", data=body, headers=signed_headers("ping", body, "x"))
    assert refused.status == 503
    ready = await client.get("/readyz")
    assert ready.status == 503
    assert (await ready.json())["checks"]["github_credentials"] is False
    assert (await client.get("/healthz")).status == 200


async def test_manifest_flow_saves_the_credentials(aiohttp_client, tmp_path, monkeypatch, github):
    import re
    import stat

    from tests.support.fake_github import FAKE_API_URL

    monkeypatch.chdir(tmp_path)
    settings = Settings(
        _env_file=None,
        github_api_url=FAKE_API_URL,
        database_url=f"sqlite:///{tmp_path / 'cs.db'}",
        countersign_signing_key_path=tmp_path / "key",
    )
    client = await aiohttp_client(create_app(settings, start_worker=False))
    form = await (await client.get("/")).text()
    state = re.search(r"state=([A-Za-z0-9_-]+)", form).group(1)
    github.route(
        "POST",
        "/app-manifests/{code}/conversions",
        status=201,
        json={
            "id": 4321,
            "name": "Countersign",
            "pem": "-----BEGIN RSA PRIVATE KEY-----\nx\n",
            "webhook_secret": "whsec",
            "client_id": "c",
            "client_secret": "s",
            "slug": "countersign",
        },
    )
    stale = await client.get("/", params={"code": "abc", "state": "forged"})
    assert stale.status == 400
    done = await client.get("/", params={"code": "abc", "state": state})
    assert done.status == 200, await done.text()
    env = (tmp_path / ".env").read_text()
    assert "GITHUB_APP_ID=4321" in env and "GITHUB_WEBHOOK_SECRET=whsec" in env
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600
    assert (tmp_path / "data" / "github-app.pem").read_text().startswith("-----BEGIN")
