"""Who may approve: matching a reviewer's facts against an approver spec, and saying it in words.

Pure functions.  A reviewer whose facts are unknown meets no requirement (fail closed).
"""

from __future__ import annotations

from collections.abc import Sequence

from github_app.core.models import Frozen
from github_app.policy.model import ApproverSpec, permission_rank


class ReviewerFacts(Frozen):
    """What GitHub says about a reviewer in this repository."""

    login: str
    permission: str = "none"  # admin|maintain|write|triage|read|none
    teams: frozenset[str] = frozenset()  # "org/slug"


def join_words(items: Sequence[str], conjunction: str = "or") -> str:
    """``a``, ``a or b``, ``a, b, or c`` (with ``conjunction`` in place of ``or``)."""
    if len(items) <= 2:
        return f" {conjunction} ".join(items)
    return ", ".join(items[:-1]) + f", {conjunction} " + items[-1]


def describe_approvers(spec: ApproverSpec, *, anyone: str = "any human") -> str:
    """Human wording of an approver spec, e.g. ``members of acme/platform with write
    permission``; ``anyone`` words the unrestricted case (``any human``, ``a human``)."""
    permission = f"with {spec.min_permission} permission"
    if not spec.restricted:
        return f"{anyone} {permission}"
    return f"{describe_principals(spec)} {permission}"


def describe_principals(spec: ApproverSpec) -> str:
    """The users and teams of a spec in words: ``@alice or members of acme/platform``."""
    names = [f"@{user}" for user in spec.users] + [f"members of {team}" for team in spec.teams]
    return join_words(names)


def approver_shortfall(login: str, facts: ReviewerFacts | None, spec: ApproverSpec) -> str | None:
    """Why ``login`` does not meet ``spec``, or ``None`` when it does."""
    if facts is None:
        return f"@{login}'s permission on this repository is unknown, so it cannot be verified"
    if permission_rank(facts.permission) < permission_rank(spec.min_permission):
        return f"needs {spec.min_permission} permission, @{login} has {facts.permission}"
    if not spec.restricted or login.lower() in spec.users:
        return None
    member_of = {team.lower() for team in facts.teams}
    if member_of.intersection(spec.teams):
        return None
    return f"@{login} is not one of the listed approvers ({describe_principals(spec)})"
