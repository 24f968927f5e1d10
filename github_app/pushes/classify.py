"""Classify a ``push`` to a branch: ignorable, explained by a merged PR, or a direct push (pure).

A push to a protected branch whose head did not arrive through a merged pull request is a direct
push.  This module decides everything that can be decided from the payload and the pull requests
GitHub associates with the pushed head; the shell (``handlers/push.py``) fetches those.

Ignored outright: tags, unprotected branches, pushes that change nothing, pushes by GitHub's
merge queue.  Creating a protected branch is a direct push unless GitHub's compare API says its
head is already reachable from another protected branch (a new ``release/*`` cut from ``main``);
commits that merely exist elsewhere (an agent's feature branch) are not reviewed commits.
Deleting a protected branch is a direct push.  When the policy
could not be read, which branches it protects is unknown, so no branch counts as unprotected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from github_app.core import github_json
from github_app.core.catalogue import Catalogue
from github_app.core.detection import detect
from github_app.core.github_json import parse_time
from github_app.core.models import Attribution, Commit
from github_app.policy.loader import ORG_POLICY_PATH, ORG_POLICY_REPO, touches_policy
from github_app.policy.model import Policy

Json = Mapping[str, Any]

ZERO_SHA = "0" * 40
BRANCH_PREFIX = "refs/heads/"
# A push payload lists at most 2048 commits: one that long may hide agent commits it cut off.
PUSH_COMMIT_LIMIT = 2048
# GitHub's merge queue fast-forwards the branch to a group it already checked and merged.
MERGE_QUEUE_LOGINS = frozenset({"github-merge-queue[bot]"})
# The merge queue's temporary branches (refs/heads/gh-readonly-queue/<base>/pr-<n>-<sha>).
MERGE_QUEUE_BRANCH_PREFIX = "gh-readonly-queue/"


@dataclass(frozen=True)
class Push:
    """The facts of one ``push`` delivery."""

    repo: str
    repo_id: int
    ref: str
    before: str
    after: str
    created: bool
    deleted: bool
    forced: bool
    pusher: str
    sender: str | None
    default_branch: str
    commits: tuple[Commit, ...]
    distinct: tuple[str, ...]  # shas of the commits new to the repository
    changed_paths: tuple[str, ...]
    compare_url: str | None
    pushed_at: datetime
    commits_truncated: bool = False  # GitHub listed fewer commits than the push (or branch) has

    @property
    def branch(self) -> str | None:
        """The branch name, or ``None`` for tags and other refs."""
        return self.ref.removeprefix(BRANCH_PREFIX) if self.ref.startswith(BRANCH_PREFIX) else None

    @property
    def owner(self) -> str:
        """The repository owner's login."""
        return self.repo.split("/", 1)[0]

    @property
    def actor(self) -> str:
        """Who pushed: the sender's login, else the pusher's name."""
        return self.sender or self.pusher


def _paths(commits: Iterable[Json]) -> tuple[str, ...]:
    paths: list[str] = []
    for commit in commits:
        for key in ("added", "modified", "removed"):
            paths += commit.get(key) or ()
    return tuple(dict.fromkeys(paths))


def _pushed_at(payload: Json) -> datetime:
    pushed = (payload.get("repository") or {}).get("pushed_at")
    if pushed is None and payload.get("head_commit"):
        pushed = payload["head_commit"].get("timestamp")
    return parse_time(pushed)


def push_from_payload(payload: Json) -> Push:
    """The typed facts of a ``push`` webhook payload."""
    repository = payload["repository"]
    commits = payload.get("commits") or ()
    return Push(
        repo=repository["full_name"],
        repo_id=repository["id"],
        ref=payload["ref"],
        before=payload["before"],
        after=payload["after"],
        created=bool(payload.get("created")),
        deleted=bool(payload.get("deleted")),
        forced=bool(payload.get("forced")),
        pusher=(payload.get("pusher") or {}).get("name") or "",
        sender=(payload.get("sender") or {}).get("login"),
        default_branch=repository.get("default_branch") or repository.get("master_branch") or "",
        commits=tuple(github_json.push_commit(c) for c in commits),
        distinct=tuple(c["id"] for c in commits if c.get("distinct", True)),
        changed_paths=_paths(commits),
        compare_url=payload.get("compare"),
        pushed_at=_pushed_at(payload),
        commits_truncated=len(commits) >= PUSH_COMMIT_LIMIT,
    )


def incident_id(push: Push) -> str:
    """A fixed-length id of the push's incident: one per repository, ref, before and after.

    The pushed head alone is not enough: every branch deletion has the same ``after``, and one
    commit pushed directly to two branches is two incidents.
    """
    facts = "\0".join((str(push.repo_id), push.ref, push.before, push.after))
    return hashlib.sha256(facts.encode()).hexdigest()


def ignore_reason(push: Push, policy: Policy, *, protection_known: bool = True) -> str | None:
    """Why this push cannot be a direct push (``None``: it may be one; ask GitHub next).

    ``protection_known=False`` (the policy could not be read, ``policy`` is only the shipped
    default) fails closed: a branch the default leaves unprotected may be protected by the org.
    """
    branch = push.branch
    if branch is None:
        return "not a branch"
    if branch.startswith(MERGE_QUEUE_BRANCH_PREFIX):
        return "a merge queue's temporary branch"
    if protection_known and not policy.is_protected(branch, push.default_branch):
        return "unprotected branch"
    if push.before == push.after:
        return "nothing changed"
    if push.sender in MERGE_QUEUE_LOGINS:
        return "merged by GitHub's merge queue"
    return None


