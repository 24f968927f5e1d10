"""Turn GitHub JSON (webhook payloads and REST responses) into the core's typed models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from github_app.core.models import Account, Commit, GitIdentity, PullRequest, Review
from github_app.ledger.entry import parse_rfc3339

Json = dict[str, Any]


def account(data: Json | None) -> Account | None:
    """An account from a GitHub ``user`` object (``None`` stays ``None``)."""
    if not data or not data.get("login"):
        return None
    return Account(login=data["login"], id=data.get("id"), type=data.get("type") or "User")


def pull_request(pr: Json, repository: Json) -> PullRequest:
    """A pull request from a webhook or REST ``pull_request`` object."""
    return PullRequest(
        repo_full_name=repository["full_name"],
        repo_id=repository["id"],
        number=pr["number"],
        title=pr.get("title") or "",
        body=pr.get("body") or "",
        author=account(pr.get("user")) or Account(login="ghost"),
        head_ref=pr["head"]["ref"],
        head_sha=pr["head"]["sha"],
        base_ref=pr["base"]["ref"],
        base_sha=pr["base"].get("sha"),
        default_branch=repository.get("default_branch") or "main",
        labels=tuple(label["name"] for label in pr.get("labels") or ()),
        assignees=tuple(filter(None, (account(a) for a in pr.get("assignees") or ()))),
        draft=bool(pr.get("draft")),
        state=pr.get("state") or "open",
        # Review payloads carry no "merged" flag, only merged_at.
        merged=bool(pr.get("merged") or pr.get("merged_at")),
        merge_commit_sha=pr.get("merge_commit_sha"),
        merged_by=account(pr.get("merged_by")),
        commit_count=pr.get("commits"),
        changed_file_count=pr.get("changed_files"),
    )


def _identity(data: Json | None) -> GitIdentity:
    data = data or {}
    return GitIdentity(name=data.get("name") or "", email=data.get("email") or "")


def api_commit(data: Json) -> Commit:
    """A commit from the REST commits API (``pulls/{n}/commits``, ``commits/{sha}``)."""
    git = data.get("commit") or {}
    return Commit(
        sha=data["sha"],
        message=git.get("message") or "",
        author=_identity(git.get("author")),
        committer=_identity(git.get("committer")),
        author_account=account(data.get("author")),
        committer_account=account(data.get("committer")),
        verified=bool((git.get("verification") or {}).get("verified")),
    )


def push_commit(data: Json) -> Commit:
    """A commit from a ``push`` webhook (no linked accounts: only git identities)."""
    return Commit(
        sha=data["id"],
        message=data.get("message") or "",
        author=_identity(data.get("author")),
        committer=_identity(data.get("committer")),
    )


def review(data: Json) -> Review | None:
    """A submitted review; ``None`` for pending drafts, which GitHub does not count either."""
    if data.get("state") not in {"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"}:
        return None
    return Review(
        id=data["id"],
        reviewer=account(data.get("user")) or Account(login="ghost"),
        state=data["state"],
        commit_id=data.get("commit_id") or "",
        submitted_at=data.get("submitted_at"),
    )


def parse_time(value: str | int | float | None) -> datetime:
    """GitHub's timestamps (ISO 8601 strings, or epoch seconds in a few events) as UTC.

    A missing timestamp means "now": GitHub omits it only for events that just happened.
    """
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return parse_rfc3339(value)
