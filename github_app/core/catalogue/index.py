"""The compiled catalogue: lookup tables and RE2 regexes built once, shared by every delivery.

Matching is exact on e-mails, numeric account ids and bot logins, never on display names:
"Claude" the person and ``claude@anthropic.com`` are not Claude Code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from github_app.core.catalogue.patterns import combined, compile_line_pattern
from github_app.core.catalogue.prefilter import Gate, build_gates
from github_app.core.catalogue.rules import LineRule, RulePurpose
from github_app.core.catalogue.spec import AgentEntry, CatalogueSpec
from github_app.core.models import Account, Strength
from github_app.core.trailers import github_noreply


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
        "builtin_names",
        "spec",
    )

    def __init__(self, spec: CatalogueSpec, builtin_names: frozenset[str] = frozenset()) -> None:
        self.spec = spec
        self.builtin_names = builtin_names  # entries of the shipped file (extensions can't weaken)
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
        self._gates, self._ungated_rules = build_gates(self._line_rules)
        self._ungated = combined([rule.pattern for rule in self._ungated_rules])

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
    def version(self) -> str:
        """The release of the catalogue data, stamped on every attribution."""
        return self.spec.catalogue_version

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
        if account_id is not None and account_id in self._by_account_id:
            return self._by_account_id[account_id]
        # Otherwise the login decides: a catalogued agent login is the agent's own account
        # (``kiro-agent@…``, ``12345+kiro-agent@…``), which no person can hold.
        return self._by_login.get(login.lower())

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
    def ungated(self) -> Any:
        """One MULTILINE RE2 regex (over text) finding the lines an ungated rule could match."""
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
        regex = compile_line_pattern(pattern, group=group)
        return LineRule(entry.name, purpose, kind, strength, pattern, regex, group)

    for pattern in entry.session_patterns:
        yield rule("session", "session_url", Strength.SESSION_URL, pattern, "session")
    for marker in entry.markers:
        yield rule("marker", marker.kind, marker.strength, marker.pattern, None)
    for launcher in entry.launcher:
        if launcher.pattern is not None:
            # Launcher lines name a person; they are not evidence, so their strength is moot.
            strength = Strength.BRANCH_PREFIX
            yield rule("launcher", "launcher_line", strength, launcher.pattern, "login")