def comparison_bases(push: Push, policy: Policy) -> tuple[str, ...]:
    """Branches a newly created protected branch may have been cut from, to ask GitHub about.

    The default branch, then every protected branch the policy names exactly (patterns name no
    branch to compare with).  A head reachable from one of them was reviewed there already.
    """
    names = [push.default_branch, *(p for p in policy.protected_branches if not _is_glob(p))]
    names = [name.removeprefix(BRANCH_PREFIX) for name in names if name]
    return tuple(name for name in dict.fromkeys(names) if name != push.branch)


def _is_glob(pattern: str) -> bool:
    return any(char in pattern for char in "*?[")


def reachable_from_base(comparison: Json) -> bool:
    """True when ``GET compare/{base}...{head}`` says the head is already on the base."""
    return comparison.get("status") in {"identical", "behind"}


def merged_pull_request(after: str, branch: str, pulls: Iterable[Json]) -> int | None:
    """The number of the PR merged into ``branch`` that put ``after`` on it, if any.

    ``pulls`` is ``GET /repos/{owner}/{repo}/commits/{after}/pulls``.  A merge or squash commit
    is the PR's ``merge_commit_sha``; after a rebase merge (or a fast-forward) the pushed head is
    that sha too, or the PR's own head.  A PR merged into another branch explains nothing: its
    merge commit can be fast-forwarded onto ``branch`` without review there.
    """
    for pull in pulls:
        if not pull.get("merged_at") or (pull.get("base") or {}).get("ref") != branch:
            continue
        head = (pull.get("head") or {}).get("sha")
        if after in (pull.get("merge_commit_sha"), head):
            return pull["number"]
    return None


def merged_through_group(push: Push, group_base_ref: str | None) -> bool:
    """True when the pushed head is a merge queue group Countersign judged for this branch.

    ``group_base_ref`` is the recorded group's target (``refs/heads/main``) whose head commit is
    ``push.after``, or ``None`` when no group was built as that commit.  The queue advances the
    base branch to exactly the group commit it tested, whose PRs were each judged.
    """
    return group_base_ref is not None and not push.deleted and group_base_ref == push.ref


def changes_policy(push: Push) -> bool:
    """True when a push to the default branch adds, edits or removes a policy file."""
    return push.branch == push.default_branch and touches_policy(push.changed_paths, push.repo)


def org_policy_changed(push: Push) -> bool:
    """True when the push changes the org policy (``countersign.yml`` of the org's ``.github``)."""
    name = push.repo.rsplit("/", 1)[-1].lower()
    return (
        changes_policy(push) and name == ORG_POLICY_REPO and ORG_POLICY_PATH in push.changed_paths
    )


@dataclass(frozen=True)
class PushAttribution:
    """Detection over the whole push, and over each commit on its own."""

    overall: Attribution
    per_commit: tuple[tuple[Commit, Attribution], ...]


def fallback_session_id(push: Push) -> str:
    """The derived session id of a push whose commits name none."""
    return f"push:{push.repo_id}:{push.after}"


def attribute_push(push: Push, catalogue: Catalogue, policy: Policy) -> PushAttribution:
    """Attribute the pushed commits together and one by one (``detect`` without a PR)."""
    options = {
        "threshold": policy.detection.threshold_strength,
        "assisted_is_agent": policy.detection.ai_assisted_is_agent,
        "fallback_session_id": fallback_session_id(push),
    }
    overall = detect(None, push.commits, catalogue, **options)
    per_commit = tuple((c, detect(None, [c], catalogue, **options)) for c in push.commits)
    return PushAttribution(overall, per_commit)


def is_violation(attribution: Attribution, policy: Policy, *, truncated: bool = False) -> bool:
    """A direct push is a violation if agent-authored, or if the policy counts human pushes.

    ``truncated`` (GitHub did not list every commit) fails closed: unseen commits may be an
    agent's, as with a pull request too large to judge.
    """
    return attribution.is_agent or truncated or policy.direct_push.count_human_pushes


def direct_push_data(
    push: Push, attribution: PushAttribution, *, violation: bool, policy_error: str | None
) -> dict[str, Any]:
    """The ``data`` of a ``direct_push`` ledger entry (links are added by the shell)."""
    return {
        "branch": push.branch,
        "pusher": push.pusher,
        "sender": push.sender,
        "before": push.before,
        "after": push.after,
        "created": push.created,
        "deleted": push.deleted,
        "forced": push.forced,
        "compare_url": push.compare_url,
        "agent_authored": attribution.overall.is_agent,
        "commits_truncated": push.commits_truncated,
        "violation": violation,
        "commits": [_commit_data(c, a) for c, a in attribution.per_commit],
        "signals": [s.model_dump(mode="json") for s in attribution.overall.signals],
        "policy_error": policy_error,
    }


def _commit_data(commit: Commit, attribution: Attribution) -> dict[str, Any]:
    return {
        "sha": commit.sha,
        "author": commit.author.model_dump(),
        "committer": commit.committer.model_dump(),
        "agent": attribution.agent,
        "is_agent": attribution.is_agent,
        "session_id": attribution.session_id,
        "session_derived": attribution.session_derived,
        "launched_by": attribution.launched_by,
        "title": commit.message.split("\n", 1)[0][:200],
    }
