"""Reading policy files and layering them: shipped default, then org file, then repo file.

The org file (``countersign.yml`` in the org's ``.github`` repository) overrides the default
freely.  The repo file (``.github/countersign.yml``) can only tighten the org policy: each
attempt to loosen it is ignored and noted.  Both are partial documents; anything malformed raises
:class:`PolicyError` so the caller can fail closed and show the message.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from github_app.paths import policies_dir
from github_app.policy.diagnostics import Diagnostic, from_validation_error, from_yaml_error
from github_app.policy.model import Policy
from github_app.policy.tighten import prepare_repo_doc, tighten

REPO_POLICY_PATH = ".github/countersign.yml"
ORG_POLICY_REPO = ".github"
ORG_POLICY_PATH = "countersign.yml"
# Every path that is a policy file somewhere: the second only in the org's ``.github`` repo.
POLICY_PATHS: tuple[str, ...] = (REPO_POLICY_PATH, ORG_POLICY_PATH)

DEFAULT_SOURCE = "countersign:policies/default.yml"
MAX_POLICY_BYTES = 256 * 1024
# Bounds the expanded size of the document, so YAML aliases cannot multiply it without limit.
MAX_POLICY_NODES = 20_000


class PolicyError(Exception):
    """A policy file could not be read; ``source`` names the file, ``message`` says why.

    ``diagnostics`` place each problem at its line and column; ``str()`` is one
    ``file:line:col: key: message`` line per problem.
    """

    def __init__(self, source: str, message: str, diagnostics: tuple[Diagnostic, ...] = ()) -> None:
        self.diagnostics = diagnostics or (Diagnostic(source, 1, 1, "", message),)
        super().__init__("\n".join(d.format() for d in self.diagnostics))
        self.source = source
        self.message = message


class EffectivePolicy(BaseModel):
    """The policy in force for one repository, with its fingerprint and provenance."""

    model_config = ConfigDict(frozen=True)

    policy: Policy
    sha: str  # sha256 of the canonical JSON of ``policy``; recorded as the ledger's policy_sha
    sources: tuple[str, ...]
    ignored: tuple[str, ...] = ()  # repo settings that would have loosened the org policy


class _StrictLoader(yaml.SafeLoader):
    """Safe loader that refuses duplicate keys (the later one would silently win)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            if isinstance(key, Hashable):
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_error(source: str, error: yaml.YAMLError) -> PolicyError:
    diagnostic = from_yaml_error(error, source)
    problem = diagnostic.message.removeprefix("invalid YAML: ")
    where = f"line {diagnostic.line}, column {diagnostic.column}"
    return PolicyError(source, f"invalid YAML at {where}: {problem}", (diagnostic,))


def _count_nodes(value: Any, budget: int) -> int:
    """Spend one unit of ``budget`` per node (shared nodes counted each time they appear)."""
    budget -= 1
    if isinstance(value, Mapping):
        children: Iterable[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple):
        children = value
    else:
        children = ()
    for child in children:
        if budget < 0:
            break
        budget = _count_nodes(child, budget)
    return budget


def read_document(text: str | None, source: str) -> dict[str, Any]:
    """Parse a policy file into a (possibly partial) mapping; empty or missing is ``{}``."""
    if text is None or not text.strip():
        return {}
    if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise PolicyError(source, f"policy file is larger than {MAX_POLICY_BYTES} bytes")
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise _yaml_error(source, error) from error
    except RecursionError as error:
        raise PolicyError(source, "invalid YAML: nested too deeply") from error
    except (ValueError, TypeError) as error:  # e.g. an impossible date such as 2024-13-45
        raise PolicyError(source, f"invalid YAML: {error}") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise PolicyError(source, f"the top level must be a mapping of settings, not a {kind}")
    if _count_nodes(data, MAX_POLICY_NODES) < 0:
        raise PolicyError(source, f"policy document expands to more than {MAX_POLICY_NODES} nodes")
    return data


def merge_documents(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` into ``base``: mappings merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_documents(current, value)
        else:
            merged[key] = value
    return merged


def validate_document(data: Mapping[str, Any], source: str, text: str | None = None) -> Policy:
    """Validate a complete policy mapping, turning validation errors into a PolicyError.

    ``text`` is the file the mapping (or its override part) came from: errors point into it.
    """
    try:
        return Policy.model_validate(data)
    except ValidationError as error:
        diagnostics = tuple(from_validation_error(error, source, text, Policy))
        message = "; ".join(f"{d.key}: {d.message}" for d in diagnostics)
        raise PolicyError(source, message, diagnostics) from None


def parse_policy(text: str, source: str) -> Policy:
    """Parse one policy file on its own: unset settings take the model's defaults."""
    return validate_document(read_document(text, source), source, text)


def default_policy_path() -> Path:
    """Where the shipped default policy lives."""
    return policies_dir() / "default.yml"


def load_default_policy() -> Policy:
    """Read and validate the shipped default policy."""
    path = default_policy_path()
    return parse_policy(path.read_text(encoding="utf-8"), DEFAULT_SOURCE)


def policy_sha(policy: Policy) -> str:
    """SHA-256 hex of the canonical JSON encoding of a policy."""
    canonical = json.dumps(
        policy.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def effective_policy(
    default: Policy,
    org_text: str | None,
    repo_text: str | None,
    *,
    org_source: str = "org policy",
    repo_source: str = "repo policy",
) -> EffectivePolicy:
    """Layer the org file over the default, then apply the repo file's tightenings only.

    ``None`` means the file does not exist; an empty file exists but changes nothing.
    """
    org_policy = validate_document(
        merge_documents(default.model_dump(), read_document(org_text, org_source)),
        org_source,
        org_text,
    )
    repo_data = prepare_repo_doc(read_document(repo_text, repo_source))
    candidate = validate_document(
        merge_documents(org_policy.model_dump(), repo_data), repo_source, repo_text
    )
    policy, ignored = tighten(org_policy, candidate)
    sources = [DEFAULT_SOURCE]
    sources += [org_source] if org_text is not None else []
    sources += [repo_source] if repo_text is not None else []
    notes = tuple(f"{repo_source}: {note}" for note in ignored)
    return EffectivePolicy(
        policy=policy, sha=policy_sha(policy), sources=tuple(sources), ignored=notes
    )


def policy_paths_for(repo_name: str) -> frozenset[str]:
    """The policy file paths inside a repository (``owner/name`` or ``name``)."""
    name = repo_name.rsplit("/", 1)[-1].lower()
    return frozenset(POLICY_PATHS) if name == ORG_POLICY_REPO else frozenset({REPO_POLICY_PATH})


def touches_policy(changed_files: Iterable[str], repo_name: str) -> bool:
    """True when a change adds, edits, renames or deletes a policy file of this repository.

    Pass both the new and the previous name of renamed files.
    """
    policy_paths = policy_paths_for(repo_name)
    return any(path.lstrip("/") in policy_paths for path in changed_files)
