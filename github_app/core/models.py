"""Typed facts about pull requests, commits and reviews, as the core sees them.

The shell builds these from webhook payloads and REST responses; the core never sees raw JSON.
Everything here is immutable so a decision can be recomputed from the same inputs.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    """Base for immutable core models."""

    model_config = ConfigDict(frozen=True)


class Account(Frozen):
    """A GitHub account: a person, a bot, or an organisation."""

    login: str
    id: int | None = None
    type: str = "User"  # GitHub's account type: "User", "Bot", "Organization"

    @property
    def is_bot(self) -> bool:
        """True for GitHub App and machine accounts (type Bot or a ``[bot]`` login)."""
        return self.type == "Bot" or self.login.lower().endswith("[bot]")


class GitIdentity(Frozen):
    """A git author or committer line: name and e-mail as written in the commit."""

    name: str = ""
    email: str = ""


class Commit(Frozen):
    """One commit of a pull request or push."""

    sha: str
    message: str = ""
    author: GitIdentity = GitIdentity()
    committer: GitIdentity = GitIdentity()
    author_account: Account | None = None  # the GitHub account GitHub linked to the author
    committer_account: Account | None = None
    verified: bool = False  # GitHub's signature verification; signed is not the same as human


class PullRequest(Frozen):
    """The pull request facts detection and evaluation need."""

    repo_full_name: str
    repo_id: int
    number: int
    title: str = ""
    body: str = ""
    author: Account
    head_ref: str = ""
    head_sha: str
    base_ref: str = "main"
    base_sha: str | None = None  # the base branch's commit as of the event (policy is read there)
    default_branch: str = "main"  # the repository's default branch (always protected)
    labels: tuple[str, ...] = ()
    assignees: tuple[Account, ...] = ()
    draft: bool = False
    state: str = "open"
    merged: bool = False
    merge_commit_sha: str | None = None
    merged_by: Account | None = None
    commit_count: int | None = None  # as GitHub counts them (its listings stop at 250 / 3000)
    changed_file_count: int | None = None

    @property
    def owner(self) -> str:
        """The repository owner's login."""
        return self.repo_full_name.split("/", 1)[0]


ReviewState = Literal["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"]


class Review(Frozen):
    """A submitted pull request review."""

    id: int
    reviewer: Account
    state: ReviewState
    commit_id: str  # the head SHA the review was submitted against
    submitted_at: datetime | None = None


class Strength(IntEnum):
    """How much a detection signal can be trusted (higher is stronger).

    Trailers are unauthenticated: anyone can write them, so they can only ever make a change
    *more* restricted.  An App or bot identity is the strongest evidence GitHub gives us.
    """

    BRANCH_PREFIX = 1
    TRAILER = 2
    SESSION_URL = 3
    IDENTITY = 4


class Signal(Frozen):
    """One piece of evidence that an agent took part in a change."""

    agent: str  # catalogue name, e.g. "claude-code"
    kind: str  # e.g. "author_identity", "coauthor_trailer", "session_url", "branch_prefix"
    strength: Strength
    source: str  # where it was seen: "commit 1a2b3c4 author", "PR body", "branch name" ...
    detail: str = ""  # the matched text, shortened


class Attribution(Frozen):
    """What detection concluded about one pull request (or pushed commits)."""

    is_agent: bool
    agent: str | None = None  # catalogue name, "unknown-agent", or None for a human change
    signals: tuple[Signal, ...] = ()
    session_id: str | None = None  # the primary session id (first of session_ids)
    session_derived: bool = False  # True when no marker carried an id and we derived one
    # Every session id seen (declared trailers, vendor URLs, the derived one), primary first:
    # revoking any of them blocks the change.
    session_ids: tuple[str, ...] = ()
    launched_by: str | None = None  # login of the accountable developer, when known
    # Everyone named as launcher (vendor marker, Agent-Launched-By, the agent's rules), the
    # accountable developer first: none of them may countersign.
    launcher_candidates: tuple[str, ...] = ()
    ai_assisted: bool = False  # AI suggestions accepted (e.g. Copilot Autofix) but no agent
    co_authors: tuple[GitIdentity, ...] = Field(default=())  # every Co-authored-by trailer seen
    # Set from agent session events, not from git: the launcher is the login of the agent token
    # that started the session, and any trailer naming someone else is a conflict to show.
    launcher_attested: bool = False
    launcher_conflicts: tuple[str, ...] = ()
    catalogue_version: str | None = None  # the catalogue release that judged the change

    @property
    def all_session_ids(self) -> tuple[str, ...]:
        """``session_ids``, or the primary id alone for attributions built without them."""
        if self.session_ids:
            return self.session_ids
        return (self.session_id,) if self.session_id else ()

    @property
    def all_launchers(self) -> tuple[str, ...]:
        """``launcher_candidates``, or the launcher alone for attributions built without them."""
        if self.launcher_candidates:
            return self.launcher_candidates
        return (self.launched_by,) if self.launched_by else ()
