"""Builders for commits and pull requests shaped the way agents really leave them.

Each constant below reproduces one generation of one agent's markers (see the catalogue,
``policies/agents.yml``); tests combine them with ordinary human commits.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable

from github_app.core.models import Account, Commit, GitIdentity, PullRequest

REPO = "acme/widgets"
REPO_ID = 4242
PR_NUMBER = 17

_shas = itertools.count(1)


def human(login: str = "alice", account_id: int = 1001) -> Account:
    """A person's GitHub account."""
    return Account(login=login, id=account_id, type="User")


def bot(login: str, account_id: int | None = None) -> Account:
    """A GitHub App / machine account."""
    return Account(login=login, id=account_id, type="Bot")


def noreply(login: str, account_id: int) -> str:
    """GitHub's ``<id>+<login>@users.noreply.github.com`` address."""
    return f"{account_id}+{login}@users.noreply.github.com"


def git(name: str, email: str) -> GitIdentity:
    """A git author/committer line."""
    return GitIdentity(name=name, email=email)


def message(subject: str, *trailers: str, body: str = "") -> str:
    """A commit message: subject, optional body paragraph, trailer block."""
    parts = [subject]
    if body:
        parts.append(body)
    if trailers:
        parts.append("\n".join(trailers))
    return "\n\n".join(parts) + "\n"


ALICE = human("alice", 1001)
BOB = human("bob", 1002)
ALICE_GIT = git("Alice Example", "alice@example.com")
ALICE_NOREPLY = noreply("alice", 1001)
BOB_NOREPLY = noreply("bob", 1002)
GITHUB_COMMITTER = git("GitHub", "noreply@github.com")
WEB_FLOW = Account(login="web-flow", id=19864447, type="User")


def commit(
    msg: str = "Tidy up\n",
    *,
    author: GitIdentity = ALICE_GIT,
    committer: GitIdentity | None = None,
    author_account: Account | None = ALICE,
    committer_account: Account | None = None,
    verified: bool = False,
    sha: str | None = None,
) -> Commit:
    """A commit; by default Alice wrote and committed it herself."""
    return Commit(
        sha=sha or hashlib.sha1(str(next(_shas)).encode(), usedforsecurity=False).hexdigest(),
        message=msg,
        author=author,
        committer=committer or author,
        author_account=author_account,
        committer_account=committer_account if committer is not None else author_account,
        verified=verified,
    )


def pull_request(
    *,
    author: Account = ALICE,
    body: str = "",
    head_ref: str = "feature/tidy",
    labels: Iterable[str] = (),
    assignees: Iterable[Account] = (),
    number: int = PR_NUMBER,
    repo_id: int = REPO_ID,
) -> PullRequest:
    """An open pull request on acme/widgets; by default Alice opened it from a feature branch."""
    return PullRequest(
        repo_full_name=REPO,
        repo_id=repo_id,
        number=number,
        title="Change",
        body=body,
        author=author,
        head_ref=head_ref,
        head_sha="f" * 40,
        labels=tuple(labels),
        assignees=tuple(assignees),
    )


# --- Claude Code -------------------------------------------------------------------------------
CLAUDE_SESSION = "session_01AbCdEfGhJkLmNpQrStUvWx"
CLAUDE_GIT = git("Claude", "noreply@anthropic.com")
CLAUDE_FOOTER_AI = "🤖 Generated with [Claude Code](https://claude.ai/code)"
CLAUDE_FOOTER_COM = "🤖 Generated with [Claude Code](https://claude.com/claude-code)"
CLAUDE_COAUTHOR = "Co-Authored-By: Claude <noreply@anthropic.com>"
CLAUDE_COAUTHOR_MODELS = (
    "Co-Authored-By: Claude Opus 4.5 <noreply@anthropic.com>",
    "Co-Authored-By: Claude Sonnet 5 <noreply@anthropic.com>",
    "Co-Authored-By: Claude Opus 4.6 (1M context) <noreply@anthropic.com>",
    "co-authored-by: Claude <noreply@anthropic.com>",
    "Co-authored-by: Claude <NoReply@Anthropic.com>",
)
CLAUDE_SESSION_BARE = f"https://claude.ai/code/{CLAUDE_SESSION}"
CLAUDE_SESSION_TRAILER = f"Claude-Session: https://claude.ai/code/{CLAUDE_SESSION}"
CLAUDE_GENERATED_BY = "Claude-Generated-By: Claude Code (cli=100%)"  # Claude Code 2.1 trailer
CLAUDE_BOT = bot("claude[bot]", 209825114)
CLAUDE_BOT_GIT = git("claude[bot]", noreply("claude[bot]", 209825114))

