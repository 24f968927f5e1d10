"""The agent catalogue: the identities, trailers, URLs and branch names that mark an agent's work.

The catalogue is data (``policies/agents.yml``), extendable per org.  This module validates it
(pydantic), merges org extensions into it, and compiles it once into lookup tables and regexes
so that detection, which runs on every webhook, never parses or compiles anything.

Matching is exact on e-mails, numeric account ids and bot logins, never on display names:
"Claude" the person and ``claude@anthropic.com`` are not Claude Code.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    field_validator,
    model_validator,
)

from github_app.core.models import Account, Strength
from github_app.core.trailers import GENERIC_TRAILER_KEYS, github_noreply
from github_app.paths import policies_dir

DEFAULT_CATALOGUE_PATH = policies_dir() / "agents.yml"
UNKNOWN_AGENT = "unknown-agent"
SUPPORTED_VERSIONS = frozenset({1})

LauncherSource = Literal["line", "coauthor", "assignee", "pr_author", "git_author"]
RulePurpose = Literal["session", "marker", "launcher"]

_AGENT_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_NAMED_GROUP = re.compile(r"\(\?P<[A-Za-z_]\w*>")
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")
# Literal-gating of line rules (see Gate): shorter literals would admit too many lines.
_MIN_NEEDLE = 4
_SPECIAL = frozenset(".^$*+?{}[]()|\\")
_BREAKING_ESCAPES = frozenset("sSdDwWbBAZntrfva")
# Text markers are unauthenticated, so a marker can be graded at most as strong as a trailer.
_MARKER_STRENGTHS = (Strength.BRANCH_PREFIX, Strength.TRAILER)


class _Spec(BaseModel):
    """Base of catalogue models: immutable, and unknown keys are errors (typos fail loudly)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_pattern(pattern: str, group: str | None = None) -> str:
    """Compile ``pattern`` the way the catalogue will, or raise a ValueError that says why."""
    if _BACKREFERENCE.search(pattern):
        raise ValueError(f"pattern {pattern!r}: back-references are not supported")
    try:
        compiled = re.compile(f"(?:{pattern})", re.IGNORECASE)
        re.compile(_NAMED_GROUP.sub("(?:", pattern))
    except re.error as exc:
        hint = (
            " (no inline flags needed: patterns are case-insensitive)" if "flag" in str(exc) else ""
        )
        raise ValueError(f"pattern {pattern!r} is not a valid regex: {exc}{hint}") from exc
    if group is not None and group not in compiled.groupindex:
        raise ValueError(f"pattern {pattern!r} must define the named group (?P<{group}>…)")
    return pattern


