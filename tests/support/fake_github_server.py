"""The strict fake GitHub over real HTTP, for tests that run the App as separate processes.

``python -m tests.support.fake_github_server --port N`` serves :class:`FakeGitHub` (every request
validated against GitHub's OpenAPI description, exactly as in-process) under ``/api/v3``, with a
world of pull requests built by :class:`~tests.support.pr_scenario.PullRequestScenario` — one
repository whose PRs share the check runs GitHub holds per commit.  The test drives the world
through ``/_control/…`` (JSON), never through the App's API:

* ``POST /_control/pr`` ``{"number", "head", "agent", "updated_at", "action"}`` — the PR now has
  that head (agent or human commits); answers the ``pull_request`` delivery body to send.
* ``POST /_control/approve`` ``{"number", "updated_at"}`` — a qualifying reviewer approves the
  head; answers the ``pull_request_review`` delivery body.
* ``POST /_control/faults`` ``{"seconds", "status"}`` — answer every repository call with
  ``status`` (default 502) for that long: a GitHub outage.
* ``GET /_control/state`` — the check runs GitHub holds, the violations, the faults served.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import httpx
import respx
from aiohttp import web

from tests.support.fake_github import FakeGitHub, request_violations
from tests.support.pr_scenario import (
    REVIEWER,
    PullRequestScenario,
    agent_commit,
    api_commit,
)
from tests.support.webhooks import load_payload

API_ROOT = "/api/v3"


class World:
    """The fake GitHub plus the pull requests of its one repository."""

    def __init__(self, base_url: str) -> None:
        self.github = FakeGitHub(respx.MockRouter(assert_all_called=False), base_url=base_url)
        self.prs: dict[int, PullRequestScenario] = {}
        self.faults_until = 0.0
        self.fault_status = 502
        self.faults_served = 0
        self.github.route("GET", "/app/installations", json=[{"id": 1, "suspended_at": None}])
        repository = load_payload("pull_request", "opened.payload")["repository"]
        self.github.route(
            "GET",
            "/installation/repositories",
            json={"total_count": 1, "repositories": [repository]},
        )

    @property
    def anchor(self) -> PullRequestScenario | None:
        return next(iter(self.prs.values()), None)

    def pull_request(self, number: int, head: str, agent: bool, updated_at: str) -> dict:
        scenario = self.prs.get(number)
        if scenario is None:
            scenario = PullRequestScenario(
                self.github, head_sha=head, number=number, same_repo_as=self.anchor
            )
            self.prs[number] = scenario
            self._serve_repository(scenario)
        pr = scenario.payload["pull_request"]
        pr["head"]["sha"] = head
        pr["updated_at"] = updated_at
        make = agent_commit if agent else (lambda sha: api_commit(sha, "Fix a typo"))
        scenario.set_commits([make(head)])
        return scenario.payload

    def approve(self, number: int, updated_at: str) -> dict:
        scenario = self.prs[number]
        scenario.permissions[REVIEWER["login"]] = "write"
        review = scenario.review(REVIEWER, "APPROVED")
        scenario.set_reviews([review])
        scenario.payload["pull_request"]["updated_at"] = updated_at
        return scenario.review_event(review)

    def _serve_repository(self, scenario: PullRequestScenario) -> None:
        if len(self.prs) > 1:
            return
        self.github.route(
            "GET",
            f"/repos/{scenario.repo}/pulls",
            handler=lambda _request: httpx.Response(
                200, json=[s.payload["pull_request"] for s in self.prs.values()]
            ),
        )

    def state(self) -> dict[str, Any]:
        runs = self.anchor.runs if self.anchor else {}
        return {
            "check_runs": list(runs.values()),
            "violations": self.github.violations,
            "faults_served": self.faults_served,
            "requests": len(self.github.requests()),
        }

    def answer(self, request: httpx.Request) -> httpx.Response:
        """Validate and answer one API request (or fail it, inside a fault window)."""
        path = self.github.api_path(request)
        if time.monotonic() < self.faults_until and path.startswith("/repos/"):
            self.faults_served += 1
            problems = request_violations(request, path)
            self.github.violations.extend(f"{request.method} {path}: {p}" for p in problems)
            return httpx.Response(self.fault_status, json={"message": "Server Error"})
        return self.github.dispatch(request)


def make_app(world: World) -> web.Application:
    """The aiohttp app: the API under ``/api/v3`` and the control routes."""

    async def api(request: web.Request) -> web.Response:
        body = await request.read()
        outgoing = httpx.Request(
            request.method,
            world.github.base_url + request.path_qs[len(API_ROOT) :],
            headers=[(k, v) for k, v in request.headers.items() if k.lower() != "host"],
            content=body,
        )
        response = world.answer(outgoing)
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in {"content-length", "transfer-encoding", "content-encoding"}
        }
        return web.Response(status=response.status_code, body=response.content, headers=headers)

    async def set_pr(request: web.Request) -> web.Response:
        given = await request.json()
        payload = world.pull_request(
            given["number"], given["head"], given["agent"], given["updated_at"]
        )
        return web.json_response({**payload, "action": given.get("action", "opened")})

    async def approve(request: web.Request) -> web.Response:
        given = await request.json()
        return web.json_response(world.approve(given["number"], given["updated_at"]))

    async def faults(request: web.Request) -> web.Response:
        given = await request.json()
        world.fault_status = int(given.get("status", 502))
        world.faults_until = time.monotonic() + float(given["seconds"])
        return web.json_response({"ok": True})

    async def state(_request: web.Request) -> web.Response:
        return web.json_response(world.state())

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/_control/pr", set_pr)
    app.router.add_post("/_control/approve", approve)
    app.router.add_post("/_control/faults", faults)
    app.router.add_get("/_control/state", state)
    app.router.add_route("*", API_ROOT + "/{tail:.*}", api)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    world = World(f"http://127.0.0.1:{port}{API_ROOT}")
    web.run_app(make_app(world), host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
