"""Control drills: exercise the core's controls on synthetic changes and report each outcome.

An auditor asks "test your controls".  A drill runs detection and evaluation — the very
functions that judge real pull requests — against the effective default policy on made-up
changes, and checks each control answers as it must: an agent change without a countersignature
is blocked, a qualifying human approval lets it through, the launcher cannot countersign, a
stale approval does not count, and a freeze (the kill switch) blocks even an approved change.
Pure: the CLI records the result as a ``drill`` ledger entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from github_app.core.catalogue import Catalogue
from github_app.core.detection import detect
from github_app.core.models import Account, Commit, GitIdentity, PullRequest, Review
from github_app.policy.evaluate import EvaluationInput, ReviewerFacts, evaluate
from github_app.policy.loader import effective_policy
from github_app.policy.model import Policy

HEAD = "d" * 40
LAUNCHER = Account(login="drill-developer", id=1, type="User")
REVIEWER = Account(login="drill-reviewer", id=2, type="User")


@dataclass(frozen=True)
class ControlResult:
    """One control, what it must do, and whether it did."""

    control: str
    expected: str
    observed: str

    @property
    def passed(self) -> bool:
        """True when the control answered as it must."""
        return self.expected == self.observed


def _agent_change() -> tuple[PullRequest, tuple[Commit, ...]]:
    pr = PullRequest(
        repo_full_name="countersign/drill",
        repo_id=0,
        number=1,
        title="Drill",
        author=LAUNCHER,
        head_ref="claude/drill",
        head_sha=HEAD,
        base_ref="main",
    )
    message = (
        "Drill change\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n"
        f"Agent-Session-Id: drill-session\nAgent-Launched-By: {LAUNCHER.login}\n"
    )
    identity = GitIdentity(name="Drill Developer", email="drill-developer@example.com")
    commit = Commit(
        sha=HEAD,
        message=message,
        author=identity,
        committer=identity,
        author_account=LAUNCHER,
        committer_account=LAUNCHER,
    )
    return pr, (commit,)


def _approval(reviewer: Account, sha: str = HEAD, review_id: int = 1) -> Review:
    return Review(id=review_id, reviewer=reviewer, state="APPROVED", commit_id=sha)


def run_drill(default: Policy, catalogue: Catalogue) -> list[ControlResult]:
    """Run every control against the shipped default policy; returns one result each."""
    policy = effective_policy(default, None, None)
    pr, commits = _agent_change()
    attribution = detect(pr, commits, catalogue)
    facts = {
        login: ReviewerFacts(login=login, permission="write")
        for login in (LAUNCHER.login, REVIEWER.login)
    }
    base = EvaluationInput(
        pr=pr,
        commits=commits,
        changed_files=("src/app.py",),
        attribution=attribution,
        policy=policy,
        reviewer_facts=facts,
    )

    def state(**changes: object) -> str:
        return evaluate(base.model_copy(update=changes)).state

    approved = (_approval(REVIEWER),)
    return [
        ControlResult("agent change detected", "True", str(attribution.is_agent)),
        ControlResult("no countersignature blocks the merge", "pending", state()),
        ControlResult("a qualifying human approval passes", "approved", state(reviews=approved)),
        ControlResult(
            "the launcher cannot countersign", "pending", state(reviews=(_approval(LAUNCHER),))
        ),
        ControlResult(
            "an approval of an older commit does not count",
            "pending",
            state(reviews=(_approval(REVIEWER, sha="e" * 40),)),
        ),
        ControlResult(
            "a freeze blocks even an approved change",
            "frozen",
            state(reviews=approved, frozen=True, freeze_reason="drill"),
        ),
    ]
