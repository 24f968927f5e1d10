"""Reading policy files, their errors, and the org/repo layering (a repo can only tighten)."""

from __future__ import annotations

import pytest

from github_app.policy.loader import (
    DEFAULT_SOURCE,
    MAX_POLICY_BYTES,
    PolicyError,
    effective_policy,
    load_default_policy,
    parse_policy,
    policy_sha,
    touches_policy,
)
from github_app.policy.model import Policy
from github_app.policy.tighten import RULES

ORG = "acme/.github:countersign.yml@main"
REPO = "acme/widgets:.github/countersign.yml@main"


def layered(org: str | None, repo: str | None):
    """The effective policy for org and repo YAML over the shipped default."""
    return effective_policy(load_default_policy(), org, repo, org_source=ORG, repo_source=REPO)


def setting(policy: Policy, dotted: str):
    """A setting of a policy by its dotted name."""
    value = policy
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def yaml_for(dotted: str, value: str) -> str:
    """A YAML document setting one dotted key."""
    *parents, leaf = dotted.split(".")
    text = f"{leaf}: {value}"
    for parent in reversed(parents):
        text = f"{parent}: {{{text}}}"
    return text


# --- parsing and errors -------------------------------------------------------------------


def test_empty_file_means_no_overrides():
    assert parse_policy("", "x") == Policy()
    assert parse_policy("# only a comment\n", "x") == Policy()


def test_malformed_yaml_error_has_source_and_line_number():
    text = "version: 1\napprovals:\n  required: [2\n  users: bob\n"
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, ORG)
    assert caught.value.source == ORG
    assert "invalid YAML at line 4, column 8" in caught.value.message
    assert str(caught.value).startswith(ORG + ":4:8: invalid YAML: ")


def test_unknown_key_error_names_field_path():
    with pytest.raises(PolicyError) as caught:
        parse_policy("approvals:\n  requird: 2\n", ORG)
    assert caught.value.message == "approvals.requird: unknown key; did you mean 'required'?"
    assert str(caught.value) == (
        f"{ORG}:2:3: approvals.requird: unknown key; did you mean 'required'?"
    )


def test_bad_value_in_list_names_index():
    with pytest.raises(PolicyError) as caught:
        parse_policy(
            'paths:\n  - pattern: "a/**"\n  - {pattern: "b/**", approvals: {required: 0}}\n', ORG
        )
    assert "paths[1].approvals.required: must be at least 1" in (caught.value.message)


def test_bad_team_name_is_explained():
    with pytest.raises(PolicyError) as caught:
        parse_policy("approvals: {teams: [platform]}", ORG)
    assert "approvals.teams[0]" in caught.value.message
    assert "write teams as org/team-slug" in caught.value.message


def test_top_level_must_be_a_mapping():
    with pytest.raises(PolicyError, match="top level must be a mapping"):
        parse_policy("- main\n- master\n", ORG)


def test_duplicate_keys_are_refused():
    with pytest.raises(PolicyError, match=r":3:1: invalid YAML: duplicate key 'approvals'"):
        parse_policy("approvals: {required: 2}\nversion: 1\napprovals: {required: 1}\n", ORG)


def test_alias_expansion_is_bounded():
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for name, previous in zip("bcdef", "abcde", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    with pytest.raises(PolicyError, match="expands to more than"):
        parse_policy("\n".join(lines), ORG)


def test_oversized_file_is_refused():
    with pytest.raises(PolicyError, match="larger than"):
        parse_policy("# " + "x" * MAX_POLICY_BYTES, ORG)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("? [a, b]\n: 1\n", "unhashable key"),
        ("version: 2024-13-45\n", "month must be in 1..12"),
        ("x: " + "[" * 5000 + "]" * 5000, "nested too deeply"),
    ],
)
def test_odd_yaml_becomes_a_policy_error(text, expected):
    with pytest.raises(PolicyError, match=expected):
        parse_policy(text, ORG)


def test_python_tags_are_not_constructed():
    with pytest.raises(PolicyError, match="invalid YAML"):
        parse_policy("version: !!python/object/apply:os.system ['true']", ORG)


def test_malformed_repo_file_error_names_the_repo_file():
    with pytest.raises(PolicyError) as caught:
        layered("approvals: {required: 2}", "session: {require_id: maybe}")
    assert caught.value.source == REPO
    assert "session.require_id" in caught.value.message


