"""GitHub Enterprise Server: every address comes from ``GITHUB_API_URL``.

The App runs against a fake GitHub at ``https://ghe.example/api/v3`` (REST) and
``https://ghe.example/api/graphql`` (GraphQL); any request to another host fails the test.
"""

from __future__ import annotations

import httpx
import pytest
import respx

from github_app.app_keys import SERVICES
from github_app.config import github_graphql_url, github_web_url
from github_app.github.client import GitHubClient, RetryPolicy
from github_app.server.app import create_app
from tests.server.test_merge_queue_flow import GROUP_A, check_runs_on, group_event, two_queued_prs
from tests.support.app_harness import AppHarness, harness_settings
from tests.support.fake_github import FAKE_APP_ID, FakeGitHub, no_sleep

GHES_API = "https://ghe.example/api/v3"


@pytest.mark.parametrize(
    ("api_url", "web", "graphql"),
    [
        ("https://api.github.com", "https://github.com", "https://api.github.com/graphql"),
        ("https://api.github.com/", "https://github.com", "https://api.github.com/graphql"),
        (GHES_API, "https://ghe.example", "https://ghe.example/api/graphql"),
        (GHES_API + "/", "https://ghe.example", "https://ghe.example/api/graphql"),
    ],
)
def test_web_and_graphql_addresses_follow_the_rest_root(api_url, web, graphql):
    assert github_web_url(api_url) == web
    assert github_graphql_url(api_url) == graphql


@pytest.fixture
async def ghes_harness(aiohttp_client, app_private_key_pem, tmp_path):
    """The whole App configured for a GitHub Enterprise Server host."""
    with respx.mock(base_url="https://ghe.example", assert_all_called=False) as router:
        fake = FakeGitHub(router, base_url=GHES_API)
        settings = harness_settings(tmp_path, app_private_key_pem, github_api_url=GHES_API)
        client = GitHubClient(
            app_id=FAKE_APP_ID,
            private_key=app_private_key_pem,
            base_url=settings.github_api_url,
            retry=RetryPolicy(sleep=no_sleep),
        )
        app = create_app(settings, start_worker=False, github=client)
        test_client = await aiohttp_client(app)
        yield AppHarness(test_client, app[SERVICES], fake)
    fake.assert_no_violations()
    hosts = {request.url.host for request in fake.requests()}
    assert hosts == {"ghe.example"}, hosts


async def test_pr_and_merge_queue_flow_on_enterprise_server(ghes_harness):
    pr_a, _ = await two_queued_prs(ghes_harness)
    assert pr_a.published()[0]["conclusion"] == "success"
    await ghes_harness.deliver_and_process("merge_group", group_event(pr_a, GROUP_A))
    (check,) = check_runs_on(ghes_harness.github, pr_a.repo, GROUP_A)
    assert check["conclusion"] == "success"
    assert "https://ghe.example/Codertocat/Hello-World/pull/2" in check["output"]["text"]
    graphql_calls = ghes_harness.github.requests("POST", "^/api/graphql$")
    assert [str(call.url) for call in graphql_calls] == ["https://ghe.example/api/graphql"]
    tokens = ghes_harness.github.installation_tokens.calls
    assert tokens and all(str(call.url).startswith(GHES_API) for call in tokens)


def test_a_request_to_another_host_is_not_answered():
    with respx.mock(base_url="https://ghe.example", assert_all_called=False) as router:
        fake = FakeGitHub(router, base_url=GHES_API)
        with pytest.raises(respx.models.AllMockedAssertionError):
            httpx.get("https://api.github.com/repos/a/b")
        assert not fake.requests()
