"""The intake's nesting check: strings are skipped exactly, depth is bounded.

``nested_deeper_than`` runs on every delivery before decoding, so it works on the raw bytes
with a few byte operations instead of a parser; these properties pin it to what a parser sees.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from github_app.webhooks.receiver import MAX_PAYLOAD_DEPTH, _structure, nested_deeper_than

# Strings full of what could confuse a scanner: brackets, quotes, backslashes, escapes.
TRICKY = st.text(alphabet=st.sampled_from('[]{}"\\/ab\n\t\u00e9\u2028'), max_size=12)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TRICKY, inner, max_size=4),
    max_leaves=30,
)


def without_strings(value):
    """The same document with every string (key or value) emptied."""
    if isinstance(value, str):
        return ""
    if isinstance(value, list):
        return [without_strings(item) for item in value]
    if isinstance(value, dict):
        return {str(index): without_strings(item) for index, item in enumerate(value.values())}
    return value


def brackets_of(value) -> bytes:
    text = json.dumps(without_strings(value)).encode()
    return bytes(c for c in text if c in b"[]{}")


def depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(item) for item in value.values()), default=0)
    return 0


@given(JSON, st.booleans())
def test_only_the_brackets_outside_strings_are_kept(value, ascii_only):
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert _structure(body) == brackets_of(value)


@given(JSON, st.integers(min_value=1, max_value=6))
def test_depth_up_to_the_limit_passes_and_beyond_twice_the_limit_never_does(value, limit):
    body = json.dumps(value).encode()
    if depth(value) <= limit:
        assert not nested_deeper_than(body, limit)
    if depth(value) > 2 * limit:
        assert nested_deeper_than(body, limit)


def test_brackets_inside_strings_do_not_count():
    hostile_text = '"' + "[" * 5000 + '\\"' + "{" * 5000 + "\\\\"
    body = json.dumps({"action": "opened", "body": hostile_text, "x": [[1]]}).encode()
    assert _structure(body) == b"{[[]]}"
    assert not nested_deeper_than(body, MAX_PAYLOAD_DEPTH)


def test_deep_nesting_after_an_escaped_backslash_is_seen():
    body = b'{"a":"\\\\","b":' + b"[" * 500 + b"]" * 500 + b"}"
    assert nested_deeper_than(body, MAX_PAYLOAD_DEPTH)