class Identities(_Spec):
    """Who the agent is in git and on GitHub.

    ``emails`` and ``account_ids`` are graded IDENTITY when they are a commit's author or
    committer, and TRAILER when they appear in a ``Co-authored-by`` trailer.  ``account_ids``
    also match ``<id>+<login>@users.noreply.github.com`` addresses.  ``logins`` match only
    bot accounts (or accounts whose id is unknown), so a person cannot be mistaken for an App.
    ``name_suffixes`` (Aider's `` (aider)``) are written into a git name by the tool: TRAILER.
    """

    emails: tuple[str, ...] = ()
    account_ids: tuple[int, ...] = ()
    logins: tuple[str, ...] = ()
    name_suffixes: tuple[str, ...] = ()

    @field_validator("emails")
    @classmethod
    def _emails_are_exact_addresses(cls, emails: tuple[str, ...]) -> tuple[str, ...]:
        for email in emails:
            if not _EMAIL.match(email):
                raise ValueError(f"{email!r} is not an e-mail address")
        return tuple(email.lower() for email in emails)

    @field_validator("account_ids")
    @classmethod
    def _ids_are_positive(cls, account_ids: tuple[int, ...]) -> tuple[int, ...]:
        if any(account_id <= 0 for account_id in account_ids):
            raise ValueError("account ids are positive integers")
        return account_ids

    @field_validator("logins", "name_suffixes")
    @classmethod
    def _not_blank(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        if any(not value.strip() for value in values):
            raise ValueError("blank value")
        return values


class Marker(_Spec):
    """A line in a commit message or PR body that marks the agent's work (footer, comment…)."""

    pattern: str
    kind: str = "marker"
    strength: Strength = Strength.TRAILER

    @model_validator(mode="before")
    @classmethod
    def _accept_bare_pattern(cls, value: Any) -> Any:
        return {"pattern": value} if isinstance(value, str) else value

    @field_validator("pattern")
    @classmethod
    def _valid_pattern(cls, pattern: str) -> str:
        return _check_pattern(pattern)

    @field_validator("strength", mode="before")
    @classmethod
    def _strength_by_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return Strength[value.strip().upper()]
            except KeyError:
                raise ValueError(f"unknown strength {value!r}") from None
        return value

    @field_validator("strength")
    @classmethod
    def _text_is_never_identity(cls, strength: Strength) -> Strength:
        if strength not in _MARKER_STRENGTHS:
            raise ValueError("a text marker can be graded 'trailer' or 'branch_prefix' only")
        return strength


class LauncherRule(_Spec):
    """One way of finding the developer who launched the agent, tried in catalogue order.

    ``line``: a regex with a ``login`` group over PR body and commit lines (Devin's
    ``Requested by: … (@login)``); ``coauthor``: a human co-author with a GitHub no-reply
    address; ``assignee``: a human assignee; ``pr_author``: a human PR author;
    ``git_author``: the GitHub account linked to a commit's git author.
    """

    source: LauncherSource
    pattern: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _accept_bare_source(cls, value: Any) -> Any:
        return {"source": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _pattern_only_for_lines(self) -> LauncherRule:
        if self.source == "line":
            if self.pattern is None:
                raise ValueError("a 'line' launcher rule needs a pattern")
            _check_pattern(self.pattern, group="login")
        elif self.pattern is not None:
            raise ValueError(f"a {self.source!r} launcher rule takes no pattern")
        return self


DEFAULT_LAUNCHER_RULES = (
    LauncherRule(source="coauthor"),
    LauncherRule(source="assignee"),
    LauncherRule(source="git_author"),
    LauncherRule(source="pr_author"),
)


class AgentEntry(_Spec):
    """One agent (or AI-assistance product) of the catalogue."""

    name: str
    display_name: str = ""  # defaults to the name
    products: tuple[str, ...] = ()  # the product variants this entry covers, for people
    assisted_only: bool = False  # AI suggestions accepted by a human, not an agent change
    identities: Identities = Identities()
    session_patterns: tuple[str, ...] = ()  # regexes with a (?P<session>…) group
    markers: tuple[Marker, ...] = ()
    branch_prefixes: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    launcher: tuple[LauncherRule, ...] = DEFAULT_LAUNCHER_RULES

    @model_validator(mode="before")
    @classmethod
    def _display_name_defaults_to_name(cls, value: Any) -> Any:
        if isinstance(value, dict) and not value.get("display_name") and "name" in value:
            return {**value, "display_name": value["name"]}
        return value

    @field_validator("name")
    @classmethod
    def _kebab_case(cls, name: str) -> str:
        if not _AGENT_NAME.match(name):
            raise ValueError(f"name {name!r} must be kebab-case (e.g. 'claude-code')")
        if name == UNKNOWN_AGENT:
            raise ValueError(f"{UNKNOWN_AGENT!r} is reserved")
        return name

    @field_validator("session_patterns")
    @classmethod
    def _session_group(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_pattern(pattern, group="session") for pattern in patterns)

    @field_validator("branch_prefixes", "labels")
    @classmethod
    def _no_blank_names(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        if any(not value.strip() for value in values):
            raise ValueError("blank value")
        return values


@dataclass(frozen=True, slots=True)
class LineRule:
    """A compiled line regex of one agent: a session URL, a marker or a launcher line."""

    agent: str
    purpose: RulePurpose
    kind: str
    strength: Strength
    regex: re.Pattern[str]
    group: str | None  # the named group to extract ("session", "login"), if any


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


class CatalogueSpec(_Spec):
    """The catalogue file: its schema version and its agent entries."""

    version: int = 1
    agents: tuple[AgentEntry, ...] = ()

    @field_validator("version")
    @classmethod
    def _supported(cls, version: int) -> int:
        if version not in SUPPORTED_VERSIONS:
            raise ValueError(f"unsupported catalogue version {version}")
        return version


class Catalogue:
    """A validated agent catalogue compiled into lookup tables and regexes, built once.

    Immutable after construction and safe to share between concurrent deliveries.  Build it
    with :func:`load_catalogue`; ``spec`` is the validated data it was compiled from.
    """

    __slots__ = (
        "_branch_prefixes",
        "_by_account_id",
        "_by_email",
        "_by_label",
        "_by_login",
        "_by_name",
        "_gates",
        "_line_rules",
        "_name_suffixes",
        "_ungated",
        "_ungated_rules",
        "spec",
    )

    def __init__(self, spec: CatalogueSpec) -> None:
        self.spec = spec
        self._by_name: dict[str, AgentEntry] = {}
        self._by_email: dict[str, AgentEntry] = {}
        self._by_account_id: dict[int, AgentEntry] = {}
        self._by_login: dict[str, AgentEntry] = {}
        self._by_label: dict[str, AgentEntry] = {}
        suffixes: list[tuple[str, AgentEntry]] = []
        prefixes: list[tuple[str, AgentEntry]] = []
        for entry in spec.agents:
            self._index_entry(entry)
            suffixes += [(suffix.lower(), entry) for suffix in entry.identities.name_suffixes]
            prefixes += [(prefix, entry) for prefix in entry.branch_prefixes]
        self._name_suffixes = tuple(suffixes)
        self._branch_prefixes = tuple(sorted(prefixes, key=lambda item: -len(item[0])))
        self._line_rules = tuple(rule for entry in spec.agents for rule in _line_rules(entry))
        self._gates, self._ungated_rules = _gates(self._line_rules)
        self._ungated = _combined(self._ungated_rules)

    def _index_entry(self, entry: AgentEntry) -> None:
        _claim(self._by_name, entry.name, entry, "agent name")
        for email in entry.identities.emails:
            _claim(self._by_email, email, entry, "e-mail")
        for account_id in entry.identities.account_ids:
            _claim(self._by_account_id, account_id, entry, "account id")
        for login in entry.identities.logins:
            _claim(self._by_login, login.lower(), entry, "login")
        for label in entry.labels:
            _claim(self._by_label, label.strip().lower(), entry, "label")

    @property
    def agents(self) -> tuple[AgentEntry, ...]:
        """Every entry in catalogue order."""
        return self.spec.agents

    def names(self) -> tuple[str, ...]:
        """Every agent name in catalogue order."""
        return tuple(self._by_name)

    def get(self, name: str) -> AgentEntry | None:
        """The entry called ``name``, if any."""
        return self._by_name.get(name)

    def is_assisted_only(self, name: str) -> bool:
        """True when ``name`` is an AI-assistance product rather than an agent."""
        entry = self._by_name.get(name)
        return entry is not None and entry.assisted_only

    def agent_for_email(self, email: str) -> AgentEntry | None:
        """The agent whose exact e-mail, or GitHub no-reply account id, ``email`` is."""
        email = email.strip().lower()
        if not email:
            return None
        entry = self._by_email.get(email)
        if entry is not None or "noreply" not in email:
            return entry
        noreply = github_noreply(email)
        if noreply is None:
            return None
        account_id, login = noreply
        if account_id is not None:
            return self._by_account_id.get(account_id)
        # An id-less no-reply address is trusted only for [bot] logins: people can't own those.
        return self._by_login.get(login) if login.endswith("[bot]") else None

    def agent_for_account(self, account: Account | None) -> AgentEntry | None:
        """The agent a GitHub account belongs to: by id, or by login for bot accounts."""
        if account is None:
            return None
        if account.id is not None and account.id in self._by_account_id:
            return self._by_account_id[account.id]
        if account.is_bot or account.id is None:
            return self._by_login.get(account.login.lower())
        return None

    def agent_for_git_name(self, name: str) -> AgentEntry | None:
        """The agent whose name suffix (Aider's `` (aider)``) ends a git author name."""
        lowered = name.rstrip().lower()
        for suffix, entry in self._name_suffixes:
            if lowered.endswith(suffix):
                return entry
        return None

    def agent_for_branch(self, ref: str) -> AgentEntry | None:
        """The agent whose branch prefix ``ref`` starts with (longest prefix wins)."""
        ref = ref.removeprefix("refs/heads/")
        for prefix, entry in self._branch_prefixes:
            if ref.startswith(prefix):
                return entry
        return None

    def agent_for_label(self, label: str) -> AgentEntry | None:
        """The agent a PR label belongs to (case-insensitive)."""
        return self._by_label.get(label.strip().lower())

    def is_agent_account(self, account: Account) -> bool:
        """True for bots and catalogue identities: accounts that can never countersign."""
        return account.is_bot or self.agent_for_account(account) is not None

    def is_agent_login(self, login: str) -> bool:
        """True for ``[bot]`` logins and logins the catalogue lists for an agent."""
        lowered = login.strip().lower()
        return lowered.endswith("[bot]") or lowered in self._by_login

    @property
    def line_rules(self) -> tuple[LineRule, ...]:
        """Every compiled line regex (sessions, markers, launcher lines)."""
        return self._line_rules

    @property
    def gates(self) -> tuple[Gate, ...]:
        """The literals that admit a line to closer reading, with the rules they admit."""
        return self._gates

    @property
    def ungated_rules(self) -> tuple[LineRule, ...]:
        """Rules without a required literal (org patterns such as ``^\\w+-Run:``)."""
        return self._ungated_rules

    @property
    def ungated(self) -> re.Pattern[str] | None:
        """One MULTILINE regex finding the lines an ungated rule could match, if any."""
        return self._ungated


def _claim(table: dict[Any, AgentEntry], key: Any, entry: AgentEntry, what: str) -> None:
    """Register ``key`` for ``entry``; two entries claiming one identity is ambiguous."""
    owner = table.get(key)
    if owner is not None:
        where = "twice" if owner.name == entry.name else f"by {owner.name!r} and {entry.name!r}"
        raise ValueError(f"{what} {key!r} is claimed {where}")
    table[key] = entry


def _line_rules(entry: AgentEntry) -> Iterable[LineRule]:
    def rule(purpose: RulePurpose, kind: str, strength: Strength, pattern: str, group: str | None):
        regex = re.compile(pattern, re.IGNORECASE)
        return LineRule(entry.name, purpose, kind, strength, regex, group)

    for pattern in entry.session_patterns:
        yield rule("session", "session_url", Strength.SESSION_URL, pattern, "session")
    for marker in entry.markers:
        yield rule("marker", marker.kind, marker.strength, marker.pattern, None)
    for launcher in entry.launcher:
        if launcher.pattern is not None:
            # Launcher lines name a person; they are not evidence, so their strength is moot.
            strength = Strength.BRANCH_PREFIX
            yield rule("launcher", "launcher_line", strength, launcher.pattern, "login")


def _gates(rules: Iterable[LineRule]) -> tuple[tuple[Gate, ...], tuple[LineRule, ...]]:
    by_needle: dict[str, list[LineRule]] = {key: [] for key in GENERIC_TRAILER_KEYS}
    ungated: list[LineRule] = []
    for rule in rules:
        needle = required_literal(rule.regex.pattern).lower()
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


def _combined(rules: Sequence[LineRule]) -> re.Pattern[str] | None:
    if not rules:
        return None
    # Named groups would collide in one alternation; finding the line needs no captures.
    alternatives = [f"(?:{_NAMED_GROUP.sub('(?:', rule.regex.pattern)})" for rule in rules]
    return re.compile("|".join(alternatives), re.IGNORECASE | re.MULTILINE)


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


def load_catalogue(path: Path | None = None, extra: list[dict] | None = None) -> Catalogue:
    """Load, validate and compile the agent catalogue.

    ``path`` defaults to the repository's ``policies/agents.yml``.  ``extra`` holds org-supplied
    entries, validated by the same model: a new name adds an agent; an existing name extends
    that agent (identities, patterns, markers, prefixes and labels are added; nothing can be
    removed, and an agent cannot be downgraded to ``assisted_only``).  Any problem raises a
    ValueError naming the entry.
    """
    path = path or DEFAULT_CATALOGUE_PATH
    document = _read_yaml(path)
    base = _parse_entries(document.get("agents"), origin=str(path))
    additions = _parse_entries(extra or [], origin="org extension")
    origin = f"agent catalogue {path}" + (" with org extension" if additions else "")
    try:
        spec = CatalogueSpec(version=document.get("version", 1), agents=_merge(base, additions))
        return Catalogue(spec)
    except ValidationError as exc:
        raise ValueError(_describe(exc, origin)) from None
    except ValueError as exc:
        raise ValueError(f"{origin}: {exc}") from None


@functools.cache
def default_catalogue() -> Catalogue:
    """The shipped catalogue, loaded once per process."""
    return load_catalogue()


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"agent catalogue {path}: cannot read it: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"agent catalogue {path}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise ValueError(f"agent catalogue {path}: expected a mapping with an 'agents' list")
    return document


def _parse_entries(raw_entries: Any, origin: str) -> list[AgentEntry]:
    if not isinstance(raw_entries, list):
        raise ValueError(f"agent catalogue {origin}: 'agents' must be a list")
    return [_parse_entry(raw, position, origin) for position, raw in enumerate(raw_entries)]


def _parse_entry(raw: Any, position: int, origin: str) -> AgentEntry:
    name = raw.get("name") if isinstance(raw, dict) else None
    label = f"entry {name!r}" if isinstance(name, str) else f"entry #{position + 1}"
    try:
        return AgentEntry.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(_describe(exc, f"agent catalogue {origin}: {label}")) from None


def _describe(exc: ValidationError, prefix: str) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return f"{prefix}: " + "; ".join(problems)


def _merge(base: list[AgentEntry], additions: list[AgentEntry]) -> tuple[AgentEntry, ...]:
    merged: dict[str, AgentEntry] = {}
    for entry in base:
        if entry.name in merged:
            raise ValueError(f"agent catalogue: entry {entry.name!r} is defined twice")
        merged[entry.name] = entry
    for addition in additions:
        current = merged.get(addition.name)
        merged[addition.name] = addition if current is None else _extend(current, addition)
    return tuple(merged.values())


def _extend(current: AgentEntry, addition: AgentEntry) -> AgentEntry:
    """``current`` with everything ``addition`` adds: an extension can only widen detection."""
    given = addition.model_fields_set
    if "assisted_only" in given and addition.assisted_only and not current.assisted_only:
        raise ValueError(
            f"agent catalogue: org extension {current.name!r} cannot mark an agent assisted_only"
        )
    identities = Identities(
        emails=_union(current.identities.emails, addition.identities.emails),
        account_ids=_union(current.identities.account_ids, addition.identities.account_ids),
        logins=_union(current.identities.logins, addition.identities.logins),
        name_suffixes=_union(current.identities.name_suffixes, addition.identities.name_suffixes),
    )
    return current.model_copy(
        update={
            # display_name defaults to the name: only a distinct one replaces the shipped one.
            "display_name": addition.display_name
            if addition.display_name != addition.name
            else current.display_name,
            "products": _union(current.products, addition.products),
            "assisted_only": addition.assisted_only
            if "assisted_only" in given
            else current.assisted_only,
            "identities": identities,
            "session_patterns": _union(current.session_patterns, addition.session_patterns),
            "markers": _union(current.markers, addition.markers),
            "branch_prefixes": _union(current.branch_prefixes, addition.branch_prefixes),
            "labels": _union(current.labels, addition.labels),
            "launcher": addition.launcher if "launcher" in given else current.launcher,
        }
    )


def _union(first: tuple[Any, ...], second: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(first + second))
