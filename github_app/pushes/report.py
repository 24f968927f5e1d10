"""What Countersign says about a direct push: issue, alert payloads, revert PR (pure).

The issue body carries a hidden marker naming the incident so it can be found again
(``incident_marker``).  Nothing here includes secrets: only facts GitHub already showed to
everyone who can read the repository.

Text the pusher controls (commit titles, author names, trailers, branch names, policy errors
quoting a policy file) goes into markdown only as inline code spans (``code``): inside one, an
``@team`` notifies nobody, and links, images and HTML stay literal text.
"""

from __future__ import annotations

import re
from typing import Any

from github_app.pushes.classify import Push, PushAttribution, incident_id

ALERT_EVENT = "direct_push"
REVERT_BRANCH_PREFIX = "countersign/revert-"
# Line breaks would end the list item (backticks, which would close the span, are dropped).
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_NOT_REF_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_BRANCH_IN_REF = 60


def short(sha: str) -> str:
    """The seven-character form of a commit sha."""
    return sha[:7]


def code(text: str) -> str:
    """``text`` as an inline code span that nothing in it can break out of."""
    inner = _CONTROL_CHARACTERS.sub(" ", text.replace("`", "")).strip()
    return f"`{inner}`" if inner else "(empty)"


def incident_marker(push: Push) -> str:
    """An HTML comment that identifies the incident in the issue body."""
    return f"<!-- countersign:direct-push {push.repo_id} {push.after} {incident_id(push)} -->"


def _who(attribution: PushAttribution) -> str:
    overall = attribution.overall
    if not overall.is_agent:
        return "human-authored commits"
    # The launcher comes from a commit trailer: named, never @-mentioned.
    launched = f", launched by {code(overall.launched_by)}" if overall.launched_by else ""
    return f"commits by agent {code(overall.agent or '')}{launched}"


def issue_title(push: Push, attribution: PushAttribution) -> str:
    """One line: what happened, where, by whom."""
    what = "Protected branch deleted" if push.deleted else "Direct push"
    agent = " (agent-authored)" if attribution.overall.is_agent else ""
    return f"{what}{agent} to {push.branch} by {push.actor} ({short(push.after)})"


def _commit_lines(attribution: PushAttribution) -> list[str]:
    lines = []
    for commit, found in attribution.per_commit:
        title = commit.message.split("\n", 1)[0][:100]
        agent = f"agent {code(found.agent or '')}" if found.is_agent else "no agent signal"
        lines.append(
            f"- `{short(commit.sha)}` {code(title)} — {code(commit.author.name)} ({agent})"
        )
    return lines or ["- (no commits: the branch was rewound or deleted)"]


def _session_lines(attribution: PushAttribution) -> list[str]:
    overall = attribution.overall
    if not overall.is_agent:
        return []
    derived = " (derived: the commits named no session)" if overall.session_derived else ""
    return [f"- Agent session: {code(overall.session_id or '')}{derived}"]


def _policy_lines(policy_error: str | None) -> list[str]:
    if policy_error is None:
        return []
    return [
        f"- Policy: could not be read ({code(policy_error)}); the shipped default judged this "
        "push, and every branch counted as protected."
    ]


def issue_body(
    push: Push,
    attribution: PushAttribution,
    *,
    revert_pr_url: str | None,
    policy_error: str | None = None,
) -> str:
    """The facts of the incident and what to do about it, as GitHub markdown."""
    branch = code(push.branch or "")
    lines = [
        f"Countersign detected a push to the protected branch {branch} that did not "
        "arrive through a merged pull request, so no human countersigned it.",
        "",
        "**Facts**",
        f"- Pushed by: @{push.actor}"
        + (f" (git pusher {code(push.pusher)})" if push.pusher else ""),
        f"- Before: `{push.before}`",
        f"- After: `{push.after}`",
        f"- Forced: {'yes' if push.forced else 'no'}; deleted: {'yes' if push.deleted else 'no'}",
        f"- Authored by: {_who(attribution)}",
        *_session_lines(attribution),
        *_policy_lines(policy_error),
        *([f"- Compare: {push.compare_url}"] if push.compare_url else []),
        "",
        "**Commits**",
        *_commit_lines(attribution),
        "",
        "**What to do**",
        "1. Find out who holds the bypass that allowed this push, and why it was used.",
        "2. Review the pushed commits now, as if they were a pull request.",
        *(
            [f"3. If they should not be on {branch}, merge the revert: {revert_pr_url}"]
            if revert_pr_url
            else ["3. If they should not be on the branch, revert them through a pull request."]
        ),
        "4. Remove bypass actors that are not needed from the branch's rulesets.",
        "",
        incident_marker(push),
    ]
    return "\n".join(lines)


def alert_payload(
    push: Push,
    attribution: PushAttribution,
    *,
    issue_url: str | None,
    revert_pr_url: str | None,
) -> dict[str, Any]:
    """The JSON body posted to generic alert webhooks."""
    overall = attribution.overall
    return {
        "event": ALERT_EVENT,
        "repository": push.repo,
        "repository_id": push.repo_id,
        "branch": push.branch,
        "actor": push.actor,
        "pusher": push.pusher,
        "before": push.before,
        "after": push.after,
        "forced": push.forced,
        "deleted": push.deleted,
        "agent_authored": overall.is_agent,
        "agent": overall.agent,
        "session_id": overall.session_id,
        "launched_by": overall.launched_by,
        "commits": [commit.sha for commit, _ in attribution.per_commit],
        "issue_url": issue_url,
        "revert_pr_url": revert_pr_url,
        "pushed_at": push.pushed_at.isoformat(),
    }


def slack_text(push: Push, attribution: PushAttribution, *, issue_url: str | None) -> str:
    """A one-paragraph Slack message (mrkdwn; ``<``, ``>``, ``&`` escaped: no ``<!channel>``)."""
    text = (
        f":rotating_light: *{issue_title(push, attribution)}* in `{push.repo}`: "
        f"`{short(push.before)}` → `{short(push.after)}`, {_who(attribution)}."
    )
    text += f" Incident: {issue_url}" if issue_url else ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _ref_safe(branch: str) -> str:
    name = _NOT_REF_SAFE.sub("-", branch)
    name = re.sub(r"\.{2,}", ".", name)[:_MAX_BRANCH_IN_REF].strip(".-")
    return name or "branch"


def revert_branch(push: Push) -> str:
    """The branch the revert commit goes on: one per incident, naming the target branch.

    Sanitising the branch name can map two branches to one name (``release/1``, ``release-1``);
    the incident id's prefix keeps their revert branches apart.
    """
    digest = incident_id(push)[:8]
    return f"{REVERT_BRANCH_PREFIX}{_ref_safe(push.branch or '')}-{short(push.after)}-{digest}"


def revert_message(push: Push) -> str:
    """The revert commit's message."""
    return (
        f"Revert direct push to {push.branch} ({short(push.before)}..{short(push.after)})\n\n"
        f"This restores the tree of {push.before}, the branch's state before the push by "
        f"{push.actor} that bypassed review.\n"
    )


def revert_pr_body(push: Push, issue_url: str | None) -> str:
    """The revert pull request's description."""
    incident = f" See {issue_url}." if issue_url else ""
    branch = code(push.branch or "")
    return (
        f"Countersign opened this pull request to undo the direct push to {branch} "
        f"(`{short(push.before)}`..`{short(push.after)}`) by @{push.actor}.{incident}\n\n"
        "Merge it if the pushed commits should not be on the branch; close it if a reviewer "
        "accepts them."
    )
