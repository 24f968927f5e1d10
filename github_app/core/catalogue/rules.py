"""A compiled line rule: one catalogue regex (session URL, marker or launcher line) of one agent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from github_app.core.catalogue.patterns import Regex
from github_app.core.models import Strength

RulePurpose = Literal["session", "marker", "launcher"]


@dataclass(frozen=True, slots=True)
class LineRule:
    """A compiled line regex of one agent: a session URL, a marker or a launcher line."""

    agent: str
    purpose: RulePurpose
    kind: str
    strength: Strength
    pattern: str  # as written in the catalogue
    regex: Regex  # a LinearRegex (RE2), case-insensitive
    group: str | None  # the named group to extract ("session", "login"), if any
