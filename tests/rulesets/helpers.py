"""Fake-GitHub helpers shared by the direct-push and ruleset tests."""

from __future__ import annotations

import base64
from typing import Any

from github_app.context import HandlerContext
from github_app.jobs.installations import context_for
from tests.support.fake_github import FakeGitHub

REPO = "Codertocat/Hello-World"
REPO_ID = 186853002


def file_content(text: str, path: str) -> dict[str, Any]:
    """A ``contents`` API answer for a file."""
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(text),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": base64.b64encode(text.encode()).decode(),
        "sha": "c" * 40,
        "url": "u",
        "git_url": None,
        "html_url": None,
        "download_url": None,
        "_links": {"self": "s", "git": None, "html": None},
    }


def serve_org_policy(github: FakeGitHub, text: str, owner: str = "Codertocat") -> None:
    """Serve ``countersign.yml`` of the org's ``.github`` repository."""
    github.serve_repository_head(f"{owner}/.github")
    github.route(
        "GET",
        f"/repos/{owner}/.github/contents/countersign.yml",
        json=file_content(text, "countersign.yml"),
    )


async def installation_context(harness, installation_id: int = 1) -> HandlerContext:
    """A handler context for jobs and commands, as the scheduler builds it."""
    return await context_for(harness.services, installation_id)


def entries(harness, kind: str) -> list:
    """The ledger entries of one kind."""
    return list(harness.services.ledger.entries(kinds=[kind]))
