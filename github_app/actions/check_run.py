"""The ``countersign`` check run: its conclusion and the markdown a reviewer reads.

Only ``success`` lets a required check pass.  A PR waiting for a human gets
``action_required``; anything blocked, frozen, revoked or unreadable gets ``failure``.  We never
use ``neutral`` or ``skipped``: GitHub treats those as passing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from gidgethub.abc import GitHubAPI

from github_app.core.models import Attribution, PullRequest
from github_app.policy.evaluate import Decision

CHECK_NAME = "countersign"
_MAX_TEXT = 60_000  # GitHub caps summary and text at 65,535 characters each


def conclusion_for(decision: Decision) -> str:
    """Map a decision to a check run conclusion; only a passing decision is ``success``."""
    if decision.passing:
        return "success"
    return "action_required" if decision.state == "pending" else "failure"


def _sha7(sha: str | None) -> str:
    return (sha or "")[:7]


def _attribution_section(attribution: Attribution) -> list[str]:
    if not attribution.is_agent:
        lines = ["**Agent change:** no agent signal at or above the policy's threshold."]
        if attribution.ai_assisted:
            lines.append("AI-assisted suggestions were accepted (not an agent change by policy).")
        return lines
    session = f"`{attribution.session_id}`" + (" (derived: no session marker)"
                                               if attribution.session_derived else "")
    launcher = f"@{attribution.launched_by}" if attribution.launched_by else "unknown"
    lines = [
        f"**Agent:** `{attribution.agent}`",
        f"**Session:** {session}",
        f"**Launched by:** {launcher}",
        "",
        "| signal | strength | where |",
        "|---|---|---|",
    ]
    for signal in sorted(attribution.signals, key=lambda s: -s.strength)[:20]:
        detail = signal.detail.replace("|", "\\|")[:80]
        lines.append(
            f"| {signal.kind} (`{signal.agent}`) {detail} | {signal.strength.name.lower()} "
            f"| {signal.source} |"
        )
    return lines


def _requirements_section(decision: Decision) -> list[str]:
    if not decision.requirements:
        return []
    lines = ["### What the policy requires", "", "| scope | approvals | from | status |",
             "|---|---|---|---|"]
    for requirement in decision.requirements:
        got = ", ".join(f"@{login}" for login in requirement.satisfied_by) or "none yet"
        mark = "met" if requirement.satisfied else "not met"
        lines.append(
            f"| {requirement.scope} | {requirement.required} | {requirement.approvers} "
            f"| {mark} ({got}) |"
        )
    return lines


def _approvals_section(decision: Decision) -> list[str]:
    if not decision.approvals:
        return ["### Reviews", "", "No reviews yet."]
    lines = ["### Reviews", "", "| reviewer | state | commit | counted | why |", "|---|---|---|---|---|"]
    for verdict in decision.approvals:
        lines.append(
            f"| @{verdict.reviewer} | {verdict.state} | `{_sha7(verdict.commit_id)}` "
            f"| {'yes' if verdict.counted else 'no'} | {verdict.reason} |"
        )
    return lines


def render_text(decision: Decision, attribution: Attribution, pr: PullRequest) -> str:
    """The check run's markdown body, written for the reviewer."""
    lines = [f"Head commit: `{_sha7(pr.head_sha)}`", "", *_attribution_section(attribution), ""]
    lines += _requirements_section(decision)
    lines += ["", *_approvals_section(decision)]
    if decision.forbidden_paths:
        lines += ["", "### Paths agents may not change", ""]
        lines += [f"- `{path}`" for path in decision.forbidden_paths]
    if decision.to_pass:
        lines += ["", "### What would make this pass", ""]
        lines += [f"- {step}" for step in decision.to_pass]
    text = "\n".join(lines)
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "\n\n… (truncated)"


def check_run_body(decision: Decision, attribution: Attribution, pr: PullRequest) -> dict:
    """The JSON body for creating or updating the check run."""
    return {
        "name": CHECK_NAME,
        "head_sha": pr.head_sha,
        "status": "completed",
        "conclusion": conclusion_for(decision),
        "completed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "external_id": f"{pr.repo_id}:{pr.number}",
        "output": {
            "title": decision.title[:250],
            "summary": decision.summary[:_MAX_TEXT],
            "text": render_text(decision, attribution, pr),
        },
    }


async def publish_check_run(
    gh: GitHubAPI, pr: PullRequest, body: dict, existing_id: int | None
) -> int:
    """Create the check run on the head SHA, or update the one we created before; returns its id."""
    base = f"/repos/{pr.repo_full_name}/check-runs"
    if existing_id is not None:
        update = {key: value for key, value in body.items() if key != "head_sha"}
        await gh.patch(f"{base}/{existing_id}", data=update)
        return existing_id
    created = await gh.post(base, data=body)
    return int(created["id"])
