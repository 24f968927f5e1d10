"""A freeze flips the passing agent checks first, found in the store, then the rest."""

from __future__ import annotations

from tests.support.fake_github import example
from tests.support.pr_scenario import REVIEWER, PullRequestScenario


async def test_a_freeze_flips_the_passing_check_before_touching_other_prs(app_harness):
    github = app_harness.github
    passing = PullRequestScenario(github)
    passing.permissions["senior-reviewer"] = "write"
    passing.set_reviews([passing.review(REVIEWER, "APPROVED")])
    await app_harness.deliver_and_process("pull_request", passing.event("opened"))
    assert passing.last_conclusion() == "success"
    assert passing.check_runs.call_count == 1
    repo_id = passing.payload["repository"]["id"]
    head_sha = passing.payload["pull_request"]["head"]["sha"]
    passing_run = app_harness.services.decisions.check_of(repo_id, head_sha).check_run_id

    waiting = {**passing.payload["pull_request"], "number": 3, "id": 777}
    waiting["head"] = {**waiting["head"], "sha": "9" * 40}
    for listing in ("commits", "files", "reviews"):
        github.route("GET", f"/repos/{passing.repo}/pulls/3/{listing}", json=[])
    github.route("GET", "/app/installations", json=[{**example("installation"), "id": 1}])
    repository = {**example("full-repository"), **passing.payload["repository"]}
    github.route(
        "GET", "/installation/repositories", json={"total_count": 1, "repositories": [repository]}
    )
    # GitHub lists the waiting PR first: the order must come from the store, not the listing.
    github.route(
        "GET", f"/repos/{passing.repo}/pulls", json=[waiting, passing.payload["pull_request"]]
    )
    github.route(
        "GET", f"/repos/{passing.repo}/pulls/{passing.number}", json=passing.payload["pull_request"]
    )
    before = len(github.requests())

    app_harness.services.containment.freeze(None, "incident 9", "secops")
    assert await app_harness.services.containment_watch.check() == 2

    after = [f"{r.method} {github.api_path(r)}" for r in github.requests()[before:]]
    flip = after.index(f"PATCH /repos/{passing.repo}/check-runs/{passing_run}")
    first_waiting = next(i for i, call in enumerate(after) if "/pulls/3/" in call)
    assert flip < first_waiting, after
    assert after.count(f"PATCH /repos/{passing.repo}/check-runs/{passing_run}") == 1, (
        "the full sweep does not redo a PR the first pass re-evaluated"
    )
    assert passing.published()[-1]["conclusion"] == "failure"
    github.assert_no_violations()
