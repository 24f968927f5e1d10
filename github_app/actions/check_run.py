"""The ``countersign`` check run: its conclusion and the markdown a reviewer reads.

Only ``success`` lets a required check pass.  A PR waiting for a human gets
``action_required``; anything blocked, frozen, revoked or unreadable gets ``failure``.  We never
use ``neutral`` or ``skipped``: GitHub treats those as passing.

When ``COUNTERSIGN_PUBLIC_URL`` is set, the check run's ``details_url`` ("Details" on GitHub)
opens the PR's page in the auditor console, ``/console/pulls/{owner}/{repo}/{number}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from gidgethub.abc import GitHubAPI

from github_app.core.models import Attribution, PullRequest
from github_app.policy.evaluate import Decision
from github_app.policy.render import render_markdown

CHECK_NAME = "countersign"
_MAX_TEXT = 60_000  # GitHub caps summary and text at 65,535 characters each


def conclusion_for(decision: Decision) -> str:
    """Map a decision to a check run conclusion; only a passing decision is ``success``."""
    if decision.passing:
        return "success"
    return "action_required" if decision.state == "pending" else "failure"


def details_url_for(public_url: str | None, pr: PullRequest) -> str | None:
    """The console page of ``pr`` under the App's public URL (None without one)."""
    if not public_url:
        return None
    owner, _, repo = pr.repo_full_name.partition("/")
    path = "/".join(quote(part, safe="") for part in (owner, repo, str(pr.number)))
    return f"{public_url.rstrip('/')}/console/pulls/{path}"


def check_run_body(
    decision: Decision,
    attribution: Attribution,
    pr: PullRequest,
    ignored: tuple[str, ...] = (),
    *,
    details_url: str | None = None,
) -> dict:
    """The JSON body for creating or updating the check run."""
    body = {
        "name": CHECK_NAME,
        "head_sha": pr.head_sha,
        "status": "completed",
        "conclusion": conclusion_for(decision),
        "completed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "external_id": f"{pr.repo_id}:{pr.number}",
        "output": {
            "title": decision.title[:250],
            "summary": decision.summary[:_MAX_TEXT],
            "text": render_markdown(decision, attribution, ignored),
        },
    }
    if details_url:
        body["details_url"] = details_url
    return body


async def publish_check_run(
    gh: GitHubAPI, pr: PullRequest, body: dict, existing_id: int | None
) -> int:
    """Create the check run on the head SHA, or update the one we created before; returns its id."""
    base = f"/repos/{pr.repo_full_name}/check-runs"
    if existing_id is not None:
        update = {key: value for key, value in body.items() if key != "head_sha"}
        await gh.patch(f"{base}/{existing_id}", data=update)
        return existing_id
    created = await gh.post(base, data=body)
    return int(created["id"])
