"""The policy file ``countersign.yml`` as a typed, immutable model.

Every model forbids unknown keys so a typo in a policy file is an error, never a silently ignored
setting.  The model's defaults are the shipped default policy (``policies/default.yml``); a test
keeps the two identical.  ``write_schema`` publishes the JSON Schema editors use to validate the
file while it is being written.
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
)

from github_app.core.catalogue import validate_extension
from github_app.core.models import Strength

# Where the published JSON Schema of countersign.yml lives (its identity for editors).
SCHEMA_ID = (
    "https://raw.githubusercontent.com/countersign/countersign/main/policies/"
    "countersign.schema.json"
)
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

Permission = Literal["read", "triage", "write", "maintain", "admin"]
ThresholdName = Literal["branch_prefix", "trailer", "session_url", "identity"]


def _yaml_off(value: Any) -> Any:
    # YAML 1.1 reads a bare `off` as false; `mode: off` is what people write.
    return "off" if value is False else value


RulesetMode = Annotated[Literal["off", "audit", "enforce"], BeforeValidator(_yaml_off)]

# Weakest first: the index is the rank used when comparing or tightening.
PERMISSION_ORDER: tuple[str, ...] = ("none", "read", "triage", "write", "maintain", "admin")
RULESET_MODE_ORDER: tuple[str, ...] = ("off", "audit", "enforce")

_LOGIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38})$")
_TEAM = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38})/[a-z0-9][a-z0-9_.-]*$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def permission_rank(permission: str) -> int:
    """Rank of a repository permission (unknown values rank lowest, like ``none``)."""
    lowered = permission.lower()
    return PERMISSION_ORDER.index(lowered) if lowered in PERMISSION_ORDER else 0


def _login(value: str) -> str:
    lowered = value.strip().lstrip("@").lower()
    if not _LOGIN.match(lowered):
        raise ValueError(f"{value!r} is not a GitHub user login")
    return lowered


def _team(value: str) -> str:
    lowered = value.strip().lstrip("@").lower()
    if not _TEAM.match(lowered):
        raise ValueError(f"{value!r} is not a team; write teams as org/team-slug")
    return lowered


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name (A-Z, 0-9, _)")
    return value


Login = Annotated[str, AfterValidator(_login)]
Team = Annotated[str, AfterValidator(_team)]
Pattern = Annotated[str, AfterValidator(_non_empty)]
EnvName = Annotated[str, AfterValidator(_env_name)]


class PolicyModel(BaseModel):
    """Base for policy sections: immutable, and unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Principals(PolicyModel):
    """A set of people: named users and members of named teams."""

    users: tuple[Login, ...] = Field(default=(), description="GitHub logins.")
    teams: tuple[Team, ...] = Field(default=(), description="Teams, written org/team-slug.")

    @property
    def restricted(self) -> bool:
        """True when the set names anyone (an empty set means no restriction by name)."""
        return bool(self.users or self.teams)


class ApproverSpec(Principals):
    """Who may approve: everyone must hold ``min_permission``; if users or teams are listed,
    the approver must also be one of those users or a member of one of those teams."""

    min_permission: Permission = Field(
        default="write", description="Lowest repository permission an approver must hold."
    )


class ApprovalRequirement(ApproverSpec):
    """How many approvals are needed, and from whom."""

    required: StrictInt = Field(default=1, ge=1, le=20, description="Number of approvals needed.")


class Approvals(ApprovalRequirement):
    """The approval every agent change needs."""

    changes_requested_blocks: StrictBool = Field(
        default=True,
        description="A qualifying 'request changes' review blocks until lifted or dismissed.",
    )


class PathRule(PolicyModel):
    """A stricter rule for files matching a glob pattern (``**`` spans directories)."""

    pattern: Pattern = Field(description="Glob over repository paths, e.g. infra/** or *.pem.")
    approvals: ApprovalRequirement | None = Field(
        default=None, description="An additional approval these files need."
    )
    agents_forbidden: StrictBool = Field(
        default=False,
        description="Agent changes may not touch these files at all (and an agent's hook "
        "denies its tools writing them).",
    )
    agents_may_not_read: StrictBool = Field(
        default=False,
        description="An agent's hook denies its tools reading or writing these files "
        "(the data-classification control on agent access).",
    )


class Detection(PolicyModel):
    """What counts as an agent change."""

    threshold: ThresholdName = Field(
        default="trailer",
        description="Weakest signal that makes a change an agent change "
        "(branch_prefix < trailer < session_url < identity).",
    )
    ai_assisted_is_agent: StrictBool = Field(
        default=False,
        description="Treat AI-assisted changes (accepted AI suggestions) as agent changes.",
    )
    agents: tuple[dict[str, Any], ...] = Field(
        default=(),
        description="Extra agent catalogue entries (same shape as agents.yml); an entry named "
        "like a shipped agent only adds to it.",
    )

    @field_validator("agents")
    @classmethod
    def _valid_catalogue_entries(cls, agents: tuple[dict[str, Any], ...]) -> tuple:
        # Checked here, so `policy check` refuses what would otherwise fail every delivery.
        validate_extension(agents)
        return agents

    @property
    def threshold_strength(self) -> Strength:
        """The threshold as a detection signal strength."""
        return Strength[self.threshold.upper()]


