"""Containment actions shared by the admin API and the CLI: change state and record it, atomically.

Each action changes containment state and appends the matching ledger entry (``freeze``,
``unfreeze`` or ``session_revoked``, with the acting token or user as ``actor``) in ONE
transaction: a failure in between leaves neither, so no state change is ever without its
evidence, and the caller hears of the failure.  Repeating an action that changes nothing
(freezing a frozen scope) records nothing and says so.  Synchronous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from sqlalchemy.engine import Connection

from github_app.evidence.encode import entry_record
from github_app.ledger.entry import LedgerEntry, NewEntry
from github_app.state.containment import Containment
from github_app.store.database import Database
from github_app.store.ledger import Ledger

ContainmentAction = Literal["freeze", "unfreeze", "session_revoked"]
REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
MAX_REASON = 1000


class ContainmentServices(Protocol):
    """What the containment actions use of the shared services."""

    db: Database
    ledger: Ledger
    containment: Containment


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


def freeze(
    services: ContainmentServices, repo: str | None, reason: str, actor: str
) -> ContainmentEvent:
    """Freeze agent changes org-wide (``repo`` None) or in one repository."""
    with services.db.write_transaction() as conn:
        changed = services.containment.freeze(repo, reason, actor, conn=conn)
        entry = _record(
            services,
            conn,
            "freeze",
            changed,
            repo=repo,
            actor=actor,
            data={"reason": reason, "scope": repo or "org"},
        )
    _invalidate_hook_state(services)
    _checkpoint_if_due(services, entry)
    return ContainmentEvent("freeze", changed, actor, reason, repo=repo, entry=entry)


def unfreeze(
    services: ContainmentServices, repo: str | None, actor: str, reason: str = ""
) -> ContainmentEvent:
    """Lift the freeze on a scope."""
    with services.db.write_transaction() as conn:
        changed = services.containment.unfreeze(repo, actor, conn=conn)
        entry = _record(
            services,
            conn,
            "unfreeze",
            changed,
            repo=repo,
            actor=actor,
            data={"reason": reason, "scope": repo or "org"},
        )
    _invalidate_hook_state(services)
    _checkpoint_if_due(services, entry)
    return ContainmentEvent("unfreeze", changed, actor, reason, repo=repo, entry=entry)


def revoke_session(
    services: ContainmentServices, session_id: str, reason: str, actor: str
) -> ContainmentEvent:
    """Revoke an agent session: its PRs block, its future commits are flagged."""
    latest = _latest_entry(services, session_id)  # read before the write lock is taken
    attribution = {
        "session_derived": latest.session_derived if latest else False,
        "agent": latest.agent if latest else None,
        "launched_by": latest.launched_by if latest else None,
    }
    with services.db.write_transaction() as conn:
        changed = services.containment.revoke_session(session_id, reason, actor, conn=conn)
        entry = _record(
            services,
            conn,
            "session_revoked",
            changed,
            session_id=session_id,
            actor=actor,
            data={"reason": reason},
            **attribution,
        )
    _invalidate_hook_state(services)
    _checkpoint_if_due(services, entry)
    return ContainmentEvent(
        "session_revoked", changed, actor, reason, session_id=session_id, entry=entry
    )


def _latest_entry(services: ContainmentServices, session_id: str) -> LedgerEntry | None:
    """The session's most recent entry, for the attribution of the revocation."""
    latest = None
    for entry in services.ledger.entries(session_id=session_id):
        latest = entry
    return latest


def _record(
    services: ContainmentServices,
    conn: Connection,
    kind: ContainmentAction,
    changed: bool,
    **fields: Any,
) -> LedgerEntry | None:
    """Append the ledger entry for an action that changed something, in the state's transaction."""
    if not changed:
        return None
    new = NewEntry(kind=kind, occurred_at=datetime.now(UTC), **fields)
    return services.ledger.append(new, conn=conn)


def _invalidate_hook_state(services: ContainmentServices) -> None:
    """Tell this process's hook decisions that containment changed (see state.hook_state)."""
    state = getattr(services, "hook_state", None)
    if state is not None:
        state.invalidate()


def _checkpoint_if_due(services: ContainmentServices, entry: LedgerEntry | None) -> None:
    """Sign a checkpoint once the change is committed, when one is due."""
    if entry is not None:
        services.ledger.maybe_checkpoint()
