"""Detection's rules: thresholds, agent choice, session and launcher precedence, co-authors."""

from __future__ import annotations

import pytest
from builders import (
    ALICE_NOREPLY,
    BOB,
    BOB_NOREPLY,
    CLAUDE_COAUTHOR,
    CLAUDE_FOOTER_AI,
    CLAUDE_SESSION,
    CLAUDE_SESSION_TRAILER,
    COPILOT_AGENT,
    COPILOT_AGENT_GIT,
    COPILOT_LOGS,
    COPILOT_SESSION,
    CURSOR_COAUTHOR,
    DEVIN_BODY,
    DEVIN_BOT,
    DEVIN_GIT,
    commit,
    git,
    human,
    message,
    pull_request,
)

from github_app.core.catalogue import default_catalogue
from github_app.core.detection import detect
from github_app.core.models import Attribution, GitIdentity, Strength

CATALOGUE = default_catalogue()


class TestThreshold:
    BRANCH_ONLY = pull_request(head_ref="claude/tidy-x1Y2z")

    @pytest.mark.parametrize(
        ("threshold", "is_agent"),
        [
            (Strength.BRANCH_PREFIX, True),
            (Strength.TRAILER, False),
            (Strength.SESSION_URL, False),
            (Strength.IDENTITY, False),
        ],
    )
    def test_branch_prefix_alone(self, threshold: Strength, is_agent: bool) -> None:
        result = detect(self.BRANCH_ONLY, [commit()], CATALOGUE, threshold=threshold)
        assert result.is_agent is is_agent
        assert result.agent == ("claude-code" if is_agent else None)
        assert len(result.signals) == 1  # the signal is recorded either way

    @pytest.mark.parametrize(
        ("threshold", "is_agent"),
        [(Strength.TRAILER, True), (Strength.SESSION_URL, True), (Strength.IDENTITY, False)],
    )
    def test_session_url(self, threshold: Strength, is_agent: bool) -> None:
        pr = pull_request(body=f"Done.\n\n{COPILOT_LOGS}")
        assert detect(pr, [], CATALOGUE, threshold=threshold).is_agent is is_agent

    def test_identity_counts_at_every_threshold(self) -> None:
        bot_commit = commit(author=COPILOT_AGENT_GIT, author_account=COPILOT_AGENT)
        for threshold in Strength:
            assert detect(None, [bot_commit], CATALOGUE, threshold=threshold).is_agent

    def test_generic_trailer_picks_a_weaker_vendor_signal_over_unknown_agent(self) -> None:
        msg = message("Change", CLAUDE_COAUTHOR, "Agent-Session-Id: s-1")
        result = detect(None, [commit(msg)], CATALOGUE, threshold=Strength.IDENTITY)
        assert (result.is_agent, result.agent, result.session_id) == (True, "claude-code", "s-1")

    def test_agent_launched_by_alone_declares_an_agent_change(self) -> None:
        result = detect(
            pull_request(), [commit(message("Change", "Agent-Launched-By: bob"))], CATALOGUE
        )
        assert (result.agent, result.launched_by, result.session_derived) == (
            "unknown-agent",
            "bob",
            True,
        )


class TestAgentChoice:
    def test_most_signals_break_a_strength_tie(self) -> None:
        commits = [
            commit(message("One", CURSOR_COAUTHOR)),
            commit(message("Two", CLAUDE_COAUTHOR, CLAUDE_FOOTER_AI)),
        ]
        assert detect(None, commits, CATALOGUE).agent == "claude-code"

    def test_first_seen_breaks_a_full_tie(self) -> None:
        cursor_first = [
            commit(message("A", CURSOR_COAUTHOR)),
            commit(message("B", CLAUDE_COAUTHOR)),
        ]
        assert detect(None, cursor_first, CATALOGUE).agent == "cursor"
        assert detect(None, cursor_first[::-1], CATALOGUE).agent == "claude-code"

    def test_signals_below_threshold_do_not_choose_the_agent(self) -> None:
        pr = pull_request(head_ref="codex/x")
        assert detect(pr, [commit(message("A", CLAUDE_COAUTHOR))], CATALOGUE).agent == "claude-code"


