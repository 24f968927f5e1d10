"""The check run markdown built from a decision."""

from __future__ import annotations

from github_app.core.models import Signal, Strength
from github_app.policy.evaluate import evaluate
from github_app.policy.render import MAX_OUTPUT_CHARS, render_markdown
from tests.policy.builders import OLD, agent_attribution, evaluation, review


def test_markdown_shows_agent_requirements_reviews_and_steps():
    attribution = agent_attribution()
    decision = evaluate(
        evaluation(attribution=attribution, reviews=(review("alice"), review("bob", commit_id=OLD)))
    )
    text = render_markdown(decision, attribution, ignored=("repo: approvals.required ignored",))
    assert "**Waiting for 1 more approval**" in text
    assert "**Agent:** `claude-code`" in text
    assert "**Session:** `session_01ABCDEFGHIJKLMNOPQRSTUV`" in text
    assert "**Launched by:** @alice" in text
    assert "| coauthor_trailer | trailer |" in text
    assert "| all files | 1 | any human with write permission | nobody yet | no |" in text
    assert "launched the agent session, so cannot countersign it" in text
    assert "approved an older commit 9f8e7d6; the head is now a1b2c3d" in text
    assert "### To pass" in text and "- 1 more approval on a1b2c3d" in text
    assert "- repo: approvals.required ignored" in text
    assert f"Policy `{decision.policy_sha[:12]}`" in text


def test_untrusted_signal_detail_cannot_break_the_table():
    signal = Signal(
        agent="x",
        kind="trailer",
        strength=Strength.TRAILER,
        source="commit",
        detail="evil | `code` \n| injected |",
    )
    attribution = agent_attribution(signals=(signal,))
    text = render_markdown(evaluate(evaluation(attribution=attribution)), attribution)
    [row] = [line for line in text.splitlines() if line.startswith("| trailer |")]
    assert row.count(" | ") == 3  # four cells, escaped pipes do not split
    assert "`code`" not in row


def test_output_is_bounded():
    many = tuple(review(f"user{n}", "COMMENTED") for n in range(2000))
    decision = evaluate(evaluation(reviews=many))
    assert len(render_markdown(decision, agent_attribution())) <= MAX_OUTPUT_CHARS + 50
