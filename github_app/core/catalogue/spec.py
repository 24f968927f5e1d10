"""The catalogue's data model: what ``policies/agents.yml`` and policy extensions may say.

Pydantic models, immutable, with unknown keys rejected so a typo fails loudly.  Every regex is
validated here with the engine detection will run it on (RE2, see ``patterns``), so a bad
entry is refused when a catalogue or a policy is parsed, never when a webhook is judged.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from github_app.core.catalogue.patterns import check_pattern
from github_app.core.models import Strength

UNKNOWN_AGENT = "unknown-agent"
SUPPORTED_VERSIONS = frozenset({1})

LauncherSource = Literal[
    "line", "agent_coauthor", "coauthor", "assignee", "pr_author", "git_author"
]

_AGENT_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_CATALOGUE_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$")
# Text markers are unauthenticated, so a marker can be graded at most as strong as a trailer.
_MARKER_STRENGTHS = (Strength.BRANCH_PREFIX, Strength.TRAILER)


class _Spec(BaseModel):
    """Base of catalogue models: immutable, and unknown keys are errors (typos fail loudly)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


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
        return check_pattern(pattern)

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
    ``Requested by: … (@login)``); ``agent_coauthor``: a human co-author (GitHub no-reply
    address) of a commit the agent's own identity authored (the Claude GitHub Action names
    whoever wrote the triggering ``@claude`` comment this way); ``coauthor``: a human co-author
    with a GitHub no-reply address; ``assignee``: a human assignee; ``pr_author``: a human PR
    author; ``git_author``: the GitHub account linked to a commit's git author.
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
            check_pattern(self.pattern, group="login")
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
    sources: tuple[str, ...] = ()  # where the facts above were observed (URLs, repositories)

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
        return tuple(check_pattern(pattern, group="session") for pattern in patterns)

    @field_validator("branch_prefixes", "labels")
    @classmethod
    def _no_blank_names(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        if any(not value.strip() for value in values):
            raise ValueError("blank value")
        return values


class CatalogueSpec(_Spec):
    """The catalogue file: its schema version, its release and its agent entries.

    ``version`` is the file format; ``catalogue_version`` names the release of the data and is
    stamped on every attribution (and so on every ledger entry), so evidence says which
    generation of fingerprints judged a change.
    """

    version: int = 1
    catalogue_version: str = "unversioned"
    agents: tuple[AgentEntry, ...] = ()

    @field_validator("version")
    @classmethod
    def _supported(cls, version: int) -> int:
        if version not in SUPPORTED_VERSIONS:
            raise ValueError(f"unsupported catalogue version {version}")
        return version

    @field_validator("catalogue_version")
    @classmethod
    def _printable_release(cls, release: str) -> str:
        if not _CATALOGUE_VERSION.match(release):
            raise ValueError(f"catalogue_version {release!r}: letters, digits and . + _ - only")
        return release