class Session(PolicyModel):
    """Requirements on the agent session id."""

    require_id: StrictBool = Field(
        default=True, description="Agent changes must carry a session id."
    )
    allow_derived: StrictBool = Field(
        default=True,
        description="Accept an id Countersign derived (pr:<repo-id>:<number>) when the "
        "commits carried none.",
    )
    require_attested: StrictBool = Field(
        default=False,
        description="Block agent changes whose session was never started through an agent "
        "token (POST /api/v1/agent/events), so its launcher is not attested.",
    )


class DirectPush(PolicyModel):
    """How a push that bypassed pull requests on a protected branch is answered."""

    count_human_pushes: StrictBool = Field(
        default=False, description="Treat direct pushes of human commits as violations too."
    )
    open_issue: StrictBool = Field(default=True, description="Open an issue describing the push.")
    alert: StrictBool = Field(default=True, description="Send the configured alerts.")
    revert_pr: StrictBool = Field(
        default=False, description="Open a pull request reverting the push."
    )


class Emergency(PolicyModel):
    """The break-glass path: a label plus one approval from an emergency approver."""

    label: Pattern = Field(default="emergency", description="The PR label that asks for it.")
    approvers: ApproverSpec = Field(
        default_factory=ApproverSpec,
        description="Who may approve an emergency change; with no users or teams listed the "
        "emergency path is disabled.",
    )
    post_review_hours: StrictInt = Field(
        default=72, ge=1, le=24 * 90, description="Deadline for the post-merge review."
    )


class Webhook(PolicyModel):
    """An HTTPS endpoint that receives alerts, signed with a secret from the environment."""

    url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    secret_env: EnvName | None = Field(
        default=None, description="Environment variable holding the HMAC secret."
    )


class Slack(PolicyModel):
    """A Slack incoming webhook; the URL is a secret so only its variable name is written."""

    url_env: EnvName = Field(description="Environment variable holding the webhook URL.")


class Alerts(PolicyModel):
    """Where alerts go."""

    webhooks: tuple[Webhook, ...] = ()
    slack: tuple[Slack, ...] = ()


class PolicyOwners(ApproverSpec):
    """Who must approve a change to a policy file (default: anyone with admin permission)."""

    min_permission: Permission = Field(
        default="admin", description="Lowest repository permission a policy owner must hold."
    )


class Rulesets(PolicyModel):
    """The repository ruleset Countersign keeps on protected branches."""

    mode: RulesetMode = Field(
        default="enforce",
        description="enforce: create and repair; audit: report drift only; off: leave alone.",
    )
    required_approvals: StrictInt = Field(
        default=0, ge=0, le=10, description="GitHub's own required approving review count."
    )
    require_last_push_approval: StrictBool = Field(
        default=False, description="GitHub's 'approval of the most recent push' rule."
    )


class Policy(PolicyModel):
    """A complete Countersign policy (``countersign.yml``)."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        title="Countersign policy (countersign.yml)",
        json_schema_extra={"$id": SCHEMA_ID, "$schema": SCHEMA_DIALECT},
    )

    version: Literal[1] = 1
    protected_branches: tuple[Pattern, ...] = Field(
        default=("main", "master", "release/*"),
        description="fnmatch patterns; the repository's default branch is always protected.",
    )
    detection: Detection = Field(default_factory=Detection)
    approvals: Approvals = Field(default_factory=Approvals)
    paths: tuple[PathRule, ...] = Field(default=(), description="Rules for specific paths.")
    session: Session = Field(default_factory=Session)
    direct_push: DirectPush = Field(default_factory=DirectPush)
    emergency: Emergency = Field(default_factory=Emergency)
    alerts: Alerts = Field(default_factory=Alerts)
    policy_owners: PolicyOwners = Field(default_factory=PolicyOwners)
    rulesets: Rulesets = Field(default_factory=Rulesets)

    def is_protected(self, branch: str, default_branch: str) -> bool:
        """True when ``branch`` is the default branch or matches a protected pattern."""
        if branch == default_branch:
            return True
        return any(fnmatch.fnmatchcase(branch, pattern) for pattern in self.protected_branches)


def schema_text() -> str:
    """The policy JSON Schema, serialised exactly as committed in the repository."""
    return json.dumps(Policy.model_json_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(path: str | Path) -> Path:
    """Write the policy JSON Schema to ``path`` and return the path written."""
    target = Path(path)
    target.write_text(schema_text(), encoding="utf-8")
    return target
