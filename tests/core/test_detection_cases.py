"""The twelve cases of agent-fingerprints.md a detector must get right, one test each."""

from __future__ import annotations

import pytest
from builders import (
    AIDER_AUTHOR_SUFFIX,
    AIDER_COAUTHOR_NEW,
    AIDER_COAUTHOR_OLD,
    ALICE,
    ALICE_GIT,
    BOB,
    CLAUDE_COAUTHOR,
    CLAUDE_COAUTHOR_MODELS,
    CLAUDE_FOOTER_AI,
    CLAUDE_FOOTER_COM,
    CLAUDE_GIT,
    CLAUDE_SESSION,
    CLAUDE_SESSION_BARE,
    CLAUDE_SESSION_TRAILER,
    CODEX_BODY,
    CODEX_TASK,
    COPILOT_AGENT,
    COPILOT_AGENT_GIT,
    COPILOT_APP,
    COPILOT_AUTOFIX_COAUTHOR,
    COPILOT_CLI_COAUTHOR,
    COPILOT_SQUASH_GIT,
    CURSOR_GIT,
    GEMINI_ASSIST_COAUTHOR,
    GITHUB_COMMITTER,
    JULES_BODY,
    JULES_TASK,
    WEB_FLOW,
    commit,
    git,
    human,
    message,
    noreply,
    pull_request,
)

from github_app.core.catalogue import default_catalogue
from github_app.core.detection import detect
from github_app.core.models import Attribution, Strength

CATALOGUE = default_catalogue()
HUMAN = Attribution(is_agent=False, catalogue_version=CATALOGUE.version)  # nothing detected


def squash_of(*, author=ALICE_GIT, author_account=ALICE, subject="Add retry (#17)"):
    """The commit GitHub writes when a PR is squash-merged: committer GitHub, signed."""
    return commit(
        f"{subject}\n",
        author=author,
        author_account=author_account,
        committer=GITHUB_COMMITTER,
        committer_account=WEB_FLOW,
        verified=True,
    )


def test_case_01_squash_merge_erases_markers_so_pr_commits_and_body_are_read() -> None:
    merged_commit = squash_of()
    assert detect(None, [merged_commit], CATALOGUE) == HUMAN

    pr_commits = [commit(message("Add retry", CLAUDE_FOOTER_AI, CLAUDE_COAUTHOR))]
    pr = pull_request(body=f"Adds retries.\n\n{CLAUDE_FOOTER_AI}\n")
    result = detect(pr, pr_commits, CATALOGUE)
    assert result.is_agent and result.agent == "claude-code"
    assert {s.source for s in result.signals} == {
        "PR body line 3",
        f"commit {pr_commits[0].sha[:7]} message line 3",
        f"commit {pr_commits[0].sha[:7]} message line 4",
    }
    assert (result.session_id, result.session_derived, result.launched_by) == (
        "pr:4242:17",
        True,
        "alice",
    )


def test_case_02_copilot_squash_shows_name_copilot_but_email_id_identifies_it() -> None:
    result = detect(None, [squash_of(author=COPILOT_SQUASH_GIT, author_account=None)], CATALOGUE)
    assert result.is_agent and result.agent == "copilot-coding-agent"
    assert [(s.kind, s.strength) for s in result.signals] == [("author_email", Strength.IDENTITY)]

    person_named_copilot = git("Copilot", "copilot.fan@example.com")
    assert detect(None, [squash_of(author=person_named_copilot)], CATALOGUE) == HUMAN


def test_case_03_signed_github_committer_is_not_evidence_either_way() -> None:
    assert detect(None, [squash_of()], CATALOGUE) == HUMAN

    bot_commit = commit(
        "Fix flaky test\n",
        author=COPILOT_AGENT_GIT,
        author_account=COPILOT_AGENT,
        committer=GITHUB_COMMITTER,
        committer_account=WEB_FLOW,
        verified=True,
    )
    result = detect(None, [bot_commit], CATALOGUE)
    assert result.agent == "copilot-coding-agent"
    assert {s.source.split()[-1] for s in result.signals} == {"author"}  # never the committer


