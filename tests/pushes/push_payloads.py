"""``push`` deliveries built on GitHub's own example (push/with-new-branch.payload.json)."""

from __future__ import annotations

import copy
from typing import Any

from tests.support.webhooks import load_payload

BEFORE = "b" * 40
AFTER = "a" * 40
AGENT_MESSAGE = (
    "Add retry to the importer\n\n"
    "Co-Authored-By: Claude Opus 4.5 <noreply@anthropic.com>\n"
    "Agent-Session-Id: sess-42\nAgent-Launched-By: octo-dev\n"
)
HUMAN_MESSAGE = "Fix typo in README"


def push_commit(sha: str, message: str, *, distinct: bool = True) -> dict[str, Any]:
    """One commit of a push payload, edited from the example's commit."""
    commit = copy.deepcopy(load_payload("push", "with-new-branch")["commits"][0])
    commit.update(
        id=sha, message=message, distinct=distinct, modified=["src/importer.py"], added=[]
    )
    return commit


def push_payload(
    *,
    ref: str = "refs/heads/master",
    before: str = BEFORE,
    after: str = AFTER,
    message: str = AGENT_MESSAGE,
    commits: list[dict[str, Any]] | None = None,
    sender: str = "Codertocat",
) -> dict[str, Any]:
    """A push to an existing branch of Codertocat/Hello-World (default branch ``master``)."""
    payload = load_payload("push", "with-new-branch")
    payload.update(ref=ref, before=before, after=after, created=False, deleted=False)
    payload["commits"] = commits if commits is not None else [push_commit(after, message)]
    payload["head_commit"] = payload["commits"][-1] if payload["commits"] else None
    payload["sender"]["login"] = sender
    payload["compare"] = (
        f"https://github.com/Codertocat/Hello-World/compare/{before[:12]}...{after[:12]}"
    )
    return payload
