"""Small builders for policy evaluation inputs.

The default scene: @alice launched a Claude Code session that opened PR #7 in acme/widgets; the
single commit is authored by @alice and co-authored by Claude.  Reviewers' facts are known for
@bob and @carol (write), @dave (read), @erin (admin, acme/platform) and @frank (write,
acme/platform).
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

from github_app.core.models import (
    Account,
    Attribution,
    Commit,
    GitIdentity,
    PullRequest,
    Review,
    Signal,
    Strength,
)
from github_app.policy.approvers import ReviewerFacts
from github_app.policy.evaluate import EvaluationInput
from github_app.policy.loader import EffectivePolicy, effective_policy, load_default_policy

HEAD = "a1b2c3d4e5f60718293a4b5c6d7e8f9011223344"
OLD = "9f8e7d6c5b4a39281706f5e4d3c2b1a099887766"
CLAUDE = GitIdentity(name="Claude", email="noreply@anthropic.com")

_review_ids = itertools.count(1000)


def account(login: str, *, account_id: int | None = None, kind: str = "User") -> Account:
    """A GitHub account (``kind`` is GitHub's account type)."""
    return Account(login=login, id=account_id, type=kind)


def pull_request(
    *, author: Account | str = "alice", labels: tuple[str, ...] = (), repo: str = "acme/widgets"
) -> PullRequest:
    """An open pull request whose head is ``HEAD``."""
    author_account = account(author) if isinstance(author, str) else author
    return PullRequest(
        repo_full_name=repo,
        repo_id=42,
        number=7,
        author=author_account,
        head_ref="claude/fix-bug-abcde",
        head_sha=HEAD,
        labels=labels,
    )


def commit(
    sha: str = HEAD,
    *,
    author: str = "alice",
    committer: str | None = None,
    author_email: str = "alice@example.com",
    message: str = "Fix the bug\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n",
) -> Commit:
    """A commit authored (and by default committed) by ``author``."""
    return Commit(
        sha=sha,
        message=message,
        author=GitIdentity(name=author, email=author_email),
        committer=GitIdentity(name=committer or author, email=author_email),
        author_account=account(author),
        committer_account=account(committer or author),
    )


def review(
    reviewer: Account | str,
    state: str = "APPROVED",
    *,
    commit_id: str = HEAD,
    review_id: int | None = None,
) -> Review:
    """A submitted review; ids increase in creation order unless given."""
    who = account(reviewer) if isinstance(reviewer, str) else reviewer
    return Review(
        id=review_id if review_id is not None else next(_review_ids),
        reviewer=who,
        state=state,  # type: ignore[arg-type]
        commit_id=commit_id,
    )


def facts(login: str, permission: str = "write", teams: tuple[str, ...] = ()) -> ReviewerFacts:
    """What GitHub says about a reviewer."""
    return ReviewerFacts(login=login, permission=permission, teams=frozenset(teams))


def default_facts() -> dict[str, ReviewerFacts]:
    """Facts for the scene's reviewers."""
    return {
        "bob": facts("bob"),
        "carol": facts("carol"),
        "dave": facts("dave", "read"),
        "erin": facts("erin", "admin", ("acme/platform",)),
        "frank": facts("frank", "write", ("acme/platform",)),
    }


def agent_attribution(**overrides: Any) -> Attribution:
    """Detection's verdict on a Claude Code change launched by @alice."""
    fields: dict[str, Any] = {
        "is_agent": True,
        "agent": "claude-code",
        "signals": (
            Signal(
                agent="claude-code",
                kind="coauthor_trailer",
                strength=Strength.TRAILER,
                source=f"commit {HEAD[:7]} message",
                detail="Co-Authored-By: Claude <noreply@anthropic.com>",
            ),
        ),
        "session_id": "session_01ABCDEFGHIJKLMNOPQRSTUV",
        "launched_by": "alice",
        "co_authors": (CLAUDE,),
    }
    return Attribution(**(fields | overrides))


def human_attribution() -> Attribution:
    """Detection's verdict on a change with no agent signal."""
    return Attribution(is_agent=False)


@functools.cache
def policy(org: str | None = None, repo: str | None = None) -> EffectivePolicy:
    """The effective policy from optional org and repo YAML over the shipped default."""
    return effective_policy(
        load_default_policy(), org, repo, org_source="acme/.github", repo_source="acme/widgets"
    )


def evaluation(**overrides: Any) -> EvaluationInput:
    """An evaluation input for the default scene, with any field replaced."""
    fields: dict[str, Any] = {
        "pr": pull_request(),
        "commits": (commit(),),
        "reviews": (),
        "changed_files": ("src/app.py",),
        "attribution": agent_attribution(),
        "policy": policy(),
        "reviewer_facts": default_facts(),
        "agent_logins": frozenset({"copilot", "claude[bot]", "devin-ai-integration[bot]"}),
    }
    return EvaluationInput(**(fields | overrides))