# --- org over default ---------------------------------------------------------------------


def test_org_overrides_default_freely():
    effective = layered(
        "approvals: {required: 3}\nprotected_branches: [trunk]\n"
        "detection: {threshold: identity}\nrulesets: {mode: off}\n",
        None,
    )
    policy = effective.policy
    assert policy.approvals.required == 3
    assert policy.approvals.min_permission == "write"  # untouched keys keep the default
    assert policy.protected_branches == ("trunk",)
    assert policy.detection.threshold == "identity"
    assert policy.rulesets.mode == "off"
    assert effective.sources == (DEFAULT_SOURCE, ORG)
    assert effective.ignored == ()


def test_no_files_gives_the_default_and_its_sha():
    effective = layered(None, None)
    assert effective.policy == load_default_policy()
    assert effective.sources == (DEFAULT_SOURCE,)
    assert effective.sha == policy_sha(load_default_policy())
    assert len(effective.sha) == 64


def test_sha_is_stable_and_changes_with_the_policy():
    assert (
        layered("approvals: {required: 2}", "").sha == layered("approvals: {required: 2}", None).sha
    )
    assert layered("approvals: {required: 2}", None).sha != layered(None, None).sha


def test_empty_repo_file_is_a_source_but_changes_nothing():
    effective = layered(None, "")
    assert effective.sources == (DEFAULT_SOURCE, REPO)
    assert effective.policy == load_default_policy()


# --- repo over org: only tighter ----------------------------------------------------------

# (setting, the org's strict value, a looser value the repo asks for)
LOOSENINGS = [
    ("approvals.required", "3", "1"),
    ("approvals.min_permission", "maintain", "triage"),
    ("approvals.changes_requested_blocks", "true", "false"),
    ("detection.threshold", "trailer", "identity"),
    ("detection.ai_assisted_is_agent", "true", "false"),
    ("session.require_id", "true", "false"),
    ("session.allow_derived", "false", "true"),
    ("direct_push.count_human_pushes", "true", "false"),
    ("direct_push.open_issue", "true", "false"),
    ("direct_push.alert", "true", "false"),
    ("direct_push.revert_pr", "true", "false"),
    ("emergency.label", "emergency", "hotfix"),
    ("emergency.post_review_hours", "24", "720"),
    ("emergency.approvers.min_permission", "admin", "write"),
    ("policy_owners.min_permission", "admin", "write"),
    ("rulesets.mode", "enforce", "audit"),
    ("rulesets.required_approvals", "2", "0"),
    ("rulesets.require_last_push_approval", "true", "false"),
    ("approvals.code_owners", "true", "false"),
    ("approvals.survive_retarget", "false", "true"),
    ("drafts.block", "true", "false"),
]


@pytest.mark.parametrize(("dotted", "strict", "loose"), LOOSENINGS)
def test_repo_cannot_loosen(dotted, strict, loose):
    effective = layered(yaml_for(dotted, strict), yaml_for(dotted, loose))
    org_only = layered(yaml_for(dotted, strict), None)
    assert setting(effective.policy, dotted) == setting(org_only.policy, dotted)
    [note] = effective.ignored
    assert note.startswith(f"{REPO}: {dotted}: a repo file can only tighten the org policy")


# The emergency label is not a strictness setting: the org's always stands.
TIGHTENINGS = [row for row in LOOSENINGS if row[0] != "emergency.label"]


@pytest.mark.parametrize(("dotted", "strict", "loose"), TIGHTENINGS)
def test_repo_can_tighten(dotted, strict, loose):
    effective = layered(yaml_for(dotted, loose), yaml_for(dotted, strict))
    assert setting(effective.policy, dotted) == setting(
        layered(yaml_for(dotted, strict), None).policy, dotted
    )
    assert effective.ignored == ()


