"""Catalogue regexes: compiled with RE2, a linear-time engine, so no pattern can stall a server.

Catalogue patterns come partly from org and repository policy files, which anyone with write
access to them can edit.  Python's backtracking ``re`` takes exponential time on patterns such
as ``zz(x+x+)+y``; RE2 guarantees time linear in the text, at the price of refusing the few
constructs that need backtracking (look-arounds, back-references).  Those are reported as
clear errors when the catalogue or a policy is parsed.
"""

from __future__ import annotations

import re
from typing import Protocol

import re2

# Named groups would collide in one alternation: they are turned into plain groups there.
_NAMED_GROUP = re.compile(r"\(\?P<[A-Za-z_]\w*>")
_UNSUPPORTED = (
    (re.compile(r"\(\?<?[=!]"), "look-ahead and look-behind assertions"),
    (re.compile(r"\\[1-9]|\(\?P="), "back-references"),
)
MAX_PATTERN_LENGTH = 1000


class Regex(Protocol):
    """What detection uses of a compiled pattern (RE2's and ``re``'s objects both fit)."""

    pattern: str
    groupindex: dict[str, int]

    def search(self, text: str, pos: int = ...) -> object | None: ...


def _options(*, ignore_case: bool) -> re2.Options:
    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.log_errors = False  # errors are reported to the caller, not to stderr
    return options


_CASELESS = _options(ignore_case=True)


def compile_pattern(pattern: str, *, group: str | None = None, multiline: bool = False):
    """Compile a catalogue pattern (case-insensitive) with RE2, or raise a ValueError saying why.

    ``group`` names a capture group the pattern must define (``session``, ``login``).
    ``multiline`` makes ``^`` and ``$`` match at line ends within a whole text.
    """
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"pattern is longer than {MAX_PATTERN_LENGTH} characters")
    for construct, name in _UNSUPPORTED:
        if construct.search(pattern):
            raise ValueError(
                f"pattern {pattern!r}: {name} are not supported (patterns run on RE2, "
                "a linear-time engine)"
            )
    source = f"(?m){pattern}" if multiline else pattern
    try:
        compiled = re2.compile(source, _CASELESS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ValueError(
            f"pattern {pattern!r} is not a valid regex (RE2 syntax): {reason}"
        ) from None
    if group is not None and group not in compiled.groupindex:
        raise ValueError(f"pattern {pattern!r} must define the named group (?P<{group}>…)")
    return compiled


def check_pattern(pattern: str, group: str | None = None) -> str:
    """Validate ``pattern`` the way the catalogue will compile it; return it unchanged."""
    compile_pattern(pattern, group=group)
    compile_pattern(without_names(pattern))
    return pattern


def without_names(pattern: str) -> str:
    """``pattern`` with its named groups turned into non-capturing groups."""
    return _NAMED_GROUP.sub("(?:", pattern)


def combined(patterns: list[str]):
    """One multi-line RE2 regex matching wherever any of ``patterns`` would, or None."""
    if not patterns:
        return None
    return compile_pattern(
        "|".join(f"(?:{without_names(pattern)})" for pattern in patterns), multiline=True
    )
