"""A realistic 90-day GitHub history on the fake GitHub, for ``countersign audit`` tests.

``acme/widgets`` has ``TOTAL_PRS`` closed pull requests, newest first, last updated evenly over
the past 180 days (so listing must stop on page 2 of 3).  Every fifth PR is a Claude Code change
launched by ``octo-dev``; of those, a third were approved on their head before the merge, a
third approved only *after* the merge (which must not count), a third never reviewed.  One in
ten PRs was closed without merging.  The default branch also saw three pushes in the period: a
PR's merge (explained by that PR), a human's direct push and an agent's direct push, plus one
push older than the period.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx

from tests.support.fake_github import FakeGitHub, example
from tests.support.pr_scenario import HUMAN, REVIEWER, agent_commit, api_commit, file_entries

REPO = "acme/widgets"
REPO_ID = 777
TOTAL_PRS = 210
SPAN_DAYS = 180
PERIOD_DAYS = 90


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha(prefix: str, number: int) -> str:
    return f"{prefix}{number:038x}"[:40]


@dataclass
class HistoricalPr:
    """One closed PR of the history and what a correct audit concludes about it."""

    number: int
    updated_at: datetime
    merged: bool
    agent: bool
    review: str  # "before", "after" or "none"

    @property
    def merged_at(self) -> datetime:
        return self.updated_at - timedelta(hours=1)

    @property
    def head_sha(self) -> str:
        return _sha("a", self.number)

    @property
    def merge_sha(self) -> str:
        return _sha("b", self.number)

    def expected_status(self) -> str | None:
        if not self.agent:
            return None
        return "approved" if self.review == "before" else "unapproved"


@dataclass
class History:
    """The history and the fake GitHub routes that serve it."""

    github: FakeGitHub
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    prs: list[HistoricalPr] = field(default_factory=list)
    rate_limited_page: int | None = 1  # this page answers with an almost spent budget
    failing_page: int | None = None  # this page answers 403 (to interrupt a run)
    total: int = TOTAL_PRS

    def __post_init__(self) -> None:
        step = timedelta(days=SPAN_DAYS) / self.total
        for index in range(self.total):
            number = self.total - index
            agent = number % 5 == 0
            self.prs.append(
                HistoricalPr(
                    number=number,
                    updated_at=self.now - step * (index + 1),
                    merged=number % 10 != 3,
                    agent=agent,
                    review=("before", "after", "none")[(number // 5) % 3] if agent else "before",
                )
            )
        self._by_number = {pr.number: pr for pr in self.prs}
        self._routes()

    @property
    def since(self) -> datetime:
        day = (self.now - timedelta(days=PERIOD_DAYS)).date()
        return datetime.combine(day, time(), tzinfo=UTC)  # "90d" starts at midnight UTC

    def merged_in_period(self) -> list[HistoricalPr]:
        return [pr for pr in self.prs if pr.merged and pr.merged_at >= self.since]

    def expected_recorded(self) -> int:
        """Agent PRs merged in the period, plus the two direct pushes."""
        return sum(1 for pr in self.merged_in_period() if pr.agent) + 2

    # -- routes --------------------------------------------------------------------------

    def _routes(self) -> None:
        github, base = self.github, f"/repos/{REPO}"
        installation = example("installation")
        installation["id"] = 31337
        github.route("GET", f"{base}/installation", json=installation)
        repository = example("full-repository")
        repository.update(full_name=REPO, id=REPO_ID, name="widgets", default_branch="main")
        github.route("GET", base, json=repository)
        self.list_route = github.route("GET", f"{base}/pulls", handler=self._list)
        for part in ("commits", "files", "reviews"):
            github.route(
                "GET", re.compile(rf"{base}/pulls/(\d+)/{part}"), handler=self._pr_part(part)
            )
        github.route(
            "GET",
            f"{base}/collaborators/{{username}}/permission",
            json={"permission": "write", "role_name": "write", "user": REVIEWER},
        )
        not_found = {"message": "Not Found", "documentation_url": "x"}
        github.route(
            "GET", "/repos/acme/.github/contents/countersign.yml", status=404, json=not_found
        )
        github.route("GET", f"{base}/contents/.github/countersign.yml", status=404, json=not_found)
        self._push_routes()

    def _list(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        assert params["state"] == "closed" and params["sort"] == "updated"
        assert params["direction"] == "desc"
        page, per_page = int(params.get("page", "1")), int(params.get("per_page", "30"))
        if page == self.failing_page:
            return httpx.Response(403, json={"message": "Resource not accessible"})
        chunk = self.prs[(page - 1) * per_page : page * per_page]
        headers = {}
        if page == self.rate_limited_page:
            reset = int((self.now + timedelta(minutes=2)).timestamp())
            headers = {
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "3",
                "x-ratelimit-used": "4997",
                "x-ratelimit-reset": str(reset),
                "x-ratelimit-resource": "core",
            }
        return httpx.Response(200, json=[self._simple(pr) for pr in chunk], headers=headers)

    def _simple(self, pr: HistoricalPr) -> dict[str, Any]:
        item = copy.deepcopy(example("pull-request-simple-items")[0])
        item.update(
            number=pr.number,
            title=f"Change {pr.number}",
            body="",
            state="closed",
            user=HUMAN,
            labels=[],
            updated_at=_iso(pr.updated_at),
            closed_at=_iso(pr.merged_at),
            merged_at=_iso(pr.merged_at) if pr.merged else None,
            merge_commit_sha=pr.merge_sha if pr.merged else None,
        )
        item["head"].update(sha=pr.head_sha, ref=f"claude/task-{pr.number}" if pr.agent else "f")
        item["base"].update(ref="main", sha=_sha("c", pr.number))
        item["base"]["repo"].update(full_name=REPO, id=REPO_ID, default_branch="main")
        return item

    def _pr_part(self, part: str):
        def answer(request: httpx.Request) -> httpx.Response:
            number = int(self.github.api_path(request).split("/")[5])
            pr = self._by_number[number]
            if part == "commits":
                commit = agent_commit(pr.head_sha) if pr.agent else api_commit(pr.head_sha, "Fix")
                return httpx.Response(200, json=[commit])
            if part == "files":
                return httpx.Response(200, json=file_entries(["src/widget.py"]))
            return httpx.Response(200, json=self._reviews(pr))

        return answer

    def _reviews(self, pr: HistoricalPr) -> list[dict[str, Any]]:
        if pr.review == "none":
            return []
        when = pr.merged_at - timedelta(minutes=30)
        if pr.review == "after":
            when = pr.merged_at + timedelta(minutes=30)
        return [
            {
                "id": 70000 + pr.number,
                "node_id": "R",
                "user": REVIEWER,
                "body": "",
                "state": "APPROVED",
                "commit_id": pr.head_sha,
                "submitted_at": _iso(when),
                "author_association": "MEMBER",
                "html_url": "h",
                "pull_request_url": "p",
                "_links": {"html": {"href": "h"}, "pull_request": {"href": "p"}},
            }
        ]

    # -- pushes --------------------------------------------------------------------------

    def _push_routes(self) -> None:
        base = f"/repos/{REPO}"
        merged_pr = next(pr for pr in self.prs if pr.merged and not pr.agent)
        self.human_push, self.agent_push = _sha("d", 1), _sha("d", 2)
        pushes = [
            (merged_pr.merge_sha, self.now - timedelta(days=3), "octo-dev"),
            (self.human_push, self.now - timedelta(days=10), "octo-dev"),
            (self.agent_push, self.now - timedelta(days=20), "octo-dev"),
            (_sha("d", 3), self.now - timedelta(days=100), "octo-dev"),
        ]
        activity = [
            {
                "id": 900 + index,
                "node_id": "A",
                "before": _sha("e", index),
                "after": after,
                "ref": "refs/heads/main",
                "timestamp": _iso(when),
                "activity_type": "push",
                "actor": {**HUMAN, "login": login},
            }
            for index, (after, when, login) in enumerate(pushes)
        ]
        self.github.route("GET", f"{base}/activity", json=activity)
        self.github.route("GET", f"{base}/commits/{{sha}}/pulls", json=[])
        merged_item = self._simple(merged_pr)
        self.github.route("GET", f"{base}/commits/{merged_pr.merge_sha}/pulls", json=[merged_item])
        self.github.route(
            "GET",
            f"{base}/commits/{self.human_push}",
            json=api_commit(self.human_push, "Hotfix typo"),
        )
        self.github.route(
            "GET", f"{base}/commits/{self.agent_push}", json=agent_commit(self.agent_push)
        )