def test_case_04_rebase_and_amend_rewrite_committer_and_drop_trailers() -> None:
    rebased = commit(
        message("Fix login redirect", CLAUDE_SESSION_TRAILER),
        author=CLAUDE_GIT,
        author_account=None,
        committer=ALICE_GIT,
        committer_account=ALICE,
    )
    result = detect(pull_request(author=BOB), [rebased], CATALOGUE)
    assert (result.agent, result.session_id, result.launched_by) == (
        "claude-code",
        CLAUDE_SESSION,
        "bob",
    )

    amended_without_trailers = commit("Fix login redirect\n")
    assert detect(pull_request(), [amended_without_trailers], CATALOGUE) == HUMAN
    pr = pull_request(body=f"Fixes the redirect.\n\n{CLAUDE_FOOTER_COM}")
    assert detect(pr, [amended_without_trailers], CATALOGUE).agent == "claude-code"


CLAUDE_MD_COMMIT = """docs: add CLAUDE.md with our commit conventions

Claude Code must not end commits with "🤖 Generated with [Claude Code](https://claude.ai/code)"
nor with a "Co-Authored-By: Claude <noreply@anthropic.com>" trailer. CLAUDE.md now says:

```
Never add these lines:
Co-Authored-By: Claude <noreply@anthropic.com>
🤖 Generated with [Claude Code](https://claude.ai/code)
```

- Co-Authored-By: Claude <noreply@anthropic.com> is banned
> 🤖 Generated with [Claude Code](https://claude.ai/code)
"""


@pytest.mark.parametrize(
    "look_alike",
    [
        commit("Tune cache\n", author=git("Claude", "claude@anthropic.com"), author_account=None),
        commit(
            "Tune cache\n",
            author=git("Claude Monet", "claude.monet@example.com"),
            author_account=human("claude", 5150),
        ),
        commit("Tune cache\n", author=git("Jane Doe", "jane@anthropic.com"), author_account=None),
        commit(message("Tune cache", "Co-Authored-By: Claude <claude@anthropic.com>")),
        commit(CLAUDE_MD_COMMIT),
    ],
    ids=[
        "claude@anthropic.com",
        "person-named-claude",
        "anthropic-employee",
        "lookalike-coauthor",
        "claude-md-quoting-markers",
    ],
)
def test_case_05_look_alikes_are_not_claude(look_alike) -> None:
    result = detect(pull_request(author=human("claude", 5150)), [look_alike], CATALOGUE)
    assert not result.is_agent
    assert result.agent is None and result.signals == ()
    assert result.session_id is None and result.launched_by is None


def test_case_05_quoted_coauthor_is_still_listed_when_it_is_a_real_trailer() -> None:
    look_alike = commit(message("Tune", "Co-Authored-By: Claude <claude@anthropic.com>"))
    result = detect(None, [look_alike], CATALOGUE)
    assert [c.email for c in result.co_authors] == ["claude@anthropic.com"]
    assert detect(None, [commit(CLAUDE_MD_COMMIT)], CATALOGUE).co_authors == ()


def test_case_06_evidence_is_graded_and_trailers_only_tighten() -> None:
    claude_trailer = commit(message("Add docs", CLAUDE_COAUTHOR))
    copilot_identity = commit("Fix test\n", author=COPILOT_AGENT_GIT, author_account=COPILOT_APP)
    mixed = detect(pull_request(), [claude_trailer, claude_trailer, copilot_identity], CATALOGUE)
    assert mixed.agent == "copilot-coding-agent"  # identity beats more numerous trailers
    assert max(s.strength for s in mixed.signals if s.agent == "claude-code") == Strength.TRAILER

    strict = detect(pull_request(), [claude_trailer], CATALOGUE, threshold=Strength.SESSION_URL)
    assert not strict.is_agent and strict.agent is None
    assert [s.kind for s in strict.signals] == ["coauthor_trailer"]  # kept for the record

    declared = commit(message("Add docs", "Agent-Session-Id: sess-42"))
    tightened = detect(pull_request(), [declared], CATALOGUE, threshold=Strength.IDENTITY)
    assert (tightened.is_agent, tightened.agent, tightened.session_id) == (
        True,
        "unknown-agent",
        "sess-42",
    )


