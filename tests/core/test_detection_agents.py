"""Every agent of the catalogue, detected from each generation of its real-life markers."""

from __future__ import annotations

import pytest
from builders import (
    AIDER_AUTHOR_SUFFIX,
    AIDER_COAUTHOR_NEW,
    AIDER_COAUTHOR_OLD,
    AIDER_SUBJECT,
    ALICE,
    ALICE_NOREPLY,
    AMP_COAUTHOR,
    AMP_THREAD,
    AMP_THREAD_TRAILER,
    BOB,
    BOB_NOREPLY,
    CLAUDE_BOT,
    CLAUDE_BOT_GIT,
    CLAUDE_COAUTHOR,
    CLAUDE_FOOTER_AI,
    CLAUDE_FOOTER_COM,
    CLAUDE_GIT,
    CLAUDE_SESSION,
    CLAUDE_SESSION_BARE,
    CLAUDE_SESSION_TRAILER,
    CODEX_BODY,
    CODEX_BODY_LINK,
    CODEX_GIT,
    CODEX_TASK,
    COPILOT_AGENT,
    COPILOT_AGENT_GIT,
    COPILOT_APP,
    COPILOT_BODY,
    COPILOT_CLI_COAUTHOR,
    COPILOT_LOGS,
    COPILOT_SESSION,
    CURSOR_AGENTS_LINK,
    CURSOR_BODY,
    CURSOR_BOT,
    CURSOR_COAUTHOR,
    CURSOR_GIT,
    CURSOR_MADE_WITH,
    CURSOR_SESSION,
    DEVIN_BODY,
    DEVIN_BOT,
    DEVIN_GIT,
    DEVIN_SESSION,
    GEMINI_CLI_BOT,
    GITHUB_COMMITTER,
    JULES_BODY,
    JULES_BOT,
    JULES_GIT,
    JULES_TASK,
    KIRO_GIT,
    OPENHANDS_BODY,
    OPENHANDS_CONVERSATION,
    OPENHANDS_GIT,
    REPLIT_GIT,
    REPLIT_SESSION,
    REPLIT_TRAILERS,
    WARP_COAUTHOR,
    WEB_FLOW,
    commit,
    git,
    message,
    pull_request,
)

from github_app.core.catalogue import default_catalogue
from github_app.core.detection import detect
from github_app.core.models import Attribution, Strength

CATALOGUE = default_catalogue()
DERIVED = "pr:4242:17"


def kinds(attribution: Attribution) -> set[tuple[str, str, Strength]]:
    """The (agent, kind, strength) of every signal."""
    return {(s.agent, s.kind, s.strength) for s in attribution.signals}