# --- GitHub Copilot ----------------------------------------------------------------------------
COPILOT_SESSION = "3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f"
COPILOT_AGENT = bot("Copilot", 198982749)
COPILOT_AGENT_GIT = git("copilot-swe-agent[bot]", noreply("Copilot", 198982749))
COPILOT_SQUASH_GIT = git("Copilot", noreply("Copilot", 198982749))
COPILOT_APP = bot("copilot-swe-agent[bot]", 198982749)
COPILOT_LOGS = f"Agent-Logs-Url: https://github.com/acme/widgets/sessions/{COPILOT_SESSION}"
COPILOT_BODY = (
    "Fixes the flaky retry test.\r\n\r\n"
    "<!-- START COPILOT ORIGINAL PROMPT -->\r\n"
    "<details><summary>Original prompt</summary>\r\n\r\nfix the flaky test\r\n</details>\r\n"
    "<!-- START COPILOT CODING AGENT SUFFIX -->\r\n"
    "💡 You can make Copilot smarter by setting up custom instructions.\r\n"
)
COPILOT_CLI_COAUTHOR = "Co-authored-by: Copilot <223556219+Copilot@users.noreply.github.com>"
COPILOT_AUTOFIX_COAUTHOR = (
    "Co-authored-by: Copilot Autofix powered by AI <175728472+Copilot@users.noreply.github.com>"
)
GEMINI_ASSIST_COAUTHOR = (
    "Co-authored-by: gemini-code-assist[bot] "
    "<176961590+gemini-code-assist[bot]@users.noreply.github.com>"
)

# --- OpenAI Codex ------------------------------------------------------------------------------
CODEX_TASK = "task_e_" + "0123456789abcdef" * 2
CODEX_BODY = (
    "## Summary\n- handle empty input\n\n## Testing\n- ✅ `pytest`\n\n------\n"
    f"https://chatgpt.com/codex/tasks/{CODEX_TASK}\n"
)
CODEX_BODY_LINK = f"[Codex Task](https://chatgpt.com/codex/tasks/{CODEX_TASK})"
CODEX_GIT = git("Codex", "codex@openai.com")
CODEX_NOREPLY_COAUTHOR = "Co-authored-by: Codex gpt-5-codex <noreply@openai.com>"
CODEX_FOOTER = "🤖 Generated with [Codex CLI](https://github.com/openai/codex)"

# --- Cursor ------------------------------------------------------------------------------------
CURSOR_SESSION = "bc-1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
CURSOR_GIT = git("Cursor Agent", "cursoragent@cursor.com")
CURSOR_BOT = bot("cursor[bot]", 206951365)
CURSOR_BODY = (
    "<!-- CURSOR_AGENT_PR_BODY_BEGIN -->\n"
    "Adds pagination to the list endpoint.\n"
    "<!-- CURSOR_AGENT_PR_BODY_END -->\n\n"
    f'<a href="https://cursor.com/background-agent?bcId={CURSOR_SESSION}">Open in Cursor</a>\n'
)
CURSOR_AGENTS_LINK = f"[Open in Web](https://cursor.com/agents/{CURSOR_SESSION})"
CURSOR_COAUTHOR = "Co-authored-by: Cursor <cursoragent@cursor.com>"
CURSOR_MADE_WITH = "Made-with: Cursor"

