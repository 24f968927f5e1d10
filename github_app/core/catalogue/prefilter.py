"""Literal pre-filtering of catalogue line rules: most lines are never run through a regex.

Every line rule's regex is reduced to a literal that any match must contain (its "needle").
Detection first looks for the needles with ``str.find`` and runs regexes only on lines that
hold one; rules with no usable literal ("ungated") are found by one combined RE2 regex.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from github_app.core.catalogue.rules import LineRule
from github_app.core.trailers import GENERIC_TRAILER_KEYS

# Shorter literals would admit too many lines.
_MIN_NEEDLE = 4
_SPECIAL = frozenset(".^$*+?{}[]()|\\")
_BREAKING_ESCAPES = frozenset("sSdDwWbBAZntrfva")


@dataclass(frozen=True, slots=True)
class Gate:
    """A literal every match of some line rules contains: lines without it are never read.

    Searching a text for a few literals is far cheaper than running every regex on every line,
    and almost every commit message contains none of them.
    """

    needle: str  # lower-case
    locate: re.Pattern[str]  # the needle, case-insensitive, to find it in the original text
    rules: tuple[LineRule, ...]
    generic_trailer: bool  # the needle is a generic trailer key (Co-authored-by…)


def build_gates(rules: Iterable[LineRule]) -> tuple[tuple[Gate, ...], tuple[LineRule, ...]]:
    by_needle: dict[str, list[LineRule]] = {key: [] for key in GENERIC_TRAILER_KEYS}
    ungated: list[LineRule] = []
    for rule in rules:
        needle = required_literal(rule.pattern).lower()
        if len(needle) < _MIN_NEEDLE:
            ungated.append(rule)
        else:
            by_needle.setdefault(needle, []).append(rule)
    gates = tuple(
        Gate(
            needle=needle,
            locate=re.compile(re.escape(needle), re.IGNORECASE),
            rules=tuple(gated),
            generic_trailer=needle in GENERIC_TRAILER_KEYS,
        )
        for needle, gated in by_needle.items()
    )
    return gates, tuple(ungated)


def required_literal(pattern: str) -> str:
    """The longest literal text every match of ``pattern`` contains, or "" when unsure.

    A deliberately small reading of the regex: only top-level literal characters count;
    groups, classes, class escapes (``\\s``) and anchors end a run; a quantified character
    is dropped; a top-level ``|`` or an escape it does not know means "unsure".
    """
    runs: list[str] = []
    run: list[str] = []
    position, size = 0, len(pattern)
    while position < size:
        char = pattern[position]
        following = pattern[position + 1] if position + 1 < size else ""
        if char == "|" or (
            char == "\\" and following not in _BREAKING_ESCAPES and following.isalnum()
        ):
            return ""
        if char == "\\" and following and not following.isalnum():
            run.append(following)
            position += 2
            continue
        if char not in _SPECIAL:
            run.append(char)
            position += 1
            continue
        if char in "?*+{" and run:
            run.pop()  # the quantified character may be absent or repeated
        runs.append("".join(run))
        run = []
        position = _end_of_special(pattern, position) + 1
    runs.append("".join(run))
    return max(runs, key=len)


def _end_of_special(pattern: str, position: int) -> int:
    """The index of the last character of the special construct starting at ``position``."""
    char = pattern[position]
    if char == "\\":
        return position + 1
    if char == "{":
        closing = pattern.find("}", position)
        return len(pattern) if closing == -1 else closing
    if char == "[":
        return _end_of_class(pattern, position)
    if char == "(":
        return _end_of_group(pattern, position)
    return position


def _end_of_class(pattern: str, position: int) -> int:
    position += 1
    if pattern.startswith("^", position):
        position += 1
    if pattern.startswith("]", position):
        position += 1  # a leading "]" is a member, not the end
    while position < len(pattern) and pattern[position] != "]":
        position += 2 if pattern[position] == "\\" else 1
    return position


def _end_of_group(pattern: str, position: int) -> int:
    depth = 0
    while position < len(pattern):
        char = pattern[position]
        if char == "\\":
            position += 2
            continue
        if char == "[":
            position = _end_of_class(pattern, position)
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return position
        position += 1
    return position
