"""The witness job publishes signed checkpoints to the witness repository (strict fake GitHub)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from github_app.jobs.scheduler import default_jobs
from github_app.ledger import NewEntry
from tests.support.fake_git import FakeGitRepository
from tests.support.fake_github import example

WITNESS = "acme/countersign-ledger"


def witness_job(services):
    [job] = [j for j in default_jobs(services) if j.name == "witness"]
    return job


def append(services, count: int) -> None:
    now = datetime.now(UTC)
    services.ledger.append_many(NewEntry(kind="freeze", occurred_at=now) for _ in range(count))
    services.ledger.checkpoint()


async def test_each_checkpoint_becomes_one_commit_once(app_harness):
    services = app_harness.services
    services.settings.countersign_witness_repo = WITNESS
    repo = FakeGitRepository(app_harness.github, WITNESS)
    append(services, 3)
    await witness_job(services).run()
    files = repo.files()
    assert json.loads(files["checkpoints/000000000003.json"]) == (
        services.ledger.latest_checkpoint().model_dump(mode="json")
    )
    await witness_job(services).run()  # nothing new: nothing committed
    assert len(repo.history()) == 2
    append(services, 2)
    await witness_job(services).run()
    assert sorted(p for p in repo.files() if p.startswith("checkpoints/")) == [
        "checkpoints/000000000003.json",
        "checkpoints/000000000005.json",
    ]
    assert repo.history()[0].startswith("Ledger checkpoint: 5 entries")
    assert len(repo.history()) == 3
    moves = app_harness.github.requests("PATCH", f"/repos/{WITNESS}/git/refs/heads/main")
    assert all(json.loads(r.content)["force"] is False for r in moves)


async def test_a_bare_name_is_found_in_the_organisation_installation(app_harness):
    services = app_harness.services
    repo = FakeGitRepository(app_harness.github, WITNESS)
    installation = example("installation")
    installation["account"] = {**installation["account"], "login": "acme", "type": "Organization"}
    app_harness.github.route("GET", "/app/installations", json=[installation])
    append(services, 1)
    assert services.settings.countersign_witness_repo == "countersign-ledger"
    await witness_job(services).run()
    assert "checkpoints/000000000001.json" in repo.files()


async def test_without_the_repository_witnessing_is_skipped_with_a_warning(app_harness, caplog):
    services = app_harness.services
    app_harness.github.route("GET", "/app/installations", json=[])
    append(services, 1)
    assert await witness_job(services).run() == []


async def test_without_contents_write_the_job_warns_and_publishes_nothing(app_harness):
    services = app_harness.services
    services.settings.countersign_witness_repo = WITNESS
    repo = FakeGitRepository(app_harness.github, WITNESS)
    app_harness.github.route(
        "POST",
        f"/repos/{WITNESS}/git/blobs",
        status=403,
        json={"message": "Resource not accessible by integration", "documentation_url": "x"},
    )
    append(services, 2)
    assert await witness_job(services).run() == []
    assert len(repo.history()) == 1


async def test_a_long_history_is_witnessed_in_paced_batches(app_harness, monkeypatch):
    from github_app.github import witness as witness_adapter

    services = app_harness.services
    services.settings.countersign_witness_repo = WITNESS
    repo = FakeGitRepository(app_harness.github, WITNESS)
    for _ in range(3):
        append(services, 1)
    monkeypatch.setattr(witness_adapter, "MAX_COMMITS_PER_RUN", 2)
    waits: list[float] = []

    async def record_sleep(self, seconds: float) -> None:
        waits.append(seconds)

    from github_app.github.client import CountersignGitHubAPI

    monkeypatch.setattr(CountersignGitHubAPI, "sleep", record_sleep)
    await witness_job(services).run()
    assert len(repo.history()) == 3 and waits == [witness_adapter.SECONDS_BETWEEN_COMMITS]
    await witness_job(services).run()
    assert len(repo.history()) == 4