class TestClaudeCode:
    @pytest.mark.parametrize("footer", [CLAUDE_FOOTER_AI, CLAUDE_FOOTER_COM])
    def test_cli_footer_and_coauthor(self, footer: str) -> None:
        msg = message("Add retry", footer, CLAUDE_COAUTHOR)
        result = detect(pull_request(), [commit(msg)], CATALOGUE)
        assert result.is_agent and result.agent == "claude-code"
        assert kinds(result) == {
            ("claude-code", "footer", Strength.TRAILER),
            ("claude-code", "coauthor_trailer", Strength.TRAILER),
        }
        assert (result.session_id, result.session_derived) == (DERIVED, True)
        assert result.launched_by == "alice"

    def test_cli_footer_in_pr_body_only(self) -> None:
        pr = pull_request(body=f"## Summary\n- retries\n\n{CLAUDE_FOOTER_COM}\n")
        result = detect(pr, [commit()], CATALOGUE)
        assert result.agent == "claude-code"
        assert result.signals[0].source == "PR body line 4"

    def test_bare_session_url_line(self) -> None:
        msg = message("Fix typo", body=f"Small fix.\n\n{CLAUDE_SESSION_BARE}")
        result = detect(pull_request(), [commit(msg)], CATALOGUE)
        assert result.agent == "claude-code"
        assert (result.session_id, result.session_derived) == (CLAUDE_SESSION, False)
        assert ("claude-code", "session_url", Strength.SESSION_URL) in kinds(result)

    def test_claude_session_trailer(self) -> None:
        msg = message("Fix typo", CLAUDE_COAUTHOR, CLAUDE_SESSION_TRAILER)
        result = detect(pull_request(), [commit(msg)], CATALOGUE)
        assert result.agent == "claude-code"
        assert result.session_id == CLAUDE_SESSION and not result.session_derived

    def test_web_and_slack_commit_as_claude_under_human_pr(self) -> None:
        msg = message("Fix login redirect", CLAUDE_SESSION_TRAILER)
        claude_commit = commit(msg, author=CLAUDE_GIT, author_account=None)
        pr = pull_request(author=BOB, head_ref="claude/fix-login-redirect-a1B2c")
        result = detect(pr, [claude_commit], CATALOGUE)
        assert result.agent == "claude-code"
        assert ("claude-code", "author_email", Strength.IDENTITY) in kinds(result)
        assert ("claude-code", "committer_email", Strength.IDENTITY) in kinds(result)
        assert ("claude-code", "branch_prefix", Strength.BRANCH_PREFIX) in kinds(result)
        assert result.session_id == CLAUDE_SESSION
        assert result.launched_by == "bob"

    def test_github_action_bot_with_trigger_user_coauthor(self) -> None:
        msg = message("Handle None in parser", f"Co-authored-by: bob <{BOB_NOREPLY}>")
        action_commit = commit(msg, author=CLAUDE_BOT_GIT, author_account=CLAUDE_BOT)
        pr = pull_request(author=BOB, head_ref="claude/issue-12-20250601-1405")
        result = detect(pr, [action_commit], CATALOGUE)
        assert result.agent == "claude-code"
        assert ("claude-code", "author_account", Strength.IDENTITY) in kinds(result)
        assert result.launched_by == "bob"


class TestCopilotCodingAgent:
    def _pr_commits(self, committer, committer_account, verified):
        plan = commit(
            message("Initial plan", f"Co-authored-by: alice <{ALICE_NOREPLY}>"),
            author=COPILOT_AGENT_GIT,
            author_account=COPILOT_AGENT,
            committer=committer,
            committer_account=committer_account,
            verified=verified,
        )
        work = commit(
            message(
                "Fix flaky retry test", f"Co-authored-by: alice <{ALICE_NOREPLY}>", COPILOT_LOGS
            ),
            author=COPILOT_AGENT_GIT,
            author_account=COPILOT_AGENT,
            committer=committer,
            committer_account=committer_account,
            verified=verified,
        )
        return [plan, work]

    @pytest.mark.parametrize(
        ("committer", "committer_account", "verified"),
        [
            (COPILOT_AGENT_GIT, COPILOT_APP, False),  # until ~2026-04: the bot commits
            (GITHUB_COMMITTER, WEB_FLOW, True),  # since: GitHub <noreply@github.com>, signed
        ],
        ids=["bot-committer", "github-signed-committer"],
    )
    def test_assigned_pr(self, committer, committer_account, verified) -> None:
        pr = pull_request(
            author=COPILOT_AGENT,
            body=COPILOT_BODY,
            head_ref="copilot/fix-flaky-retry-test",
            assignees=[ALICE, COPILOT_AGENT],
        )
        result = detect(pr, self._pr_commits(committer, committer_account, verified), CATALOGUE)
        assert result.agent == "copilot-coding-agent"
        found = kinds(result)
        assert ("copilot-coding-agent", "pr_author", Strength.IDENTITY) in found
        assert ("copilot-coding-agent", "author_account", Strength.IDENTITY) in found
        assert ("copilot-coding-agent", "pr_body_marker", Strength.TRAILER) in found
        assert ("copilot-coding-agent", "session_url", Strength.SESSION_URL) in found
        assert result.session_id == COPILOT_SESSION
        assert result.launched_by == "alice"

    def test_launcher_from_human_assignee_without_coauthor(self) -> None:
        bot_commit = commit(
            "Initial plan\n", author=COPILOT_AGENT_GIT, author_account=COPILOT_AGENT
        )
        pr = pull_request(author=COPILOT_AGENT, assignees=[COPILOT_AGENT, BOB])
        result = detect(pr, [bot_commit], CATALOGUE)
        assert result.launched_by == "bob"


