"""Setup mode: from an unconfigured App to a registered one that the next start picks up."""

from __future__ import annotations

import json
import stat

from github_app.config import load_settings
from tests.server.setup_flow import (
    handoff,
    route_conversion,
    setup_client,
    setup_settings,
    start,
)
from tests.support.webhooks import signed_headers


async def test_setup_mode_serves_the_form_and_refuses_webhooks(aiohttp_client, tmp_path):
    client = await setup_client(aiohttp_client, setup_settings(tmp_path))
    response = await client.get("/")
    assert response.status == 200
    page = await response.text()
    assert "setup mode" in page and "GITHUB_APP_ID" in page
    assert 'name="org"' in page and 'value="personal"' in page
    assert "GitHub must be able to reach it" in page
    body = json.dumps({"zen": "hi"}).encode()
    refused = await client.post("/webhooks", data=body, headers=signed_headers("ping", body, "x"))
    assert refused.status == 503
    ready = await client.get("/readyz")
    assert ready.status == 503
    assert (await ready.json())["checks"]["github_credentials"] is False
    assert (await client.get("/healthz")).status == 200


async def test_public_url_prefills_the_webhook_url(aiohttp_client, tmp_path):
    settings = setup_settings(tmp_path, countersign_public_url="https://cs.acme.example/")
    client = await setup_client(aiohttp_client, settings)
    assert 'value="https://cs.acme.example"' in await (await client.get("/")).text()


async def test_organisation_app_is_registered_installed_and_read_on_next_start(
    aiohttp_client, tmp_path, monkeypatch, github
):
    settings = setup_settings(tmp_path)
    client = await setup_client(aiohttp_client, settings)
    started = await start(client, org="acme", public_url="https://cs.acme.example/")
    assert started.status == 200
    action, manifest, state = handoff(await started.text())
    assert action.startswith("https://github.test/organizations/acme/settings/apps/new?state=")
    assert manifest["hook_attributes"] == {
        "url": "https://cs.acme.example/webhooks",
        "active": True,
    }
    assert manifest["redirect_url"] == "https://cs.acme.example/"
    assert manifest["default_permissions"]["checks"] == "write"

    conversion = route_conversion(github)
    done = await client.get("/", params={"code": "abc123", "state": state}, allow_redirects=False)
    assert done.status == 303, await done.text()
    assert done.headers["Location"] == "https://github.test/apps/countersign-acme/installations/new"
    assert conversion.call_count == 1
    assert github.requests("POST")[0].url.path == "/api/v3/app-manifests/abc123/conversions"

    written = tmp_path / "data" / "countersign.env"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert "GITHUB_APP_ID=4321" in written.read_text()
    assert not (tmp_path / ".env").exists()
    assert (await client.get("/")).status == 200  # still 200: "registered, restart"

    # The next start, from the same folder, reads the credentials file and leaves setup mode.
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_APP_ID", "GITHUB_WEBHOOK_SECRET", "GITHUB_PRIVATE_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///data/countersign.db")
    (tmp_path / ".env").write_text("LOG_LEVEL=WARNING\n")  # an existing .env still applies
    restarted = load_settings()
    assert not restarted.setup_mode
    assert restarted.github_app_id == 4321
    assert restarted.log_level == "WARNING"
    assert restarted.github_webhook_secret.get_secret_value() == "whsec_1"
    assert restarted.private_key_pem().startswith("-----BEGIN RSA PRIVATE KEY-----\nMIIEfake\n")


async def test_personal_account_and_enterprise_server_hosts(aiohttp_client, tmp_path):
    settings = setup_settings(tmp_path, github_api_url="https://ghe.acme.example/api/v3")
    client = await setup_client(aiohttp_client, settings)
    assert "GitHub Enterprise Server" in await (await client.get("/")).text()
    started = await start(client, owner="personal", org="")
    action, _, _ = handoff(await started.text())
    assert action.startswith("https://ghe.acme.example/settings/apps/new?state=")


async def test_localhost_webhook_url_is_flagged(aiohttp_client, tmp_path):
    client = await setup_client(aiohttp_client, setup_settings(tmp_path))
    started = await start(client, public_url="http://localhost:3000")
    assert "GitHub cannot reach" in await started.text()


async def test_bad_answers_are_refused_with_the_form_again(aiohttp_client, tmp_path):
    client = await setup_client(aiohttp_client, setup_settings(tmp_path))
    bad_org = await start(client, org="acme corp/../x")
    assert bad_org.status == 400
    assert "organisation" in await bad_org.text()
    bad_url = await start(client, public_url="ftp://cs")
    assert bad_url.status == 400
    assert 'name="public_url"' in await bad_url.text()


async def test_status_page_answers_once_the_ledger_has_entries(app_harness):
    from datetime import UTC, datetime

    from github_app.ledger.entry import NewEntry

    app_harness.services.ledger.append(
        NewEntry(kind="drill", occurred_at=datetime.now(UTC), actor="t", data={})
    )
    response = await app_harness.client.get("/")
    assert response.status == 200
    page = await response.text()
    assert "ledger entries" in page and "<td>1</td>" in page
    refused = await app_harness.client.post("/", data={"owner": "personal"})
    assert refused.status == 405  # the setup form is gone once the App is configured


async def test_unwritable_data_folder_is_reported_before_the_code_is_spent(
    aiohttp_client, tmp_path, github
):
    from tests.server.setup_flow import route_conversion

    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the data folder should be\n")
    settings = setup_settings(tmp_path, countersign_data_dir=blocker / "data")
    client = await setup_client(aiohttp_client, settings)
    _, _, state = handoff(await (await start(client)).text())
    conversion = route_conversion(github)
    failed = await client.get("/", params={"code": "abc", "state": state})
    assert failed.status == 500
    assert "GitHub's code was not used" in await failed.text()
    assert not conversion.called
    blocker.unlink()  # the operator fixes the folder and reloads the same page
    retried = await client.get("/", params={"code": "abc", "state": state}, allow_redirects=False)
    assert retried.status == 303
    assert conversion.call_count == 1
    assert "GITHUB_APP_ID=4321" in (blocker / "data" / "countersign.env").read_text()


async def test_refused_conversion_leaves_no_credentials_file(aiohttp_client, tmp_path, github):
    settings = setup_settings(tmp_path)
    client = await setup_client(aiohttp_client, settings)
    _, _, state = handoff(await (await start(client)).text())
    github.route(
        "POST",
        "/app-manifests/{code}/conversions",
        status=404,
        json={"message": "Not Found", "documentation_url": "d"},
    )
    failed = await client.get("/", params={"code": "expired", "state": state})
    assert failed.status == 502
    assert not settings.credentials_file.exists()
    assert (await client.get("/")).status == 200
    assert 'name="public_url"' in await (await client.get("/")).text()  # setup still open
