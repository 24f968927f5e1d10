"""Finding 12: a co-author with an ordinary e-mail could approve the change they co-wrote.

``Co-authored-by: Senior Reviewer <senior@acme.example>`` excluded nobody unless that e-mail
was a noreply address or appeared on a linked commit of the same PR.  Co-author e-mails are now
resolved through GitHub (the account it links to commits by that e-mail), and one that cannot be
resolved is never silently ignored: the check run lists it, or (``approvals.
unresolved_coauthors: block``) the check fails.
"""

from __future__ import annotations

import httpx

from tests.support.pr_scenario import (
    CLAUDE_COAUTHOR,
    CLAUDE_FOOTER,
    REVIEWER,
    PullRequestScenario,
    api_commit,
)

EMAIL = "senior@acme.example"


def co_written(scenario: PullRequestScenario) -> None:
    message = (
        "Add retry to the importer\n\n"
        f"{CLAUDE_FOOTER}\n\n{CLAUDE_COAUTHOR}\n"
        f"Co-authored-by: Senior Reviewer <{EMAIL}>\n"
        "Agent-Session-Id: sess-42\nAgent-Launched-By: octo-dev\n"
    )
    scenario.set_commits([api_commit(scenario.head_sha, message)])
    scenario.permissions[REVIEWER["login"]] = "write"
    scenario.set_reviews([scenario.review(REVIEWER, "APPROVED")])


def github_knows(scenario: PullRequestScenario, account: dict | None):
    """``GET /repos/{o}/{r}/commits?author=<e-mail>``: a commit linked to ``account``, or none."""

    def commits(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("author") != EMAIL or account is None:
            return httpx.Response(200, json=[])
        return httpx.Response(200, json=[api_commit("9" * 40, "earlier work", author=account)])

    return scenario.github.route("GET", f"/repos/{scenario.repo}/commits", handler=commits)


async def test_a_co_author_known_to_github_cannot_approve(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    co_written(scenario)
    lookups = github_knows(scenario, REVIEWER)
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    assert lookups.called
    assert scenario.last_conclusion() == "action_required"
    text = scenario.published()[-1]["output"]["text"]
    assert "is a co-author (Co-authored-by)" in text


async def test_an_unresolved_co_author_is_shown_in_the_check_run(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    co_written(scenario)
    github_knows(scenario, None)
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    text = scenario.published()[-1]["output"]["text"]
    assert "Co-authors without a known GitHub account" in text
    assert EMAIL in text
    assert "noreply@anthropic.com" not in text.split("Co-authors without")[1].split("###")[0]


async def test_policy_can_block_on_an_unresolved_co_author(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.set_policy("approvals:\n  unresolved_coauthors: block\n", org=True)
    co_written(scenario)
    github_knows(scenario, None)
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    assert scenario.last_conclusion() == "failure"
    assert "co-authors without a GitHub account" in scenario.published()[-1]["output"]["title"]
