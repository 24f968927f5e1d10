"""Direct-push incidents: their progress, kept once per push, and the issue.

A push is identified by repository, ref, ``before`` and ``after`` (``incident_id``): a second
deletion of a protected branch, or the same commit pushed to another branch, is a new incident.

Every step of the response (revert PR, issue, ``direct_push`` entry, alerts) is done at most once
per incident: the state below is saved after each step, so a retried delivery, or the same push
seen twice, resumes where the last attempt stopped instead of repeating it.
The issue needs the App's Issues: write permission.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass, replace

from gidgethub.abc import GitHubAPI

from github_app.pushes.classify import Push, PushAttribution, incident_id
from github_app.pushes.report import issue_body, issue_title
from github_app.state import cursors
from github_app.store.database import Database


@dataclass(frozen=True)
class IncidentState:
    """How far the response to one direct push has got."""

    issue_number: int | None = None
    issue_url: str | None = None
    revert_pr_url: str | None = None
    recorded: bool = False
    alerted: bool = False

    def but(self, **changes: object) -> IncidentState:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)


def incident_key(push: Push) -> str:
    """The ``sync_cursors`` name of the incident of ``push``."""
    return f"incident:{push.repo_id}:{incident_id(push)}"


def _load(db: Database, push: Push) -> IncidentState:
    text = cursors.read(db, incident_key(push))
    return IncidentState(**json.loads(text)) if text else IncidentState()


async def load_incident(db: Database, push: Push) -> IncidentState:
    """The saved state of the incident (a fresh one if there is none yet)."""
    return await asyncio.to_thread(_load, db, push)


async def save_incident(db: Database, push: Push, state: IncidentState) -> None:
    """Save the incident's state."""
    text = json.dumps(asdict(state), sort_keys=True)
    await asyncio.to_thread(cursors.write, db, incident_key(push), text)


async def open_issue(
    gh: GitHubAPI,
    push: Push,
    attribution: PushAttribution,
    *,
    revert_pr_url: str | None,
    policy_error: str | None = None,
) -> tuple[int, str]:
    """Open the incident issue; returns its number and web address."""
    body = issue_body(push, attribution, revert_pr_url=revert_pr_url, policy_error=policy_error)
    issue = await gh.post(
        f"/repos/{push.repo}/issues",
        data={"title": issue_title(push, attribution), "body": body},
    )
    return issue["number"], issue["html_url"]
