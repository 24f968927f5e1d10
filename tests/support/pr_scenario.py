"""A pull request as the fake GitHub serves it: commits, files, reviews, permissions, checks.

Built on the real ``pull_request`` webhook payloads; tests change only what their case needs.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
from typing import Any

import httpx

from tests.support.fake_github import FakeGitHub, example
from tests.support.webhooks import load_payload

HUMAN = {"login": "octo-dev", "id": 5001, "type": "User"}
REVIEWER = {"login": "senior-reviewer", "id": 5002, "type": "User"}
CLAUDE_FOOTER = "🤖 Generated with [Claude Code](https://claude.com/claude-code)"
CLAUDE_COAUTHOR = "Co-Authored-By: Claude Opus 4.5 <noreply@anthropic.com>"


def api_commit(
    sha: str,
    message: str,
    *,
    author: dict | None = None,
    name: str = "Octo Dev",
    email: str = "octo-dev@example.com",
) -> dict[str, Any]:
    """A commit as ``GET /repos/{o}/{r}/pulls/{n}/commits`` returns it."""
    account = author if author is not None else HUMAN
    return {
        "sha": sha,
        "node_id": "C_fake",
        "url": f"https://github.test/api/v3/commits/{sha}",
        "html_url": f"https://github.test/commit/{sha}",
        "comments_url": "https://github.test/comments",
        "commit": {
            "message": message,
            "author": {"name": name, "email": email, "date": "2026-11-20T10:00:00Z"},
            "committer": {"name": name, "email": email, "date": "2026-11-20T10:00:00Z"},
            "tree": {"sha": "f" * 40, "url": "https://github.test/tree"},
            "url": "https://github.test/git/commits",
            "comment_count": 0,
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        },
        "author": account,
        "committer": account,
        "parents": [],
    }


def agent_commit(sha: str) -> dict[str, Any]:
    """A Claude Code commit launched by ``octo-dev``, with a session trailer."""
    message = (
        "Add retry to the importer\n\n"
        f"{CLAUDE_FOOTER}\n\n{CLAUDE_COAUTHOR}\n"
        "Agent-Session-Id: sess-42\nAgent-Launched-By: octo-dev\n"
    )
    return api_commit(sha, message)


def file_entries(paths: list[str]) -> list[dict[str, Any]]:
    """Changed files as ``GET /repos/{o}/{r}/pulls/{n}/files`` returns them."""
    return [
        {
            "sha": "a" * 40,
            "filename": path,
            "status": "modified",
            "additions": 1,
            "deletions": 0,
            "changes": 1,
            "blob_url": "https://github.test/b",
            "raw_url": "https://github.test/r",
            "contents_url": "https://github.test/c",
        }
        for path in paths
    ]


class PullRequestScenario:
    """One PR on the fake GitHub, plus the check runs the App publishes for it."""

    def __init__(
        self,
        github: FakeGitHub,
        *,
        head_sha: str | None = None,
        number: int | None = None,
        same_repo_as: PullRequestScenario | None = None,
    ) -> None:
        """One PR; ``same_repo_as`` makes a second PR of that scenario's repository, sharing
        the check runs GitHub holds (they belong to commits, not to pull requests)."""
        self.github = github
        self.payload = load_payload("pull_request", "opened.payload")
        pr = self.payload["pull_request"]
        if head_sha:
            pr["head"]["sha"] = head_sha
        if number is not None:
            pr["number"] = number
        self.repo = self.payload["repository"]["full_name"]
        self.number = pr["number"]
        self.base = f"/repos/{self.repo}/pulls/{self.number}"
        self._ids = same_repo_as._ids if same_repo_as else itertools.count(9000)
        self.permissions: dict[str, str] = same_repo_as.permissions if same_repo_as else {}
        self.teams: dict[str, set[str]] = same_repo_as.teams if same_repo_as else {}
        self.set_commits([agent_commit(self.head_sha)])
        self.set_files(["src/importer.py"])
        self.set_reviews([])
        github.route(
            "GET",
            f"/repos/{self.repo}/collaborators/{{username}}/permission",
            handler=self._permission,
        )
        github.route(
            "GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", handler=self._membership
        )
        self.pull = github.route("GET", self.base, handler=self._current_pull_request)
        # check run id -> latest body, as GitHub has it
        self.runs: dict[int, dict[str, Any]] = same_repo_as.runs if same_repo_as else {}
        self.check_runs = github.route(
            "POST", f"/repos/{self.repo}/check-runs", handler=self._create_check_run
        )
        github.route(
            "GET",
            f"/repos/{self.repo}/commits/{{ref}}/check-runs",
            handler=self._list_check_runs,
        )
        self.check_updates = github.route(
            "PATCH",
            f"/repos/{self.repo}/check-runs/{{check_run_id}}",
            handler=self._update_check_run,
        )

    @property
    def head_sha(self) -> str:
        """The PR's current head commit."""
        return self.payload["pull_request"]["head"]["sha"]

    def event(self, action: str = "opened") -> dict[str, Any]:
        """A ``pull_request`` delivery body for this PR."""
        body = copy.deepcopy(self.payload)
        body["action"] = action
        return body

    def merged_event(self, merge_sha: str, merged_by: dict) -> dict[str, Any]:
        """A ``pull_request`` ``closed`` delivery for this PR, merged as ``merge_sha``."""
        body = self.event("closed")
        body["pull_request"].update(
            merged=True,
            merge_commit_sha=merge_sha,
            merged_by=merged_by,
            state="closed",
            merged_at="2026-11-21T09:00:00Z",
        )
        return body

    def add_label(self, name: str) -> None:
        """Label the PR (as its payload shows it)."""
        label = {
            "id": 1,
            "name": name,
            "color": "f00",
            "default": False,
            "node_id": "L",
            "url": "u",
            "description": None,
        }
        self.payload["pull_request"]["labels"].append(label)

    def set_commits(self, commits: list[dict[str, Any]]) -> None:
        """What ``pulls/{n}/commits`` returns (and the PR's own count of commits)."""
        self.payload["pull_request"]["commits"] = len(commits)
        self.github.route("GET", f"{self.base}/commits", json=commits)

    def set_files(self, paths: list[str]) -> None:
        """What ``pulls/{n}/files`` returns (and the PR's own count of changed files)."""
        self.payload["pull_request"]["changed_files"] = len(paths)
        self.github.route("GET", f"{self.base}/files", json=file_entries(paths))

    def set_reviews(self, reviews: list[dict[str, Any]]) -> None:
        """What ``pulls/{n}/reviews`` returns."""
        self.github.route("GET", f"{self.base}/reviews", json=reviews)

    def review(self, user: dict, state: str, commit_id: str | None = None) -> dict[str, Any]:
        """A review as the REST API returns it."""
        return {
            "id": next(self._ids),
            "node_id": "R_fake",
            "user": user,
            "body": "",
            "state": state,
            "commit_id": commit_id or self.head_sha,
            "submitted_at": "2026-11-20T11:00:00Z",
            "author_association": "MEMBER",
            "html_url": "https://github.test/r",
            "pull_request_url": "https://github.test/p",
            "_links": {"html": {"href": "h"}, "pull_request": {"href": "p"}},
        }

    def review_event(self, review: dict[str, Any], action: str = "submitted") -> dict[str, Any]:
        """A ``pull_request_review`` delivery for ``review``."""
        body = load_payload("pull_request_review", "submitted.payload")
        body["action"] = action
        body["pull_request"] = copy.deepcopy(self.payload["pull_request"])
        body["review"] = {**body["review"], **review, "state": review["state"].lower()}
        return body

    def set_policy(self, text: str, *, org: bool = False) -> None:
        """Serve a policy file from the base branch (repo) or the org's ``.github`` repo."""
        owner = self.repo.split("/")[0]
        if org:
            self.github.serve_repository_head(f"{owner}/.github")
        path = (
            f"/repos/{owner}/.github/contents/countersign.yml"
            if org
            else f"/repos/{self.repo}/contents/.github/countersign.yml"
        )
        content = {
            "type": "file",
            "encoding": "base64",
            "size": len(text),
            "name": "countersign.yml",
            "path": "countersign.yml",
            "content": base64.b64encode(text.encode()).decode(),
            "sha": "b" * 40,
            "url": "u",
            "git_url": None,
            "html_url": None,
            "download_url": None,
            "_links": {"self": "s", "git": None, "html": None},
        }
        self.github.route("GET", path, json=content)

    def published(self) -> list[dict[str, Any]]:
        """Every check run body the App sent (creates and updates), in order."""
        sent = self.github.requests("POST", f"/repos/{self.repo}/check-runs")
        sent += self.github.requests("PATCH", f"/repos/{self.repo}/check-runs/{{id}}")
        sent.sort(key=lambda request: self.github.requests().index(request))
        return [json.loads(request.content) for request in sent]

    def last_conclusion(self) -> str:
        """The conclusion of the latest check run body sent."""
        return self.published()[-1]["conclusion"]

    def _permission(self, request: httpx.Request) -> httpx.Response:
        login = self.github.api_path(request).split("/")[-2]
        permission = self.permissions.get(login, "none")
        body = {
            "permission": "write" if permission == "maintain" else permission,
            "role_name": permission,
            "user": {**HUMAN, "login": login},
        }
        return httpx.Response(200, json=body)

    def _membership(self, request: httpx.Request) -> httpx.Response:
        parts = self.github.api_path(request).split("/")
        team, login = f"{parts[2]}/{parts[4]}", parts[6]
        if login in self.teams.get(team.lower(), set()):
            return httpx.Response(200, json={"url": "u", "role": "member", "state": "active"})
        return httpx.Response(404, json={"message": "Not Found"})

    def runs_on(self, head_sha: str) -> list[dict[str, Any]]:
        """The check runs GitHub holds on ``head_sha`` (id plus the latest body sent)."""
        return [run for run in self.runs.values() if run["head_sha"] == head_sha]

    def _current_pull_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=copy.deepcopy(self.payload["pull_request"]))

    def _run_json(self, run_id: int) -> dict[str, Any]:
        body = example("check-run")
        sent = self.runs[run_id]
        body.update(
            id=run_id,
            name=sent["name"],
            head_sha=sent["head_sha"],
            status=sent.get("status", "completed"),
            conclusion=sent.get("conclusion"),
        )
        return body

    def _create_check_run(self, request: httpx.Request) -> httpx.Response:
        run_id = next(self._ids)
        self.runs[run_id] = {"id": run_id, **json.loads(request.content)}
        return httpx.Response(201, json=self._run_json(run_id))

    def _update_check_run(self, request: httpx.Request) -> httpx.Response:
        run_id = int(self.github.api_path(request).rsplit("/", 1)[1])
        if run_id in self.runs:
            self.runs[run_id].update(json.loads(request.content))
            return httpx.Response(200, json=self._run_json(run_id))
        return httpx.Response(200, json=example("check-run"))

    def _list_check_runs(self, request: httpx.Request) -> httpx.Response:
        head_sha = self.github.api_path(request).split("/")[-2]
        runs = [self._run_json(run["id"]) for run in self.runs_on(head_sha)]
        return httpx.Response(200, json={"total_count": len(runs), "check_runs": runs})