def test_copilot_cli_coauthor() -> None:
    result = detect(
        pull_request(), [commit(message("Add CLI flag", COPILOT_CLI_COAUTHOR))], CATALOGUE
    )
    assert result.agent == "copilot-cli"
    assert kinds(result) == {("copilot-cli", "coauthor_trailer", Strength.TRAILER)}
    assert result.launched_by == "alice"


class TestCodex:
    @pytest.mark.parametrize("body", [CODEX_BODY, f"Summary\n\n{CODEX_BODY_LINK}\n"])
    def test_cloud_task_url_under_user_pr(self, body: str) -> None:
        pr = pull_request(body=body, head_ref="codex/handle-empty-input", labels=["codex"])
        result = detect(pr, [commit("Handle empty input\n")], CATALOGUE)
        assert result.agent == "codex"
        assert result.session_id == CODEX_TASK and not result.session_derived
        assert ("codex", "label", Strength.BRANCH_PREFIX) in kinds(result)
        assert result.launched_by == "alice"

    def test_cli_identity(self) -> None:
        result = detect(
            None, [commit("Add flag\n", author=CODEX_GIT, author_account=None)], CATALOGUE
        )
        assert result.agent == "codex"
        assert ("codex", "author_email", Strength.IDENTITY) in kinds(result)


class TestCursor:
    def test_cloud_agent(self) -> None:
        agent_commit = commit(
            message("Add pagination", f"Co-authored-by: bob <{BOB_NOREPLY}>"),
            author=CURSOR_GIT,
            author_account=None,
        )
        pr = pull_request(
            author=CURSOR_BOT, body=CURSOR_BODY, head_ref="cursor/add-pagination-3f9a"
        )
        result = detect(pr, [agent_commit], CATALOGUE)
        assert result.agent == "cursor"
        assert result.session_id == CURSOR_SESSION
        assert ("cursor", "pr_body_marker", Strength.TRAILER) in kinds(result)
        assert result.launched_by == "bob"

    def test_cloud_agent_link_under_human_pr(self) -> None:
        agent_commit = commit("Add pagination\n", author=CURSOR_GIT, author_account=None)
        pr = pull_request(author=BOB, body=f"Pagination.\n\n{CURSOR_AGENTS_LINK}\n")
        result = detect(pr, [agent_commit], CATALOGUE)
        assert (result.agent, result.session_id, result.launched_by) == (
            "cursor",
            CURSOR_SESSION,
            "bob",
        )

    def test_ide_coauthor_and_made_with(self) -> None:
        msg = message("Refactor loader", CURSOR_COAUTHOR, CURSOR_MADE_WITH)
        result = detect(
            pull_request(body=f"Refactor.\n\n{CURSOR_MADE_WITH}"), [commit(msg)], CATALOGUE
        )
        assert result.agent == "cursor"
        assert ("cursor", "made_with_trailer", Strength.TRAILER) in kinds(result)
        assert result.launched_by == "alice"
        assert result.session_derived


def test_devin() -> None:
    devin_commit = commit(
        message("Add rate limiting", f"Co-Authored-By: Bob Builder <{BOB_NOREPLY}>"),
        author=DEVIN_GIT,
        author_account=DEVIN_BOT,
    )
    pr = pull_request(author=DEVIN_BOT, body=DEVIN_BODY, head_ref="devin/1718000000-rate-limit")
    result = detect(pr, [devin_commit], CATALOGUE)
    assert result.agent == "devin"
    assert result.session_id == DEVIN_SESSION
    assert result.launched_by == "bob"


class TestAider:
    @pytest.mark.parametrize(
        "aider_commit",
        [
            commit(
                "Add parser\n",
                author=AIDER_AUTHOR_SUFFIX,
                committer=AIDER_AUTHOR_SUFFIX,
                committer_account=ALICE,
            ),
            commit(message("Add parser", AIDER_COAUTHOR_OLD)),
            commit(message("Add parser", AIDER_COAUTHOR_NEW)),
        ],
        ids=["name-suffix", "noreply@aider.chat", "aider@aider.chat"],
    )
    def test_each_generation(self, aider_commit) -> None:
        result = detect(pull_request(), [aider_commit], CATALOGUE)
        assert result.agent == "aider"
        assert max(s.strength for s in result.signals) == Strength.TRAILER
        assert result.launched_by == "alice"

    def test_subject_prefix_is_weak(self) -> None:
        prefixed = [commit(f"{AIDER_SUBJECT}\n")]
        assert not detect(pull_request(), prefixed, CATALOGUE).is_agent
        weak = detect(pull_request(), prefixed, CATALOGUE, threshold=Strength.BRANCH_PREFIX)
        assert weak.agent == "aider"


