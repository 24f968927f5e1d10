"""Containment actions shared by the admin API and the CLI: change state, then record it.

Each action changes containment state first (so a freeze takes effect even if recording it
fails — fail closed), then appends the matching ledger entry (``freeze``, ``unfreeze`` or
``session_revoked``) with the acting token or user as ``actor``.  Repeating an action that
changes nothing (freezing a frozen scope) records nothing and says so.  Synchronous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from github_app.evidence.encode import entry_record
from github_app.ledger.entry import LedgerEntry, NewEntry

ContainmentAction = Literal["freeze", "unfreeze", "session_revoked"]
REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
MAX_REASON = 1000
MAX_SESSION_ID = 256


@dataclass(frozen=True)
class ContainmentEvent:
    """What an action did; handed to the ``on_containment_change`` hook when ``changed``."""

    action: ContainmentAction
    changed: bool
    actor: str
    reason: str
    repo: str | None = None
    session_id: str | None = None
    entry: LedgerEntry | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready description (the ledger entry in full, when one was written)."""
        return {
            "action": self.action,
            "changed": self.changed,
            "actor": self.actor,
            "reason": self.reason,
            "repo": self.repo,
            "session_id": self.session_id,
            "entry": entry_record(self.entry) if self.entry else None,
        }


def validate_repo(repo: str | None) -> str | None:
    """``owner/name`` or None; raise ``ValueError`` for anything else."""
    if repo is None:
        return None
    if not REPO_NAME.match(repo):
        raise ValueError("repo must be owner/name")
    return repo


def freeze(services: Any, repo: str | None, reason: str, actor: str) -> ContainmentEvent:
    """Freeze agent changes org-wide (``repo`` None) or in one repository."""
    changed = services.containment.freeze(repo, reason, actor)
    entry = _record(
        services,
        "freeze",
        changed,
        repo=repo,
        actor=actor,
        data={"reason": reason, "scope": repo or "org"},
    )
    return ContainmentEvent("freeze", changed, actor, reason, repo=repo, entry=entry)


def unfreeze(services: Any, repo: str | None, actor: str, reason: str = "") -> ContainmentEvent:
    """Lift the freeze on a scope."""
    changed = services.containment.unfreeze(repo, actor)
    entry = _record(
        services,
        "unfreeze",
        changed,
        repo=repo,
        actor=actor,
        data={"reason": reason, "scope": repo or "org"},
    )
    return ContainmentEvent("unfreeze", changed, actor, reason, repo=repo, entry=entry)


def revoke_session(services: Any, session_id: str, reason: str, actor: str) -> ContainmentEvent:
    """Revoke an agent session: its PRs block, its future commits are flagged."""
    changed = services.containment.revoke_session(session_id, reason, actor)
    latest = _latest_entry(services, session_id) if changed else None
    attribution = {
        "session_derived": latest.session_derived if latest else False,
        "agent": latest.agent if latest else None,
        "launched_by": latest.launched_by if latest else None,
    }
    entry = _record(
        services,
        "session_revoked",
        changed,
        session_id=session_id,
        actor=actor,
        data={"reason": reason},
        **attribution,
    )
    return ContainmentEvent(
        "session_revoked", changed, actor, reason, session_id=session_id, entry=entry
    )


def _latest_entry(services: Any, session_id: str) -> LedgerEntry | None:
    """The session's most recent entry, for the attribution of the revocation."""
    latest = None
    for entry in services.ledger.entries(session_id=session_id):
        latest = entry
    return latest


def _record(
    services: Any, kind: ContainmentAction, changed: bool, **fields: Any
) -> LedgerEntry | None:
    """Append the ledger entry for an action that changed something."""
    if not changed:
        return None
    written = services.ledger.append(NewEntry(kind=kind, occurred_at=datetime.now(UTC), **fields))
    maybe_checkpoint = getattr(services.ledger, "maybe_checkpoint", None)
    if maybe_checkpoint is not None:
        maybe_checkpoint()
    return written
