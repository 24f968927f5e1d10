"""Agents and marker generations added in catalogue 2026.12, and the classes of miss they fixed.

Each test names the class: quoted markers, list-item launcher lines, id-less no-reply
addresses, new vendors' markers, and the launcher of a comment-triggered GitHub Action.
"""

from __future__ import annotations

import pytest
from builders import (
    ALICE,
    ALICE_NOREPLY,
    BOB,
    BOB_NOREPLY,
    CLAUDE_BOT,
    CLAUDE_BOT_GIT,
    CLAUDE_COAUTHOR,
    CLAUDE_FOOTER_AI,
    CLAUDE_GENERATED_BY,
    CODEX_FOOTER,
    CODEX_NOREPLY_COAUTHOR,
    DEVIN_BOT,
    DEVIN_GIT,
    DEVIN_SESSION,
    KIRO_IDLESS_GIT,
    OPENCODE_COAUTHOR,
    OPENCODE_FOOTER,
    OPENCODE_SHARE,
    OPENHANDS_AI_AGENT_LINE,
    SISYPHUS_COAUTHOR,
    SISYPHUS_DEV_COAUTHOR,
    SISYPHUS_FOOTER,
    commit,
    git,
    message,
    pull_request,
)

from github_app.core.catalogue import default_catalogue
from github_app.core.detection import TEXT_BUDGET, detect

CATALOGUE = default_catalogue()


class TestQuotedMarkersAreNotEvidence:
    @pytest.mark.parametrize(
        "body",
        [
            f"Our convention, as the docs say:\n\n> {CLAUDE_COAUTHOR}\n> {CLAUDE_FOOTER_AI}\n",
            f"Template:\n\n    {CLAUDE_FOOTER_AI}\n    Agent-Session-Id: abc\n",
            f"Quote:\n\n>     {OPENCODE_FOOTER}\n",
            f"Nested:\n\n> > {SISYPHUS_FOOTER}\n",
        ],
    )
    def test_blockquotes_and_indented_code_in_a_pr_body(self, body: str) -> None:
        result = detect(pull_request(body=body), [commit()], CATALOGUE)
        assert not result.is_agent, result.signals

    def test_indented_lines_of_a_commit_message_quote(self) -> None:
        msg = message(
            "Revert docs", body=f"Reverts:\n    {CLAUDE_COAUTHOR}\n    {CLAUDE_FOOTER_AI}"
        )
        assert not detect(None, [commit(msg)], CATALOGUE).is_agent

    def test_indented_list_continuation_is_still_read(self) -> None:
        body = (
            "- Summary of the change\n\n"
            f"    Link to Devin run: https://app.devin.ai/sessions/{DEVIN_SESSION}\n"
        )
        result = detect(pull_request(body=body), [commit()], CATALOGUE)
        assert result.agent == "devin" and result.session_id == DEVIN_SESSION

    def test_the_real_trailer_after_a_quote_still_counts(self) -> None:
        msg = message("Add cache", CLAUDE_COAUTHOR, body=f"Docs say:\n> {CLAUDE_FOOTER_AI}")
        result = detect(None, [commit(msg)], CATALOGUE)
        assert result.agent == "claude-code"
        assert [s.kind for s in result.signals] == ["coauthor_trailer"]


class TestListItemLauncherLines:
    @pytest.mark.parametrize(
        "line",
        [
            "- Requested by: Bob Builder (@bob)",
            "* **Requested by:** Bob Builder (bob@example.com) (@bob)",
            "1. Requested by: Bob (@bob)",
            "  - [x] Requested by: Bob (@bob)",
        ],
    )
    def test_devin_requested_by_as_a_list_item(self, line: str) -> None:
        body = f"## Summary\n- Link to Devin run: https://app.devin.ai/sessions/{DEVIN_SESSION}\n{line}\n"
        devin_commit = commit(
            message("Add limits", f"Co-Authored-By: alice <{ALICE_NOREPLY}>"),
            author=DEVIN_GIT,
            author_account=DEVIN_BOT,
        )
        result = detect(pull_request(author=DEVIN_BOT, body=body), [devin_commit], CATALOGUE)
        assert (result.agent, result.launched_by) == ("devin", "bob")


