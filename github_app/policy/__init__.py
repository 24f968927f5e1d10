"""Countersign policy: the ``countersign.yml`` model, layering, and approval evaluation.

Everything here is pure except :func:`load_default_policy` and :func:`write_schema`, which touch
only the file paths they are given or the shipped ``policies/`` directory.
"""

from github_app.policy.approvers import ReviewerFacts
from github_app.policy.evaluate import (
    ApprovalVerdict,
    Decision,
    EvaluationInput,
    Requirement,
    evaluate,
    is_agent_change,
)
from github_app.policy.loader import (
    ORG_POLICY_PATH,
    ORG_POLICY_REPO,
    POLICY_PATHS,
    REPO_POLICY_PATH,
    EffectivePolicy,
    PolicyError,
    effective_policy,
    load_default_policy,
    parse_policy,
    policy_sha,
    touches_policy,
)
from github_app.policy.model import Policy, schema_text, write_schema
from github_app.policy.render import render_markdown

__all__ = [
    "ORG_POLICY_PATH",
    "ORG_POLICY_REPO",
    "POLICY_PATHS",
    "REPO_POLICY_PATH",
    "ApprovalVerdict",
    "Decision",
    "EffectivePolicy",
    "EvaluationInput",
    "Policy",
    "PolicyError",
    "Requirement",
    "ReviewerFacts",
    "effective_policy",
    "evaluate",
    "is_agent_change",
    "load_default_policy",
    "parse_policy",
    "policy_sha",
    "render_markdown",
    "schema_text",
    "touches_policy",
    "write_schema",
]
