"""GitHubClient against the fake GitHub: retries, rate limits, ETags, pagination, base_url."""

from __future__ import annotations

import gidgethub
import httpx
import pytest
from structlog.testing import capture_logs

from github_app.github.client import GitHubClient, RetryPolicy
from tests.support.fake_github import FAKE_API_URL, FAKE_APP_ID, FakeGitHub, example

NOW = 1_700_000_000.0
PULL = "/repos/{owner}/{repo}/pulls/{pull_number}"
PULL_1 = "/repos/octo/hello/pulls/1"


class RecordingSleep:
    """An instant sleep that remembers how long it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def client(github: FakeGitHub, app_private_key_pem: str, sleep: RecordingSleep):
    """A client whose retries sleep on ``sleep`` and whose retry clock reads ``NOW``."""
    policy = RetryPolicy(attempts=3, max_wait_seconds=60, sleep=sleep, clock=lambda: NOW)
    async with GitHubClient(
        app_id=FAKE_APP_ID, private_key=app_private_key_pem, base_url=github.base_url, retry=policy
    ) as github_client:
        yield github_client


async def test_get_succeeds_after_a_502(github: FakeGitHub, client, sleep):
    route = github.route("GET", PULL, status=502, json={"message": "Bad Gateway"})
    route.then(json=example("pull-request"))
    gh = await client.for_installation(1)

    pull = await gh.getitem(PULL_1)

    assert pull["number"] == example("pull-request")["number"]
    assert route.call_count == 2
    assert len(sleep.waits) == 1
    assert 0 < sleep.waits[0] <= 60


async def test_read_timeout_on_a_get_is_retried(github: FakeGitHub, client):
    route = github.route("GET", PULL, error=httpx.ReadTimeout("slow"))
    route.then(json=example("pull-request"))
    gh = await client.for_installation(1)

    await gh.getitem(PULL_1)

    assert route.call_count == 2


async def test_primary_rate_limit_waits_until_reset(github: FakeGitHub, client, sleep):
    limited = {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(NOW) + 42),
    }
    route = github.route(
        "GET", PULL, status=403, headers=limited, json={"message": "API rate limit exceeded"}
    )
    route.then(json=example("pull-request"))
    gh = await client.for_installation(1)

    await gh.getitem(PULL_1)

    assert sleep.waits == [42]
    assert route.call_count == 2


async def test_429_honours_retry_after(github: FakeGitHub, client, sleep):
    route = github.route(
        "GET", PULL, status=429, headers={"retry-after": "7"}, json={"message": "slow down"}
    )
    route.then(json=example("pull-request"))
    gh = await client.for_installation(1)

    await gh.getitem(PULL_1)

    assert sleep.waits == [7]


async def test_secondary_rate_limit_on_a_post_is_retried(github: FakeGitHub, client, sleep):
    secondary = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
    route = github.route("POST", "/repos/{owner}/{repo}/check-runs", status=403, json=secondary)
    route.then(status=201, json=example("check-run"))
    gh = await client.for_installation(1)

    await gh.post(
        "/repos/octo/hello/check-runs", data={"name": "countersign", "head_sha": "a" * 40}
    )

    assert route.call_count == 2
    assert sleep.waits == [60]


async def test_a_wait_longer_than_the_cap_gives_up_at_once(github: FakeGitHub, client, sleep):
    route = github.route(
        "GET", PULL, status=429, headers={"retry-after": "3600"}, json={"message": "no"}
    )
    gh = await client.for_installation(1)

    with pytest.raises(gidgethub.BadRequest):
        await gh.getitem(PULL_1)

    assert route.call_count == 1
    assert sleep.waits == []


async def test_persistent_500_gives_up_with_gidgethubs_exception(github: FakeGitHub, client, sleep):
    route = github.route("GET", PULL, status=500, json={"message": "Server Error"})
    gh = await client.for_installation(1)

    with pytest.raises(gidgethub.GitHubBroken):
        await gh.getitem(PULL_1)

    assert route.call_count == 3
    assert len(sleep.waits) == 2


async def test_502_on_a_post_is_not_replayed(github: FakeGitHub, client):
    route = github.route("POST", "/repos/{owner}/{repo}/issues", status=502, json={"message": "x"})
    gh = await client.for_installation(1)

    with pytest.raises(gidgethub.GitHubBroken):
        await gh.post("/repos/octo/hello/issues", data={"title": "direct push"})

    assert route.call_count == 1


async def test_a_permission_403_is_not_retried(github: FakeGitHub, client):
    denied = {"message": "Resource not accessible by integration"}
    route = github.route(
        "GET", PULL, status=403, json=denied, headers={"x-ratelimit-remaining": "4000"}
    )
    gh = await client.for_installation(1)

    with pytest.raises(gidgethub.BadRequest):
        await gh.getitem(PULL_1)

    assert route.call_count == 1


async def test_retries_are_logged_without_the_token(github: FakeGitHub, client):
    github.route("GET", PULL, status=503, json={"message": "x"}).then(json=example("pull-request"))
    gh = await client.for_installation(1)

    with capture_logs() as logs:
        await gh.getitem(PULL_1)

    [retry] = [entry for entry in logs if entry["event"] == "github.request.retry"]
    assert retry["log_level"] == "info"
    assert (retry["method"], retry["path"], retry["status"], retry["attempt"]) == (
        "GET",
        "/api/v3" + PULL_1,
        503,
        1,
    )
    assert "ghs_" not in repr(logs)


async def test_etag_revalidation_serves_the_cached_body(github: FakeGitHub, client):
    repo = example("full-repository")
    route = github.route("GET", "/repos/{owner}/{repo}", json=repo, headers={"etag": '"v1"'})
    route.then(status=304, headers={"etag": '"v1"'})
    gh = await client.for_installation(1)

    first = await gh.getitem("/repos/octo/hello")
    first["name"] = "mutated by the caller"
    second = await gh.getitem("/repos/octo/hello")

    assert second == repo
    sent = github.requests("GET", "/repos/octo/hello")
    assert "if-none-match" not in sent[0].headers
    assert sent[1].headers["if-none-match"] == '"v1"'


async def test_etags_are_not_shared_between_installations(github: FakeGitHub, client):
    github.route(
        "GET", "/repos/{owner}/{repo}", json=example("full-repository"), headers={"etag": '"v1"'}
    )
    one = await client.for_installation(1)
    two = await client.for_installation(2)

    await one.getitem("/repos/octo/hello")
    await two.getitem("/repos/octo/hello")

    assert all("if-none-match" not in r.headers for r in github.requests("GET"))


async def test_getiter_follows_link_headers_across_three_pages(github: FakeGitHub, client):
    commits = example("commit-items")[0]
    url = f"{FAKE_API_URL}/repos/octo/hello/pulls/1/commits"

    def page(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("page", "1"))
        links = [f'<{url}?page={number + 1}>; rel="next"'] if number < 3 else []
        links.append(f'<{url}?page=3>; rel="last"')
        body = [{**commits, "sha": f"{number}" * 40}]
        return httpx.Response(200, json=body, headers={"link": ", ".join(links)})

    github.route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits", handler=page)
    gh = await client.for_installation(1)

    shas = [
        c["sha"]
        async for c in gh.getiter(
            "/repos/{owner}/{repo}/pulls/{n}/commits{?per_page}",
            {"owner": "octo", "repo": "hello", "n": 1, "per_page": 100},
        )
    ]

    assert shas == ["1" * 40, "2" * 40, "3" * 40]
    assert [str(r.url) for r in github.requests("GET")] == [
        f"{url}?per_page=100",
        f"{url}?page=2",
        f"{url}?page=3",
    ]


async def test_requests_go_to_the_configured_enterprise_server(github: FakeGitHub, client):
    github.route("GET", PULL, json=example("pull-request"))
    gh = await client.for_installation(1)
    await gh.getitem("/repos/{owner}/{repo}/pulls/{n}", {"owner": "octo", "repo": "hello", "n": 1})

    urls = [str(r.url) for r in github.requests()]
    assert urls == [
        "https://github.test/api/v3/app/installations/1/access_tokens",
        "https://github.test/api/v3/repos/octo/hello/pulls/1",
    ]


async def test_as_app_authenticates_with_the_jwt(github: FakeGitHub, client):
    github.route("GET", "/app", json=example("integration"))
    await client.as_app().getitem("/app")

    [sent] = github.requests("GET", "/app")
    assert sent.headers["authorization"].startswith("bearer ey")


async def test_a_401_drops_the_cached_token(github: FakeGitHub, client):
    github.route("GET", PULL, status=401, json={"message": "Bad credentials"})
    gh = await client.for_installation(1)
    with pytest.raises(gidgethub.BadRequest):
        await gh.getitem(PULL_1)

    await client.for_installation(1)

    assert github.installation_tokens.call_count == 2


async def test_credentials_are_never_sent_to_another_host(github: FakeGitHub, client):
    gh = await client.for_installation(1)

    with pytest.raises(ValueError, match="refusing to send GitHub credentials"):
        await gh.getitem("https://evil.example/api/v3/repos/octo/hello")

    assert github.requests("GET") == []


async def test_persistent_connect_timeout_re_raises_after_the_last_attempt(
    github: FakeGitHub, client
):
    route = github.route("GET", PULL, error=httpx.ConnectTimeout("unreachable"))
    gh = await client.for_installation(1)

    with pytest.raises(httpx.ConnectTimeout):
        await gh.getitem(PULL_1)

    assert route.call_count == 3