# --- Devin -------------------------------------------------------------------------------------
DEVIN_SESSION = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
DEVIN_BOT = bot("devin-ai-integration[bot]", 158243242)
DEVIN_GIT = git("Devin AI", noreply("devin-ai-integration[bot]", 158243242))
DEVIN_BODY = (
    "# Add rate limiting\n\n"
    f"Link to Devin run: https://app.devin.ai/sessions/{DEVIN_SESSION}\n"
    "Requested by: Bob Builder (bob@example.com) (@bob)\n"
)

# --- Aider -------------------------------------------------------------------------------------
AIDER_COAUTHOR_NEW = "Co-authored-by: aider (anthropic/claude-sonnet-4-20250514) <aider@aider.chat>"
AIDER_COAUTHOR_OLD = "Co-authored-by: aider (gpt-4o) <noreply@aider.chat>"
AIDER_AUTHOR_SUFFIX = git("Alice Example (aider)", "alice@example.com")
AIDER_SUBJECT = "aider: Add parser"  # --attribute-commit-message-author

# --- Google Jules ------------------------------------------------------------------------------
JULES_TASK = "1234567890123456789"
JULES_BOT = bot("google-labs-jules[bot]", 161369871)
JULES_GIT = git("google-labs-jules[bot]", noreply("google-labs-jules[bot]", 161369871))
JULES_BODY = (
    "Refactors the parser.\n\n---\n"
    f"*PR created automatically by Jules for task [{JULES_TASK}]"
    f"(https://jules.google.com/task/{JULES_TASK}) started by @bob*\n"
)

# --- The others --------------------------------------------------------------------------------
GEMINI_CLI_BOT = bot("gemini-cli[bot]", 987654321)
KIRO_GIT = git("Kiro Agent", noreply("kiro-agent", 244629292))
OPENHANDS_GIT = git("openhands", "openhands@all-hands.dev")
OPENHANDS_CONVERSATION = "4b1c9e0d2f3a4e5b8c7d6e5f4a3b2c1d"
OPENHANDS_BODY = (
    "This pull request fixes #12.\n\n"
    "Automatic fix generated by [OpenHands](https://github.com/All-Hands-AI/OpenHands/) 🙌\n"
    f"https://app.all-hands.dev/conversations/{OPENHANDS_CONVERSATION}\n"
)
AMP_THREAD = "T-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
AMP_COAUTHOR = "Co-authored-by: Amp <amp@ampcode.com>"
AMP_THREAD_TRAILER = f"Amp-Thread-ID: https://ampcode.com/threads/{AMP_THREAD}"
REPLIT_SESSION = "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e"
REPLIT_GIT = git("alice", "alice1234@users.noreply.replit.com")
REPLIT_TRAILERS = ("Replit-Commit-Author: Agent", f"Replit-Commit-Session-Id: {REPLIT_SESSION}")
WARP_COAUTHOR = "Co-Authored-By: Oz <oz-agent@warp.dev>"
OPENHANDS_AI_AGENT_LINE = "_This PR was created by an AI agent (OpenHands) on behalf of @bob._"
KIRO_IDLESS_GIT = git("Kiro Agent", "kiro-agent@users.noreply.github.com")

# --- opencode and oh-my-opencode (Sisyphus) ----------------------------------------------------
OPENCODE_FOOTER = "🤖 Generated with [opencode](https://opencode.ai)"
OPENCODE_COAUTHOR = "Co-Authored-By: opencode <noreply@opencode.ai>"
OPENCODE_SHARE = "https://opncd.ai/s/x7Kq2mPa"
SISYPHUS_FOOTER = "Ultraworked with [Sisyphus](https://github.com/code-yeongyu/oh-my-opencode)"
SISYPHUS_COAUTHOR = "Co-authored-by: Sisyphus <clio-agent@sisyphuslabs.ai>"
SISYPHUS_DEV_COAUTHOR = "Co-authored-by: sisyphus-dev-ai <sisyphus-dev-ai@users.noreply.github.com>"
