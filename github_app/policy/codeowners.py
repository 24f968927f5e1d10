"""CODEOWNERS: parse GitHub's file and find each path's owners, as GitHub does (pure).

GitHub's rules (docs: "About code owners"): patterns follow gitignore without ``!`` negation,
``[ ]`` character ranges and ``\\#`` escapes; paths are case-sensitive; the **last** matching
line wins, and a line with a pattern but no owners leaves its files unowned.  ``docs/*`` owns
only direct children, ``apps/`` any ``apps`` directory, ``/docs/`` the root one recursively, and
a pattern with a ``/`` at its start or middle is anchored at the repository root.  An owner is
``@user``, ``@org/team`` or an e-mail address.  Lines GitHub would skip are kept as
:class:`IgnoredLine` so the check run can show them; a file of 3 MB or more is ignored whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from github_app.core.models import Frozen

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")  # first found wins
MAX_BYTES = 3 * 1024 * 1024  # GitHub does not load a CODEOWNERS file of 3 MB or more

_USER = re.compile(r"^@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_TEAM = re.compile(r"^@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class OwnerRule(Frozen):
    """One valid line: a pattern and its owners (none: the files are left unowned)."""

    line: int
    pattern: str
    owners: tuple[str, ...]

    @property
    def users(self) -> tuple[str, ...]:
        """Owner logins, lower case, without ``@``."""
        return tuple(o[1:].lower() for o in self.owners if _USER.match(o))

    @property
    def teams(self) -> tuple[str, ...]:
        """Owner teams as ``org/slug``, lower case."""
        return tuple(o[1:].lower() for o in self.owners if _TEAM.match(o))

    @property
    def emails(self) -> tuple[str, ...]:
        """Owners named by e-mail (Countersign cannot match a review to one)."""
        return tuple(o for o in self.owners if _EMAIL.match(o))


class IgnoredLine(Frozen):
    """A line GitHub skips or treats specially, and why."""

    line: int
    text: str
    reason: str


class CodeOwners(Frozen):
    """A parsed CODEOWNERS file."""

    path: str
    rules: tuple[OwnerRule, ...] = ()
    ignored: tuple[IgnoredLine, ...] = ()

    def rule_for(self, file_path: str) -> OwnerRule | None:
        """The last rule matching ``file_path``, if it names owners (else the file is unowned)."""
        for rule in reversed(self.rules):
            if matches(rule.pattern, file_path):
                return rule if rule.owners else None
        return None


class CodeOwnersFacts(Frozen):
    """What the shell found on the base branch: a parsed file, an error, or nothing."""

    ref: str
    file: CodeOwners | None = None
    error: str | None = None  # unreadable or unparsable: fail closed
    note: str | None = None  # e.g. "3 MB or more: GitHub ignores it"


def _strip_comment(line: str) -> str:
    if line.lstrip().startswith("#"):
        return ""
    return re.split(r"\s#", line, maxsplit=1)[0].strip()


def _unsupported(pattern: str) -> str | None:
    if pattern.startswith("!"):
        return "negation (!) is not supported in CODEOWNERS; GitHub ignores this line"
    if "[" in pattern or "]" in pattern:
        return "character ranges ([ ]) are not supported in CODEOWNERS; GitHub ignores this line"
    if pattern.startswith("\\#"):
        return "escaping # (\\#) is not supported in CODEOWNERS; GitHub ignores this line"
    return None


def parse(text: str, path: str) -> CodeOwners:
    """Parse CODEOWNERS ``text``; invalid lines are skipped and reported, as GitHub does."""
    rules: list[OwnerRule] = []
    ignored: list[IgnoredLine] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        content = raw.strip() if raw.strip().startswith("\\#") else _strip_comment(raw)
        if not content:
            continue
        pattern, *owners = content.split()
        why = _unsupported(pattern)
        bad = [o for o in owners if not (_USER.match(o) or _TEAM.match(o) or _EMAIL.match(o))]
        if why is None and bad:
            why = f"invalid owner {bad[0]!r}; GitHub ignores this line"
        if why is not None:
            ignored.append(IgnoredLine(line=number, text=raw.strip(), reason=why))
            continue
        if not owners:
            note = "no owners: matching files are left unowned (clears earlier lines)"
            ignored.append(IgnoredLine(line=number, text=raw.strip(), reason=note))
        rules.append(OwnerRule(line=number, pattern=pattern, owners=tuple(owners)))
    return CodeOwners(path=path, rules=tuple(rules), ignored=tuple(ignored))


def _segment_regex(segment: str) -> str:
    out = ""
    for char in segment:
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        else:
            out += re.escape(char)
    return out


def _body_regex(body: str) -> str:
    """Regex for slash-separated pattern segments; ``**`` segments span directories."""
    parts = body.split("/")
    out = ""
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            out += ".*" if last else "(?:.*/)?"
        else:
            out += _segment_regex(part) + ("" if last else "/")
    return out


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The regex a CODEOWNERS pattern matches file paths with (see the module docstring)."""
    directory_only = pattern.endswith("/")
    body = pattern.strip("/") if pattern != "/" else ""
    anchored = pattern.startswith("/") or "/" in body
    regex = _body_regex(body) if body else ".*"
    prefix = "" if anchored or body.startswith("**") else "(?:.*/)?"
    # A match of a directory owns everything below it, except after a final "*" segment:
    # GitHub's `docs/*` owns docs/a.md but not docs/sub/b.md.
    last = body.rsplit("/", 1)[-1]
    if directory_only or last == "**":
        tail = "/.*" if last != "**" else ""
    elif last == "*" and "/" in body:
        tail = ""
    else:
        tail = "(?:/.*)?"
    return re.compile(f"{prefix}{regex}{tail}")


def matches(pattern: str, file_path: str) -> bool:
    """True when ``pattern`` owns ``file_path`` (case-sensitive, like GitHub)."""
    return compile_pattern(pattern).fullmatch(file_path.lstrip("/")) is not None


def owned_groups(
    codeowners: CodeOwners, files: Iterable[str]
) -> tuple[tuple[OwnerRule, tuple[str, ...]], ...]:
    """Changed files grouped by the rule that owns them (unowned files are left out)."""
    groups: dict[int, tuple[OwnerRule, list[str]]] = {}
    for path in files:
        rule = codeowners.rule_for(path)
        if rule is not None:
            groups.setdefault(rule.line, (rule, []))[1].append(path)
    return tuple((rule, tuple(paths)) for _, (rule, paths) in sorted(groups.items()))
