"""The sweep re-evaluates what webhooks missed; the scheduler runs jobs and survives failures."""

from __future__ import annotations

import asyncio

from github_app.jobs.scheduler import PeriodicJob, Scheduler, default_jobs, run_once
from github_app.jobs.sweep import decision_is_stale, sweep_repository
from github_app.rulesets.sync import Repository
from github_app.state.decisions import PrRecord
from tests.rulesets.helpers import installation_context
from tests.support.fake_github import example
from tests.support.pr_scenario import PullRequestScenario


def serve_open_pulls(scenario: PullRequestScenario) -> None:
    scenario.github.route(
        "GET", f"/repos/{scenario.repo}/pulls", json=[scenario.payload["pull_request"]]
    )


def serve_check_runs(scenario: PullRequestScenario, count: int):
    runs = [example("check-run")] * count
    return scenario.github.route(
        "GET",
        f"/repos/{scenario.repo}/commits/{scenario.head_sha}/check-runs",
        json={"total_count": count, "check_runs": runs},
    )


def test_decision_is_stale_without_record_or_for_an_older_head():
    assert decision_is_stale(None, "a")
    assert decision_is_stale(PrRecord(1, 2, "old", "approved", 3), "new")
    assert not decision_is_stale(PrRecord(1, 2, "new", "approved", 3), "new")


async def test_sweep_evaluates_a_pr_whose_webhook_was_missed(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    serve_open_pulls(scenario)
    repo_json = scenario.payload["repository"]
    ctx = await installation_context(app_harness)
    repo = Repository(repo_json["full_name"], repo_json["id"])

    assert await sweep_repository(ctx, repo) == 1
    assert scenario.check_runs.call_count == 1
    assert "decision" in app_harness.ledger_kinds()

    lookups_path = f"/repos/{scenario.repo}/commits/{scenario.head_sha}/check-runs"
    before = len(app_harness.github.requests("GET", lookups_path))
    assert await sweep_repository(ctx, repo) == 0, "decided on this head, check run present"
    lookups = app_harness.github.requests("GET", lookups_path)[before:]
    assert len(lookups) == 1
    assert lookups[0].url.params["check_name"] == "countersign"

    serve_check_runs(scenario, 0)
    assert await sweep_repository(ctx, repo) == 1, "the check run went missing"


async def test_sweep_repairs_a_check_run_showing_the_wrong_verdict(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    serve_open_pulls(scenario)
    repo_json = scenario.payload["repository"]
    ctx = await installation_context(app_harness)
    repo = Repository(repo_json["full_name"], repo_json["id"])
    assert await sweep_repository(ctx, repo) == 1
    (run,) = scenario.runs_on(scenario.head_sha)
    assert run["conclusion"] == "action_required"

    run["conclusion"] = "success"  # shown green by mistake (an old build, a lost update)
    assert await sweep_repository(ctx, repo) == 1
    assert [r["conclusion"] for r in scenario.runs_on(scenario.head_sha)] == ["action_required"]
    assert scenario.check_runs.call_count == 1, "repaired on the same run, not a second one"
    assert await sweep_repository(ctx, repo) == 0


async def test_run_once_reports_failure_without_raising():
    async def broken() -> None:
        raise RuntimeError("boom")

    assert await run_once(PeriodicJob("broken", 60, broken)) is False


async def test_scheduler_runs_jobs_at_start_and_stops_cleanly():
    ran = asyncio.Event()

    async def job() -> None:
        ran.set()

    scheduler = Scheduler([PeriodicJob("probe", 3600, job)])
    scheduler.start()
    assert scheduler.running
    await asyncio.wait_for(ran.wait(), timeout=5)
    await scheduler.stop()
    assert not scheduler.running


async def test_default_jobs_are_containment_denials_and_the_sweep(app_harness):
    jobs = default_jobs(app_harness.services)
    assert [(j.name, j.interval_seconds) for j in jobs] == [
        ("containment", 5.0),
        ("agent_operations", 5.0),
        ("pull_denials", 3600.0),
        ("sweep", app_harness.services.settings.countersign_sweep_minutes * 60),
        ("checkpoint", app_harness.services.settings.countersign_checkpoint_minutes * 60),
        ("witness", app_harness.services.settings.countersign_checkpoint_minutes * 60),
    ]


async def test_the_checkpoint_job_signs_entries_left_after_the_last_due_checkpoint(app_harness):
    from datetime import UTC, datetime, timedelta

    from github_app.ledger import NewEntry, load_or_create_signing_key
    from github_app.store.ledger import Ledger

    services = app_harness.services
    services.ledger.append(NewEntry(kind="freeze", occurred_at=datetime.now(UTC)))
    [job] = [j for j in default_jobs(services) if j.name == "checkpoint"]
    await job.run()
    assert services.ledger.latest_checkpoint() is None, "one entry, minutes ago: not due yet"
    two_hours_later = datetime.now(UTC) + timedelta(hours=2)
    services.ledger = Ledger(
        services.db,
        load_or_create_signing_key(services.settings.countersign_signing_key_path),
        clock=lambda: two_hours_later,
    )
    await job.run()
    assert services.ledger.latest_checkpoint().size == 1


async def test_a_sweep_already_running_elsewhere_is_not_repeated(app_harness):
    from github_app.jobs.sweep import sweep_all

    services = app_harness.services
    async with services.locks.try_hold("job", "sweep") as taken:
        assert taken
        assert await sweep_all(services) is None, "skipped: another sweep holds the job"
    assert app_harness.github.requests("GET", "/app/installations") == []