def test_case_07_no_marker_is_unknown_not_proof_of_human() -> None:
    attribution_off = commit("Add retry with backoff\n")  # Claude with attribution.commit: ""
    result = detect(pull_request(), [attribution_off], CATALOGUE)
    assert result == HUMAN
    assert result.session_id is None and result.launched_by is None

    # The team's prepare-commit-msg hook is what turns "unknown" into evidence.
    stamped = commit(
        message("Add retry with backoff", "Agent-Session-Id: 8d1f0c", "Agent-Launched-By: alice")
    )
    stamped_result = detect(pull_request(), [stamped], CATALOGUE)
    assert (stamped_result.agent, stamped_result.session_id, stamped_result.launched_by) == (
        "unknown-agent",
        "8d1f0c",
        "alice",
    )


def test_case_08_branch_prefix_alone_is_weak() -> None:
    pr = pull_request(author=BOB, head_ref="codex/try-new-parser")
    human_commit = commit(
        "Try new parser\n", author=git("Bob", "bob@example.com"), author_account=BOB
    )
    default = detect(pr, [human_commit], CATALOGUE)
    assert not default.is_agent and default.agent is None
    assert [(s.agent, s.kind, s.strength) for s in default.signals] == [
        ("codex", "branch_prefix", Strength.BRANCH_PREFIX)
    ]
    weak = detect(pr, [human_commit], CATALOGUE, threshold=Strength.BRANCH_PREFIX)
    assert (weak.is_agent, weak.agent, weak.session_id, weak.launched_by) == (
        True,
        "codex",
        "pr:4242:17",
        "bob",
    )


def _claude_web_commit():
    return commit(message("Fix", CLAUDE_SESSION_TRAILER), author=CLAUDE_GIT, author_account=None)


@pytest.mark.parametrize(
    ("pr", "commits", "agent", "session_id"),
    [
        (pull_request(author=BOB, body=CODEX_BODY), [commit()], "codex", CODEX_TASK),
        (pull_request(author=BOB), [_claude_web_commit()], "claude-code", CLAUDE_SESSION),
        (pull_request(author=BOB), [commit(author=CURSOR_GIT)], "cursor", "pr:4242:17"),
        (pull_request(author=BOB, body=JULES_BODY), [commit()], "jules", JULES_TASK),
    ],
    ids=["codex", "claude-web", "cursor", "jules"],
)
def test_case_09_agent_work_under_a_human_pr_author(pr, commits, agent, session_id) -> None:
    result = detect(pr, commits, CATALOGUE)
    assert (result.is_agent, result.agent, result.session_id) == (True, agent, session_id)
    assert result.launched_by == "bob"


def test_case_10_one_copilot_login_three_products_by_noreply_id() -> None:
    products = {
        198982749: "copilot-coding-agent",
        223556219: "copilot-cli",
        175728472: "copilot-autofix",
    }
    for account_id, product in products.items():
        assert CATALOGUE.agent_for_email(noreply("Copilot", account_id)).name == product
        trailer = f"Co-authored-by: Copilot <{noreply('Copilot', account_id)}>"
        result = detect(
            None, [commit(message("Change", trailer))], CATALOGUE, assisted_is_agent=True
        )
        assert result.agent == product
    # An unknown id with the agent's own login is still the agent (ids are not always listed).
    assert CATALOGUE.agent_for_email(noreply("Copilot", 1)).name == "copilot-coding-agent"
    pr_by_copilot = detect(pull_request(author=COPILOT_AGENT), [], CATALOGUE)
    assert pr_by_copilot.agent == "copilot-coding-agent"
    cli = detect(None, [commit(message("Change", COPILOT_CLI_COAUTHOR))], CATALOGUE)
    assert cli.agent == "copilot-cli"


