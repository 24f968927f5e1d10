"""The policy model, the shipped default policy, and the published JSON Schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from github_app.core.models import Strength
from github_app.policy.loader import default_policy_path, load_default_policy
from github_app.policy.model import Policy, permission_rank, schema_text, write_schema

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "policies" / "countersign.schema.json"


def test_committed_schema_is_current():
    # Regenerate with: python -c "from github_app.policy import write_schema; \
    #   write_schema('policies/countersign.schema.json')"
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text()
    assert json.loads(SCHEMA_PATH.read_text(encoding="utf-8")) == Policy.model_json_schema()


def test_write_schema_writes_the_schema(tmp_path):
    target = write_schema(tmp_path / "schema.json")
    schema = json.loads(target.read_text(encoding="utf-8"))
    assert schema["additionalProperties"] is False
    assert "approvals" in schema["properties"]


def test_default_policy_parses_and_equals_model_defaults():
    assert load_default_policy() == Policy()


def test_default_policy_documents_every_top_level_key():
    lines = default_policy_path().read_text(encoding="utf-8").splitlines()
    keys = [
        (index, line.split(":")[0])
        for index, line in enumerate(lines)
        if re.match(r"^[a-z_]+:", line)
    ]
    assert {key for _, key in keys} == set(Policy.model_fields)
    for index, key in keys:
        assert lines[index - 1].startswith("#"), f"{key} has no comment above it"


def test_unknown_keys_are_errors_at_every_level():
    for document in (
        {"aprovals": {}},
        {"approvals": {"requird": 2}},
        {"paths": [{"pattern": "a", "x": 1}]},
    ):
        with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
            Policy.model_validate(document)


def test_logins_and_teams_are_normalised():
    policy = Policy.model_validate({"approvals": {"users": ["@Alice"], "teams": ["Acme/Platform"]}})
    assert policy.approvals.users == ("alice",)
    assert policy.approvals.teams == ("acme/platform",)


@pytest.mark.parametrize(
    "document",
    [
        {"approvals": {"required": 0}},
        {"approvals": {"min_permission": "owner"}},
        {"approvals": {"users": ["not a login"]}},
        {"detection": {"threshold": "vibes"}},
        {"alerts": {"slack": [{"url_env": "lower-case"}]}},
        {"alerts": {"webhooks": [{"url": "ftp://x"}]}},
        {"paths": [{"pattern": " "}]},
        {"version": 2},
    ],
)
def test_invalid_values_are_refused(document):
    with pytest.raises(ValidationError):
        Policy.model_validate(document)


def test_ruleset_mode_off_survives_yaml_boolean():
    assert Policy.model_validate({"rulesets": {"mode": False}}).rulesets.mode == "off"


def test_threshold_maps_to_strength():
    assert Policy().detection.threshold_strength is Strength.TRAILER
    identity = Policy.model_validate({"detection": {"threshold": "identity"}})
    assert identity.detection.threshold_strength is Strength.IDENTITY


def test_default_branch_is_always_protected():
    policy = Policy.model_validate({"protected_branches": ["release/*"]})
    assert policy.is_protected("trunk", default_branch="trunk")
    assert policy.is_protected("release/1.2", default_branch="trunk")
    assert not policy.is_protected("feature/x", default_branch="trunk")


def test_permission_order():
    ranks = [permission_rank(p) for p in ("none", "read", "triage", "write", "maintain", "admin")]
    assert ranks == sorted(ranks) and len(set(ranks)) == 6
    assert permission_rank("bogus") == permission_rank("none")
    assert permission_rank("ADMIN") == permission_rank("admin")
