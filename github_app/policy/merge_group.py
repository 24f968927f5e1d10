"""Judge a merge queue group: may its head commit pass the ``countersign`` check? (pure)

GitHub's merge queue tests a temporary commit holding the base branch, every PR queued ahead
and the PR itself, and merges exactly that commit.  The group passes only when every PR in it
has a passing decision on the head SHA it was queued with, and the group provably holds nothing
else: the queue lists an entry for the group's head commit, every entry up to it is a pull
request, and the first is built on the group's base commit.  With "only merge non-failing pull
requests" off, a PR of a failed group can merge with a later group, so the verdict names every
PR of the group, not only the one the group's branch name mentions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from github_app.core.models import Frozen
from github_app.policy.decision import PASSING_STATES

BRANCH_PREFIX = "refs/heads/"


class MergeGroup(Frozen):
    """The facts of one ``merge_group`` delivery."""

    repo: str
    repo_id: int
    head_sha: str
    head_ref: str
    base_ref: str  # the full ref, e.g. refs/heads/main
    base_sha: str

    @property
    def branch(self) -> str:
        """The target branch name (``main``)."""
        return self.base_ref.removeprefix(BRANCH_PREFIX)


class QueueEntry(Frozen):
    """One entry of the queue, as GraphQL ``repository.mergeQueue.entries`` lists it."""

    position: int
    state: str = ""
    head_commit: str | None = None  # the group commit built for this entry
    base_commit: str | None = None
    pr_number: int | None = None
    pr_head_sha: str | None = None  # the PR head the entry was queued with


class Standing(Frozen):
    """Countersign's last published decision for one pull request."""

    head_sha: str
    state: str


class GroupVerdict(Frozen):
    """The group's verdict: the check run's conclusion, words, and what the ledger keeps."""

    passing: bool
    title: str
    summary: str
    prs: tuple[int, ...] = ()
    lacking: tuple[tuple[int | None, str], ...] = ()  # (PR or None, why it lacks a countersign)

    @property
    def conclusion(self) -> str:
        """Only ``success`` lets the queue merge; everything else is ``failure``."""
        return "success" if self.passing else "failure"

    def ledger_data(self, group: MergeGroup) -> dict[str, Any]:
        """The ``data`` of the ``merge_group`` ledger entry."""
        return {
            "action": "checks_requested",
            "head_ref": group.head_ref,
            "base_ref": group.base_ref,
            "base_sha": group.base_sha,
            "prs": list(self.prs),
            "conclusion": self.conclusion,
            "lacking": [{"pr": pr, "reason": why} for pr, why in self.lacking],
        }


def merge_group_from_payload(payload: Mapping[str, Any]) -> MergeGroup:
    """The typed facts of a ``merge_group`` webhook payload."""
    group, repository = payload["merge_group"], payload["repository"]
    return MergeGroup(
        repo=repository["full_name"],
        repo_id=repository["id"],
        head_sha=group["head_sha"],
        head_ref=group.get("head_ref") or "",
        base_ref=group["base_ref"],
        base_sha=group.get("base_sha") or "",
    )


def queue_entries(nodes: Iterable[Mapping[str, Any] | None]) -> tuple[QueueEntry, ...]:
    """Queue entries from GraphQL ``MergeQueueEntry`` nodes, in queue order."""
    entries = []
    for node in nodes:
        if not node:
            continue
        pull = node.get("pullRequest") or {}
        entries.append(
            QueueEntry(
                position=int(node.get("position") or 0),
                state=node.get("state") or "",
                head_commit=(node.get("headCommit") or {}).get("oid"),
                base_commit=(node.get("baseCommit") or {}).get("oid"),
                pr_number=pull.get("number"),
                pr_head_sha=pull.get("headRefOid"),
            )
        )
    return tuple(sorted(entries, key=lambda entry: entry.position))


def group_members(entries: Sequence[QueueEntry], head_sha: str) -> tuple[QueueEntry, ...] | None:
    """The entries the group at ``head_sha`` holds: its own entry and every entry ahead of it.

    ``None`` when the queue lists no entry built as that commit (the group's contents are then
    unknown, and it cannot pass).
    """
    for index, entry in enumerate(entries):
        if entry.head_commit and entry.head_commit.lower() == head_sha.lower():
            return tuple(entries[: index + 1])
    return None


def _why_lacking(entry: QueueEntry, standing: Standing | None) -> str | None:
    if standing is None:
        return "Countersign has no decision for it"
    if (standing.head_sha or "").lower() != (entry.pr_head_sha or "").lower():
        return (
            f"queued at {(entry.pr_head_sha or '?')[:7]}, but Countersign's decision is for "
            f"{standing.head_sha[:7]}"
        )
    if standing.state not in PASSING_STATES:
        return f"not countersigned (its decision is {standing.state})"
    return None


def _contents_problem(group: MergeGroup, members: tuple[QueueEntry, ...] | None) -> str | None:
    if members is None:
        return f"the merge queue lists no entry built as {group.head_sha[:7]}"
    if any(entry.pr_number is None or not entry.pr_head_sha for entry in members):
        return "the group holds an entry that is not a pull request"
    first = members[0].base_commit
    if first and group.base_sha and first.lower() != group.base_sha.lower():
        return f"the group is built on {group.base_sha[:7]}, but its first entry on {first[:7]}"
    return None


def judge_group(
    group: MergeGroup,
    members: tuple[QueueEntry, ...] | None,
    standings: Mapping[int, Standing],
    *,
    frozen_reason: str | None = None,
) -> GroupVerdict:
    """Decide whether the group's head commit passes (see the module docstring)."""
    prs = tuple(entry.pr_number for entry in members or () if entry.pr_number is not None)
    problem = _contents_problem(group, members)
    if problem is not None:
        return GroupVerdict(
            passing=False,
            title="Merge group: contents unknown",
            summary=f"Countersign cannot tell what this group holds: {problem}. Fail closed.",
            prs=prs,
            lacking=((None, problem),),
        )
    lacking = tuple(
        (entry.pr_number, why)
        for entry in members or ()
        if (why := _why_lacking(entry, standings.get(entry.pr_number or 0))) is not None
    )
    if frozen_reason is not None:
        lacking += ((None, f"the repository is frozen: {frozen_reason}"),)
    listed = ", ".join(f"#{number}" for number in prs)
    if not lacking:
        return GroupVerdict(
            passing=True,
            title=f"Merge group countersigned ({listed})",
            summary=f"Every pull request in this group is countersigned on its queued head: "
            f"{listed}.",
            prs=prs,
        )
    missing = [f"#{pr}" for pr, _ in lacking if pr is not None]
    title = (
        f"Merge group blocked: {', '.join(missing)} lack a countersignature"
        if missing
        else "Merge group blocked"
    )
    lines = [f"- {f'#{pr}' if pr is not None else 'group'}: {why}" for pr, why in lacking]
    summary = f"This group holds {listed}. It cannot pass:\n" + "\n".join(lines)
    return GroupVerdict(passing=False, title=title, summary=summary, prs=prs, lacking=lacking)
