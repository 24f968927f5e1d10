"""Two replicas on one PostgreSQL store send GitHub each periodic job's calls once, not twice.

Both replicas are real Apps (``create_app``) sharing one database schema and one strict fake
GitHub; a freeze is seen by both containment watches, and both schedulers' sweeps come due.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from github_app.app_keys import SERVICES
from github_app.github.client import GitHubClient, RetryPolicy
from github_app.jobs.sweep import sweep_all
from github_app.server.app import create_app
from tests.support import databases
from tests.support.app_harness import harness_settings
from tests.support.fake_github import FAKE_APP_ID, example, no_sleep
from tests.support.pr_scenario import REVIEWER, PullRequestScenario

postgres_url = databases.postgres_url


@pytest.fixture
async def replicas(aiohttp_client, github, app_private_key_pem, postgres_url, tmp_path):
    """Two App replicas on one PostgreSQL schema (each with its own GitHub client)."""
    services = []
    for name in ("replica-a", "replica-b"):
        directory = tmp_path / name
        directory.mkdir()
        settings = harness_settings(
            directory, app_private_key_pem, database_url=postgres_url, countersign_replica_id=name
        )
        client = GitHubClient(
            app_id=FAKE_APP_ID,
            private_key=app_private_key_pem,
            base_url=github.base_url,
            retry=RetryPolicy(sleep=no_sleep),
        )
        app = create_app(settings, start_worker=False, github=client)
        await aiohttp_client(app)
        services.append(app[SERVICES])
    return services


def one_open_passing_pr(github) -> PullRequestScenario:
    scenario = PullRequestScenario(github)
    scenario.permissions["senior-reviewer"] = "write"
    scenario.set_reviews([scenario.review(REVIEWER, "APPROVED")])
    github.route("GET", "/app/installations", json=[{**example("installation"), "id": 1}])
    repository = {**example("full-repository"), **scenario.payload["repository"]}
    github.route(
        "GET", "/installation/repositories", json={"total_count": 1, "repositories": [repository]}
    )
    github.route("GET", f"/repos/{scenario.repo}/pulls", json=[scenario.payload["pull_request"]])
    github.route(
        "GET",
        f"/repos/{scenario.repo}/pulls/{scenario.number}",
        json=scenario.payload["pull_request"],
    )
    return scenario


async def test_a_freeze_seen_by_two_replicas_is_contained_once(replicas, github):
    first, second = replicas
    scenario = one_open_passing_pr(github)
    await asyncio.gather(*(replica.containment_watch.prime() for replica in replicas))
    before = len(github.requests("GET", "/installation/repositories"))

    first.containment.freeze(None, "incident 12", "secops")
    counts = await asyncio.gather(*(r.containment_watch.check() for r in replicas))

    assert sorted(counts) == [0, 1], "one replica re-evaluated the open PR, the other did not"
    assert len(github.requests("GET", "/installation/repositories")) == before + 1
    assert scenario.published()[-1]["conclusion"] == "failure"
    # Later polls of both replicas see the state as contained: nothing more goes to GitHub.
    assert await second.containment_watch.check() == 0
    assert await first.containment_watch.check() == 0
    assert len(github.requests("GET", "/installation/repositories")) == before + 1
    github.assert_no_violations()


async def test_a_change_contained_elsewhere_is_still_contained_after_a_new_one(replicas, github):
    first, second = replicas
    scenario = one_open_passing_pr(github)
    await asyncio.gather(*(replica.containment_watch.prime() for replica in replicas))
    first.containment.freeze(None, "incident 13", "secops")
    assert await first.containment_watch.check() == 1
    first.containment.unfreeze(None, "secops")  # a new state: the second replica contains it
    assert await second.containment_watch.check() == 1
    assert await first.containment_watch.check() == 0
    assert scenario.published()[-1]["conclusion"] == "success"


async def test_sweeps_of_two_replicas_coming_due_together_run_once(replicas, github):
    one_open_passing_pr(github)
    gap = timedelta(minutes=2)
    results = await asyncio.gather(*(sweep_all(r, unless_run_within=gap) for r in replicas))
    assert sorted(result is None for result in results) == [False, True]
    # The slower replica's turn comes after the other finished: skipped as recent.
    assert await sweep_all(replicas[1], unless_run_within=gap) is None
    assert len(github.requests("GET", "/installation/repositories")) == 1
    # Without a gap (an operator's explicit sweep) it runs again.
    assert await sweep_all(replicas[1]) is not None
    assert len(github.requests("GET", "/installation/repositories")) == 2
