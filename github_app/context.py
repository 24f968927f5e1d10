"""What every handler, job and action receives: the shared services and one delivery's session.

:class:`AppServices` names the part of the process's services that the shell below the
composition root uses, so handlers, jobs and actions depend on this small contract rather than
on ``github_app.services`` (which imports them to wire the process together).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx
from gidgethub.abc import GitHubAPI

from github_app.config import Settings
from github_app.core.catalogue import Catalogue
from github_app.evidence.pr_entries import Stamp
from github_app.github.client import GitHubClient
from github_app.policy.model import Policy
from github_app.state.containment import Containment
from github_app.state.decisions import DecisionState
from github_app.store.database import Database
from github_app.store.ledger import Ledger


class AppServices(Protocol):
    """The shared services handlers, jobs and actions use."""

    settings: Settings
    db: Database
    ledger: Ledger
    decisions: DecisionState
    containment: Containment
    default_policy: Policy
    catalogue: Catalogue  # the shipped catalogue (the fallback when an extension is invalid)
    github: GitHubClient | None
    alert_client: httpx.AsyncClient

    def catalogue_for(self, policy: Policy) -> Catalogue:
        """The agent catalogue extended with the policy's own entries (ValueError: invalid)."""
        ...


@dataclass(frozen=True)
class HandlerContext:
    """One delivery being processed."""

    services: AppServices
    gh: GitHubAPI
    delivery_id: str | None
    payload_sha256: str | None
    installation_id: int | None

    @property
    def stamp(self) -> Stamp:
        """What every entry written for this delivery carries."""
        return Stamp(self.delivery_id, self.payload_sha256)
