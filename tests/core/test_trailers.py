"""Line-level text helpers: trailers, identities, no-reply addresses, code fences."""

from __future__ import annotations

import re

import pytest

from github_app.core.models import GitIdentity
from github_app.core.trailers import (
    clean_session_id,
    fenced_spans,
    github_noreply,
    is_github_login,
    line_starts_matching,
    match_generic_trailer,
    normalise_newlines,
    outside_fences,
    parse_identity,
)

TRAILER_KEY = re.compile(r"^(?:co-authored-by|agent-session-id):", re.IGNORECASE | re.MULTILINE)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "Co-Authored-By: Claude <noreply@anthropic.com>",
            ("co-authored-by", "Claude <noreply@anthropic.com>"),
        ),
        ("co-authored-by:x <x@y.z>  ", ("co-authored-by", "x <x@y.z>")),
        ("AGENT-SESSION-ID : abc", ("agent-session-id", "abc")),
        ("Agent-Launched-By: @bob", ("agent-launched-by", "@bob")),
        ("  Co-authored-by: indented <a@b.c>", None),
        ("- Co-authored-by: bullet <a@b.c>", None),
        ("Signed-off-by: Alice <a@b.c>", None),
    ],
)
def test_match_generic_trailer(line: str, expected) -> None:
    assert match_generic_trailer(line) == expected


@pytest.mark.parametrize(
    ("value", "identity"),
    [
        ("Claude Opus 4.6 (1M context) <noreply@anthropic.com>",
         GitIdentity(name="Claude Opus 4.6 (1M context)", email="noreply@anthropic.com")),
        ("<a@b.c>", GitIdentity(name="", email="a@b.c")),
        ("Erin", GitIdentity(name="Erin", email="")),
        ("Erin <not closed", GitIdentity(name="Erin <not closed", email="")),
    ],
)  # fmt: skip
def test_parse_identity(value: str, identity: GitIdentity) -> None:
    assert parse_identity(value) == identity


def test_github_noreply() -> None:
    assert github_noreply("198982749+Copilot@users.noreply.github.com") == (198982749, "Copilot")
    assert github_noreply("bob@users.noreply.github.com") == (None, "bob")
    assert github_noreply("158243242+devin-ai-integration[bot]@users.noreply.github.com") == (
        158243242,
        "devin-ai-integration[bot]",
    )
    assert github_noreply("bob@example.com") is None
    assert github_noreply("1+bob@users.noreply.github.com.evil.example") is None


def test_is_github_login_and_clean_session_id() -> None:
    assert is_github_login("bob") and is_github_login("a-b-9")
    assert not any(is_github_login(v) for v in ["", "-bob", "claude[bot]", "a b", "x" * 40])
    assert clean_session_id("  sess_01-abc  ") == "sess_01-abc"
    assert clean_session_id("two words") is None
    assert clean_session_id("") is None


def test_normalise_newlines() -> None:
    assert normalise_newlines("a\r\nb\rc\n") == "a\nb\nc\n"


def test_fenced_spans_cover_closed_fences_only() -> None:
    text = "a\n```py\nquoted\n```\nb\n~~~\nopen forever\n"
    spans = fenced_spans(text)
    assert len(spans) == 1
    start, end = spans[0]
    assert text[start:end] == "```py\nquoted\n```"
    assert fenced_spans("no fences here") == ()


def test_a_fence_line_with_an_info_string_does_not_close() -> None:
    text = "```\nCo-authored-by: a <a@b.c>\n```js\nstill quoted\n```\n"
    assert fenced_spans(text) == ((0, len(text) - 1),)


def test_lines_are_found_numbered_and_quotes_skipped() -> None:
    text = (
        "Subject\n\nCo-authored-by: a <a@b.c>\n"
        "```\nCo-authored-by: q <q@b.c>\n```\n"
        "Agent-Session-Id: s\n"
    )
    starts = list(line_starts_matching(text, TRAILER_KEY))
    assert [text[start : start + 5] for start in starts] == ["Co-au", "Co-au", "Agent"]
    assert list(outside_fences(text, [*starts, starts[0]])) == [
        (3, "Co-authored-by: a <a@b.c>"),
        (7, "Agent-Session-Id: s"),
    ]
    assert list(line_starts_matching("Subject only", TRAILER_KEY)) == []
    assert list(outside_fences("x\nAgent-Session-Id: last", [2])) == [(2, "Agent-Session-Id: last")]


def test_quoted_lines_are_blockquotes_and_indented_code_blocks() -> None:
    from github_app.core.trailers import quoted_line_starts

    text = "Intro\n> quoted\n\n    code\nplain\n- item\n\n    item continuation\n"
    starts = {text.index(line) for line in ("> quoted", "    code")}
    assert quoted_line_starts(text) == starts
    # In a commit message every indented line quotes (git trailers start at the margin).
    message = "Subject\n\nBody:\n    Co-authored-by: x <x@example.com>\n"
    assert quoted_line_starts(message, markdown=False) == {message.index("    Co-authored")}
    assert quoted_line_starts(message) == frozenset()  # a paragraph continuation in Markdown


def test_list_item_content_strips_bullets_numbers_and_task_boxes() -> None:
    from github_app.core.trailers import list_item_content

    assert list_item_content("- Requested by: x") == "Requested by: x"
    assert list_item_content("  * [x] Requested by: x") == "Requested by: x"
    assert list_item_content("12. Requested by: x") == "Requested by: x"
    assert list_item_content("Requested by: x") == "Requested by: x"
    assert list_item_content("-not a bullet") == "-not a bullet"