def test_repo_lists_add_to_org_lists():
    org = (
        "protected_branches: [main]\n"
        'paths: [{pattern: "infra/**", approvals: {required: 2}}]\n'
        "alerts: {slack: [{url_env: COUNTERSIGN_ALERT_ORG_SLACK}]}\n"
        "detection: {agents: [{name: org-bot}]}\n"
    )
    repo = (
        "protected_branches: [develop]\n"
        'paths: [{pattern: "secrets/**", agents_forbidden: true}]\n'
        'alerts: {webhooks: [{url: "https://repo.example/hook"}]}\n'
        "detection: {agents: [{name: repo-bot}]}\n"
    )
    effective = layered(org, repo)
    policy = effective.policy
    assert policy.protected_branches == ("main", "develop")
    assert [rule.pattern for rule in policy.paths] == ["infra/**", "secrets/**"]
    assert [sink.url_env for sink in policy.alerts.slack] == ["COUNTERSIGN_ALERT_ORG_SLACK"]
    assert [hook.url for hook in policy.alerts.webhooks] == ["https://repo.example/hook"]
    assert [agent["name"] for agent in policy.detection.agents] == ["org-bot", "repo-bot"]
    assert effective.ignored == ()


def test_repo_may_restrict_approvers_when_org_names_none():
    effective = layered(None, "approvals: {teams: [acme/platform]}")
    assert effective.policy.approvals.teams == ("acme/platform",)
    assert effective.ignored == ()


def test_repo_may_narrow_org_approvers():
    org = "approvals: {users: [alice, bob], teams: [acme/platform, acme/security]}"
    effective = layered(org, "approvals: {teams: [acme/security]}")
    approvals = effective.policy.approvals
    # Naming only teams in the repo file means exactly those teams, not plus the org's users.
    assert approvals.users == ()
    assert approvals.teams == ("acme/security",)
    assert effective.ignored == ()


def test_repo_cannot_add_approvers_outside_the_org_list():
    effective = layered("approvals: {users: [alice, bob]}", "approvals: {users: [bob, mallory]}")
    assert effective.policy.approvals.users == ("bob",)
    [note] = effective.ignored
    assert "approvals.users/teams" in note and "mallory" in note


def test_disjoint_repo_approvers_keep_the_org_list():
    effective = layered("approvals: {teams: [acme/platform]}", "approvals: {users: [mallory]}")
    assert effective.policy.approvals.teams == ("acme/platform",)
    assert effective.policy.approvals.users == ()
    [note] = effective.ignored
    assert "kept users [], teams [acme/platform]" in note


def test_repo_cannot_enable_emergency_path():
    effective = layered(None, "emergency: {approvers: {users: [mallory]}}")
    assert not effective.policy.emergency.approvers.restricted
    [note] = effective.ignored
    assert "emergency.approvers.users/teams" in note


def test_repo_can_narrow_emergency_approvers():
    org = "emergency: {approvers: {users: [alice, bob]}}"
    effective = layered(org, "emergency: {approvers: {users: [alice]}}")
    assert effective.policy.emergency.approvers.users == ("alice",)


def test_policy_owners_can_only_be_narrowed():
    org = "policy_owners: {teams: [acme/security]}"
    effective = layered(org, "policy_owners: {users: [mallory]}")
    assert effective.policy.policy_owners.teams == ("acme/security",)
    assert len(effective.ignored) == 1


def test_several_loosenings_each_noted():
    org = "approvals: {required: 2}\nsession: {allow_derived: false}"
    effective = layered(org, "approvals: {required: 1}\nsession: {allow_derived: true}")
    assert len(effective.ignored) == 2
    assert effective.policy.approvals.required == 2
    assert not effective.policy.session.allow_derived


def _leaves(document: dict, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    found = set()
    for key, value in document.items():
        if isinstance(value, dict):
            found |= _leaves(value, (*prefix, key))
        else:
            found.add((*prefix, key))
    return found


def test_every_setting_has_a_layering_rule():
    covered = set()
    for rule in RULES:
        *parents, leaf = rule.path
        keys = leaf if isinstance(leaf, tuple) else (leaf,)
        covered |= {(*parents, key) for key in keys}
    assert _leaves(Policy().model_dump()) == covered


# --- policy files -------------------------------------------------------------------------


def test_repo_policy_file_is_a_policy_file_everywhere():
    assert touches_policy(["src/a.py", ".github/countersign.yml"], "acme/widgets")
    assert not touches_policy(["src/a.py", "countersign.yml"], "acme/widgets")
    assert not touches_policy(["docs/.github/countersign.yml"], "acme/widgets")


def test_org_policy_file_only_in_dot_github_repo():
    assert touches_policy(["countersign.yml"], "acme/.github")
    assert touches_policy(["countersign.yml"], ".github")
    assert touches_policy([".github/countersign.yml"], "acme/.github")
    assert not touches_policy(["README.md"], "acme/.github")
