"""The fake GitHub over HTTP validates and answers like the in-process one."""

from __future__ import annotations

from tests.support.fake_github_server import API_ROOT, World, make_app


async def test_the_http_fake_validates_requests_and_serves_the_world(aiohttp_client):
    client = await aiohttp_client(make_app(World("http://fake.test" + API_ROOT)))
    payload = await (
        await client.post(
            "/_control/pr",
            json={
                "number": 5,
                "head": "a" * 40,
                "agent": True,
                "updated_at": "2026-11-20T10:00:00Z",
            },
        )
    ).json()
    assert payload["pull_request"]["head"]["sha"] == "a" * 40

    token = {"Authorization": "token ghs_fake"}
    answer = await client.get(f"{API_ROOT}/repos/Codertocat/Hello-World/pulls/5", headers=token)
    assert answer.status == 200 and (await answer.json())["number"] == 5

    bad = await client.post(
        f"{API_ROOT}/repos/Codertocat/Hello-World/check-runs", json={"nom": 1}, headers=token
    )
    assert bad.status == 599, "a request GitHub would reject is refused"
    created = await client.post(
        f"{API_ROOT}/repos/Codertocat/Hello-World/check-runs",
        json={"name": "countersign", "head_sha": "a" * 40},
        headers=token,
    )
    assert created.status == 201

    await client.post("/_control/faults", json={"seconds": 30})
    assert (
        await client.get(f"{API_ROOT}/repos/Codertocat/Hello-World/pulls/5", headers=token)
    ).status == 502
    state = await (await client.get("/_control/state")).json()
    assert len(state["check_runs"]) == 1 and state["faults_served"] == 1
    assert all("check-runs" in line for line in state["violations"]) and state["violations"]
