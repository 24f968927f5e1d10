"""Properties of detection over generated commits (hypothesis)."""

from __future__ import annotations

from builders import (
    ALICE_NOREPLY,
    CLAUDE_COAUTHOR,
    COPILOT_AGENT,
    COPILOT_AGENT_GIT,
    CURSOR_MADE_WITH,
    commit,
    message,
    pull_request,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from github_app.core.catalogue import default_catalogue
from github_app.core.detection import detect
from github_app.core.models import Strength

CATALOGUE = default_catalogue()

# Prose without the characters every marker needs (":" of trailers, "/" of URLs, "<" of
# comments and e-mails, "[" of Markdown links) cannot carry evidence.
prose = st.text(alphabet=st.characters(blacklist_characters=":/<[@(\r"), max_size=200)
trailer_lines = st.sampled_from(
    [
        CLAUDE_COAUTHOR,
        CURSOR_MADE_WITH,
        f"Co-authored-by: alice <{ALICE_NOREPLY}>",
        "Signed-off-by: Alice <alice@example.com>",
    ]
)


@st.composite
def commits(draw):
    lines = draw(st.lists(st.one_of(prose, trailer_lines), max_size=6))
    if draw(st.booleans()):
        return commit(message("Change", *lines))
    return commit("\n".join(lines), author=COPILOT_AGENT_GIT, author_account=COPILOT_AGENT)


@settings(max_examples=60, deadline=None)
@given(st.lists(prose, max_size=5), prose)
def test_prose_is_never_evidence(subjects: list[str], body: str) -> None:
    result = detect(pull_request(body=body), [commit(f"{s}\n") for s in subjects], CATALOGUE)
    assert not result.is_agent and result.signals == ()


@settings(max_examples=60, deadline=None)
@given(st.lists(commits(), max_size=4), commits(), st.sampled_from(list(Strength)))
def test_more_commits_never_make_a_change_less_restricted(before, extra, threshold) -> None:
    was = detect(pull_request(), before, CATALOGUE, threshold=threshold)
    now = detect(pull_request(), [*before, extra], CATALOGUE, threshold=threshold)
    assert now.is_agent or not was.is_agent
    assert len(now.signals) >= len(was.signals)


@settings(max_examples=60, deadline=None)
@given(st.lists(commits(), max_size=4), st.sampled_from(list(Strength)))
def test_session_trailer_always_declares_and_names_the_session(commits_, threshold) -> None:
    declared = commit(message("Change", "Agent-Session-Id: team-42"))
    result = detect(pull_request(), [*commits_, declared], CATALOGUE, threshold=threshold)
    assert result.is_agent and result.session_id == "team-42" and not result.session_derived
    assert result.launched_by is None or not CATALOGUE.is_agent_login(result.launched_by)