class TestSession:
    def test_generic_trailer_beats_vendor_session(self) -> None:
        msg = message("Fix", CLAUDE_SESSION_TRAILER, "Agent-Session-Id: team-session-7")
        result = detect(pull_request(), [commit(msg)], CATALOGUE)
        assert (result.session_id, result.session_derived) == ("team-session-7", False)

    def test_first_generic_trailer_wins(self) -> None:
        commits = [
            commit(message("A", "Agent-Session-Id: first")),
            commit(message("B", "Agent-Session-Id: second")),
        ]
        assert detect(None, commits, CATALOGUE).session_id == "first"

    def test_vendor_session_beats_derived(self) -> None:
        result = detect(pull_request(), [commit(message("Fix", CLAUDE_SESSION_TRAILER))], CATALOGUE)
        assert (result.session_id, result.session_derived) == (CLAUDE_SESSION, False)

    def test_only_the_chosen_agents_session_is_used(self) -> None:
        bot_commit = commit(author=COPILOT_AGENT_GIT, author_account=COPILOT_AGENT)
        pr = pull_request(body=f"See https://claude.ai/code/{CLAUDE_SESSION}\n")
        result = detect(pr, [bot_commit], CATALOGUE)
        assert result.agent == "copilot-coding-agent"
        assert (result.session_id, result.session_derived) == ("pr:4242:17", True)
        pr_with_logs = pull_request(body=f"{pr.body}{COPILOT_LOGS}\n")
        assert detect(pr_with_logs, [bot_commit], CATALOGUE).session_id == COPILOT_SESSION

    def test_derived_from_repo_id_and_number(self) -> None:
        pr = pull_request(repo_id=99, number=5)
        result = detect(pr, [commit(message("A", CLAUDE_COAUTHOR))], CATALOGUE)
        assert (result.session_id, result.session_derived) == ("pr:99:5", True)

    def test_push_uses_the_fallback(self) -> None:
        pushed = [commit(message("A", CLAUDE_COAUTHOR))]
        result = detect(None, pushed, CATALOGUE, fallback_session_id="push:4242:abc")
        assert (result.session_id, result.session_derived) == ("push:4242:abc", True)
        bare = detect(None, pushed, CATALOGUE)
        assert (bare.session_id, bare.session_derived) == (None, False)

    def test_unprintable_generic_session_id_is_not_used_but_still_declares(self) -> None:
        msg = message("A", "Agent-Session-Id: two words")
        result = detect(pull_request(), [commit(msg)], CATALOGUE)
        assert (result.is_agent, result.session_id, result.session_derived) == (
            True,
            "pr:4242:17",
            True,
        )

    def test_human_change_has_no_session(self) -> None:
        result = detect(pull_request(), [commit()], CATALOGUE, fallback_session_id="x")
        assert (result.session_id, result.session_derived, result.launched_by) == (
            None,
            False,
            None,
        )


