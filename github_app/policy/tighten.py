"""The repo-over-org layering rule: a repository policy file can only tighten the org policy.

Each setting has a combining rule (take the larger count, the weaker detection threshold, the
higher permission, the union of lists, ...).  When the combined value differs from what the repo
file asked for, the repo asked to loosen the policy: the org's value wins and a note says so.
Settings without a rule cannot be changed by a repo file at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from github_app.core.models import Strength
from github_app.policy.model import PERMISSION_ORDER, RULESET_MODE_ORDER, Policy

PRINCIPAL_KEYS = ("users", "teams")
# Sections of a repo file whose users/teams lists form one approver set (see prepare_repo_doc).
PRINCIPAL_SECTIONS: tuple[tuple[str, ...], ...] = (
    ("approvals",),
    ("emergency", "approvers"),
    ("policy_owners",),
)

Combine = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class Rule:
    """How one setting combines: ``path`` into the policy, ``combine(org, repo)``, and whether a
    result different from the repo's value means the repo tried to loosen (``notes``)."""

    path: tuple[str, ...]
    combine: Combine
    notes: bool = True


def _keep_org(org: Any, _repo: Any) -> Any:
    return org


def _either(org: bool, repo: bool) -> bool:
    return org or repo


def _both(org: bool, repo: bool) -> bool:
    return org and repo


def _union(org: tuple[Any, ...], repo: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(org) + tuple(item for item in repo if item not in org)


def _ranked(order: tuple[str, ...], *, pick: Callable[..., int]) -> Combine:
    def combine(org: str, repo: str) -> str:
        return order[pick(order.index(org), order.index(repo))]

    return combine


def _weaker_threshold(org: str, repo: str) -> str:
    # A lower threshold makes more changes agent changes, which is the tighter setting.
    return org if Strength[org.upper()] <= Strength[repo.upper()] else repo


def _narrow(*, open_when_unrestricted: bool) -> Combine:
    """Approver sets: the repo may only pick a subset of the org's set.

    If the org names nobody, ``open_when_unrestricted`` says whether the repo may name someone
    (yes for approvers: a restriction tightens; no for emergency approvers, where naming someone
    would switch on a break-glass path the org left disabled).  An empty subset keeps the org's.
    """

    def combine(org: Mapping[str, Any], repo: Mapping[str, Any]) -> dict[str, Any]:
        if not any(org[key] for key in PRINCIPAL_KEYS):
            return dict(repo) if open_when_unrestricted else dict(org)
        narrowed = {key: tuple(x for x in repo[key] if x in org[key]) for key in PRINCIPAL_KEYS}
        return narrowed if any(narrowed.values()) else dict(org)

    return combine


_HIGHER_PERMISSION = _ranked(PERMISSION_ORDER, pick=max)

RULES: tuple[Rule, ...] = (
    Rule(("version",), _keep_org),
    Rule(("protected_branches",), _union, notes=False),
    Rule(("detection", "threshold"), _weaker_threshold),
    Rule(("detection", "ai_assisted_is_agent"), _either),
    Rule(("detection", "agents"), _union, notes=False),
    Rule(("approvals", "required"), max),
    Rule(("approvals", "min_permission"), _HIGHER_PERMISSION),
    Rule(("approvals", "changes_requested_blocks"), _either),
    Rule(("approvals", PRINCIPAL_KEYS), _narrow(open_when_unrestricted=True)),
    Rule(("paths",), _union, notes=False),
    Rule(("session", "require_id"), _either),
    Rule(("session", "allow_derived"), _both),
    Rule(("session", "require_attested"), _either),
    Rule(("direct_push", "count_human_pushes"), _either),
    Rule(("direct_push", "open_issue"), _either),
    Rule(("direct_push", "alert"), _either),
    Rule(("direct_push", "revert_pr"), _either),
    Rule(("emergency", "label"), _keep_org),
    Rule(("emergency", "approvers", PRINCIPAL_KEYS), _narrow(open_when_unrestricted=False)),
    Rule(("emergency", "approvers", "min_permission"), _HIGHER_PERMISSION),
    Rule(("emergency", "post_review_hours"), min),
    Rule(("alerts", "webhooks"), _union, notes=False),
    Rule(("alerts", "slack"), _union, notes=False),
    Rule(("policy_owners", PRINCIPAL_KEYS), _narrow(open_when_unrestricted=True)),
    Rule(("policy_owners", "min_permission"), _HIGHER_PERMISSION),
    Rule(("rulesets", "mode"), _ranked(RULESET_MODE_ORDER, pick=max)),
    Rule(("rulesets", "required_approvals"), max),
    Rule(("rulesets", "require_last_push_approval"), _either),
)


def _get(document: Mapping[str, Any], path: tuple[Any, ...]) -> Any:
    *parents, leaf = path
    for key in parents:
        document = document[key]
    if isinstance(leaf, tuple):
        return {key: document[key] for key in leaf}
    return document[leaf]


def _set(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    *parents, leaf = path
    for key in parents:
        document = document[key]
    if isinstance(leaf, tuple):
        document.update(value)
    else:
        document[leaf] = value


def rule_name(path: tuple[Any, ...]) -> str:
    """Dotted name of a rule's setting, e.g. ``approvals.users/teams``."""
    return ".".join("/".join(part) if isinstance(part, tuple) else part for part in path)


def _show(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{key} {_show(item)}" for key, item in value.items())
    if isinstance(value, tuple | list):
        return "[" + ", ".join(str(item) for item in value) + "]"
    return str(value)


def prepare_repo_doc(document: Mapping[str, Any]) -> dict[str, Any]:
    """Make a repo file's approver set explicit: naming ``users`` without ``teams`` (or the
    reverse) means exactly those people, not those people plus the org's other list."""
    prepared = dict(document)
    for section in PRINCIPAL_SECTIONS:
        holder: Any = prepared
        for key in section[:-1]:
            holder = holder.get(key) if isinstance(holder, Mapping) else None
        target = holder.get(section[-1]) if isinstance(holder, Mapping) else None
        if isinstance(target, Mapping) and any(key in target for key in PRINCIPAL_KEYS):
            completed = {key: () for key in PRINCIPAL_KEYS} | dict(target)
            prepared = _replace_in(prepared, section, completed)
    return prepared


def _replace_in(document: Mapping[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    head, *rest = path
    copy = dict(document)
    copy[head] = _replace_in(document[head], tuple(rest), value) if rest else value
    return copy


def tighten(org: Policy, candidate: Policy) -> tuple[Policy, tuple[str, ...]]:
    """Combine the org policy with the repo's candidate (org merged with the repo file).

    Returns the effective policy and a note for each repo setting that was ignored because it
    would have loosened the org policy.
    """
    org_doc, repo_doc = org.model_dump(), candidate.model_dump()
    result = org.model_dump()
    notes: list[str] = []
    for rule in RULES:
        org_value, repo_value = _get(org_doc, rule.path), _get(repo_doc, rule.path)
        value = rule.combine(org_value, repo_value)
        _set(result, rule.path, value)
        if rule.notes and value != repo_value:
            notes.append(
                f"{rule_name(rule.path)}: a repo file can only tighten the org policy; asked for "
                f"{_show(repo_value)}, kept {_show(value)}"
            )
    return Policy.model_validate(result), tuple(notes)