class TestIdlessNoreplyAddresses:
    def test_kiro_agent_without_an_id(self) -> None:
        result = detect(None, [commit(author=KIRO_IDLESS_GIT, author_account=None)], CATALOGUE)
        assert result.agent == "kiro"

    def test_catalogued_login_with_an_unlisted_id(self) -> None:
        author = git("Kiro Agent", "12345+kiro-agent@users.noreply.github.com")
        assert detect(None, [commit(author=author, author_account=None)], CATALOGUE).is_agent

    def test_a_person_with_an_idless_address_is_not_an_agent(self) -> None:
        author = git("Alice", "alice@users.noreply.github.com")
        assert not detect(None, [commit(author=author)], CATALOGUE).is_agent


class TestNewGenerations:
    @pytest.mark.parametrize(
        ("trailers", "agent"),
        [
            ((CLAUDE_GENERATED_BY,), "claude-code"),
            ((CODEX_NOREPLY_COAUTHOR,), "codex"),
            ((CODEX_FOOTER,), "codex"),
            (("Co-authored-by: OmX <omx@oh-my-codex.dev>",), "codex"),
            ((OPENCODE_FOOTER, OPENCODE_COAUTHOR), "opencode"),
            ((OPENCODE_COAUTHOR,), "opencode"),
            ((SISYPHUS_FOOTER, SISYPHUS_COAUTHOR), "opencode"),
            ((f"*{SISYPHUS_FOOTER}*",), "opencode"),
            ((SISYPHUS_DEV_COAUTHOR,), "opencode"),
        ],
    )
    def test_commit_markers(self, trailers: tuple[str, ...], agent: str) -> None:
        result = detect(None, [commit(message("Change", *trailers))], CATALOGUE)
        assert result.agent == agent

    def test_opencode_share_link_is_its_session(self) -> None:
        body = f"Fixes #3\n\n[opencode session]({OPENCODE_SHARE})\n"
        result = detect(pull_request(body=body), [commit()], CATALOGUE)
        assert (result.agent, result.session_id) == ("opencode", "x7Kq2mPa")

    def test_openhands_ai_agent_line_names_the_launcher(self) -> None:
        body = f"Fixes the parser.\n\n{OPENHANDS_AI_AGENT_LINE}\n"
        result = detect(pull_request(author=ALICE, body=body), [commit()], CATALOGUE)
        assert (result.agent, result.launched_by) == ("openhands", "bob")


class TestClaudeActionTriggeredByAReviewer:
    def test_the_commenter_is_the_launcher_not_the_pr_author(self) -> None:
        # Alice opened the PR and wrote its first commit; Bob commented "@claude fix the
        # typo"; the Action pushed a claude[bot] commit co-authored by Bob.
        own = commit(message("Add parser"))
        action = commit(
            message("Fix typo", f"Co-authored-by: bob <{BOB_NOREPLY}>"),
            author=CLAUDE_BOT_GIT,
            author_account=CLAUDE_BOT,
        )
        result = detect(pull_request(author=ALICE), [own, action], CATALOGUE)
        assert result.agent == "claude-code"
        assert result.launched_by == "bob"
        assert "bob" in result.launcher_candidates

    def test_cli_sessions_keep_the_git_author(self) -> None:
        cli = commit(message("Add cache", CLAUDE_COAUTHOR), author_account=BOB)
        assert detect(pull_request(author=ALICE), [cli], CATALOGUE).launched_by == "bob"


class TestEverySessionIsKept:
    def test_declared_vendor_and_derived_ids_primary_first(self) -> None:
        body = f"Link to Devin run: https://app.devin.ai/sessions/{DEVIN_SESSION}\n"
        commits = [
            commit(message("One", "Agent-Session-Id: sess-1")),
            commit(message("Two", "Agent-Session-Id: sess-2")),
        ]
        result = detect(pull_request(author=DEVIN_BOT, body=body), commits, CATALOGUE)
        assert result.session_id == "sess-1"
        assert result.session_ids == ("sess-1", "sess-2", DEVIN_SESSION, "pr:4242:17")

    def test_catalogue_version_on_every_attribution(self) -> None:
        assert detect(pull_request(), [commit()], CATALOGUE).catalogue_version == "2026.12.1"


def test_text_over_budget_keeps_its_head_and_tail() -> None:
    filler = "x" * (TEXT_BUDGET * 2)
    msg = message("Big", CLAUDE_COAUTHOR, body=filler)
    assert detect(None, [commit(msg)], CATALOGUE).agent == "claude-code"
    assert not detect(
        None, [commit(message("Big", body=filler + "\n" + filler))], CATALOGUE
    ).signals