def test_jules_launcher_from_started_by() -> None:
    jules_commit = commit(
        message("Refactor parser", f"Co-authored-by: alice <{ALICE_NOREPLY}>"),
        author=JULES_GIT,
        author_account=JULES_BOT,
    )
    result = detect(pull_request(author=JULES_BOT, body=JULES_BODY), [jules_commit], CATALOGUE)
    assert result.agent == "jules"
    assert ("jules", "pr_body_marker", Strength.TRAILER) in kinds(result)
    assert result.session_id == JULES_TASK
    assert result.launched_by == "bob"  # "started by @bob" outranks the co-author


def test_gemini_cli_action() -> None:
    gemini_commit = commit(
        message("Fix lint", f"Co-authored-by: alice <{ALICE_NOREPLY}>"),
        author=git("gemini-cli[bot]", "gemini-cli[bot]@users.noreply.github.com"),
        author_account=GEMINI_CLI_BOT,
    )
    result = detect(pull_request(author=GEMINI_CLI_BOT), [gemini_commit], CATALOGUE)
    assert result.agent == "gemini-cli"
    assert ("gemini-cli", "pr_author", Strength.IDENTITY) in kinds(result)
    assert result.launched_by == "alice"


def test_kiro() -> None:
    result = detect(
        pull_request(author=BOB),
        [commit("Add S3 sink\n", author=KIRO_GIT, author_account=None)],
        CATALOGUE,
    )
    assert result.agent == "kiro"
    assert ("kiro", "author_email", Strength.IDENTITY) in kinds(result)
    assert result.launched_by == "bob"


def test_openhands() -> None:
    pr = pull_request(author=BOB, body=OPENHANDS_BODY, head_ref="openhands-fix-issue-12")
    result = detect(pr, [commit("Fix #12\n", author=OPENHANDS_GIT, author_account=None)], CATALOGUE)
    assert result.agent == "openhands"
    assert result.session_id == OPENHANDS_CONVERSATION
    assert ("openhands", "pr_body_marker", Strength.TRAILER) in kinds(result)
    assert ("openhands", "branch_prefix", Strength.BRANCH_PREFIX) in kinds(result)


def test_amp() -> None:
    result = detect(
        pull_request(), [commit(message("Add cache", AMP_COAUTHOR, AMP_THREAD_TRAILER))], CATALOGUE
    )
    assert result.agent == "amp"
    assert result.session_id == AMP_THREAD
    assert result.launched_by == "alice"


def test_replit_agent() -> None:
    replit_commit = commit(message("Build landing page", *REPLIT_TRAILERS), author=REPLIT_GIT)
    result = detect(pull_request(), [replit_commit], CATALOGUE)
    assert result.agent == "replit-agent"
    assert result.session_id == REPLIT_SESSION
    assert ("replit-agent", "vendor_trailer", Strength.TRAILER) in kinds(result)
    assert result.launched_by == "alice"


def test_warp_oz() -> None:
    result = detect(
        pull_request(), [commit(message("Add shell completion", WARP_COAUTHOR))], CATALOGUE
    )
    assert result.agent == "warp-oz"
    assert result.launched_by == "alice"


def test_every_catalogue_agent_is_covered() -> None:
    # copilot-autofix and gemini-code-assist are covered by test_case_11 (AI assistance).
    tested = {
        "claude-code", "copilot-coding-agent", "copilot-cli", "copilot-autofix",
        "gemini-code-assist", "codex", "cursor", "devin", "aider", "jules", "gemini-cli",
        "kiro", "openhands", "amp", "replit-agent", "warp-oz", "opencode",
    }  # fmt: skip
    assert set(CATALOGUE.names()) == tested
