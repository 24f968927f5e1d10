"""The per-identity throttle: writes paced, concurrency bounded, a rate limit pauses everyone."""

from __future__ import annotations

import asyncio

import pytest

from github_app.github.client import GitHubClient, RetryPolicy
from github_app.github.throttle import (
    INCIDENT_COOLDOWN,
    Throttle,
    ThrottlePolicy,
    incident_writes,
)
from tests.support.fake_github import FAKE_APP_ID, FakeGitHub, example


class FakeTime:
    """A clock that moves only when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(round(seconds, 6))
        await asyncio.sleep(0)


async def test_writes_are_spaced_and_reads_are_not():
    time = FakeTime()
    throttle = Throttle(ThrottlePolicy(write_interval=1.0), sleep=time.sleep, clock=time.clock)

    async def send(method: str) -> None:
        async with throttle.request(method):
            pass

    await asyncio.gather(send("PATCH"), send("POST"), send("PATCH"), send("GET"), send("GET"))

    assert sorted(time.waits) == [1.0, 2.0], "the 2nd and 3rd write wait their turn; reads never"


async def test_no_more_than_max_concurrent_requests_are_in_flight():
    throttle = Throttle(ThrottlePolicy(max_concurrent=3))
    in_flight = peak = 0

    async def send() -> None:
        nonlocal in_flight, peak
        async with throttle.request("GET"):
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0)
            in_flight -= 1

    await asyncio.gather(*(send() for _ in range(10)))
    assert peak == 3


async def test_a_pause_holds_every_later_request():
    time = FakeTime()
    throttle = Throttle(ThrottlePolicy(), sleep=time.sleep, clock=time.clock)
    throttle.pause(30)
    async with throttle.request("GET"):
        pass
    assert time.waits == [30.0]


@pytest.fixture
def recorded() -> list[float]:
    return []


async def test_a_rate_limit_answer_pauses_the_other_requests_of_that_installation_only(
    github: FakeGitHub, app_private_key_pem: str, recorded: list[float]
):
    async def sleep(seconds: float) -> None:
        recorded.append(round(seconds))

    limited = github.route(
        "GET",
        "/repos/{owner}/{repo}/pulls/{pull_number}",
        status=429,
        headers={"retry-after": "7"},
        json={"message": "You have exceeded a secondary rate limit"},
    )
    limited.then(json=example("pull-request"))
    retry = RetryPolicy(attempts=3, max_wait_seconds=60, sleep=sleep)
    async with GitHubClient(
        app_id=FAKE_APP_ID, private_key=app_private_key_pem, base_url=github.base_url, retry=retry
    ) as client:
        first, other = await client.for_installation(1), await client.for_installation(2)
        await first.getitem("/repos/octo/hello/pulls/1")  # 429, waits 7 in its retry, then 200
        assert recorded == [7]
        await other.getitem("/repos/octo/hello/pulls/2")  # another installation: no pause
        assert recorded == [7]
        await first.getitem("/repos/octo/hello/pulls/3")  # same installation: still paused
    assert len(recorded) == 2 and 0 < recorded[1] <= 7


async def test_incident_writes_use_the_incident_pace_in_every_task_they_start():
    time = FakeTime()
    policy = ThrottlePolicy(write_interval=1.0, incident_write_interval=0.25)
    throttle = Throttle(policy, sleep=time.sleep, clock=time.clock)

    async def write() -> None:
        async with throttle.request("PATCH"):
            pass

    with incident_writes():
        await asyncio.gather(*(write() for _ in range(4)))  # gather's tasks inherit the pace
    assert sorted(time.waits) == [0.25, 0.5, 0.75]
    time.waits.clear()
    time.now += 10
    await asyncio.gather(write(), write())
    assert time.waits == [1.0], "outside the block: the ordinary gap"


async def test_a_rate_limit_answer_withdraws_the_incident_pace():
    time = FakeTime()
    policy = ThrottlePolicy(write_interval=1.0, incident_write_interval=0.25)
    throttle = Throttle(policy, sleep=time.sleep, clock=time.clock)
    throttle.pause(30)
    time.now += 31
    with incident_writes():
        assert throttle.write_interval() == 1.0, "GitHub objected: back to one second"
        time.now += INCIDENT_COOLDOWN
        assert throttle.write_interval() == 0.25, "after the cool-down the pace may return"
