"""Catalogue regexes: compiled with RE2, a linear-time engine, so no pattern can stall a server.

Catalogue patterns come partly from org and repository policy files, which anyone with write
access to them can edit.  Python's backtracking ``re`` takes exponential time on patterns such
as ``zz(x+x+)+y``; RE2 guarantees time linear in the text, at the price of refusing the few
constructs that need backtracking (look-arounds, back-references).  Those are reported as
clear errors when the catalogue or a policy is parsed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

import re2

# Named groups would collide in one alternation: they are turned into plain groups there.
_NAMED_GROUP = re.compile(r"\(\?P<[A-Za-z_]\w*>")
_UNSUPPORTED = (
    (re.compile(r"\(\?<?[=!]"), "look-ahead and look-behind assertions"),
    (re.compile(r"\\[1-9]|\(\?P="), "back-references"),
)
MAX_PATTERN_LENGTH = 1000


class Regex(Protocol):
    """What detection uses of a compiled line pattern (``LinearRegex`` and ``re`` both fit)."""

    pattern: str
    groupindex: Mapping[str, int]

    def search(self, text: str) -> Any: ...


class LineMatch:
    """A match of a :class:`LinearRegex`: ``match[0]`` or ``match["session"]`` as text."""

    __slots__ = ("_found",)

    def __init__(self, found: Any) -> None:
        self._found = found

    def __getitem__(self, group: int | str) -> str:
        value = self._found[group.encode() if isinstance(group, str) else group]
        return value.decode("utf-8", "replace") if value is not None else ""


class LinearRegex:
    """An RE2 regex over one line, matched on its UTF-8 bytes.

    RE2's Python binding translates byte offsets back to character offsets for ``str`` input,
    which costs more than the match itself on lines with emoji (agent footers have them).
    Lines are short and only the captured text is needed, so matching bytes is the fast path.
    """

    __slots__ = ("_compiled", "groupindex", "pattern")

    def __init__(self, pattern: str, compiled: Any) -> None:
        self.pattern = pattern
        self._compiled = compiled
        self.groupindex = {name.decode(): index for name, index in compiled.groupindex.items()}

    def search(self, text: str) -> LineMatch | None:
        """The first match in ``text``, or None."""
        found = self._compiled.search(text.encode("utf-8", "surrogatepass"))
        return LineMatch(found) if found is not None else None


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


def compile_line_pattern(pattern: str, *, group: str | None = None) -> LinearRegex:
    """Compile a catalogue line pattern (see :func:`compile_pattern`) for :class:`LinearRegex`."""
    compile_pattern(pattern, group=group)  # validates, with the errors worded for people
    return LinearRegex(pattern, re2.compile(pattern.encode("utf-8"), _CASELESS))


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
