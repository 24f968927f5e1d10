"""Finding 17: deeply nested signed JSON, the status page with evidence, a tag named like the base.

* A signed body nested thousands of levels deep made intake raise ``RecursionError`` (500); it is
  bad input and gets a 400 without being stored.
* ``GET /`` returned 500 as soon as the ledger had an entry.
* The repo policy was read with ``?ref=<branch name>``; GitHub resolves a tag of the same name
  first, so a pushed tag ``master`` carrying a weaker ``countersign.yml`` replaced the policy.
  It is read at the base commit instead.
"""

from __future__ import annotations

import base64

import httpx

from tests.support.pr_scenario import REVIEWER, PullRequestScenario

STRICT = "approvals:\n  required: 2\n"


async def test_deeply_nested_signed_json_is_a_400_not_a_500(app_harness):
    body = b'{"a":' * 5000 + b"1" + b"}" * 5000
    response = await app_harness.deliver("pull_request", body)
    assert response.status == 400
    assert "JSON object" in (await response.json())["error"]
    assert app_harness.services.inbox.pending_count() == 0


async def test_nested_but_parseable_json_is_refused_at_intake(app_harness):
    body = b'{"action":"opened","x":' + b"[" * 500 + b"]" * 500 + b"}"
    response = await app_harness.deliver("pull_request", body)
    assert response.status == 400
    assert app_harness.services.inbox.pending_count() == 0


async def test_status_page_answers_once_the_ledger_has_entries(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    assert app_harness.ledger_kinds(), "the agent PR was recorded"
    response = await app_harness.client.get("/")
    assert response.status == 200
    text = await response.text()
    assert "ledger entries" in text


def _policy_file(text: str) -> dict:
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(text),
        "name": "countersign.yml",
        "path": ".github/countersign.yml",
        "content": base64.b64encode(text.encode()).decode(),
        "sha": "b" * 40,
        "url": "u",
        "git_url": None,
        "html_url": None,
        "download_url": None,
        "_links": {"self": "s", "git": None, "html": None},
    }


async def test_a_tag_named_like_the_base_branch_cannot_substitute_the_policy(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    base_sha = scenario.payload["pull_request"]["base"]["sha"]

    def contents(request: httpx.Request) -> httpx.Response:
        # The base commit has the strict file; a tag "master" (what ?ref=master finds first)
        # carries an empty one.
        strict = request.url.params.get("ref") == base_sha
        return httpx.Response(200, json=_policy_file(STRICT if strict else ""))

    app_harness.github.route(
        "GET", f"/repos/{scenario.repo}/contents/.github/countersign.yml", handler=contents
    )
    scenario.permissions[REVIEWER["login"]] = "write"
    scenario.set_reviews([scenario.review(REVIEWER, "APPROVED")])
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    assert scenario.last_conclusion() == "action_required"
    assert "1 of 2" in scenario.published()[-1]["output"]["summary"]
