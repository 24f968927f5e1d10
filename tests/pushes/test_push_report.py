"""The words of the response: issue, alerts, revert."""

from __future__ import annotations

from github_app.core.catalogue import load_catalogue
from github_app.policy.model import Policy
from github_app.pushes.classify import attribute_push, push_from_payload
from github_app.pushes.report import (
    alert_payload,
    incident_marker,
    issue_body,
    issue_title,
    revert_branch,
    revert_message,
    slack_text,
)
from tests.pushes.push_payloads import AFTER, BEFORE, push_payload


def agent_push():
    push = push_from_payload(push_payload())
    return push, attribute_push(push, load_catalogue(), Policy())


def test_issue_names_the_facts_and_what_to_do():
    push, attribution = agent_push()
    title = issue_title(push, attribution)
    assert title == "Direct push (agent-authored) to master by Codertocat (aaaaaaa)"
    body = issue_body(push, attribution, revert_pr_url="https://github.test/o/r/pull/9")
    for fact in (
        BEFORE,
        AFTER,
        "@Codertocat",
        "claude-code",
        "@octo-dev",
        "sess-42",
        "https://github.test/o/r/pull/9",
        "What to do",
        incident_marker(push),
    ):
        assert fact in body


def test_alert_payload_links_the_incident():
    push, attribution = agent_push()
    payload = alert_payload(push, attribution, issue_url="https://i", revert_pr_url=None)
    assert payload["event"] == "direct_push"
    assert (payload["repository"], payload["branch"], payload["after"]) == (
        "Codertocat/Hello-World",
        "master",
        AFTER,
    )
    assert payload["agent"] == "claude-code" and payload["issue_url"] == "https://i"
    assert payload["commits"] == [AFTER]
    assert "https://i" in slack_text(push, attribution, issue_url="https://i")


def test_revert_branch_and_message():
    push, _ = agent_push()
    assert revert_branch(push) == "countersign/revert-aaaaaaa"
    assert BEFORE in revert_message(push)
