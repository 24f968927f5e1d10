"""Hook decisions use the effective policy of the event's repository, read through the App's
installation and cached per (repository, default-branch head); an unreadable one denies."""

from __future__ import annotations

import asyncio
import base64

from github_app.github import repo_policies
from github_app.policy.model import Policy
from tests.sessions.helpers import tool_event
from tests.support.fake_github import FakeGitHub, example

REPO = "acme/shop"
HEAD = "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d"
REPO_POLICY = """\
paths:
  - pattern: "secrets/**"
    agents_may_not_read: true
"""


def _file(text: str) -> dict:
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(text),
        "name": "countersign.yml",
        "path": ".github/countersign.yml",
        "content": base64.b64encode(text.encode()).decode(),
        "sha": "b" * 40,
        "url": "u",
        "git_url": None,
        "html_url": None,
        "download_url": None,
        "_links": {"self": "s", "git": None, "html": None},
    }


def serve_repository(github: FakeGitHub, policy: str | None, *, head: str = HEAD) -> None:
    """The fake GitHub knows the installation on acme/shop, its default branch and head, and
    serves its ``.github/countersign.yml`` (404 when ``policy`` is None)."""
    installation = example("installation")
    installation["id"] = 42
    github.route("GET", f"/repos/{REPO}/installation", json=installation)
    about = example("full-repository")
    about["default_branch"] = "main"
    github.route("GET", f"/repos/{REPO}", json=about)
    branch = example("branch-with-protection")
    branch["name"], branch["commit"]["sha"] = "main", head
    github.route("GET", f"/repos/{REPO}/branches/main", json=branch)
    path = f"/repos/{REPO}/contents/.github/countersign.yml"
    if policy is None:
        github.route("GET", path, status=404, json={"message": "Not Found"})
    else:
        github.route("GET", path, json=_file(policy))
    github.route("GET", "/repos/acme/.github/contents/countersign.yml", status=404, json={})


def read(path: str, session: str = "sess-1") -> dict:
    return tool_event("PreToolUse", "Read", {"file_path": f"/home/alice/shop/{path}"}, session)


def _decision(body: dict) -> str:
    return body["hookSpecificOutput"]["permissionDecision"]


async def test_a_repository_policy_forbidding_secrets_denies_reads_there_only(agent_app):
    github = agent_app.harness.github
    serve_repository(github, REPO_POLICY)
    status, body = await agent_app.post(read("secrets/prod.env"), query=f"?repo={REPO}")
    assert status == 200 and _decision(body) == "deny"
    assert "secrets/**" in body["hookSpecificOutput"]["permissionDecisionReason"]
    denied = agent_app.entries("operation_denied")
    assert [(e.repo, e.data["rule"], e.data["refused_target"]) for e in denied] == [
        (REPO, "secrets/**", "secrets/prod.env")
    ]
    # Through the shell too: cat is one of the readers whose path arguments are checked.
    bash = tool_event("PreToolUse", "Bash", {"command": "cat secrets/prod.env | base64"})
    assert _decision((await agent_app.post(bash, query=f"?repo={REPO}"))[1]) == "deny"
    assert _decision((await agent_app.post(read("src/app.py"), query=f"?repo={REPO}"))[1]) == (
        "allow"
    )
    # Another repository (not installed: GitHub answers 404) gets the org/default policy.
    other = await agent_app.post(read("secrets/prod.env"), query="?repo=acme/other")
    assert _decision(other[1]) == "allow"
    # The policy was read at the default branch's head, through the installation, once.
    contents = github.requests("GET", f"/repos/{REPO}/contents/.github/countersign.yml")
    assert len(contents) == 1 and contents[0].url.params["ref"] == HEAD
    assert contents[0].headers["authorization"].startswith("token ghs_fake42")
    github.assert_no_violations()


async def test_the_policy_is_cached_then_read_again_at_the_new_head(agent_app, monkeypatch):
    github = agent_app.harness.github
    serve_repository(github, None)  # no repository file yet: the default policy allows
    clock = [1000.0]
    monkeypatch.setattr(agent_app.harness.services.repo_policies, "_clock", lambda: clock[0])
    for _ in range(3):
        assert _decision((await agent_app.post(read("secrets/a"), query=f"?repo={REPO}"))[1]) == (
            "allow"
        )
    assert len(github.requests("GET", f"/repos/{REPO}/branches/main")) == 1, "cached"
    serve_repository(github, REPO_POLICY, head="1" * 40)  # a push added the rule
    clock[0] += repo_policies.FRESH_SECONDS
    assert _decision((await agent_app.post(read("secrets/a"), query=f"?repo={REPO}"))[1]) == (
        "deny"
    )
    reads = github.requests("GET", f"/repos/{REPO}/contents/.github/countersign.yml")
    assert reads[-1].url.params["ref"] == "1" * 40
    github.assert_no_violations()


async def test_an_unreadable_repository_policy_denies_with_the_reason(agent_app):
    github = agent_app.harness.github
    serve_repository(github, "paths: [unterminated")
    status, body = await agent_app.post(read("src/app.py"), query=f"?repo={REPO}")
    assert status == 200 and _decision(body) == "deny"
    reason = body["hookSpecificOutput"]["permissionDecisionReason"]
    assert "policy of acme/shop could not be read" in reason and "countersign.yml" in reason
    [denied] = agent_app.entries("operation_denied")
    assert denied.data["rule"] == "policy_unreadable"


async def test_github_refusing_the_lookup_denies(agent_app):
    github = agent_app.harness.github
    github.route("GET", f"/repos/{REPO}/installation", status=403, json={"message": "Forbidden"})
    status, body = await agent_app.post(read("src/app.py"), query=f"?repo={REPO}")
    assert status == 200 and _decision(body) == "deny"
    assert "installation lookup" in body["hookSpecificOutput"]["permissionDecisionReason"]


async def test_a_read_in_flight_when_the_repository_is_forgotten_is_not_cached():
    """A push dropped the cached policy while a read begun before it was still running: that
    read's answer (maybe of the old head) goes to its own callers only; the next call reads
    again."""
    started, release = asyncio.Event(), asyncio.Event()
    reads: list[str] = []

    async def read(repo: str) -> repo_policies.RepoPolicy:
        reads.append(repo)
        started.set()
        await release.wait()
        return repo_policies.RepoPolicy(repo, Policy(), "repository", read_at=0.0)

    policies = repo_policies.RepoPolicies(object(), Policy, clock=lambda: 1.0)  # type: ignore[arg-type]
    policies._read = read  # type: ignore[method-assign]
    first = asyncio.create_task(policies.policy_for(REPO))
    await started.wait()
    policies.forget(REPO)  # the push is processed while the read is in flight
    release.set()
    assert (await first).source == "repository", "its caller still gets an answer"
    assert policies.cached(REPO) is None, "but it is not cached"
    await policies.policy_for(REPO)
    assert reads == [REPO, REPO]
    assert policies.cached(REPO) is not None, "a read begun after the push is cached"
