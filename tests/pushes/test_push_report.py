"""The words of the response: issue, alerts, revert."""

from __future__ import annotations

import re

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
    revert_pr_body,
    slack_text,
)
from tests.pushes.push_payloads import AFTER, AGENT_MESSAGE, BEFORE, push_commit, push_payload


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
        "`octo-dev`",
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
    assert revert_branch(push).startswith("countersign/revert-master-aaaaaaa-")
    assert BEFORE in revert_message(push)


def test_revert_branch_names_the_target_branch_and_never_collides():
    names = {
        ref: revert_branch(push_from_payload(push_payload(ref=f"refs/heads/{ref}")))
        for ref in ("master", "release/1", "release-1", "release/`x`..y@{z}")
    }
    assert names["release/1"].startswith("countersign/revert-release-1-aaaaaaa-")
    assert len(set(names.values())) == len(names)
    for name in names.values():
        assert re.fullmatch(r"countersign/revert-[A-Za-z0-9._-]+", name) and ".." not in name


HOSTILE_TITLE = "Fix `x` [click](https://evil.example) cc @org/team <img src=x> *bold*"


def hostile_push():
    commit = push_commit(AFTER, f"{HOSTILE_TITLE}\n\n{AGENT_MESSAGE.split(chr(10), 1)[1]}")
    commit["author"]["name"] = "Mallory `@admins` [x](https://evil.example)"
    payload = push_payload(ref="refs/heads/release/`@org/team`", commits=[commit])
    push = push_from_payload(payload)
    return push, attribute_push(push, load_catalogue(), Policy())


def code_spans_and_text(body: str) -> tuple[list[str], str]:
    """The inline code spans of ``body`` and the text outside them (single-backtick spans)."""
    parts = body.split("`")
    assert len(parts) % 2 == 1, "unbalanced backticks: a span was broken out of"
    return parts[1::2], "".join(parts[0::2])


def test_commit_controlled_text_cannot_mention_link_or_break_out():
    push, attribution = hostile_push()
    body = issue_body(push, attribution, revert_pr_url=None)
    spans, outside = code_spans_and_text(body)
    assert "@org/team" not in outside and "@admins" not in outside
    for markup in ("](", "<img", "*bold*", "https://evil.example"):
        assert markup not in outside
    assert any("cc @org/team" in span for span in spans)  # still readable, inert in a span
    assert any("Mallory" in span for span in spans)
    assert "`@org/team`" not in body
    _, revert_outside = code_spans_and_text(revert_pr_body(push, None))
    assert "@org/team" not in revert_outside


def test_slack_text_escapes_control_characters():
    push = push_from_payload(push_payload(ref="refs/heads/release/<!channel>"))
    text = slack_text(push, attribute_push(push, load_catalogue(), Policy()), issue_url=None)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