class TestLauncher:
    def _devin(self, *trailers: str):
        devin_commit = commit(
            message("Add rate limiting", f"Co-Authored-By: alice <{ALICE_NOREPLY}>", *trailers),
            author=DEVIN_GIT,
            author_account=DEVIN_BOT,
        )
        return detect(pull_request(author=DEVIN_BOT, body=DEVIN_BODY), [devin_commit], CATALOGUE)

    def test_vendor_marker_outranks_the_launched_by_trailer_but_both_are_candidates(self) -> None:
        result = self._devin("Agent-Launched-By: @carol")
        assert result.launched_by == "bob"
        assert result.launcher_candidates == ("bob", "carol", "alice")

    def test_requested_by_beats_coauthor(self) -> None:
        assert self._devin().launched_by == "bob"

    @pytest.mark.parametrize("bogus", ["Copilot", "claude[bot]", "not a login!", ""])
    def test_agent_launched_by_naming_an_agent_or_junk_is_ignored(self, bogus: str) -> None:
        assert self._devin(f"Agent-Launched-By: {bogus}").launched_by == "bob"

    def test_coauthor_needs_a_github_noreply_address(self) -> None:
        bot_commit = commit(
            message(
                "Fix",
                "Co-authored-by: Bob <bob@example.com>",
                f"Co-authored-by: bob <{BOB_NOREPLY}>",
            ),
            author=COPILOT_AGENT_GIT,
            author_account=COPILOT_AGENT,
        )
        assert detect(None, [bot_commit], CATALOGUE).launched_by == "bob"

    def test_legacy_noreply_without_id(self) -> None:
        msg = message("Fix", "Co-authored-by: Bob <bob@users.noreply.github.com>")
        bot_commit = commit(msg, author=COPILOT_AGENT_GIT, author_account=COPILOT_AGENT)
        assert detect(None, [bot_commit], CATALOGUE).launched_by == "bob"

    def test_never_an_agent_or_bot(self) -> None:
        bot_commit = commit(
            "Initial plan\n", author=COPILOT_AGENT_GIT, author_account=COPILOT_AGENT
        )
        pr = pull_request(author=COPILOT_AGENT, assignees=[COPILOT_AGENT])
        result = detect(pr, [bot_commit], CATALOGUE)
        assert result.is_agent and result.launched_by is None

    def test_git_author_skips_commits_under_an_agent_email(self) -> None:
        claude_web = commit(
            message("Fix", CLAUDE_SESSION_TRAILER),
            author=git("Claude", "noreply@anthropic.com"),
            author_account=human("somebody", 77),  # whatever account GitHub linked
        )
        result = detect(pull_request(author=BOB), [claude_web], CATALOGUE)
        assert result.launched_by == "bob"

    def test_unknown_agent_uses_default_rules(self) -> None:
        msg = message("Fix", "Agent-Session-Id: s-9")
        pr = pull_request(author=human("dave", 4))
        assert detect(pr, [commit(msg, author_account=BOB)], CATALOGUE).launched_by == "bob"


def test_co_authors_are_every_identity_seen_deduplicated() -> None:
    commits = [
        commit(message("A", CLAUDE_COAUTHOR, f"Co-authored-by: bob <{BOB_NOREPLY}>")),
        commit(
            message("B", "co-authored-by: Claude Opus 4.6 (1M context) <noreply@anthropic.com>")
        ),
        commit(message("C", "Co-authored-by: Erin")),
    ]
    pr = pull_request(body=f"Co-authored-by: bob <{BOB_NOREPLY}>")
    assert detect(pr, commits, CATALOGUE).co_authors == (
        GitIdentity(name="bob", email=BOB_NOREPLY),
        GitIdentity(name="Claude", email="noreply@anthropic.com"),
        GitIdentity(name="Erin", email=""),
    )


def test_signals_name_their_source_and_line() -> None:
    bot_commit = commit(
        message("Fix", COPILOT_LOGS, body="Details."),
        author=COPILOT_AGENT_GIT,
        author_account=COPILOT_AGENT,
        sha="abcdef0123456789" + "0" * 24,
    )
    result = detect(pull_request(author=BOB, head_ref="copilot/fix"), [bot_commit], CATALOGUE)
    assert [(s.kind, s.source) for s in result.signals] == [
        ("branch_prefix", "PR branch"),
        ("author_account", "commit abcdef0 author"),
        ("author_email", "commit abcdef0 author"),
        ("committer_account", "commit abcdef0 committer"),
        ("committer_email", "commit abcdef0 committer"),
        ("session_url", "commit abcdef0 message line 5"),
    ]
    assert all(len(s.detail) <= 120 for s in result.signals)


def test_crlf_bodies_and_unclosed_fences_do_not_hide_markers() -> None:
    body = "Notes:\r\n```\r\nnot closed\r\n" + CLAUDE_FOOTER_AI + "\r\n"
    result = detect(pull_request(body=body), [], CATALOGUE)
    assert result.agent == "claude-code"
    assert result.signals[0].source == "PR body line 4"


def test_same_input_same_attribution() -> None:
    commits = [commit(message("A", CLAUDE_COAUTHOR)), commit(author_account=BOB)]
    first = detect(pull_request(), commits, CATALOGUE)
    assert detect(pull_request(), commits, CATALOGUE) == first
    assert isinstance(first, Attribution)