@pytest.mark.parametrize(
    ("trailer", "product"),
    [(COPILOT_AUTOFIX_COAUTHOR, "copilot-autofix"), (GEMINI_ASSIST_COAUTHOR, "gemini-code-assist")],
)
def test_case_11_accepted_ai_suggestions_are_assisted_not_agent(trailer, product) -> None:
    accepted = commit(message("Fix SQL injection in search", trailer))
    result = detect(pull_request(), [accepted], CATALOGUE)
    assert (result.is_agent, result.agent, result.ai_assisted) == (False, None, True)
    assert result.session_id is None and result.launched_by is None
    assert [s.agent for s in result.signals] == [product]

    as_agent = detect(pull_request(), [accepted], CATALOGUE, assisted_is_agent=True)
    assert (as_agent.is_agent, as_agent.agent, as_agent.ai_assisted) == (True, product, True)
    assert (as_agent.session_id, as_agent.session_derived, as_agent.launched_by) == (
        "pr:4242:17",
        True,
        "alice",
    )

    agent_pr = detect(
        pull_request(), [accepted, commit(message("Docs", CLAUDE_COAUTHOR))], CATALOGUE
    )
    assert (agent_pr.agent, agent_pr.ai_assisted) == ("claude-code", False)


def _copilot(committer, committer_account, verified=False):
    return commit(
        "Change\n",
        author=COPILOT_AGENT_GIT,
        author_account=COPILOT_AGENT,
        committer=committer,
        committer_account=committer_account,
        verified=verified,
    )


def _with(*trailers: str, body: str = ""):
    return commit(message("Change", *trailers, body=body))


LOWER_CASE_SESSION_TRAILER = CLAUDE_SESSION_TRAILER.replace("Claude-Session", "claude-session")
DRIFT = [
    *[
        pytest.param("claude-code", _with(trailer), id=f"claude-coauthor-{n}")
        for n, trailer in enumerate(CLAUDE_COAUTHOR_MODELS)
    ],
    pytest.param("claude-code", _with(CLAUDE_FOOTER_AI), id="claude-footer-ai"),
    pytest.param("claude-code", _with(CLAUDE_FOOTER_COM), id="claude-footer-com"),
    pytest.param("claude-code", _with(body=CLAUDE_SESSION_BARE), id="claude-bare-session-url"),
    pytest.param("claude-code", _with(CLAUDE_SESSION_TRAILER), id="claude-session-trailer"),
    pytest.param("claude-code", _with(LOWER_CASE_SESSION_TRAILER), id="claude-session-lower"),
    pytest.param("aider", commit(author=AIDER_AUTHOR_SUFFIX), id="aider-name-suffix"),
    pytest.param("aider", _with(AIDER_COAUTHOR_OLD), id="aider-noreply"),
    pytest.param("aider", _with(AIDER_COAUTHOR_NEW), id="aider-aider-chat"),
    pytest.param(
        "copilot-coding-agent",
        _copilot(COPILOT_AGENT_GIT, COPILOT_APP),
        id="copilot-bot-committer",
    ),
    pytest.param(
        "copilot-coding-agent",
        _copilot(GITHUB_COMMITTER, WEB_FLOW, verified=True),
        id="copilot-github-signed-committer",
    ),
]


@pytest.mark.parametrize(("agent", "drifted"), DRIFT)
def test_case_12_every_marker_generation_still_detected(agent, drifted) -> None:
    result = detect(pull_request(), [drifted], CATALOGUE)
    assert result.is_agent and result.agent == agent
    if CLAUDE_SESSION in drifted.message:
        assert result.session_id == CLAUDE_SESSION and not result.session_derived
    else:
        assert result.session_id == "pr:4242:17" and result.session_derived
