"""The agent catalogue: the shipped data, its schema, org extensions and errors."""

from __future__ import annotations

from pathlib import Path

import builders
import pytest
import yaml
from builders import CLAUDE_COAUTHOR, commit, message, pull_request

from github_app.core.catalogue import (
    DEFAULT_CATALOGUE_PATH,
    UNKNOWN_AGENT,
    LinearRegex,
    default_catalogue,
    load_catalogue,
    required_literal,
)
from github_app.core.detection import detect
from github_app.core.models import Account, Strength

REQUIRED_AGENTS = {
    "claude-code", "copilot-coding-agent", "copilot-cli", "copilot-autofix", "codex", "cursor",
    "devin", "aider", "jules", "gemini-cli", "kiro", "openhands", "amp", "replit-agent",
    "warp-oz",
}  # fmt: skip


def write(tmp_path: Path, agents: list[dict], version: int = 1) -> Path:
    path = tmp_path / "agents.yml"
    path.write_text(yaml.safe_dump({"version": version, "agents": agents}), encoding="utf-8")
    return path


class TestShippedCatalogue:
    def test_default_path_is_the_repository_policy(self) -> None:
        repository = Path(__file__).resolve().parents[2]
        assert repository / "policies" / "agents.yml" == DEFAULT_CATALOGUE_PATH
        assert DEFAULT_CATALOGUE_PATH.is_file()

    def test_covers_every_agent_of_the_fingerprints(self) -> None:
        assert set(load_catalogue().names()) >= REQUIRED_AGENTS

    def test_every_entry_carries_some_evidence(self) -> None:
        catalogue = load_catalogue()
        for name in catalogue.names():
            entry = catalogue.get(name)
            evidence = (
                entry.identities.emails,
                entry.identities.account_ids,
                entry.identities.logins,
                entry.session_patterns,
                entry.markers,
            )
            assert any(evidence), name

    def test_only_assistance_products_are_assisted_only(self) -> None:
        catalogue = load_catalogue()
        assisted = {name for name in catalogue.names() if catalogue.is_assisted_only(name)}
        assert assisted == {"copilot-autofix", "gemini-code-assist"}

    def test_default_catalogue_is_loaded_once_and_compiled_once(self) -> None:
        catalogue = default_catalogue()
        assert default_catalogue() is catalogue
        assert catalogue.gates is catalogue.gates
        assert all(isinstance(rule.regex, LinearRegex) for rule in catalogue.line_rules)
        assert catalogue.ungated is None  # every shipped rule is gated by a literal

    def test_identity_lookups(self) -> None:
        catalogue = default_catalogue()
        assert catalogue.agent_for_email("NoReply@Anthropic.com").name == "claude-code"
        assert catalogue.agent_for_email("claude@anthropic.com") is None
        assert (
            catalogue.agent_for_email("claude[bot]@users.noreply.github.com").name == "claude-code"
        )
        # An id-less no-reply address of a catalogued agent login is that agent's account.
        assert catalogue.agent_for_email("copilot@users.noreply.github.com").name == (
            "copilot-coding-agent"
        )
        assert catalogue.agent_for_email("kiro-agent@users.noreply.github.com").name == "kiro"
        assert catalogue.agent_for_email("5+kiro-agent@users.noreply.github.com").name == "kiro"
        assert catalogue.agent_for_email("alice@users.noreply.github.com") is None
        assert catalogue.agent_for_account(Account(login="Copilot", type="Bot")).name == (
            "copilot-coding-agent"
        )
        # A person can't be an App: a User account with a bot's login and another id is not one.
        assert catalogue.agent_for_account(Account(login="kiro-agent", id=5, type="User")) is None
        assert catalogue.agent_for_account(Account(login="kiro-agent", id=244629292)).name == "kiro"
        assert catalogue.is_agent_account(Account(login="dependabot[bot]", id=49699333, type="Bot"))
        assert not catalogue.is_agent_account(Account(login="alice", id=1))
        assert catalogue.is_agent_login("Copilot") and catalogue.is_agent_login("renovate[bot]")
        assert catalogue.agent_for_branch("refs/heads/devin/123-x").name == "devin"
        assert catalogue.agent_for_label("CODEX").name == "codex"


