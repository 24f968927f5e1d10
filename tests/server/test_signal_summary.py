"""Ledger entries keep one row per distinct signal, with how often it was seen."""

from github_app.core.models import Signal, Strength
from github_app.evidence.pr_entries import summarise_signals


def test_repeated_markers_are_grouped_strongest_first():
    trailer = Signal(
        agent="claude-code",
        kind="coauthor_trailer",
        strength=Strength.TRAILER,
        source="commit a",
        detail="Claude",
    )
    branch = Signal(
        agent="claude-code",
        kind="branch_prefix",
        strength=Strength.BRANCH_PREFIX,
        source="branch",
        detail="claude/",
    )
    signals = [branch] + [trailer.model_copy(update={"source": f"commit {i}"}) for i in range(250)]
    summary = summarise_signals(signals)
    assert [(row["kind"], row["count"]) for row in summary] == [
        ("coauthor_trailer", 250),
        ("branch_prefix", 1),
    ]
