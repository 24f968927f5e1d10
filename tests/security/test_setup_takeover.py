"""Setup mode cannot be taken over from the network (security finding: setup takeover).

Each test is one attack on the manifest flow; every one must leave the credentials file
untouched and GitHub unasked.
"""

from __future__ import annotations

from tests.server.setup_flow import (
    REMOTE,
    handoff,
    route_conversion,
    setup_client,
    setup_code,
    setup_settings,
    start,
)


async def test_remote_visitor_without_the_setup_code_gets_no_state(aiohttp_client, tmp_path):
    client = await setup_client(aiohttp_client, setup_settings(tmp_path))
    form = await (await client.get("/", headers=REMOTE)).text()
    assert 'name="setup_code"' in form  # a remote browser is asked for the code
    assert "state=" not in form  # and is handed nothing before giving it
    refused = await start(client, headers=REMOTE)
    assert refused.status == 403
    wrong = await start(client, setup_code="guess", headers=REMOTE)
    assert wrong.status == 403
    assert "state=" not in await wrong.text()


async def test_remote_operator_with_the_logged_code_may_start(aiohttp_client, tmp_path):
    client = await setup_client(aiohttp_client, setup_settings(tmp_path))
    started = await start(client, setup_code=setup_code(client), headers=REMOTE)
    assert started.status == 200
    assert handoff(await started.text())[2]


async def test_forged_state_is_refused(aiohttp_client, tmp_path, github):
    conversion = route_conversion(github)
    client = await setup_client(aiohttp_client, setup_settings(tmp_path))
    done = await client.get("/", params={"code": "abc", "state": "A" * 32})
    assert done.status == 403
    assert not conversion.called
    assert not (tmp_path / "data" / "countersign.env").exists()


async def test_state_from_another_browser_is_refused(aiohttp_client, tmp_path, github):
    conversion = route_conversion(github)
    client = await setup_client(aiohttp_client, setup_settings(tmp_path))
    _, _, state = handoff(await (await start(client)).text())
    client.session.cookie_jar.clear()  # the victim's browser never got the attacker's cookie
    done = await client.get("/", params={"code": "abc", "state": state})
    assert done.status == 403
    assert not conversion.called


async def test_state_cannot_be_replayed(aiohttp_client, tmp_path, github):
    route_conversion(github)
    client = await setup_client(aiohttp_client, setup_settings(tmp_path))
    _, _, state = handoff(await (await start(client)).text())
    first = await client.get("/", params={"code": "abc", "state": state}, allow_redirects=False)
    assert first.status == 303
    client.session.cookie_jar.update_cookies({"countersign_setup_state": state})
    again = await client.get("/", params={"code": "def", "state": state}, allow_redirects=False)
    assert again.status == 409


async def test_code_is_not_pasted_into_the_api_path(aiohttp_client, tmp_path, github):
    conversion = route_conversion(github)
    client = await setup_client(aiohttp_client, setup_settings(tmp_path))
    _, _, state = handoff(await (await start(client)).text())
    for code in ("../../user/repos", "abc/../../x", "abc?x=1", "a" * 101, ""):
        done = await client.get("/", params={"code": code, "state": state})
        assert done.status == 400, code
    assert not conversion.called
    assert github.requests() == []


async def test_setup_is_closed_once_credentials_exist(aiohttp_client, tmp_path, github):
    conversion = route_conversion(github)
    client = await setup_client(aiohttp_client, setup_settings(tmp_path))
    _, _, state = handoff(await (await start(client)).text())
    credentials = tmp_path / "data" / "countersign.env"
    credentials.parent.mkdir(parents=True, exist_ok=True)
    credentials.write_text("GITHUB_APP_ID=1\n")  # written by an earlier setup
    page = await client.get("/")
    assert page.status == 200
    assert "Setup cannot be run again" in await page.text()
    assert 'name="public_url"' not in await page.text()
    refused = await start(client)
    assert "state=" not in await refused.text()
    done = await client.get("/", params={"code": "abc", "state": state})
    assert done.status == 409
    assert not conversion.called
    assert credentials.read_text() == "GITHUB_APP_ID=1\n"


async def test_second_completion_never_overwrites_the_credentials(aiohttp_client, tmp_path, github):
    route_conversion(github)
    settings = setup_settings(tmp_path)
    first_client = await setup_client(aiohttp_client, settings)
    second_client = await setup_client(aiohttp_client, settings)  # e.g. a second replica
    _, _, first_state = handoff(await (await start(first_client)).text())
    _, _, second_state = handoff(await (await start(second_client)).text())
    await first_client.get("/", params={"code": "abc", "state": first_state}, allow_redirects=False)
    credentials = tmp_path / "data" / "countersign.env"
    written = credentials.read_text()
    route_conversion(github, id=9999, webhook_secret="attacker")
    again = await second_client.get("/", params={"code": "def", "state": second_state})
    assert again.status == 409
    assert credentials.read_text() == written
    assert "9999" not in written


async def test_forwarded_loopback_request_is_not_trusted(aiohttp_client, tmp_path):
    # A reverse proxy on the same host connects from 127.0.0.1 on behalf of anyone.
    client = await setup_client(aiohttp_client, setup_settings(tmp_path))
    refused = await start(client, headers={"X-Forwarded-For": "127.0.0.1"})
    assert refused.status == 403
