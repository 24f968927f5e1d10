"""The fake GitHub itself: it must reject what GitHub would reject, and route what it accepts."""

from __future__ import annotations

import pytest

from tests.support.fake_github import (
    INVALID_REQUEST_STATUS,
    FakeGitHub,
    example,
    resolve_path,
)
from tests.support.webhooks import load_payload, sign, signed_headers

CHECK_RUNS = "/repos/{owner}/{repo}/check-runs"
REPO = {"owner": "octo", "repo": "hello"}


async def test_check_run_without_head_sha_is_a_violation(github: FakeGitHub, github_client):
    route = github.route("POST", CHECK_RUNS, status=201, json=example("check-run"))
    gh = await github_client.for_installation(1)

    # gidgethub cannot map 599 to an HTTPStatus, so it raises ValueError; either way the
    # code under test sees a failure instead of a success.
    with pytest.raises(ValueError, match="599"):
        await gh.post(CHECK_RUNS, REPO, data={"name": "countersign"})

    violations = github.pop_violations()
    assert len(violations) == 1
    assert violations[0].startswith("POST /repos/octo/hello/check-runs:")
    assert "'head_sha' is a required property" in violations[0]
    assert not route.called


async def test_valid_check_run_passes_and_is_routed(github: FakeGitHub, github_client):
    route = github.route("POST", CHECK_RUNS, status=201, json=example("check-run"))
    gh = await github_client.for_installation(1)

    created = await gh.post(
        CHECK_RUNS, REPO, data={"name": "countersign", "head_sha": "a" * 40, "status": "queued"}
    )

    assert created["id"] == example("check-run")["id"]
    assert route.call_count == 1
    assert github.violations == []


async def test_wrong_enum_value_is_a_violation(github: FakeGitHub, github_client):
    gh = await github_client.for_installation(1)
    with pytest.raises(ValueError):
        await gh.post(CHECK_RUNS, REPO, data={"name": "c", "head_sha": "a", "status": "done"})

    [violation] = github.pop_violations()
    assert "at status: 'done' is not one of" in violation


async def test_unknown_path_is_a_violation(github: FakeGitHub, github_client):
    gh = await github_client.for_installation(1)
    with pytest.raises(ValueError):
        await gh.getitem("/repos/octo/hello/no-such-thing")

    assert github.pop_violations() == [
        "GET /repos/octo/hello/no-such-thing: no such endpoint in GitHub's REST API"
    ]


async def test_wrong_method_is_a_violation(github: FakeGitHub, github_client):
    gh = await github_client.for_installation(1)
    with pytest.raises(ValueError):
        await gh.delete(CHECK_RUNS, REPO)

    [violation] = github.pop_violations()
    assert "OperationNotFound" in violation


async def test_bad_query_parameter_is_a_violation(github: FakeGitHub, github_client):
    gh = await github_client.for_installation(1)
    with pytest.raises(ValueError):
        await gh.getitem("/repos/octo/hello/pulls?per_page=lots")

    [violation] = github.pop_violations()
    assert "per_page" in violation


async def test_the_app_jwt_is_refused_outside_app_endpoints(github: FakeGitHub, github_client):
    with pytest.raises(ValueError):
        await github_client.as_app().getitem("/repos/octo/hello")

    [violation] = github.pop_violations()
    assert "needs an installation token" in violation


async def test_an_installation_token_is_refused_on_app_endpoints(github: FakeGitHub, github_client):
    gh = await github_client.for_installation(1)
    with pytest.raises(ValueError):
        await gh.getitem("/app")

    [violation] = github.pop_violations()
    assert "needs the App's JWT" in violation


async def test_violations_fail_the_test_at_teardown(github: FakeGitHub, github_client):
    gh = await github_client.for_installation(1)
    with pytest.raises(ValueError):
        await gh.getitem("/nowhere")

    with pytest.raises(pytest.fail.Exception, match="GET /nowhere"):
        github.assert_no_violations()
    github.pop_violations()


async def test_invalid_request_answers_599_with_the_violations(github: FakeGitHub):
    import httpx

    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"{github.base_url}/nowhere", headers={"authorization": "token x"}
        )

    assert response.status_code == INVALID_REQUEST_STATUS
    assert response.json()["violations"] == ["no such endpoint in GitHub's REST API"]
    github.pop_violations()


