"""End to end: the Countersign ruleset created, repaired after drift, and audited read-only.

Deliveries go in signed through ``POST /webhooks``; every request to GitHub is validated against
GitHub's OpenAPI description by the fake.
"""

from __future__ import annotations

import copy
import json

from github_app.policy.model import Policy
from github_app.rulesets.desired import desired_ruleset
from tests.rulesets.helpers import REPO, REPO_ID, entries, serve_org_policy
from tests.support.fake_github import FAKE_APP_ID, example
from tests.support.webhooks import load_payload

RULESETS = f"/repos/{REPO}/rulesets"
DESIRED = desired_ruleset(Policy(), FAKE_APP_ID)


def existing_ruleset(**changes) -> dict:
    """The Countersign ruleset as GitHub returns it, with ``changes`` applied."""
    ruleset = {**example("repository-ruleset"), **copy.deepcopy(DESIRED), "id": 42, "source": REPO}
    ruleset.update(changes)
    return ruleset


def serve_ruleset(github, ruleset: dict) -> None:
    github.route(
        "GET",
        RULESETS,
        json=[
            {
                k: ruleset[k]
                for k in ("id", "name", "source_type", "source", "enforcement", "target")
            }
        ],
    )
    github.route("GET", f"{RULESETS}/42", json=ruleset)


def ruleset_event(action: str, ruleset: dict) -> dict:
    payload = load_payload("push", "with-new-branch")
    return {
        "action": action,
        "repository": payload["repository"],
        "repository_ruleset": ruleset,
        "sender": payload["sender"],
        "installation": payload["installation"],
    }


async def test_installation_creates_the_ruleset(app_harness):
    github = app_harness.github
    github.route("GET", RULESETS, json=[])
    created = github.route("POST", RULESETS, status=201, json=example("repository-ruleset"))
    await app_harness.deliver_and_process("installation", load_payload("installation", "created"))
    assert created.call_count == 1
    assert json.loads(created.calls[0].content) == DESIRED
    [drift] = entries(app_harness, "ruleset_drift")
    assert (drift.repo, drift.repo_id, drift.actor) == (REPO, REPO_ID, "Codertocat")
    assert drift.data["action"] == "created"
    assert [f["code"] for f in drift.data["findings"]] == ["missing"]


async def test_drift_is_repaired_and_the_repair_does_not_loop(app_harness):
    github = app_harness.github
    drifted = existing_ruleset(
        enforcement="disabled",
        bypass_actors=[{"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}],
    )
    serve_ruleset(github, drifted)
    updated = github.route("PUT", f"{RULESETS}/42", json=existing_ruleset())
    await app_harness.deliver_and_process("repository_ruleset", ruleset_event("edited", drifted))
    assert updated.call_count == 1
    body = json.loads(updated.calls[0].content)
    assert body["enforcement"] == "active" and body["bypass_actors"] == []
    [drift] = entries(app_harness, "ruleset_drift")
    assert drift.data["action"] == "repaired"
    assert {f["code"] for f in drift.data["findings"]} == {
        "enforcement_disabled",
        "bypass_actor_added",
    }
    # GitHub then reports Countersign's own edit: nothing drifted, nothing written or recorded.
    serve_ruleset(github, existing_ruleset())
    await app_harness.deliver_and_process(
        "repository_ruleset", ruleset_event("edited", existing_ruleset())
    )
    assert updated.call_count == 1
    assert len(entries(app_harness, "ruleset_drift")) == 1


async def test_deleted_ruleset_is_created_again(app_harness):
    github = app_harness.github
    github.route("GET", RULESETS, json=[])
    created = github.route("POST", RULESETS, status=201, json=example("repository-ruleset"))
    await app_harness.deliver_and_process(
        "repository_ruleset", ruleset_event("deleted", existing_ruleset())
    )
    assert created.call_count == 1
    assert entries(app_harness, "ruleset_drift")[0].data["action"] == "created"


async def test_other_rulesets_are_not_our_business(app_harness):
    other = existing_ruleset(id=99, name="Release tags")
    await app_harness.deliver_and_process("repository_ruleset", ruleset_event("edited", other))
    assert app_harness.github.requests("GET", RULESETS) == []
    assert entries(app_harness, "ruleset_drift") == []


async def test_audit_mode_reports_drift_and_never_writes(app_harness):
    github = app_harness.github
    serve_org_policy(github, "rulesets:\n  mode: audit\n")
    weakened = existing_ruleset()
    weakened["rules"] = [r for r in weakened["rules"] if r["type"] != "deletion"]
    serve_ruleset(github, weakened)
    await app_harness.deliver_and_process("repository_ruleset", ruleset_event("edited", weakened))
    assert github.requests("PUT") == [] and github.requests("POST", RULESETS) == []
    [drift] = entries(app_harness, "ruleset_drift")
    assert (drift.data["mode"], drift.data["action"]) == ("audit", "drift_reported")
    assert drift.data["findings"] == [
        {"code": "rule_removed", "detail": "the deletion rule was removed"}
    ]


async def test_off_mode_leaves_rulesets_alone(app_harness):
    serve_org_policy(app_harness.github, "rulesets:\n  mode: 'off'\n")
    await app_harness.deliver_and_process("installation", load_payload("installation", "created"))
    assert app_harness.github.requests("GET", RULESETS) == []
    assert entries(app_harness, "ruleset_drift") == []


async def test_policy_change_on_default_branch_resyncs(app_harness):
    github = app_harness.github
    github.route("GET", f"/repos/{REPO}/commits/{{sha}}/pulls", json=[])
    github.route("GET", RULESETS, json=[])
    created = github.route("POST", RULESETS, status=201, json=example("repository-ruleset"))
    payload = load_payload("push", "with-new-branch")
    payload["commits"][0]["added"] = [".github/countersign.yml"]
    await app_harness.deliver_and_process("push", payload)
    assert created.call_count == 1