class TestSchemaErrors:
    @pytest.mark.parametrize(
        ("entry", "complaint"),
        [
            ({"name": "Bad_Name"}, "kebab-case"),
            ({"name": UNKNOWN_AGENT}, "reserved"),
            ({"name": "x", "identities": {"emails": ["not-an-email"]}}, "not an e-mail"),
            ({"name": "x", "identities": {"account_ids": [-3]}}, "positive"),
            ({"name": "x", "session_patterns": ["https://x\\.dev/(?P<id>\\d+)"]}, "(?P<session>"),
            ({"name": "x", "session_patterns": ["(unclosed"]}, "not a valid regex"),
            ({"name": "x", "markers": ["^made by x(?=y)"]}, "not supported"),
            ({"name": "x", "markers": [{"pattern": "^x", "strength": "identity"}]}, "'trailer'"),
            (
                {"name": "x", "markers": [{"pattern": "^x", "strength": "mighty"}]},
                "unknown strength",
            ),
            ({"name": "x", "launcher": ["line"]}, "needs a pattern"),
            ({"name": "x", "launcher": [{"source": "line", "pattern": "by (\\w+)"}]}, "(?P<login>"),
            ({"name": "x", "launcher": ["psychic"]}, "launcher"),
            ({"name": "x", "colour": "blue"}, "colour"),
        ],
    )
    def test_invalid_entry_names_the_entry(
        self, tmp_path: Path, entry: dict, complaint: str
    ) -> None:
        path = write(tmp_path, [{"name": "fine", "identities": {"emails": ["a@b.c"]}}, entry])
        with pytest.raises(ValueError, match="agent catalogue") as raised:
            load_catalogue(path)
        text = str(raised.value)
        assert complaint in text
        assert f"entry {entry['name']!r}" in text or "entry #2" in text

    def test_entry_that_is_not_a_mapping_is_named_by_position(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="entry #1"):
            load_catalogue(write(tmp_path, ["just a string"]))

    def test_identity_claimed_by_two_entries(self, tmp_path: Path) -> None:
        path = write(
            tmp_path,
            [
                {"name": "one", "identities": {"emails": ["bot@x.dev"]}},
                {"name": "two", "identities": {"emails": ["BOT@x.dev"]}},
            ],
        )
        with pytest.raises(ValueError, match=r"'bot@x\.dev' is claimed by 'one' and 'two'"):
            load_catalogue(path)

    def test_entry_defined_twice(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="'one' is defined twice"):
            load_catalogue(write(tmp_path, [{"name": "one"}, {"name": "one"}]))

    def test_unsupported_version(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="unsupported catalogue version 2"):
            load_catalogue(write(tmp_path, [{"name": "one"}], version=2))

    @pytest.mark.parametrize(
        ("content", "complaint"),
        [
            ("agents: [\n", "not valid YAML"),
            ("- a\n", "expected a mapping"),
            ("agents: 3\n", "list"),
        ],
    )
    def test_malformed_file(self, tmp_path: Path, content: str, complaint: str) -> None:
        path = tmp_path / "agents.yml"
        path.write_text(content, encoding="utf-8")
        with pytest.raises(ValueError, match=complaint):
            load_catalogue(path)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="cannot read it"):
            load_catalogue(tmp_path / "absent.yml")