def test_paths_with_slashes_resolve_to_their_template():
    assert resolve_path("GET", "/repos/o/r/contents/.github/countersign.yml") == (
        "/repos/{owner}/{repo}/contents/{path}",
        {"owner": "o", "repo": "r", "path": ".github/countersign.yml"},
    )
    assert resolve_path("GET", "/repos/o/r/contents/.github%2Fcountersign.yml") == (
        "/repos/{owner}/{repo}/contents/{path}",
        {"owner": "o", "repo": "r", "path": ".github/countersign.yml"},
    )
    assert resolve_path("GET", "/repos/o/r/rules/branches/release/1.0") == (
        "/repos/{owner}/{repo}/rules/branches/{branch}",
        {"owner": "o", "repo": "r", "branch": "release/1.0"},
    )
    template, params = resolve_path("GET", "/repos/o/r/branches/feat/x/protection")
    assert (template, params["branch"]) == (
        "/repos/{owner}/{repo}/branches/{branch}/protection",
        "feat/x",
    )


def test_literal_paths_beat_templates():
    template, _ = resolve_path("GET", "/repos/o/r/pulls/comments")
    assert template == "/repos/{owner}/{repo}/pulls/comments"


async def test_contents_and_branch_rules_with_slashes_are_valid(github: FakeGitHub, github_client):
    contents = github.route(
        "GET", "/repos/{owner}/{repo}/contents/{+path}", json=example("content-file")
    )
    rules = github.route("GET", "/repos/{owner}/{repo}/rules/branches/{+branch}", json=[])
    gh = await github_client.for_installation(1)

    await gh.getitem(
        "/repos/{owner}/{repo}/contents/{path}{?ref}",
        {**REPO, "path": ".github/countersign.yml", "ref": "main"},
    )
    await gh.getitem("/repos/octo/hello/contents/.github/countersign.yml")
    await gh.getitem("/repos/octo/hello/rules/branches/release/1.0")

    assert contents.call_count == 2
    assert rules.call_count == 1
    assert github.requests("GET", "/repos/octo/hello/contents/.github/countersign.yml")


async def test_latest_route_wins_and_sequences_repeat_their_last_answer(
    github: FakeGitHub, github_client
):
    github.route("GET", "/repos/{owner}/{repo}", json={"name": "old"})
    route = github.route("GET", "/repos/{owner}/{repo}", json={"name": "first"}).then(
        json={"name": "again"}
    )
    gh = await github_client.for_installation(1)

    names = [(await gh.getitem("/repos/octo/hello"))["name"] for _ in range(3)]

    assert names == ["first", "again", "again"]
    assert route.call_count == 3


async def test_unrouted_valid_requests_get_404_and_are_recorded(github: FakeGitHub, github_client):
    import gidgethub

    gh = await github_client.for_installation(1)
    with pytest.raises(gidgethub.BadRequest):
        await gh.getitem("/repos/octo/hello")

    assert [r.url.path for r in github.unrouted] == ["/api/v3/repos/octo/hello"]


async def test_installation_tokens_are_issued_without_setup(github: FakeGitHub, github_client):
    await github_client.for_installation(31)

    assert github.installation_tokens.call_count == 1
    assert github.requests("POST", "/app/installations/31/access_tokens")


def test_example_returns_an_independent_copy():
    first = example("check-run")
    first["name"] = "changed"
    assert example("check-run")["name"] != "changed"
    with pytest.raises(KeyError, match="no-such-example"):
        example("no-such-example")


# --- webhooks --------------------------------------------------------------------------------


def test_sign_matches_githubs_documented_test_vector():
    signature = sign(b"Hello, World!", "It's a Secret to Everybody")
    assert signature == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_signed_headers_carry_event_delivery_and_signature():
    body = b'{"zen": "hi"}'
    headers = signed_headers("ping", body, "s3cret", delivery_id="d-1")
    assert headers == {
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": "d-1",
        "X-Hub-Signature-256": sign(body, "s3cret"),
        "Content-Type": "application/json",
    }
    assert (
        signed_headers("ping", body, "s")["X-GitHub-Delivery"]
        != signed_headers("ping", body, "s")["X-GitHub-Delivery"]
    )


def test_load_payload_accepts_short_and_full_names():
    opened = load_payload("pull_request", "opened")
    assert opened["action"] == "opened"
    assert load_payload("pull_request", "opened.payload.json") == opened
    with pytest.raises(FileNotFoundError, match="available"):
        load_payload("pull_request", "exploded")
