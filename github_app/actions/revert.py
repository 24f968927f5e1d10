"""A pull request that reverts a direct push, built with the Git database API.

The revert commit's tree is the tree of the push's ``before`` commit and its parent is the
pushed ``after``: merging it puts the branch back exactly as it was, whatever the push did
(several commits, merges, a force push).  It goes on ``countersign/revert-<branch>-<sha7>-<id>``
(``report.revert_branch``) and is opened as an ordinary pull request, so it needs review like any
other change.  Needs the App's Contents: write and Pull requests: write permissions.

A revert branch that already exists is never trusted: anyone with write access could have created
it with their own commit.  It is moved (forced) onto the commit computed here before any pull
request is opened from it.
"""

from __future__ import annotations

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from github_app.pushes.classify import ZERO_SHA, Push
from github_app.pushes.report import revert_branch, revert_message, revert_pr_body

REVERT_PR_TITLE = "Revert direct push to {branch} ({sha7})"


def can_revert(push: Push) -> bool:
    """A push can be reverted when the branch existed before it and still exists."""
    return not push.deleted and not push.created and push.before != ZERO_SHA


async def _revert_commit(gh: GitHubAPI, push: Push) -> str:
    before = await gh.getitem(f"/repos/{push.repo}/git/commits/{push.before}")
    commit = await gh.post(
        f"/repos/{push.repo}/git/commits",
        data={
            "message": revert_message(push),
            "tree": before["tree"]["sha"],
            "parents": [push.after],
        },
    )
    return commit["sha"]


async def _create_branch(gh: GitHubAPI, push: Push, sha: str) -> None:
    """Point the revert branch at ``sha``: create it, or force an existing one onto it."""
    ref = f"heads/{revert_branch(push)}"
    try:
        await gh.post(f"/repos/{push.repo}/git/refs", data={"ref": f"refs/{ref}", "sha": sha})
    except BadRequest as error:
        if error.status_code != 422:  # 422: the reference already exists
            raise
        await _force_branch(gh, push.repo, ref, sha)


async def _force_branch(gh: GitHubAPI, repo: str, ref: str, sha: str) -> None:
    """Move an existing ref onto ``sha`` unless it already points there."""
    existing = await gh.getitem(f"/repos/{repo}/git/ref/{ref}")
    if (existing.get("object") or {}).get("sha") != sha:
        await gh.patch(f"/repos/{repo}/git/refs/{ref}", data={"sha": sha, "force": True})


async def _existing_pull_request(gh: GitHubAPI, push: Push) -> str | None:
    head = f"{push.owner}:{revert_branch(push)}"
    async for pull in gh.getiter(f"/repos/{push.repo}/pulls?state=all&head={head}"):
        return pull["html_url"]
    return None


async def open_revert_pr(gh: GitHubAPI, push: Push, *, issue_url: str | None) -> str | None:
    """Open (or find) the revert pull request; returns its web address, ``None`` if impossible."""
    if not can_revert(push):
        return None
    sha = await _revert_commit(gh, push)
    await _create_branch(gh, push, sha)
    title = REVERT_PR_TITLE.format(branch=push.branch, sha7=push.after[:7])
    try:
        pull = await gh.post(
            f"/repos/{push.repo}/pulls",
            data={
                "title": title,
                "head": revert_branch(push),
                "base": push.branch,
                "body": revert_pr_body(push, issue_url),
            },
        )
    except BadRequest as error:
        existing = await _existing_pull_request(gh, push) if error.status_code == 422 else None
        if existing is None:
            raise
        return existing
    return pull["html_url"]
