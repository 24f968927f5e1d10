"""The last published decision per pull request (so ``decision`` entries mark changes of state)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from github_app.store import tables
from github_app.store.database import Database


@dataclass(frozen=True)
class PrRecord:
    """What we last decided and published for one pull request."""

    repo_id: int
    pr: int
    head_sha: str
    state: str
    check_run_id: int | None


class DecisionState:
    """Read and write ``pr_decisions``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, repo_id: int, pr: int) -> PrRecord | None:
        """The last record for a PR, if any."""
        table = tables.pr_decisions
        query = sa.select(table).where(table.c.repo_id == repo_id, table.c.pr == pr)
        with self._db.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return PrRecord(
            row["repo_id"], row["pr"], row["head_sha"], row["state"], row["check_run_id"]
        )

    def in_states(self, repo_ids: list[int], states: frozenset[str]) -> list[PrRecord]:
        """The records of ``repo_ids``' pull requests whose last decision is one of ``states``."""
        table = tables.pr_decisions
        query = (
            sa.select(table)
            .where(table.c.repo_id.in_(repo_ids), table.c.state.in_(sorted(states)))
            .order_by(table.c.repo_id, table.c.pr)
        )
        with self._db.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            PrRecord(row["repo_id"], row["pr"], row["head_sha"], row["state"], row["check_run_id"])
            for row in rows
        ]

    def put(self, record: PrRecord) -> None:
        """Replace the record for a PR."""
        table = tables.pr_decisions
        values = {
            "repo_id": record.repo_id,
            "pr": record.pr,
            "head_sha": record.head_sha,
            "state": record.state,
            "check_run_id": record.check_run_id,
            "updated_at": datetime.now(UTC),
        }
        key = (table.c.repo_id == record.repo_id) & (table.c.pr == record.pr)
        with self._db.engine.begin() as conn:
            updated = conn.execute(table.update().where(key).values(**values)).rowcount
            if not updated:
                conn.execute(table.insert().values(**values))
