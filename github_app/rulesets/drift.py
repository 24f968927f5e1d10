"""How an existing ruleset falls short of the desired one, and the body that repairs it (pure).

Only weakening counts as drift: a bypass actor added, a branch no longer covered, a rule removed
or loosened, enforcement not ``active``.  Anything stricter (more branches, more rules, more
required approvals, other required checks) is not drift, and a repair keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from github_app.rulesets.desired import CHECK_CONTEXT, MANAGED_RULE_TYPES, RULESET_NAME

Json = dict[str, Any]


@dataclass(frozen=True)
class Finding:
    """One way the ruleset is weaker than the policy asks: a stable ``code`` and the detail."""

    code: str
    detail: str

    def as_json(self) -> dict[str, str]:
        """The finding as ledger and ``--json`` output."""
        return {"code": self.code, "detail": self.detail}


@dataclass(frozen=True)
class DriftReport:
    """The findings (drift) and notes (what could not be checked) for one ruleset."""

    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()

    @property
    def drifted(self) -> bool:
        """True when the ruleset is missing or weaker than the policy asks."""
        return bool(self.findings)


def find_drift(desired: Json, actual: Json | None) -> DriftReport:
    """Compare a ruleset as GitHub returns it (``None``: there is none) with ``desired``."""
    if actual is None:
        return DriftReport((Finding("missing", f"no ruleset named {RULESET_NAME}"),))
    findings = [
        *_identity_findings(actual),
        *_bypass_findings(actual),
        *_condition_findings(desired, actual),
        *_rule_findings(desired, actual),
    ]
    notes = ()
    if "bypass_actors" not in actual:
        notes = (
            "bypass actors are not visible: GitHub shows them only with write access "
            "(Administration: write)",
        )
    return DriftReport(tuple(findings), notes)


def _identity_findings(actual: Json) -> list[Finding]:
    findings = []
    if actual.get("name") != RULESET_NAME:
        findings.append(Finding("renamed", f"renamed to {actual.get('name')!r}"))
    if actual.get("target", "branch") != "branch":
        findings.append(Finding("target_changed", f"targets {actual.get('target')!r}"))
    if actual.get("enforcement") != "active":
        findings.append(
            Finding("enforcement_disabled", f"enforcement is {actual.get('enforcement')!r}")
        )
    return findings


def _bypass_findings(actual: Json) -> list[Finding]:
    return [
        Finding(
            "bypass_actor_added",
            f"{actor.get('actor_type')} {actor.get('actor_id')} may bypass "
            f"({actor.get('bypass_mode', 'always')})",
        )
        for actor in actual.get("bypass_actors") or ()
    ]


def _ref_name(ruleset: Json) -> Json:
    return (ruleset.get("conditions") or {}).get("ref_name") or {}


def _condition_findings(desired: Json, actual: Json) -> list[Finding]:
    present = set(_ref_name(actual).get("include") or ())
    findings = [
        Finding("branch_uncovered", f"{ref} is no longer included")
        for ref in _ref_name(desired)["include"]
        if ref not in present
    ]
    findings += [
        Finding("branch_excluded", f"{ref} is excluded")
        for ref in _ref_name(actual).get("exclude") or ()
    ]
    return findings


def _rules_by_type(ruleset: Json) -> dict[str, Json]:
    return {rule.get("type"): rule for rule in ruleset.get("rules") or ()}


def _rule_findings(desired: Json, actual: Json) -> list[Finding]:
    present = _rules_by_type(actual)
    findings = []
    for rule_type, wanted in _rules_by_type(desired).items():
        rule = present.get(rule_type)
        if rule is None:
            findings.append(Finding("rule_removed", f"the {rule_type} rule was removed"))
        elif rule_type == "pull_request":
            findings += _pull_request_findings(wanted, rule)
        elif rule_type == "required_status_checks":
            findings += _status_check_findings(wanted, rule)
    return findings


def _params(rule: Json) -> Json:
    return rule.get("parameters") or {}


def _pull_request_findings(wanted: Json, rule: Json) -> list[Finding]:
    want, have = _params(wanted), _params(rule)
    findings = []
    needed = want["required_approving_review_count"]
    count = have.get("required_approving_review_count") or 0
    if count < needed:
        findings.append(
            Finding("rule_weakened", f"pull_request requires {count} approvals, not {needed}")
        )
    if want["require_last_push_approval"] and not have.get("require_last_push_approval"):
        findings.append(
            Finding("rule_weakened", "pull_request no longer requires approval of the last push")
        )
    return findings


def _status_check_findings(wanted: Json, rule: Json) -> list[Finding]:
    app_id = _params(wanted)["required_status_checks"][0]["integration_id"]
    checks = [
        check
        for check in _params(rule).get("required_status_checks") or ()
        if check.get("context") == CHECK_CONTEXT
    ]
    if not checks:
        return [Finding("rule_weakened", f"the {CHECK_CONTEXT} check is no longer required")]
    if not any(check.get("integration_id") == app_id for check in checks):
        return [
            Finding(
                "rule_weakened",
                f"the {CHECK_CONTEXT} check is not pinned to the App (integration_id {app_id})",
            )
        ]
    if _params(rule).get("do_not_enforce_on_create"):
        return [
            Finding(
                "rule_weakened",
                f"the {CHECK_CONTEXT} check is not enforced when a branch is created",
            )
        ]
    return []


def repaired_ruleset(desired: Json, actual: Json | None) -> Json:
    """The body that restores ``desired`` while keeping what is stricter in ``actual``.

    Extra branches, rules Countersign does not manage, other required checks, and stricter
    pull request settings survive; bypass actors and exclusions do not.
    """
    if actual is None:
        return desired
    includes = [*_ref_name(desired)["include"], *(_ref_name(actual).get("include") or ())]
    present = _rules_by_type(actual)
    rules = [_stricter_rule(rule, present.get(rule["type"])) for rule in desired["rules"]]
    rules += [rule for kind, rule in present.items() if kind not in MANAGED_RULE_TYPES]
    return {
        **desired,
        "conditions": {"ref_name": {"include": list(dict.fromkeys(includes)), "exclude": []}},
        "rules": rules,
    }


def _stricter_rule(wanted: Json, found: Json | None) -> Json:
    if found is None:
        return wanted
    if wanted["type"] == "pull_request":
        return _stricter_pull_request(wanted, found)
    if wanted["type"] == "required_status_checks":
        return _merged_status_checks(wanted, found)
    return wanted


def _stricter_value(wanted: Any, found: Any) -> Any:
    """The stricter of two settings: the larger count, or ``True`` if either flag is on."""
    if isinstance(wanted, bool):
        return bool(wanted or found)
    if isinstance(wanted, int) and isinstance(found, int):
        return max(wanted, found)
    return wanted


def _stricter_pull_request(wanted: Json, found: Json) -> Json:
    have = _params(found)
    merged = {key: _stricter_value(value, have.get(key)) for key, value in _params(wanted).items()}
    return {"type": "pull_request", "parameters": merged}


def _merged_status_checks(wanted: Json, found: Json) -> Json:
    ours = _params(wanted)["required_status_checks"]
    others = [
        check
        for check in _params(found).get("required_status_checks") or ()
        if check.get("context") != CHECK_CONTEXT
    ]
    parameters = {**_params(wanted), "required_status_checks": [*ours, *others]}
    return {"type": "required_status_checks", "parameters": parameters}
