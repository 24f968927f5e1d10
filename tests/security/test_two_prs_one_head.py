"""Security finding #1: two pull requests, one head commit.

The ``countersign`` check run belongs to a commit; decisions belong to pull requests.  An agent
PR blocked on commit X must stay blocked when a second PR with the same head X — from a fork,
or into another base branch, by a human — is judged green on its own: the verdict on a commit
is the strictest decision over every open PR whose head it is, on one check run, and the sweep
repairs a commit showing anything else.
"""

from __future__ import annotations

from github_app.jobs.sweep import sweep_repository
from github_app.rulesets.sync import Repository
from tests.rulesets.helpers import installation_context
from tests.support.pr_scenario import PullRequestScenario, api_commit

HEAD_X = "5" * 40
OUTSIDER = {"login": "drive-by", "id": 6001, "type": "User"}


def agent_pr(github) -> PullRequestScenario:
    return PullRequestScenario(github, head_sha=HEAD_X)


def human_pr_on_the_same_commit(github, agent: PullRequestScenario) -> PullRequestScenario:
    """PR #77 from a fork into another base, by someone without write access, head X."""
    other = PullRequestScenario(github, head_sha=HEAD_X, number=77, same_repo_as=agent)
    pr = other.payload["pull_request"]
    pr["user"] = {**pr["user"], **OUTSIDER}
    pr["base"]["ref"] = "release"
    pr["head"]["repo"] = {**pr["head"]["repo"], "full_name": "drive-by/Hello-World", "id": 999}
    other.set_commits([api_commit(HEAD_X, "Tidy the importer", author=OUTSIDER)])
    return other


async def test_a_second_pr_on_the_blocked_commit_cannot_turn_it_green(app_harness):
    agent = agent_pr(app_harness.github)
    await app_harness.deliver_and_process("pull_request", agent.event("opened"))
    [run] = agent.runs_on(HEAD_X)
    assert run["conclusion"] == "action_required"

    human = human_pr_on_the_same_commit(app_harness.github, agent)
    await app_harness.deliver_and_process("pull_request", human.event("opened"))

    runs = agent.runs_on(HEAD_X)
    assert len(runs) == 1, "one countersign check run per commit, never a second"
    assert runs[0]["conclusion"] == "action_required", "the strictest PR decides the commit"
    assert "#77" in runs[0]["output"]["summary"] and "#2" in runs[0]["output"]["summary"]
    assert agent.check_runs.call_count == 1


async def test_the_order_of_the_two_prs_does_not_matter(app_harness):
    agent = agent_pr(app_harness.github)
    human = human_pr_on_the_same_commit(app_harness.github, agent)
    await app_harness.deliver_and_process("pull_request", human.event("opened"))
    assert [r["conclusion"] for r in agent.runs_on(HEAD_X)] == ["success"]

    await app_harness.deliver_and_process("pull_request", agent.event("opened"))
    assert [r["conclusion"] for r in agent.runs_on(HEAD_X)] == ["action_required"]


async def test_closing_the_blocked_pr_hands_the_commit_to_the_other(app_harness):
    agent = agent_pr(app_harness.github)
    human = human_pr_on_the_same_commit(app_harness.github, agent)
    await app_harness.deliver_and_process("pull_request", agent.event("opened"))
    await app_harness.deliver_and_process("pull_request", human.event("opened"))
    closed = agent.event("closed")
    closed["pull_request"].update(state="closed", updated_at="2019-05-15T16:00:00Z")
    await app_harness.deliver_and_process("pull_request", closed)
    assert [r["conclusion"] for r in agent.runs_on(HEAD_X)] == ["success"]


async def test_the_sweep_repairs_a_commit_shown_green_by_the_other_pr(app_harness):
    agent = agent_pr(app_harness.github)
    human = human_pr_on_the_same_commit(app_harness.github, agent)
    await app_harness.deliver_and_process("pull_request", agent.event("opened"))
    await app_harness.deliver_and_process("pull_request", human.event("opened"))
    # As an older build did: the human PR's own verdict published on the shared commit.
    [run] = agent.runs_on(HEAD_X)
    run["conclusion"] = "success"

    app_harness.github.route(
        "GET",
        f"/repos/{agent.repo}/pulls",
        json=[human.payload["pull_request"], agent.payload["pull_request"]],
    )
    repo_json = agent.payload["repository"]
    ctx = await installation_context(app_harness)
    assert await sweep_repository(ctx, Repository(repo_json["full_name"], repo_json["id"])) >= 1
    assert [r["conclusion"] for r in agent.runs_on(HEAD_X)] == ["action_required"]