class TestOrgExtension:
    def test_new_agent(self) -> None:
        extra = [
            {
                "name": "acme-bot",
                "display_name": "ACME internal agent",
                "identities": {"emails": ["agent@acme.example"]},
                "session_patterns": [r"^ACME-Run:\s*(?P<session>run-\d+)$"],
            }
        ]
        catalogue = load_catalogue(extra=extra)
        acme_commit = commit(message("Fix", "ACME-Run: run-77"))
        result = detect(pull_request(), [acme_commit], catalogue)
        assert (result.agent, result.session_id) == ("acme-bot", "run-77")
        assert result.signals[0].strength == Strength.SESSION_URL
        assert catalogue.get("acme-bot").display_name == "ACME internal agent"
        assert "acme-bot" not in load_catalogue().names()  # the shipped file is untouched

    def test_extending_a_shipped_agent_adds_to_it(self) -> None:
        catalogue = load_catalogue(
            extra=[{"name": "claude-code", "branch_prefixes": ["ai/claude-"]}]
        )
        entry = catalogue.get("claude-code")
        assert entry.branch_prefixes == ("claude/", "ai/claude-")
        assert entry.display_name == "Claude Code"
        assert entry.identities.emails == ("noreply@anthropic.com",)
        assert catalogue.agent_for_branch("ai/claude-fix").name == "claude-code"
        assert detect(pull_request(), [commit(message("A", CLAUDE_COAUTHOR))], catalogue).is_agent

    def test_extension_may_promote_assistance_to_agent(self) -> None:
        catalogue = load_catalogue(extra=[{"name": "copilot-autofix", "assisted_only": False}])
        assert not catalogue.is_assisted_only("copilot-autofix")
        assert catalogue.get("copilot-autofix").identities.account_ids == (175728472,)

    def test_extension_cannot_demote_an_agent(self) -> None:
        with pytest.raises(ValueError, match="cannot mark an agent assisted_only"):
            load_catalogue(extra=[{"name": "devin", "assisted_only": True}])

    def test_invalid_extension_names_the_entry(self) -> None:
        with pytest.raises(ValueError, match="org extension: entry 'acme-bot'"):
            load_catalogue(extra=[{"name": "acme-bot", "session_patterns": ["no-group"]}])

    def test_extension_cannot_steal_an_identity(self) -> None:
        extra = [{"name": "acme-bot", "identities": {"emails": ["noreply@anthropic.com"]}}]
        with pytest.raises(ValueError, match="claimed by 'claude-code' and 'acme-bot'"):
            load_catalogue(extra=extra)


class TestGates:
    @pytest.mark.parametrize(
        ("pattern", "needle"),
        [
            (r"https://claude\.ai/code/(?P<session>x)", "https://claude.ai/code/"),
            (r"^\**Requested by:?\**\s.*?@(?P<login>x)", "Requested by"),
            (r"(?:www\.)?cursor\.com/(?:agents/|x)", "cursor.com/"),
            (r"^Agent-Logs-Url:\s*https?://\S+/sessions/", "Agent-Logs-Url:"),
            (r"a{2,3}bcde", "bcde"),
            (r"[]abc]defg", "defg"),
            (r"abc\sdefg", "defg"),
            (r"made\(by\)", "made(by)"),
            (r"foo|barbaz", ""),
            (r"\x41bcdef", ""),
            (r"(?:ACME|ACMEX)-(?P<session>\d+)", "-"),
        ],
    )
    def test_required_literal(self, pattern: str, needle: str) -> None:
        assert required_literal(pattern) == needle

    def test_every_shipped_needle_is_in_every_line_its_rules_match(self) -> None:
        catalogue = load_catalogue()
        texts = [v for v in vars(builders).values() if isinstance(v, str)]
        texts += [t for v in vars(builders).values() if isinstance(v, tuple) for t in v]
        lines = [line for text in texts for line in str(text).replace("\r", "").split("\n")]
        met = set()
        for gate in catalogue.gates:
            for rule in gate.rules:
                for line in lines:
                    if rule.regex.search(line):
                        met.add(rule)
                        assert gate.needle in line.lower(), (rule.regex.pattern, line)
        assert met == set(catalogue.line_rules)  # every rule meets at least one real-life line

    def test_org_rule_without_a_literal_still_works(self) -> None:
        extra = [{"name": "acme-bot", "session_patterns": [r"^(?:ACME|ACMEX)-(?P<session>\d+)$"]}]
        catalogue = load_catalogue(extra=extra)
        assert [rule.agent for rule in catalogue.ungated_rules] == ["acme-bot"]
        msg = message("Fix", body="Some words.\nACMEX-123")
        result = detect(pull_request(), [commit(msg), commit("plain\n")], catalogue)
        assert (result.agent, result.session_id) == ("acme-bot", "123")
        assert result.signals[0].source.endswith("message line 4")
