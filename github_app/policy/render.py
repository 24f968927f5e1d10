"""Markdown for the ``countersign`` check run output, from a Decision and its Attribution.

Pure text building.  Commit-derived text (signal details) is untrusted, so it is shown inside
code spans with backticks and table separators removed.
"""

from __future__ import annotations

from collections.abc import Iterable

from github_app.core.models import Attribution
from github_app.policy.evaluate import Decision

# GitHub limits check run output text and summary to 65535 characters each.
MAX_OUTPUT_CHARS = 65_000


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _code(text: str) -> str:
    cleaned = _cell(text.replace("`", "'"))
    return f"`{cleaned}`" if cleaned else ""


def _table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return lines


def _attribution_lines(attribution: Attribution) -> list[str]:
    if not attribution.is_agent and not attribution.signals:
        return ["**Agent:** none detected"]
    session = _code(attribution.session_id or "none")
    if attribution.session_derived:
        session += " (derived: no session marker on the commits)"
    launcher = f"@{attribution.launched_by.lstrip('@')}" if attribution.launched_by else "unknown"
    if attribution.launcher_attested:
        launcher += " (attested: the session was started with this developer's agent token)"
    lines = [
        f"**Agent:** {_code(attribution.agent or 'unknown-agent')}",
        f"**Session:** {session}",
        f"**Launched by:** {launcher}",
    ]
    if attribution.signals:
        lines += ["", "**Signals**", ""]
        lines += _table(
            ("signal", "strength", "seen in", "detail"),
            (
                (s.kind, s.strength.name.lower(), s.source, _code(s.detail))
                for s in attribution.signals
            ),
        )
    return lines


def _requirement_lines(decision: Decision) -> list[str]:
    if not decision.requirements:
        return []
    rows = (
        (
            r.scope,
            str(r.required),
            r.approvers,
            ", ".join(f"@{login}" for login in r.satisfied_by) or "nobody yet",
            "yes" if r.satisfied else "no",
        )
        for r in decision.requirements
    )
    return [
        "",
        "### What the policy requires",
        "",
        *_table(("scope", "approvals", "from", "approved by", "met"), rows),
    ]


def _review_lines(decision: Decision) -> list[str]:
    if not decision.approvals:
        return []
    rows = (
        (
            f"@{v.reviewer}",
            v.state.lower().replace("_", " "),
            v.commit_id[:7],
            "yes" if v.counted else "no",
            v.reason,
        )
        for v in decision.approvals
    )
    return [
        "",
        "### Reviews",
        "",
        *_table(("reviewer", "review", "commit", "counted", "why"), rows),
    ]


def _bullets(title: str, items: Iterable[str]) -> list[str]:
    items = list(items)
    return ["", f"### {title}", "", *(f"- {_cell(item)}" for item in items)] if items else []


def render_markdown(
    decision: Decision, attribution: Attribution, ignored: Iterable[str] = ()
) -> str:
    """The check run's output text: agent and signals, session and launcher, requirements,
    every review with the reason it counted or not, and what would make the check pass."""
    lines = [f"**{_cell(decision.title)}**", "", _cell(decision.summary), ""]
    lines += _attribution_lines(attribution)
    lines += _bullets("Launcher conflicts", attribution.launcher_conflicts)
    lines += _bullets(
        "Files agents may not change", (_code(path) for path in decision.forbidden_paths)
    )
    lines += _requirement_lines(decision)
    lines += _review_lines(decision)
    lines += _bullets("To pass", decision.to_pass)
    lines += _bullets("Repository policy settings ignored", ignored)
    if decision.policy_sha:
        lines += ["", f"Policy `{decision.policy_sha[:12]}`"]
    text = "\n".join(lines) + "\n"
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS] + "\n\n… (truncated)\n"
    return text
