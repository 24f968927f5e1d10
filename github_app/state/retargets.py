"""When each pull request last changed its base branch (``pull_request`` ``edited``).

Approvals given before a retarget were given for another branch's rules; the policy decides
whether they still count (``approvals.survive_retarget``), so the time of the change is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from github_app.store import tables
from github_app.store.database import Database, upsert


@dataclass(frozen=True)
class Retarget:
    """The latest base change of one pull request."""

    repo_id: int
    pr: int
    from_base: str
    to_base: str
    changed_at: datetime


class Retargets:
    """Read and write ``pr_retargets``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, repo_id: int, pr: int) -> Retarget | None:
        """The PR's latest retarget, if it was ever retargeted."""
        table = tables.pr_retargets
        query = sa.select(table).where(table.c.repo_id == repo_id, table.c.pr == pr)
        with self._db.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return Retarget(
            row["repo_id"], row["pr"], row["from_base"], row["to_base"], row["changed_at"]
        )

    def put(self, retarget: Retarget) -> None:
        """Remember ``retarget`` as the PR's latest (an older one is replaced)."""
        table = tables.pr_retargets
        values = {
            "repo_id": retarget.repo_id,
            "pr": retarget.pr,
            "from_base": retarget.from_base,
            "to_base": retarget.to_base,
            "changed_at": retarget.changed_at.astimezone(UTC),
        }
        # One statement (INSERT … ON CONFLICT DO UPDATE): concurrent writers cannot collide.
        with self._db.engine.begin() as conn:
            conn.execute(upsert(self._db, table, values, ["repo_id", "pr"]))
