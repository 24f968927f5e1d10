"""What evaluating a pull request works on and produces: the input, the verdicts, the Decision.

Also the few facts of the input that both the judging (``evaluate``) and the explanation text
(``explain``) need: the session, whether an emergency was requested, what blocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator

from github_app.core.models import (
    Attribution,
    Commit,
    Frozen,
    PullRequest,
    Review,
)
from github_app.policy.approvers import (
    ReviewerFacts,
)
from github_app.policy.loader import EffectivePolicy
from github_app.policy.model import ApproverSpec, Policy

DecisionState = Literal[
    "not_required",
    "not_agent",
    "approved",
    "pending",
    "blocked",
    "frozen",
    "revoked",
    "policy_invalid",
    "emergency",
]


PASSING_STATES: frozenset[str] = frozenset({"not_required", "not_agent", "approved", "emergency"})


class EvaluationInput(Frozen):
    """Everything evaluation needs, gathered by the shell."""

    pr: PullRequest
    commits: tuple[Commit, ...] = ()
    reviews: tuple[Review, ...] = ()
    changed_files: tuple[str, ...] = ()  # include the previous name of renamed files
    attribution: Attribution
    policy: EffectivePolicy | None
    policy_error: str | None = None
    reviewer_facts: Mapping[str, ReviewerFacts] = Field(default_factory=dict)  # by lower login
    agent_logins: frozenset[str] = frozenset()  # lower-case logins of catalogue agent identities
    frozen: bool = False
    freeze_reason: str | None = None
    revoked: bool = False
    incomplete: str | None = None  # why GitHub did not list every commit or file, if it did not
    # From agent sessions (github_app.sessions.attestation): more people who cannot countersign
    # (lower-case login -> why), and why the session itself blocks the change, if it does.
    extra_exclusions: Mapping[str, str] = Field(default_factory=dict)
    session_block: str | None = None

    @field_validator("reviewer_facts")
    @classmethod
    def _lower_fact_keys(cls, value: Mapping[str, ReviewerFacts]) -> dict[str, ReviewerFacts]:
        return {login.lower(): facts for login, facts in value.items()}

    @field_validator("agent_logins")
    @classmethod
    def _lower_agent_logins(cls, value: frozenset[str]) -> frozenset[str]:
        return frozenset(login.lower() for login in value)


class ApprovalVerdict(Frozen):
    """How one review was judged."""

    review_id: int
    reviewer: str
    state: str
    commit_id: str
    counted: bool
    reason: str


class Requirement(Frozen):
    """One approval requirement and whether it is met."""

    scope: str  # "all files", a path pattern, "policy files" or "emergency"
    required: int
    approvers: str  # who may approve, in words
    satisfied_by: tuple[str, ...]
    satisfied: bool


class Decision(Frozen):
    """The outcome of evaluating one pull request head."""

    state: DecisionState
    passing: bool
    title: str
    summary: str
    requirements: tuple[Requirement, ...] = ()
    approvals: tuple[ApprovalVerdict, ...] = ()
    to_pass: tuple[str, ...] = ()
    forbidden_paths: tuple[str, ...] = ()
    approvers: tuple[str, ...] = ()  # logins whose approval of the head SHA counted
    policy_sha: str | None = None


@dataclass(frozen=True)
class Check:
    """A requirement while it is being evaluated."""

    scope: str
    required: int
    spec: ApproverSpec
    kind: Literal["normal", "owners", "emergency"]


@dataclass(frozen=True)
class Context:
    """Facts derived once from the input and shared by the evaluation steps."""

    inp: EvaluationInput
    policy: Policy
    is_agent: bool
    policy_files: tuple[str, ...]
    exclusions: Mapping[str, str]  # lower login -> why that person cannot countersign
    excluded_ids: Mapping[int, str]  # account id -> why (co-authors known only by noreply id)
    checks: tuple[Check, ...]

    @property
    def head(self) -> str:
        return self.inp.pr.head_sha

    @property
    def head7(self) -> str:
        return self.inp.pr.head_sha[:7]


@dataclass(frozen=True)
class ReviewOutcome:
    verdicts: tuple[ApprovalVerdict, ...]
    counted: Mapping[str, frozenset[int]]  # login -> indexes of the checks the approval meets
    blocking: tuple[str, ...]  # logins whose change request blocks
    stale: tuple[tuple[str, str], ...]  # (login, approved sha) of eligible but outdated approvals


def emergency_requested(inp: EvaluationInput, policy: Policy) -> bool:
    label = policy.emergency.label.lower()
    return any(existing.lower() == label for existing in inp.pr.labels)


def session_of(inp: EvaluationInput) -> tuple[str, bool]:
    """The session id and whether it is derived: detection's, or ``pr:<repo-id>:<number>`` when
    detection found none (the derived id the README describes)."""
    attribution = inp.attribution
    if attribution.session_id:
        return attribution.session_id, attribution.session_derived
    return f"pr:{inp.pr.repo_id}:{inp.pr.number}", True


@dataclass(frozen=True)
class Blockers:
    """Everything that blocks regardless of approvals: short titles, sentences and steps."""

    titles: tuple[str, ...] = ()
    sentences: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
