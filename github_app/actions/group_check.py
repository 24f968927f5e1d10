"""The ``countersign`` check run on a merge queue group's head commit."""

from __future__ import annotations

from datetime import UTC, datetime

from gidgethub.abc import GitHubAPI

from github_app.actions.check_run import CHECK_NAME
from github_app.config import github_web_url
from github_app.policy.merge_group import GroupVerdict, MergeGroup


def group_check_run_body(group: MergeGroup, verdict: GroupVerdict, api_url: str) -> dict:
    """The check run body: conclusion, title, and each PR linked on this GitHub's web host."""
    web = github_web_url(api_url)
    links = [f"- [#{pr}]({web}/{group.repo}/pull/{pr})" for pr in verdict.prs]
    text = "\n".join(["Pull requests in this group:", *links]) if links else ""
    return {
        "name": CHECK_NAME,
        "head_sha": group.head_sha,
        "status": "completed",
        "conclusion": verdict.conclusion,
        "completed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "external_id": f"{group.repo_id}:merge_group",
        "output": {"title": verdict.title[:250], "summary": verdict.summary, "text": text},
    }


async def publish_group_check_run(gh: GitHubAPI, group: MergeGroup, body: dict) -> int:
    """Create the check run on the group's head commit; returns its id."""
    created = await gh.post(f"/repos/{group.repo}/check-runs", data=body)
    return int(created["id"])
