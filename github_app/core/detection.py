"""Agent detection: a pure function from a pull request and its commits to an Attribution.

Evidence is collected from the PR (author account, body line by line, branch, labels) and from
every commit (author/committer e-mail, name and linked account, whole message line by line),
graded App/bot identity > vendor session URL > trailer > branch prefix, then judged against
the policy's threshold.  Trailers are unauthenticated: they can make a change *more*
restricted (the generic ``Agent-Session-Id`` / ``Agent-Launched-By`` trailers always declare
an agent change), never less.  "No marker" means "unknown", not "human": attribution can be
switched off in most agents, which is why the policy, not detection, decides what follows.

Detection is CPU work over attacker-controlled text: it scans at most ``TEXT_BUDGET``
characters of each PR body and commit message (the head and the tail, where trailers live),
runs only RE2 regexes (linear time), and the shell calls it off the event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from github_app.core.catalogue import (
    DEFAULT_LAUNCHER_RULES,
    UNKNOWN_AGENT,
    Catalogue,
    Gate,
    LauncherRule,
    LineRule,
)
from github_app.core.models import (
    Account,
    Attribution,
    Commit,
    GitIdentity,
    PullRequest,
    Signal,
    Strength,
)
from github_app.core.trailers import (
    COAUTHOR_KEY,
    LAUNCHER_KEY,
    SESSION_KEY,
    clean_session_id,
    github_noreply,
    is_github_login,
    line_starts_matching,
    list_item_content,
    match_generic_trailer,
    normalise_newlines,
    outside_quotes,
    parse_identity,
)

_DETAIL_LIMIT = 120
# Characters of one PR body or commit message that are read: half from the head, half from
# the tail.  Real messages are far shorter; the cap bounds the work a crafted one can cause.
TEXT_BUDGET = 64 * 1024
_IdentityMatch = tuple[str, str, Strength, str]  # (agent, kind, strength, detail)
# Signal kinds of the generic trailers: self-declarations that always mean "agent change".
_DECLARATION_KINDS = frozenset({"session_trailer", "launcher_trailer"})


def detect(
    pr: PullRequest | None,
    commits: Sequence[Commit],
    catalogue: Catalogue,
    *,
    threshold: Strength = Strength.TRAILER,
    assisted_is_agent: bool = False,
    fallback_session_id: str | None = None,
) -> Attribution:
    """Attribute a pull request (or, with ``pr=None``, pushed commits) to an agent or to nobody.

    ``threshold`` is the weakest signal strength that makes a change an agent change;
    ``assisted_is_agent`` makes AI-assistance entries (Copilot Autofix…) count as agents;
    ``fallback_session_id`` is the derived session id to use when there is no PR.
    """
    evidence = _collect(pr, commits, catalogue)
    verdict = _judge(evidence.signals, catalogue, threshold, assisted_is_agent)
    co_authors = _unique_identities(evidence.co_authors)
    if verdict.agent is None:
        return Attribution(
            is_agent=False,
            signals=tuple(evidence.signals),
            ai_assisted=verdict.ai_assisted,
            co_authors=co_authors,
            catalogue_version=catalogue.version,
        )
    session_id, derived = _session(evidence, verdict.agent, pr, fallback_session_id)
    candidates = _launcher_candidates(evidence, verdict.agent, pr, commits, catalogue)
    return Attribution(
        is_agent=True,
        agent=verdict.agent,
        signals=tuple(evidence.signals),
        session_id=session_id,
        session_derived=derived,
        session_ids=_all_sessions(session_id, evidence, pr, fallback_session_id),
        launched_by=candidates[0] if candidates else None,
        launcher_candidates=candidates,
        ai_assisted=verdict.ai_assisted,
        co_authors=co_authors,
        catalogue_version=catalogue.version,
    )


# --- collecting evidence ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _LineFacts:
    """What one line says: a generic trailer, and the catalogue rules it matches."""

    trailer: tuple[str, str] | None  # (lower-case key, value)
    coauthor: GitIdentity | None  # parsed when the trailer is Co-authored-by
    coauthor_agent: str | None  # the agent that co-author identity belongs to
    hits: tuple[tuple[LineRule, str, str], ...]  # (rule, captured group or "", matched text)


@dataclass(slots=True)
class _Evidence:
    """Everything seen in the PR and its commits, in the order it was seen."""

    signals: list[Signal] = field(default_factory=list)
    co_authors: list[GitIdentity] = field(default_factory=list)
    declared_sessions: list[str] = field(default_factory=list)
    declared_launchers: list[str] = field(default_factory=list)
    vendor_sessions: list[tuple[str, str]] = field(default_factory=list)  # (agent, id)
    launcher_lines: list[tuple[str, str]] = field(default_factory=list)  # (agent, login)
    # Co-authors of commits an agent's own identity authored: (agent, co-author).
    agent_commit_coauthors: list[tuple[str, GitIdentity]] = field(default_factory=list)
    line_cache: dict[str, _LineFacts] = field(default_factory=dict)
    identity_cache: dict[tuple[object, ...], tuple[_IdentityMatch, ...]] = field(
        default_factory=dict
    )
    seen: set[tuple[str, str, str, str]] = field(default_factory=set)

    def add(self, agent: str, kind: str, strength: Strength, source: str, detail: str) -> None:
        """Record a signal once per (agent, kind, source, detail)."""
        key = (agent, kind, source, detail)
        if key in self.seen:
            return
        self.seen.add(key)
        self.signals.append(
            Signal(agent=agent, kind=kind, strength=strength, source=source, detail=_short(detail))
        )


def _collect(pr: PullRequest | None, commits: Sequence[Commit], catalogue: Catalogue) -> _Evidence:
    evidence = _Evidence()
    if pr is not None:
        _scan_pull_request(pr, catalogue, evidence)
    for commit in commits:
        _scan_commit(commit, catalogue, evidence)
    return evidence


def _scan_pull_request(pr: PullRequest, catalogue: Catalogue, evidence: _Evidence) -> None:
    entry = catalogue.agent_for_account(pr.author)
    if entry is not None:
        evidence.add(entry.name, "pr_author", Strength.IDENTITY, "PR author", _who(pr.author))
    _scan_text(pr.body, "PR body", catalogue, evidence, markdown=True)
    entry = catalogue.agent_for_branch(pr.head_ref) if pr.head_ref else None
    if entry is not None:
        evidence.add(entry.name, "branch_prefix", Strength.BRANCH_PREFIX, "PR branch", pr.head_ref)
    for label in pr.labels:
        entry = catalogue.agent_for_label(label)
        if entry is not None:
            evidence.add(entry.name, "label", Strength.BRANCH_PREFIX, "PR label", label)


def _scan_commit(commit: Commit, catalogue: Catalogue, evidence: _Evidence) -> None:
    where = f"commit {commit.sha[:7]}"
    authoring_agents: set[str] = set()
    for role, identity, account in (
        ("author", commit.author, commit.author_account),
        ("committer", commit.committer, commit.committer_account),
    ):
        for agent, kind, strength, detail in _identity_matches(
            role, identity, account, catalogue, evidence
        ):
            evidence.add(agent, kind, strength, f"{where} {role}", detail)
            if role == "author" and strength == Strength.IDENTITY:
                authoring_agents.add(agent)
    seen_before = len(evidence.co_authors)
    _scan_text(commit.message, f"{where} message", catalogue, evidence, markdown=False)
    for agent in sorted(authoring_agents):
        evidence.agent_commit_coauthors += [
            (agent, identity) for identity in evidence.co_authors[seen_before:]
        ]


def _identity_matches(
    role: str,
    identity: GitIdentity,
    account: Account | None,
    catalogue: Catalogue,
    evidence: _Evidence,
) -> tuple[_IdentityMatch, ...]:
    """What a git author/committer line and its linked account say, memoised per call."""
    key = (role, identity.name, identity.email, account)
    cached = evidence.identity_cache.get(key)
    if cached is not None:
        return cached
    matches: list[_IdentityMatch] = []
    entry = catalogue.agent_for_account(account)
    if entry is not None and account is not None:
        matches.append((entry.name, f"{role}_account", Strength.IDENTITY, _who(account)))
    entry = catalogue.agent_for_email(identity.email)
    if entry is not None:
        matches.append((entry.name, f"{role}_email", Strength.IDENTITY, _git(identity)))
    entry = catalogue.agent_for_git_name(identity.name) if identity.name else None
    if entry is not None:
        matches.append((entry.name, f"{role}_name_suffix", Strength.TRAILER, _git(identity)))
    evidence.identity_cache[key] = result = tuple(matches)
    return result


def _scan_text(
    text: str, where: str, catalogue: Catalogue, evidence: _Evidence, *, markdown: bool
) -> None:
    """Read every marked, unquoted line of a commit message or PR body, wherever it is."""
    if not text:
        return
    text = normalise_newlines(_within_budget(text))
    starts = _marked_line_starts(text, catalogue)
    if not starts:
        return
    for line_no, line in outside_quotes(text, starts, markdown=markdown):
        facts = evidence.line_cache.get(line)
        if facts is None:
            facts = evidence.line_cache[line] = _read_line(line, catalogue)
        source = f"{where} line {line_no}"
        if facts.trailer is not None:
            _use_generic_trailer(facts, source, evidence)
        for rule, captured, matched in facts.hits:
            _use_rule_hit(rule, captured, matched, source, evidence)


def _within_budget(text: str) -> str:
    """``text``, or its head and tail when it is longer than the scanning budget."""
    if len(text) <= TEXT_BUDGET:
        return text
    half = TEXT_BUDGET // 2
    return text[:half] + "\n" + text[-half:]


def _marked_line_starts(text: str, catalogue: Catalogue) -> list[int]:
    """Starts of the lines holding a gate's literal (or an ungated rule's match)."""
    lowered = text.lower()
    starts = []
    for gate in catalogue.gates:
        if gate.needle in lowered:
            positions = _needle_positions(text, lowered, gate)
            starts += [text.rfind("\n", 0, position) + 1 for position in positions]
    if catalogue.ungated is not None:
        starts += line_starts_matching(text, catalogue.ungated)
    return starts


def _needle_positions(text: str, lowered: str, gate: Gate) -> Iterable[int]:
    # lower() never shrinks a character, so equal lengths mean positions line up one to one
    # and the fast str.find can be used; otherwise fall back to the case-insensitive regex.
    if len(lowered) != len(text):
        return [found.start() for found in gate.locate.finditer(text)]
    positions = []
    position = lowered.find(gate.needle)
    while position != -1:
        positions.append(position)
        position = lowered.find(gate.needle, position + len(gate.needle))
    return positions


def _read_line(line: str, catalogue: Catalogue) -> _LineFacts:
    lowered = line.lower()
    trailer = None
    rules: list[LineRule] = []
    for gate in catalogue.gates:
        if gate.needle in lowered:
            rules += gate.rules
            trailer = trailer or (match_generic_trailer(line) if gate.generic_trailer else None)
    hits = []
    content = list_item_content(line)  # "- Requested by: …" says what "Requested by: …" says
    for rule in (*rules, *catalogue.ungated_rules):
        found = rule.regex.search(content)
        if found is not None:
            hits.append((rule, found[rule.group] if rule.group else "", found[0]))
    coauthor = parse_identity(trailer[1]) if trailer and trailer[0] == COAUTHOR_KEY else None
    coauthor_entry = catalogue.agent_for_email(coauthor.email) if coauthor else None
    return _LineFacts(
        trailer=trailer,
        coauthor=coauthor,
        coauthor_agent=coauthor_entry.name if coauthor_entry else None,
        hits=tuple(hits),
    )


def _use_generic_trailer(facts: _LineFacts, source: str, evidence: _Evidence) -> None:
    key, value = facts.trailer or ("", "")
    if facts.coauthor is not None:
        evidence.co_authors.append(facts.coauthor)
        if facts.coauthor_agent is not None:
            evidence.add(facts.coauthor_agent, "coauthor_trailer", Strength.TRAILER, source, value)
    elif key == SESSION_KEY:
        evidence.add(UNKNOWN_AGENT, "session_trailer", Strength.TRAILER, source, value)
        session_id = clean_session_id(value)
        if session_id is not None:
            evidence.declared_sessions.append(session_id)
    elif key == LAUNCHER_KEY:
        evidence.add(UNKNOWN_AGENT, "launcher_trailer", Strength.TRAILER, source, value)
        evidence.declared_launchers.append(value.strip().removeprefix("@"))


def _use_rule_hit(
    rule: LineRule, captured: str, matched: str, source: str, evidence: _Evidence
) -> None:
    if rule.purpose == "launcher":
        evidence.launcher_lines.append((rule.agent, captured))
        return
    if rule.purpose == "session":
        evidence.vendor_sessions.append((rule.agent, captured))
    evidence.add(rule.agent, rule.kind, rule.strength, source, matched)


# --- judging ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Verdict:
    agent: str | None  # None: not an agent change
    ai_assisted: bool


def _judge(
    signals: Sequence[Signal],
    catalogue: Catalogue,
    threshold: Strength,
    assisted_is_agent: bool,
) -> _Verdict:
    vendor = [s for s in signals if s.agent != UNKNOWN_AGENT]
    assisted_agents = {s.agent for s in vendor if catalogue.is_assisted_only(s.agent)}
    agents = [s for s in vendor if s.agent not in assisted_agents]
    counting = vendor if assisted_is_agent else agents
    qualifying = [s for s in counting if s.strength >= threshold]
    declared = any(s.kind in _DECLARATION_KINDS for s in signals if s.agent == UNKNOWN_AGENT)
    # Assistance alone: AI suggestions were accepted but no agent signal reached the threshold.
    ai_assisted = bool(assisted_agents) and not any(s.strength >= threshold for s in agents)
    agent = _strongest_agent(qualifying)
    if agent is None and declared:
        agent = _strongest_agent(counting) or UNKNOWN_AGENT
    return _Verdict(agent=agent, ai_assisted=ai_assisted)


def _strongest_agent(signals: Sequence[Signal]) -> str | None:
    """The agent of the strongest signal; ties go to the agent with most signals, then first."""
    best: dict[str, tuple[int, int, int]] = {}
    for position, signal in enumerate(signals):
        strength, count, first = best.get(signal.agent, (0, 0, -position))
        best[signal.agent] = (max(strength, signal.strength), count + 1, first)
    if not best:
        return None
    return max(best, key=lambda agent: best[agent])


# --- session and launcher --------------------------------------------------------------------


def _session(
    evidence: _Evidence, agent: str, pr: PullRequest | None, fallback: str | None
) -> tuple[str | None, bool]:
    """The generic trailer's id, else the agent's vendor session id, else a derived id."""
    if evidence.declared_sessions:
        return evidence.declared_sessions[0], False
    for session_agent, session_id in evidence.vendor_sessions:
        if session_agent == agent:
            return session_id, False
    if pr is not None:
        return f"pr:{pr.repo_id}:{pr.number}", True
    return (fallback, True) if fallback else (None, False)


def _all_sessions(
    primary: str | None, evidence: _Evidence, pr: PullRequest | None, fallback: str | None
) -> tuple[str, ...]:
    """Every session id the change carries, the primary first: any of them can be revoked.

    A second ``Agent-Session-Id`` in an edited body or a later commit must not replace the
    revoked one, so declared, vendor and derived ids are all kept.
    """
    ids = [primary] if primary else []
    ids += evidence.declared_sessions
    ids += [session_id for _, session_id in evidence.vendor_sessions if session_id]
    if pr is not None:
        ids.append(f"pr:{pr.repo_id}:{pr.number}")
    elif fallback:
        ids.append(fallback)
    return tuple(dict.fromkeys(ids))


def _launcher_candidates(
    evidence: _Evidence,
    agent: str,
    pr: PullRequest | None,
    commits: Sequence[Commit],
    catalogue: Catalogue,
) -> tuple[str, ...]:
    """Everyone the change names as its launcher, the accountable developer first.

    The vendor's own marker (a ``line`` rule such as Devin's "Requested by") outranks the
    unauthenticated ``Agent-Launched-By`` trailer, which outranks the agent's other rules.
    Every candidate is returned because every one of them must be kept from countersigning:
    a forged trailer must not let the real launcher approve.
    """
    entry = catalogue.get(agent)
    rules = entry.launcher if entry is not None else DEFAULT_LAUNCHER_RULES
    vendor_lines = [rule for rule in rules if rule.source == "line"]
    other_rules = [rule for rule in rules if rule.source != "line"]
    ordered: list[str] = []
    if vendor_lines:
        ordered += _launcher_lines(evidence, agent, catalogue)
    ordered += [login for login in evidence.declared_launchers if _human_login(login, catalogue)]
    for rule in other_rules:
        login = _apply_launcher_rule(rule, evidence, agent, pr, commits, catalogue)
        if login is not None:
            ordered.append(login)
            break
    unique: dict[str, str] = {}
    for login in ordered:
        unique.setdefault(login.lower(), login)
    return tuple(unique.values())


def _launcher_lines(evidence: _Evidence, agent: str, catalogue: Catalogue) -> list[str]:
    return [
        login
        for line_agent, login in evidence.launcher_lines
        if line_agent == agent and _human_login(login, catalogue)
    ]


def _apply_launcher_rule(
    rule: LauncherRule,
    evidence: _Evidence,
    agent: str,
    pr: PullRequest | None,
    commits: Sequence[Commit],
    catalogue: Catalogue,
) -> str | None:
    """The first login one non-``line`` rule finds (``line`` rules: see the candidates)."""
    if rule.source == "agent_coauthor":
        identities = (
            who for who_agent, who in evidence.agent_commit_coauthors if who_agent == agent
        )
        return _first_human_login(_coauthor_logins(identities, catalogue), catalogue)
    if rule.source == "coauthor":
        return _first_human_login(_coauthor_logins(evidence.co_authors, catalogue), catalogue)
    if rule.source == "assignee":
        return _first_human_account(pr.assignees if pr else (), catalogue)
    if rule.source == "pr_author":
        return _first_human_account((pr.author,) if pr else (), catalogue)
    return _first_human_account(_git_author_accounts(commits, catalogue), catalogue)


def _coauthor_logins(co_authors: Iterable[GitIdentity], catalogue: Catalogue) -> Iterable[str]:
    """Logins of co-authors who are not agents and wrote a GitHub no-reply address."""
    for identity in co_authors:
        if catalogue.agent_for_email(identity.email) is not None:
            continue
        noreply = github_noreply(identity.email)
        if noreply is not None:
            yield noreply[1]


def _git_author_accounts(commits: Sequence[Commit], catalogue: Catalogue) -> Iterable[Account]:
    """Linked accounts of git authors, skipping commits authored under an agent's e-mail."""
    for commit in commits:
        if commit.author_account is None:
            continue
        if catalogue.agent_for_email(commit.author.email) is None:
            yield commit.author_account


def _first_human_login(logins: Iterable[str], catalogue: Catalogue) -> str | None:
    return next((login for login in logins if _human_login(login, catalogue)), None)


def _first_human_account(accounts: Iterable[Account], catalogue: Catalogue) -> str | None:
    for account in accounts:
        if not catalogue.is_agent_account(account) and _human_login(account.login, catalogue):
            return account.login
    return None


def _human_login(login: str, catalogue: Catalogue) -> bool:
    """A launcher is never an agent or a bot, and must look like a GitHub login."""
    return is_github_login(login) and not catalogue.is_agent_login(login)


# --- small helpers ---------------------------------------------------------------------------


def _unique_identities(identities: Iterable[GitIdentity]) -> tuple[GitIdentity, ...]:
    unique: dict[str, GitIdentity] = {}
    for identity in identities:
        key = identity.email.lower() or identity.name.lower()
        unique.setdefault(key, identity)
    return tuple(unique.values())


def _who(account: Account) -> str:
    return f"{account.login} ({account.id})" if account.id is not None else account.login


def _git(identity: GitIdentity) -> str:
    return f"{identity.name} <{identity.email}>"


def _short(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"
