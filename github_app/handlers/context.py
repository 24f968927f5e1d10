"""What every handler receives: the shared services and this delivery's GitHub session."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gidgethub.abc import GitHubAPI

if TYPE_CHECKING:
    from github_app.services import Services


@dataclass(frozen=True)
class HandlerContext:
    """One delivery being processed."""

    services: Services
    gh: GitHubAPI
    delivery_id: str | None
    payload_sha256: str | None
    installation_id: int | None

    @classmethod
    def for_delivery(
        cls,
        services: Services,
        gh: GitHubAPI,
        delivery_id: str,
        payload: bytes,
        installation_id: int | None,
    ) -> HandlerContext:
        """Context for a stored webhook delivery."""
        return cls(services, gh, delivery_id, hashlib.sha256(payload).hexdigest(), installation_id)


def parse_time(value: str | int | float | None) -> datetime:
    """GitHub's timestamps (ISO 8601 strings, or epoch seconds in a few events) as UTC."""
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
