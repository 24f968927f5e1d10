"""The ruleset body a policy asks for (pure).

The body is exactly what ``POST /repos/{owner}/{repo}/rulesets`` takes.  Policy patterns are
Python ``fnmatch`` patterns where ``*`` also matches ``/``; GitHub reads ruleset patterns with
Ruby's ``File.fnmatch`` and ``FNM_PATHNAME``, where ``*`` stops at ``/``.  So a pattern ending
in ``*`` is also written with a ``/**/*`` tail: ``release/*`` then covers ``release/1/hotfix``
on GitHub as it does in the policy.  (A ``*`` in the middle of a pattern still stops at ``/`` on
GitHub; detection of direct pushes covers what the ruleset cannot.)
"""

from __future__ import annotations

from typing import Any

from github_app.policy.model import Policy

RULESET_NAME = "Countersign"
CHECK_CONTEXT = "countersign"
DEFAULT_BRANCH_CONDITION = "~DEFAULT_BRANCH"
# The rule types Countersign writes and owns inside its ruleset; others are left as found.
MANAGED_RULE_TYPES = (
    "pull_request",
    "required_status_checks",
    "non_fast_forward",
    "deletion",
    "creation",
)


def ref_includes(patterns: tuple[str, ...]) -> list[str]:
    """The ruleset's ``ref_name.include`` list: the default branch plus every policy pattern."""
    includes = [DEFAULT_BRANCH_CONDITION]
    for pattern in patterns:
        ref = f"refs/heads/{pattern.removeprefix('refs/heads/')}"
        includes.append(ref)
        if ref.endswith("*"):
            includes.append(f"{ref}/**/*")
    return list(dict.fromkeys(includes))


def pull_request_rule(policy: Policy) -> dict[str, Any]:
    """Require a pull request, with GitHub's own approval settings from ``policy.rulesets``."""
    return {
        "type": "pull_request",
        "parameters": {
            "required_approving_review_count": policy.rulesets.required_approvals,
            "require_last_push_approval": policy.rulesets.require_last_push_approval,
            "dismiss_stale_reviews_on_push": False,
            "require_code_owner_review": False,
            "required_review_thread_resolution": False,
        },
    }


def status_check_rule(app_id: int) -> dict[str, Any]:
    """Require the ``countersign`` check, pinned to the App so no one else can satisfy it.

    The check is enforced on creation too: ``do_not_enforce_on_create`` would let anyone
    create ``release/x`` pointing at unreviewed agent commits.
    """
    return {
        "type": "required_status_checks",
        "parameters": {
            "required_status_checks": [{"context": CHECK_CONTEXT, "integration_id": app_id}],
            "strict_required_status_checks_policy": False,
        },
    }


def desired_ruleset(policy: Policy, app_id: int) -> dict[str, Any]:
    """The ``Countersign`` ruleset body for ``policy``, the check pinned to App ``app_id``."""
    return {
        "name": RULESET_NAME,
        "target": "branch",
        "enforcement": "active",
        "bypass_actors": [],
        "conditions": {
            "ref_name": {"include": ref_includes(policy.protected_branches), "exclude": []}
        },
        "rules": [
            pull_request_rule(policy),
            status_check_rule(app_id),
            {"type": "non_fast_forward"},
            {"type": "deletion"},
            # Only bypass actors (none) may create a protected branch: a new branch at unreviewed
            # commits would otherwise skip the pull request entirely.
            {"type": "creation"},
        ],
    }
