"""Loading the catalogue: the shipped file, extended (never weakened) by policy entries.

``policies/agents.yml`` ships with Countersign; org and repository policies add entries under
``detection.agents``.  An entry with a new name adds an agent.  An entry named like a shipped
one can only *add* to it — identities, patterns, markers, prefixes, labels and launcher rules
are appended; nothing is removed or reordered, and an agent cannot be turned into AI
assistance.  That is how a security team ships a fingerprint update across the org without a
Countersign release, and why a repository's policy cannot switch detection off.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from github_app.core.catalogue.index import Catalogue
from github_app.core.catalogue.spec import AgentEntry, CatalogueSpec, Identities
from github_app.paths import policies_dir

DEFAULT_CATALOGUE_PATH = policies_dir() / "agents.yml"
# Extended catalogues kept compiled per distinct extension (policies rarely differ).
_EXTENDED_CACHE_SIZE = 64


def load_catalogue(path: Path | None = None, extra: Sequence[Mapping] | None = None) -> Catalogue:
    """Load, validate and compile the agent catalogue.

    ``path`` defaults to the repository's ``policies/agents.yml``.  ``extra`` holds policy
    entries, validated by the same model and merged additively (see the module docstring).
    Any problem raises a ValueError naming the entry.
    """
    path = path or DEFAULT_CATALOGUE_PATH
    document = _read_yaml(path)
    base = _parse_entries(document.get("agents"), origin=str(path))
    additions = _parse_entries(list(extra or []), origin="org extension")
    origin = f"agent catalogue {path.name}" + (" with org extension" if additions else "")
    try:
        release = document.get("catalogue_version", "unversioned")
        if additions:
            release = f"{release}+ext.{extension_digest(extra or [])}"
        spec = CatalogueSpec(
            version=document.get("version", 1),
            catalogue_version=release,
            agents=_merge(base, additions),
        )
        return Catalogue(spec, builtin_names=frozenset(entry.name for entry in base))
    except ValidationError as exc:
        raise ValueError(_describe(exc, origin)) from None
    except ValueError as exc:
        raise ValueError(f"{origin}: {exc}") from None


@functools.cache
def default_catalogue() -> Catalogue:
    """The shipped catalogue, loaded once per process."""
    return load_catalogue()


def extension_digest(extra: Sequence[Mapping]) -> str:
    """A short, stable digest of policy catalogue entries (part of the catalogue version)."""
    canonical = json.dumps(list(extra), sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


class CatalogueCache:
    """The base catalogue and its policy-extended variants, each compiled once.

    Safe to call from worker threads: detection runs off the event loop.
    """

    def __init__(self, base: Catalogue | None = None, path: Path | None = None) -> None:
        self.base = base or (load_catalogue(path) if path else default_catalogue())
        self._path = path
        self._extended: dict[str, Catalogue] = {}
        self._lock = threading.Lock()

    def for_entries(self, extra: Sequence[Mapping]) -> Catalogue:
        """The catalogue extended with ``extra``; raises ValueError for an invalid entry."""
        if not extra:
            return self.base
        key = json.dumps(list(extra), sort_keys=True, default=str)
        with self._lock:
            cached = self._extended.get(key)
        if cached is not None:
            return cached
        extended = load_catalogue(self._path, extra=[dict(entry) for entry in extra])
        with self._lock:
            if len(self._extended) >= _EXTENDED_CACHE_SIZE:
                self._extended.pop(next(iter(self._extended)))
            self._extended[key] = extended
        return extended


def validate_extension(extra: Sequence[Mapping]) -> None:
    """Raise ValueError (one line) unless ``extra`` extends the shipped catalogue cleanly."""
    if extra:
        default_cache().for_entries(extra)


@functools.cache
def default_cache() -> CatalogueCache:
    """The process-wide cache over the shipped catalogue."""
    return CatalogueCache()


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"agent catalogue {path}: cannot read it: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"agent catalogue {path}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise ValueError(f"agent catalogue {path}: expected a mapping with an 'agents' list")
    return document


def _parse_entries(raw_entries: Any, origin: str) -> list[AgentEntry]:
    if not isinstance(raw_entries, list):
        raise ValueError(f"agent catalogue {origin}: 'agents' must be a list")
    return [_parse_entry(raw, position, origin) for position, raw in enumerate(raw_entries)]


def _parse_entry(raw: Any, position: int, origin: str) -> AgentEntry:
    name = raw.get("name") if isinstance(raw, dict) else None
    label = f"entry {name!r}" if isinstance(name, str) else f"entry #{position + 1}"
    try:
        return AgentEntry.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(_describe(exc, f"agent catalogue {origin}: {label}")) from None


def _describe(exc: ValidationError, prefix: str) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return f"{prefix}: " + "; ".join(problems)


def _merge(base: list[AgentEntry], additions: list[AgentEntry]) -> tuple[AgentEntry, ...]:
    merged: dict[str, AgentEntry] = {}
    for entry in base:
        if entry.name in merged:
            raise ValueError(f"entry {entry.name!r} is defined twice")
        merged[entry.name] = entry
    for addition in additions:
        current = merged.get(addition.name)
        merged[addition.name] = addition if current is None else _extend(current, addition)
    return tuple(merged.values())


def _extend(current: AgentEntry, addition: AgentEntry) -> AgentEntry:
    """``current`` with everything ``addition`` adds: an extension can only widen detection.

    Launcher rules are appended after the entry's own, so the vendor's rules keep priority;
    an extension may turn AI assistance into an agent (stricter), never the reverse.
    """
    given = addition.model_fields_set
    if "assisted_only" in given and addition.assisted_only and not current.assisted_only:
        raise ValueError(f"extension {current.name!r} cannot mark an agent assisted_only")
    identities = Identities(
        emails=_union(current.identities.emails, addition.identities.emails),
        account_ids=_union(current.identities.account_ids, addition.identities.account_ids),
        logins=_union(current.identities.logins, addition.identities.logins),
        name_suffixes=_union(current.identities.name_suffixes, addition.identities.name_suffixes),
    )
    launcher = current.launcher
    if "launcher" in given:
        launcher = _union(current.launcher, addition.launcher)
    return current.model_copy(
        update={
            "products": _union(current.products, addition.products),
            "assisted_only": current.assisted_only and addition.assisted_only
            if "assisted_only" in given
            else current.assisted_only,
            "identities": identities,
            "session_patterns": _union(current.session_patterns, addition.session_patterns),
            "markers": _union(current.markers, addition.markers),
            "branch_prefixes": _union(current.branch_prefixes, addition.branch_prefixes),
            "labels": _union(current.labels, addition.labels),
            "launcher": launcher,
            "sources": _union(current.sources, addition.sources),
        }
    )


def _union(first: tuple[Any, ...], second: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(first + second))
