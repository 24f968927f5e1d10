"""The check run's "Details" link opens the PR's console page, which says what the check says.

Through the real App: a signed ``pull_request`` delivery in, the check run out to the strict
fake GitHub (which validates ``details_url`` against GitHub's schema), then the console page
that link points to, signed in with an auditor token.
"""

from __future__ import annotations

from pathlib import Path

from github_app.app_keys import SERVICES
from github_app.github.client import GitHubClient, RetryPolicy
from github_app.server.app import create_app
from github_app.tokens import TokenStore
from tests.console.conftest import sign_in
from tests.support.app_harness import AppHarness, harness_settings
from tests.support.fake_github import FAKE_APP_ID, no_sleep
from tests.support.pr_scenario import PullRequestScenario

PUBLIC_URL = "https://countersign.example.com/"


async def test_details_url_points_at_the_console_page_of_the_pr(
    aiohttp_client, github, app_private_key_pem: str, tmp_path: Path
) -> None:
    settings = harness_settings(tmp_path, app_private_key_pem, countersign_public_url=PUBLIC_URL)
    client = GitHubClient(
        app_id=FAKE_APP_ID,
        private_key=app_private_key_pem,
        base_url=github.base_url,
        retry=RetryPolicy(sleep=no_sleep),
    )
    app = create_app(settings, start_worker=False, github=client)
    http = await aiohttp_client(app)
    harness = AppHarness(http, app[SERVICES], github)
    scenario = PullRequestScenario(github)
    await harness.deliver_and_process("pull_request", scenario.event("opened"))
    check = scenario.published()[-1]
    path = f"/console/pulls/{scenario.repo}/{scenario.number}"
    assert check["details_url"] == PUBLIC_URL.rstrip("/") + path

    _, secret = TokenStore(harness.services.db).create("auditor-1", "auditor")
    await sign_in(http, {"Authorization": f"Bearer {secret}"})
    response = await http.get(path)
    assert response.status == 200
    html = await response.text()
    assert check["output"]["title"] in html.replace("&#39;", "'")
    assert "pending" in html  # the decision's state, as the check run reports it


async def test_without_a_public_url_there_is_no_details_url(app_harness) -> None:
    scenario = PullRequestScenario(app_harness.github)
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    assert "details_url" not in scenario.published()[-1]
