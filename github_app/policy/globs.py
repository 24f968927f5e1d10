"""Glob patterns over repository paths, with ``**`` spanning directories.

Rules (close to .gitignore and CODEOWNERS, so they read the way people expect):

* ``*`` matches within one path segment, ``?`` one character other than ``/``;
* ``**`` matches across segments; ``dir/**`` matches everything under ``dir``;
  ``**/name`` matches ``name`` at any depth;
* a pattern without a ``/`` (``*.pem``) matches the file name at any depth;
* a pattern ending in ``/`` (``secrets/``) matches everything under that directory;
* a leading ``/`` anchors the pattern at the repository root (patterns are anchored anyway
  once they contain a ``/``).

Matching is case-sensitive, as git paths are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


def _normalise(pattern: str) -> str:
    pattern = pattern.strip()
    if pattern.endswith("/"):
        pattern += "**"
    if pattern.startswith("/"):
        return pattern.lstrip("/")
    if "/" not in pattern:
        return "**/" + pattern
    return pattern


def _translate(pattern: str) -> str:
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("**", index):
            parts.append(".*")
            index += 2
        elif pattern[index] == "*":
            parts.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            parts.append("[^/]")
            index += 1
        else:
            parts.append(re.escape(pattern[index]))
            index += 1
    return "".join(parts)


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Compile a path glob to an anchored regular expression."""
    return re.compile(_translate(_normalise(pattern)) + r"\Z", re.DOTALL)


def path_matches(pattern: str, path: str) -> bool:
    """True when the repository path matches the glob pattern."""
    return compile_glob(pattern).match(path.lstrip("/")) is not None


def matching_paths(pattern: str, paths: Iterable[str]) -> tuple[str, ...]:
    """The paths matching the pattern, in their original order."""
    return tuple(path for path in paths if path_matches(pattern, path))
